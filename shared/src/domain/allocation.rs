//! An allocation order and its details (SPEC §2.4, §4.2), and how the receivers' results make
//! the order's status (SPEC §4.3, §4.5).

use super::account::Account;
use super::codes::{AllocationResult, AllocationStatus, Channel, DetailResult, ReceiverType};
use super::due::Due;
use super::share::{ShareResult, ShareState};
use super::spelling::Spelling;

/// An allocation order (SPEC §2.4, §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationOrder {
    pub allocation_no: String,
    pub biz_allocation_no: String,
    pub out_allocation_no: Option<String>,
    pub order_no: String,
    pub biz_order_no: String,
    pub out_order_no: String,
    pub title: String,
    pub channel: Channel,
    /// Sum of the detail amounts, fen.
    pub amount: i64,
    pub description: Option<String>,
    pub status: AllocationStatus,
    pub result: AllocationResult,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub finish_time: Option<i64>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// Digest of the start request's business fields (duplicate detection).
    pub digest: String,
    pub created_at: i64,
    /// Work due on the order (a sync while processing, a finish once ended), found by the
    /// scheduler through the sparse `due` index.
    pub due: Option<Due>,
    /// Syncs tried while processing (drives the backoff).
    pub sync_attempts: i64,
    /// Still processing after the maximum age: left for a human, no longer polled.
    pub flagged: bool,
    /// The field names of the start that created the order; its notices use them (SPEC §2.1).
    pub spelling: Spelling,
    /// The start asked for no merchant notices (2.0.7 `notNotify`).
    pub not_notify: bool,
    /// The channel account of its pay order (SPEC §6.5): its calls use it.
    pub account: Option<String>,
}

/// An order with its details: what the transitions read and return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub order: AllocationOrder,
    /// Ordered by receiverNo.
    pub details: Vec<AllocationDetail>,
}

impl Allocation {
    /// The receiver accounts of the order, to mask in the channel's texts.
    pub fn accounts(&self) -> Vec<&str> {
        self.details
            .iter()
            .map(|d| d.receiver_account.as_str())
            .collect()
    }
}

/// One receiver's share of an allocation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationDetail {
    pub receiver_no: String,
    pub amount: i64,
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
    pub result: DetailResult,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub finish_time: Option<i64>,
}

impl AllocationDetail {
    pub fn account(&self) -> Account {
        Account {
            receiver_type: self.receiver_type,
            account: self.receiver_account.clone(),
            name: self.receiver_name.clone(),
        }
    }
}

/// A new detail's result: nothing to pay is `ignore`, else `pending`.
pub fn initial_result(amount: i64) -> DetailResult {
    if amount > 0 {
        DetailResult::Pending
    } else {
        DetailResult::Ignore
    }
}

/// The order's status and result from its details (SPEC §4.3). `ignore` details do not count;
/// while any detail is pending the order is processing; an order with nothing to pay is
/// `ignore`.
pub fn aggregate(details: &[AllocationDetail]) -> (AllocationStatus, AllocationResult) {
    let counted = details.iter().filter(|d| d.result != DetailResult::Ignore);
    let (mut pending, mut success, mut fail) = (0, 0, 0);
    for d in counted {
        match d.result {
            DetailResult::Pending => pending += 1,
            DetailResult::Success => success += 1,
            DetailResult::Fail => fail += 1,
            DetailResult::Ignore => {}
        }
    }
    if pending + success + fail == 0 {
        return (AllocationStatus::Ignore, AllocationResult::AllPending);
    }
    if pending > 0 {
        let result = if success > 0 {
            AllocationResult::PartSuccess
        } else {
            AllocationResult::AllPending
        };
        return (AllocationStatus::Processing, result);
    }
    let result = match (success, fail) {
        (_, 0) => AllocationResult::AllSuccess,
        (0, _) => AllocationResult::AllFailed,
        _ => AllocationResult::PartSuccess,
    };
    (AllocationStatus::End, result)
}

/// Applies a channel's rows to the details, matched by receiver type + account. Settled details
/// never change again; `ignore` details are never touched. Returns the indexes that changed.
pub fn apply_results(details: &mut [AllocationDetail], rows: &[ShareResult]) -> Vec<usize> {
    let mut changed = Vec::new();
    for (i, d) in details.iter_mut().enumerate() {
        if d.result != DetailResult::Pending {
            continue;
        }
        let Some(row) = rows
            .iter()
            .find(|r| r.receiver_type == d.receiver_type && r.account == d.receiver_account)
        else {
            continue;
        };
        match &row.state {
            ShareState::Pending => {}
            ShareState::Success { finish_time } => {
                d.result = DetailResult::Success;
                d.finish_time = *finish_time;
                changed.push(i);
            }
            ShareState::Fail {
                code,
                msg,
                finish_time,
            } => {
                d.result = DetailResult::Fail;
                d.error_code = Some(code.clone());
                d.error_msg = Some(msg.clone());
                d.finish_time = *finish_time;
                changed.push(i);
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::ReceiverType;
    use crate::domain::share::{ShareResult, ShareState};

    fn detail(result: DetailResult) -> AllocationDetail {
        AllocationDetail {
            receiver_no: "r".into(),
            amount: 1,
            rate: 0,
            receiver_type: ReceiverType::AliUserId,
            receiver_account: "2088".into(),
            receiver_name: None,
            result,
            error_code: None,
            error_msg: None,
            finish_time: None,
        }
    }

    #[test]
    fn aggregation_ignores_ignore_and_waits_for_pending() {
        use AllocationResult::*;
        use AllocationStatus::*;
        use DetailResult as D;
        let agg = |rs: &[D]| aggregate(&rs.iter().map(|r| detail(*r)).collect::<Vec<_>>());
        assert_eq!(agg(&[D::Pending, D::Pending]), (Processing, AllPending));
        assert_eq!(agg(&[D::Success, D::Pending]), (Processing, PartSuccess));
        assert_eq!(agg(&[D::Success, D::Ignore]), (End, AllSuccess));
        assert_eq!(agg(&[D::Fail, D::Fail, D::Ignore]), (End, AllFailed));
        assert_eq!(agg(&[D::Fail, D::Success]), (End, PartSuccess));
        assert_eq!(agg(&[D::Ignore, D::Ignore]).0, Ignore);
        assert_eq!(agg(&[]).0, Ignore);
    }

    #[test]
    fn results_apply_once_by_type_and_account() {
        let mut ds = vec![detail(DetailResult::Pending), detail(DetailResult::Ignore)];
        let rows = vec![ShareResult {
            receiver_type: ReceiverType::AliUserId,
            account: "2088".into(),
            state: ShareState::Fail {
                code: "E".into(),
                msg: "m".into(),
                finish_time: Some(5),
            },
            amount: None,
        }];
        assert_eq!(apply_results(&mut ds, &rows), vec![0]);
        assert_eq!(ds[0].error_code.as_deref(), Some("E"));
        assert_eq!(ds[1].result, DetailResult::Ignore);
        // a later SUCCESS row does not move a settled detail
        let later = vec![ShareResult {
            state: ShareState::Success { finish_time: None },
            ..rows[0].clone()
        }];
        assert!(apply_results(&mut ds, &later).is_empty());
        // another type with the same account does not match
        let mut ds = vec![detail(DetailResult::Pending)];
        let other = vec![ShareResult {
            receiver_type: ReceiverType::AliOpenId,
            ..later[0].clone()
        }];
        assert!(apply_results(&mut ds, &other).is_empty());
    }
}
