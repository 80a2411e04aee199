//! Reconciliation with the channels' bills (the service's own endpoints): the statement of a
//! day or of a range of days of the app's account at a channel, and a day's discrepancies a
//! page at a time. Amounts are fen, times epoch seconds, receiver accounts masked (`*`: a
//! whole trade, Alipay's royalty per trade). Both calls are queries: sent again when their
//! outcome is unknown.

use crate::client::{Answer, Client};
use crate::codes::{Channel, StatementStatus};
use crate::endpoint;
use crate::error::Error;
use serde::{Deserialize, Serialize};

/// `reconcile statements`: one `day` (`yyyy-MM-dd`, Beijing time; refused when it was not
/// reconciled), or the days `from` to `to`, both included, at most 31 (those reconciled).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatementRequest {
    pub channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl StatementRequest {
    /// The statement of one day.
    pub fn day(channel: Channel, day: impl Into<String>) -> Self {
        Self {
            channel,
            day: Some(day.into()),
            from: None,
            to: None,
        }
    }

    /// The statements of the days `from` to `to`.
    pub fn range(channel: Channel, from: impl Into<String>, to: impl Into<String>) -> Self {
        Self {
            channel,
            day: None,
            from: Some(from.into()),
            to: Some(to.into()),
        }
    }
}

/// `reconcile discrepancies`: one page (1–100, default 20) of a day's, after `cursor` (a
/// `nextCursor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscrepancyRequest {
    pub channel: Channel,
    pub day: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Statements, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Statements {
    #[serde(default)]
    pub statements: Vec<Statement>,
}

/// A day's statement: our splits and returns of the day beside the channel's bill.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Statement {
    pub channel: Channel,
    pub day: String,
    /// The merchant's own account at the channel.
    pub account: String,
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
    #[serde(default)]
    pub channel_other_rows: u64,
    pub discrepancies: u64,
    /// Of those, the ones the channel's per-order query did not resolve.
    pub unresolved: u64,
    /// Why a failed day failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Epoch seconds.
    pub reconciled_at: i64,
    #[serde(default)]
    pub bill_sha1: Option<String>,
}

/// A page of a day's discrepancies; `next_cursor` unless this is the last page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscrepancyPage {
    #[serde(default)]
    pub discrepancies: Vec<Discrepancy>,
    /// How many the day has.
    pub total: u64,
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// One discrepancy and what the channel's per-order query said of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discrepancy {
    /// `missing_at_channel`, `missing_here`, `amount_mismatch`, `status_mismatch`.
    pub kind: String,
    /// Our allocationNo or returnNo (Alipay: the trade's order number).
    pub number: String,
    /// `split` or `return`.
    pub what: String,
    /// Masked; `*` for a whole trade.
    pub receiver_account: String,
    #[serde(default)]
    pub ours_amount: Option<i64>,
    #[serde(default)]
    pub ours_status: Option<String>,
    #[serde(default)]
    pub channel_amount: Option<i64>,
    #[serde(default)]
    pub channel_status: Option<String>,
    #[serde(default)]
    pub channel_no: Option<String>,
    /// The per-order query agreed with the service's records.
    pub resolved: bool,
    #[serde(default)]
    pub evidence: String,
}

impl Client {
    /// A day's statement, or the statements of a range of days, newest first.
    pub async fn statements(&self, r: &StatementRequest) -> Result<Answer<Statements>, Error> {
        self.call(&endpoint::STATEMENTS, r).await
    }

    /// A page of a day's discrepancies.
    pub async fn discrepancies(
        &self,
        r: &DiscrepancyRequest,
    ) -> Result<Answer<DiscrepancyPage>, Error> {
        self.call(&endpoint::DISCREPANCIES, r).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Secret, SignType, Signer};
    use serde_json::json;

    #[test]
    fn requests_name_a_day_or_a_range_and_answers_read_back() {
        let signer = Signer::new(SignType::HmacSha256, Secret::new("123456"));
        let c = Client::builder("http://127.0.0.1:9", signer.clone()).build();
        let Ok(c) = c else { panic!("client") };
        let one = c
            .signed_body(&StatementRequest::day(Channel::WechatPay, "2026-12-01"))
            .unwrap_or_default();
        assert_eq!(one["channel"], "wechat_pay");
        assert_eq!(one["day"], "2026-12-01");
        assert!(!one.contains_key("from") && signer.verify(&one));
        let range = serde_json::to_value(StatementRequest::range(
            Channel::AliPay,
            "2026-11-01",
            "2026-11-30",
        ))
        .unwrap_or_default();
        assert_eq!(
            range,
            json!({"channel": "ali_pay", "from": "2026-11-01", "to": "2026-11-30"})
        );
        let page: DiscrepancyPage = serde_json::from_value(json!({
            "discrepancies": [{"kind": "missing_here", "number": "X901", "what": "split",
                "receiverAccount": "19****91", "channelAmount": 100, "channelStatus": "SUCCESS",
                "resolved": false, "evidence": "the channel's per-order query: none"}],
            "total": 3, "nextCursor": "01796170000abcdef.1", "code": 0}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(page.discrepancies[0].channel_amount, Some(100));
        assert_eq!(page.discrepancies[0].ours_amount, None);
        let st: Statements = serde_json::from_value(json!({"statements": [{
            "channel": "wechat_pay", "day": "2026-12-01", "account": "1900000109",
            "status": "consistent", "oursSplits": 1, "oursSplitAmount": 3000, "oursReturns": 0,
            "oursReturnAmount": 0, "channelSplits": 1, "channelSplitAmount": 3000,
            "channelReturns": 0, "channelReturnAmount": 0, "channelOtherRows": 0,
            "discrepancies": 0, "unresolved": 0, "reconciledAt": 1796170000,
            "billSha1": "a9993e364706816aba3e25717850c26c9cd0d89d"}]}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(st.statements[0].status, StatementStatus::Consistent);
    }
}
