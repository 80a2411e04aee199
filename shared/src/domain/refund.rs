//! Refunds of a pay order (SPEC §4.9), as DaxPay's refund notices report them: a successful
//! refund takes money out of what can still be split.

use super::codes::{Channel, RefundStatus};

/// A refund of a pay order, as its (verified) refund notice describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub refund_no: String,
    pub biz_refund_no: Option<String>,
    pub out_refund_no: Option<String>,
    pub order_no: String,
    pub biz_order_no: Option<String>,
    pub channel: Channel,
    /// Fen.
    pub amount: i64,
    pub status: RefundStatus,
    pub reason: Option<String>,
    /// Epoch seconds.
    pub finish_time: Option<i64>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
}

/// What a notice does to the refund we hold (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundChange {
    /// Nothing to write: the same or an older state.
    Unchanged,
    /// Write the refund; `counts`: it has just succeeded, so its amount leaves what is
    /// splittable (exactly once per refund).
    Write { counts: bool },
    /// The notice contradicts the stored refund (another amount or pay order).
    Conflict(&'static str),
}

/// How a notice for `incoming` changes the stored refund: a final status is never left, and a
/// refund's amount and pay order never change.
pub fn refund_change(stored: Option<&Refund>, incoming: &Refund) -> RefundChange {
    let Some(stored) = stored else {
        return RefundChange::Write {
            counts: incoming.status == RefundStatus::Success,
        };
    };
    if stored.order_no != incoming.order_no {
        return RefundChange::Conflict("orderNo differs from the stored refund");
    }
    if stored.amount != incoming.amount {
        return RefundChange::Conflict("amount differs from the stored refund");
    }
    if stored.status.is_final() || stored.status == incoming.status {
        return RefundChange::Unchanged;
    }
    RefundChange::Write {
        counts: incoming.status == RefundStatus::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refund(status: RefundStatus, amount: i64) -> Refund {
        Refund {
            refund_no: "R1".into(),
            biz_refund_no: Some("BR1".into()),
            out_refund_no: None,
            order_no: "P1".into(),
            biz_order_no: None,
            channel: Channel::WechatPay,
            amount,
            status,
            reason: None,
            finish_time: None,
            error_code: None,
            error_msg: None,
        }
    }

    #[test]
    fn a_refund_counts_once_when_it_succeeds() {
        use RefundStatus::*;
        let progress = refund(Progress, 100);
        let success = refund(Success, 100);
        assert_eq!(
            refund_change(None, &progress),
            RefundChange::Write { counts: false }
        );
        assert_eq!(
            refund_change(Some(&progress), &success),
            RefundChange::Write { counts: true }
        );
        assert_eq!(
            refund_change(Some(&success), &success),
            RefundChange::Unchanged
        );
        // a late "progress" or "fail" does not undo a success
        assert_eq!(
            refund_change(Some(&success), &progress),
            RefundChange::Unchanged
        );
        assert_eq!(
            refund_change(Some(&success), &refund(Fail, 100)),
            RefundChange::Unchanged
        );
        assert_eq!(
            refund_change(None, &success),
            RefundChange::Write { counts: true }
        );
        assert!(matches!(
            refund_change(Some(&progress), &refund(Success, 99)),
            RefundChange::Conflict(_)
        ));
    }
}
