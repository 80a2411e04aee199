//! Answers of the reconciliation endpoints (ours, SPEC §4.13): a day's statement, its two sides'
//! counts and sums flat (amounts in fen), and its discrepancies with receiver accounts masked.
//! Times are epoch seconds, as on our other endpoints.

use crate::domain::account::mask_accounts_in;
use crate::domain::{Channel, DiscrepancyRecord, StatementRecord, StatementStatus, mask_account};
use serde::Serialize;

/// One day's statement of one channel account.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementView<'a> {
    pub channel: Channel,
    pub day: &'a str,
    /// The merchant's own account at the channel, as reconciled.
    pub account: &'a str,
    pub status: StatementStatus,
    pub ours_splits: u64,
    pub ours_split_amount: i64,
    pub ours_returns: u64,
    pub ours_return_amount: i64,
    pub channel_splits: u64,
    pub channel_split_amount: i64,
    pub channel_returns: u64,
    pub channel_return_amount: i64,
    /// Bill rows of a type not compared.
    pub channel_other_rows: u64,
    pub discrepancies: u64,
    pub unresolved: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    pub reconciled_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_sha1: Option<&'a str>,
}

impl<'a> From<&'a StatementRecord> for StatementView<'a> {
    fn from(s: &'a StatementRecord) -> Self {
        Self {
            channel: s.channel,
            day: &s.day,
            account: &s.account,
            status: s.status,
            ours_splits: s.ours.splits,
            ours_split_amount: s.ours.split_fen,
            ours_returns: s.ours.returns,
            ours_return_amount: s.ours.return_fen,
            channel_splits: s.theirs.splits,
            channel_split_amount: s.theirs.split_fen,
            channel_returns: s.theirs.returns,
            channel_return_amount: s.theirs.return_fen,
            channel_other_rows: s.theirs_other,
            discrepancies: s.discrepancies,
            unresolved: s.unresolved,
            error: s.error.as_deref(),
            reconciled_at: s.reconciled_at,
            bill_sha1: s.bill_sha1.as_deref(),
        }
    }
}

/// One discrepancy: what each side says, and what the channel's per-order query said.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscrepancyView<'a> {
    pub kind: &'a str,
    /// Our allocationNo or returnNo (Alipay: the pay order's trade number).
    pub number: &'a str,
    /// `split` or `return`.
    pub what: &'a str,
    /// Masked; `*` when the row is a whole trade (Alipay's royalty per trade).
    pub receiver_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ours_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ours_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_amount: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_status: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel_no: Option<&'a str>,
    pub resolved: bool,
    /// The account is masked here too, should the channel's words quote it.
    pub evidence: String,
}

impl<'a> From<&'a DiscrepancyRecord> for DiscrepancyView<'a> {
    fn from(d: &'a DiscrepancyRecord) -> Self {
        Self {
            kind: &d.kind,
            number: &d.number,
            what: &d.what,
            receiver_account: if d.receiver == "*" {
                d.receiver.clone()
            } else {
                mask_account(&d.receiver)
            },
            ours_amount: d.ours_fen,
            ours_status: d.ours_status.as_deref(),
            channel_amount: d.channel_fen,
            channel_status: d.channel_status.as_deref(),
            channel_no: d.channel_no.as_deref(),
            resolved: d.resolved,
            evidence: mask_accounts_in(&d.evidence, &[&d.receiver]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(receiver: &str, evidence: &str) -> DiscrepancyRecord {
        DiscrepancyRecord {
            kind: "missing_here".into(),
            number: "X900".into(),
            what: "split".into(),
            receiver: receiver.into(),
            ours_fen: None,
            ours_status: None,
            channel_fen: Some(100),
            channel_status: Some("SUCCESS".into()),
            channel_no: Some("3008450740201411110007820472".into()),
            resolved: false,
            evidence: evidence.into(),
        }
    }

    #[test]
    fn a_discrepancy_shows_its_account_masked_everywhere_and_a_whole_trade_as_a_star() {
        let d = record(
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "分账接收方 oUpF8uMuAJO_M2pxb1Q9zNjWeS6o 不存在",
        );
        let v = serde_json::to_value(DiscrepancyView::from(&d)).unwrap_or_default();
        assert_eq!(
            v,
            json!({"kind": "missing_here", "number": "X900", "what": "split",
                "receiverAccount": "oUpF****eS6o", "channelAmount": 100, "channelStatus": "SUCCESS",
                "channelNo": "3008450740201411110007820472", "resolved": false,
                "evidence": "分账接收方 oUpF****eS6o 不存在"})
        );
        let whole_trade = record("*", "the channel's per-order query: none");
        assert_eq!(DiscrepancyView::from(&whole_trade).receiver_account, "*");
    }
}
