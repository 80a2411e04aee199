//! Parameters of the operations endpoints (SPEC §4.12, ours): a page of flagged orders, a page
//! of the orders of a status and day, and a sync of many orders at once. Both field spellings
//! are accepted, as everywhere.

use super::envelope::ValidationError;
use super::request::{Params, check_opt_len, check_required};
use crate::domain::AllocationStatus;
use crate::domain::numbers::parse_beijing_day;
use std::collections::HashSet;

/// The most orders one page lists, and the default.
pub const MAX_PAGE: usize = 100;
pub const DEFAULT_PAGE: usize = 20;
/// The most orders one sync request names.
pub const MAX_SYNC_MANY: usize = 50;

/// `POST /unipay/query/flaggedAllocations`: orders flagged for a human and still processing,
/// newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FlaggedParams {
    pub page_size: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl FlaggedParams {
    pub fn page_size(&self) -> usize {
        page_size(self.page_size)
    }
}

impl Params for FlaggedParams {
    fn validate(&self) -> Result<(), ValidationError> {
        check_page(self.page_size, &self.cursor)
    }
}

/// `POST /unipay/query/allocationOrders`: the orders of `status` created on `day` (Beijing
/// time, `yyyy-MM-dd`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrderListParams {
    pub status: AllocationStatus,
    pub day: String,
    pub page_size: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
}

impl OrderListParams {
    pub fn page_size(&self) -> usize {
        page_size(self.page_size)
    }
}

impl Params for OrderListParams {
    fn validate(&self) -> Result<(), ValidationError> {
        if parse_beijing_day(&self.day).is_none() {
            return Err(ValidationError::new(
                "day",
                "must be a day written yyyy-MM-dd",
            ));
        }
        check_page(self.page_size, &self.cursor)
    }
}

pub(super) fn page_size(given: Option<i64>) -> usize {
    given
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_PAGE)
}

pub(super) fn check_page(
    size: Option<i64>,
    cursor: &Option<String>,
) -> Result<(), ValidationError> {
    if let Some(n) = size
        && !(1..=MAX_PAGE as i64).contains(&n)
    {
        return Err(ValidationError::new(
            "pageSize",
            format!("must be an integer from 1 to {MAX_PAGE}"),
        ));
    }
    // its form is the store's to check (the service does, before any read)
    check_opt_len("cursor", cursor, 64)
}

/// `POST /unipay/sync/allocations`: asks the channel about each of these orders now (a sync
/// job each, queued).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SyncManyParams {
    #[serde(alias = "allocNos")]
    pub allocation_nos: Vec<String>,
}

impl Params for SyncManyParams {
    fn validate(&self) -> Result<(), ValidationError> {
        let n = self.allocation_nos.len();
        if !(1..=MAX_SYNC_MANY).contains(&n) {
            return Err(ValidationError::new(
                "allocationNos",
                format!("must name from 1 to {MAX_SYNC_MANY} orders"),
            ));
        }
        let mut seen = HashSet::with_capacity(n);
        for (i, no) in self.allocation_nos.iter().enumerate() {
            let field = || format!("allocationNos[{i}]");
            check_required("", no, 32).map_err(|e| ValidationError {
                field: field(),
                ..e
            })?;
            if !seen.insert(no.as_str()) {
                return Err(ValidationError::new(field(), "is listed more than once"));
            }
        }
        Ok(())
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
        let verifier = Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("k")),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        };
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
    fn order_lists_name_a_status_and_a_real_day() {
        let ok = json!({"status": "allocation_processing", "day": "2026-12-01"});
        assert!(error_of::<OrderListParams>(ok).starts_with("accepted"));
        for (body, says) in [
            (json!({"day": "2026-12-01"}), "status"),
            (json!({"status": "allocation_processing"}), "day"),
            (
                json!({"status": "processing", "day": "2026-12-01"}),
                "status",
            ),
            (
                json!({"status": "finish", "day": "2026-02-30"}),
                "day: must be a day written yyyy-MM-dd",
            ),
            (
                json!({"status": "finish", "day": "20261201"}),
                "day: must be a day written yyyy-MM-dd",
            ),
            (
                json!({"status": "finish", "day": "2026-12-01 00:00:00"}),
                "day: must be",
            ),
            (
                json!({"status": "finish", "day": "2026-12-01", "pageSize": 101}),
                "pageSize",
            ),
        ] {
            let e = error_of::<OrderListParams>(body.clone());
            assert!(e.contains(says), "{body} -> {e}");
        }
    }

    #[test]
    fn flagged_pages_are_bounded_and_cursors_checked() {
        assert!(error_of::<FlaggedParams>(json!({})).starts_with("accepted"));
        assert!(
            error_of::<FlaggedParams>(json!({"pageSize": 0}))
                .contains("pageSize: must be an integer from 1 to 100")
        );
        assert!(error_of::<FlaggedParams>(json!({"pageSize": 101})).contains("pageSize"));
        assert!(
            error_of::<FlaggedParams>(json!({"cursor": "c".repeat(65)}))
                .contains("cursor: must be at most 64 characters")
        );
        assert!(
            error_of::<FlaggedParams>(json!({"cursor": "1719475200.A1", "pageSize": 5}))
                .starts_with("accepted")
        );
    }

    #[test]
    fn sync_many_names_one_to_fifty_distinct_orders_in_either_spelling() {
        assert!(
            error_of::<SyncManyParams>(json!({"allocNos": ["A1", "A2"]})).starts_with("accepted")
        );
        assert!(
            error_of::<SyncManyParams>(json!({"allocationNos": []}))
                .contains("allocationNos: must name from 1 to 50 orders")
        );
        let many: Vec<String> = (0..51).map(|i| format!("A{i}")).collect();
        assert!(
            error_of::<SyncManyParams>(json!({"allocationNos": many})).contains("from 1 to 50")
        );
        assert!(
            error_of::<SyncManyParams>(json!({"allocationNos": ["A1", "A1"]}))
                .contains("allocationNos[1]: is listed more than once")
        );
        assert!(
            error_of::<SyncManyParams>(json!({"allocationNos": ["A1", " "]}))
                .contains("allocationNos[1]: must not be blank")
        );
    }
}
