//! Parameters of the reconciliation endpoints (SPEC §4.13, ours): the statements of a channel
//! for one day or a range of days, and one day's discrepancies, a page at a time.

use super::envelope::ValidationError;
use super::ops_params::{check_page, page_size};
use super::receiver_params::check_sharing_channel;
use super::request::Params;
use crate::domain::{BillDay, Channel};

/// The most days one statement request spans.
pub const MAX_RANGE_DAYS: usize = 31;

const DAY_RULE: &str = "must be a day written yyyy-MM-dd";

fn day(field: &str, text: &str) -> Result<BillDay, ValidationError> {
    BillDay::parse(text).ok_or_else(|| ValidationError::new(field, DAY_RULE))
}

/// `POST /unipay/query/reconcileStatement`: the statement of `day`, or the statements of the
/// days `from` to `to` (inclusive, at most [`MAX_RANGE_DAYS`]), of the app's `channel` account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StatementParams {
    pub channel: Channel,
    pub day: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The days a statement request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    One(BillDay),
    /// Oldest, newest.
    Range(BillDay, BillDay),
}

impl StatementParams {
    /// The days asked for; the rule broken, naming its field.
    pub fn days(&self) -> Result<Days, ValidationError> {
        match (&self.day, &self.from, &self.to) {
            (Some(d), None, None) => Ok(Days::One(day("day", d)?)),
            (Some(_), _, _) => Err(ValidationError::new(
                "day",
                "give day, or from and to, not both",
            )),
            (None, Some(from), Some(to)) => {
                let (from, to) = (day("from", from)?, day("to", to)?);
                if to < from {
                    return Err(ValidationError::new("to", "must not be before from"));
                }
                let within = std::iter::successors(Some(from), |d| d.next())
                    .take(MAX_RANGE_DAYS)
                    .any(|d| d == to);
                if !within {
                    return Err(ValidationError::new(
                        "to",
                        format!("must be at most {MAX_RANGE_DAYS} days from from, both included"),
                    ));
                }
                Ok(Days::Range(from, to))
            }
            (None, Some(_), None) => Err(ValidationError::new("to", "is required with from")),
            (None, None, Some(_)) => Err(ValidationError::new("from", "is required with to")),
            (None, None, None) => Err(ValidationError::new(
                "day",
                "is required (or a range: from and to)",
            )),
        }
    }
}

impl Params for StatementParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_sharing_channel("channel", self.channel)?;
        self.days().map(|_| ())
    }
}

/// `POST /unipay/query/reconcileDiscrepancies`: the discrepancies of the statement of `day` of
/// the app's `channel` account, in the order they were found, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DiscrepancyParams {
    pub channel: Channel,
    pub day: String,
    pub page_size: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl DiscrepancyParams {
    pub fn page_size(&self) -> usize {
        page_size(self.page_size)
    }

    /// The day, once validated.
    pub fn bill_day(&self) -> Result<BillDay, ValidationError> {
        day("day", &self.day)
    }
}

impl Params for DiscrepancyParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_sharing_channel("channel", self.channel)?;
        self.bill_day()?;
        check_page(self.page_size, &self.cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daxpay::request::Verifier;
    use crate::daxpay::sign::{Secret, SignType, Signer};
    use serde_json::{Value, json};

    const NOW: i64 = 1_719_475_200;

    fn error_of<T: Params + std::fmt::Debug>(mut v: Value) -> String {
        let verifier = Verifier::new(
            Signer::new(SignType::HmacSha256, Secret::new("k")),
            true,
            300,
        );
        if let Value::Object(m) = &mut v {
            m.insert("reqTime".into(), json!(NOW));
            verifier.signer.sign_in_place(m);
        }
        match verifier.verify::<T>(v.to_string().as_bytes(), NOW) {
            Ok(ok) => format!("accepted: {:?}", ok.params),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_statement_request_names_a_sharing_channel_and_a_day_or_a_range_of_at_most_31() {
        let day = |d: &str| BillDay::parse(d).unwrap_or_else(|| panic!("{d}"));
        let p = |v: Value| serde_json::from_value::<StatementParams>(v).map(|p| p.days());
        assert_eq!(
            p(json!({"channel": "ali_pay", "day": "2026-12-01"})).ok(),
            Some(Ok(Days::One(day("2026-12-01"))))
        );
        assert_eq!(
            p(json!({"channel": "ali_pay", "from": "2026-11-01", "to": "2026-12-01"})).ok(),
            Some(Ok(Days::Range(day("2026-11-01"), day("2026-12-01"))))
        );
        assert_eq!(
            p(json!({"channel": "ali_pay", "from": "2026-12-01", "to": "2026-12-01"})).ok(),
            Some(Ok(Days::Range(day("2026-12-01"), day("2026-12-01"))))
        );
        for (body, says) in [
            (json!({"day": "2026-12-01"}), "channel"),
            (json!({"channel": "paypal", "day": "2026-12-01"}), "channel"),
            (
                json!({"channel": "union_pay", "day": "2026-12-01"}),
                "channel: 云闪付不支持分账",
            ),
            (
                json!({"channel": "wechat_pay"}),
                "day: is required (or a range: from and to)",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-02-30"}),
                "day: must be a day written yyyy-MM-dd",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-01", "from": "2026-12-01"}),
                "day: give day, or from and to, not both",
            ),
            (
                json!({"channel": "wechat_pay", "from": "2026-12-01"}),
                "to: is required with from",
            ),
            (
                json!({"channel": "wechat_pay", "to": "2026-12-01"}),
                "from: is required with to",
            ),
            (
                json!({"channel": "wechat_pay", "from": "2026-12-02", "to": "2026-12-01"}),
                "to: must not be before from",
            ),
            (
                json!({"channel": "wechat_pay", "from": "2026-10-31", "to": "2026-12-01"}),
                "to: must be at most 31 days from from, both included",
            ),
            (
                json!({"channel": "wechat_pay", "from": "2026-11-1", "to": "2026-12-01"}),
                "from: must be a day written yyyy-MM-dd",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-01", "status": "x"}),
                "status",
            ),
        ] {
            let e = error_of::<StatementParams>(body.clone());
            assert!(e.contains(says), "{body} -> {e}");
        }
    }

    #[test]
    fn a_discrepancy_page_names_a_day_and_is_bounded() {
        let ok = json!({"channel": "wechat_pay", "day": "2026-12-01", "pageSize": 2});
        assert!(error_of::<DiscrepancyParams>(ok).starts_with("accepted"));
        for (body, says) in [
            (json!({"channel": "wechat_pay"}), "day"),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-1"}),
                "day: must be a day written yyyy-MM-dd",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-01", "pageSize": 0}),
                "pageSize: must be an integer from 1 to 100",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-01", "pageSize": 101}),
                "pageSize",
            ),
            (
                json!({"channel": "wechat_pay", "day": "2026-12-01", "cursor": "c".repeat(65)}),
                "cursor: must be at most 64 characters",
            ),
            (
                json!({"channel": "wallet_pay", "day": "2026-12-01"}),
                "channel: 钱包支付不支持分账",
            ),
        ] {
            let e = error_of::<DiscrepancyParams>(body.clone());
            assert!(e.contains(says), "{body} -> {e}");
        }
    }
}
