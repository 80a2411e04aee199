//! The pay order we split (SPEC §4.1), and how a later pay notice merges into it: identity
//! fixed, a paid order never regresses, an allocation is never undone.

use super::codes::{Channel, PayStatus};
use super::refusal::Refusal;

/// A paid order we may split, as the pay-order feed delivered it (SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOrder {
    pub order_no: String,
    pub biz_order_no: String,
    pub out_order_no: Option<String>,
    pub title: String,
    pub channel: Channel,
    pub method: Option<String>,
    /// Fen.
    pub amount: i64,
    pub status: PayStatus,
    /// Funds frozen for sharing.
    pub allocation: bool,
    pub auto_allocation: bool,
    pub refund_status: Option<String>,
    pub attach: Option<String>,
    /// Epoch seconds.
    pub pay_time: Option<i64>,
    /// The allocation order made from this pay order, once there is one (one per pay order).
    pub allocation_no: Option<String>,
    /// Why auto allocation could not run (it is not retried).
    pub auto_allocation_error: Option<String>,
    /// Fen refunded so far (successful refunds from the refund feed, SPEC §4.9).
    pub refunded: i64,
    /// The channel account the payment was made under (`mchid`, `sp_mchid/sub_mchid`, an
    /// Alipay app id or `app_id/auth_app_id`), stamped when it was first fed: every call about
    /// it uses that account (SPEC §6.5). `None`: fed before accounts were stamped.
    pub account: Option<String>,
}

impl PayOrder {
    /// Auto allocation is due for this pay order (SPEC §4.6).
    pub fn wants_auto_allocation(&self) -> bool {
        self.allocation
            && self.auto_allocation
            && self.status == PayStatus::Success
            && self.allocation_no.is_none()
            && self.auto_allocation_error.is_none()
    }

    /// Whether a start may split this pay order (SPEC §4.2 step 3): paid, with funds frozen for
    /// sharing, on a channel that shares, and not allocated before.
    pub fn check_allocatable(&self) -> Result<(), Refusal> {
        if self.status != PayStatus::Success {
            return Err(Refusal::PayOrderNotPaid(self.status));
        }
        if !self.allocation {
            return Err(Refusal::NotForAllocation);
        }
        if !self.channel.supports_sharing() {
            return Err(Refusal::SharingUnsupported(self.channel));
        }
        if self.allocation_no.is_some() {
            return Err(Refusal::AlreadyAllocated);
        }
        Ok(())
    }

    /// What is left to split: the paid amount less what was refunded.
    pub fn splittable(&self) -> i64 {
        (self.amount - self.refunded).max(0)
    }

    /// The channel's trade number, which the split names.
    pub fn trade_no(&self) -> Result<&str, Refusal> {
        self.out_order_no
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::NoTradeNo)
    }

    /// DaxPay's `allocStatus`: `waiting` until an allocation is made, then `allocation`.
    pub fn alloc_status(&self) -> Option<&'static str> {
        match (&self.allocation_no, self.allocation) {
            (Some(_), _) => Some("allocation"),
            (None, true) => Some("waiting"),
            (None, false) => None,
        }
    }
}

/// What a notice does to a stored pay order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merge {
    Unchanged,
    Update(Box<PayOrder>),
    /// The notice contradicts what we hold; the reason is safe to show.
    Conflict(String),
}

/// Merges a verified notice into the stored pay order:
/// - identity (`bizOrderNo`, `channel`, `amount`, a known `outOrderNo`) must not change;
/// - `status` never leaves `success` (a late `close` does not undo a payment);
/// - once allocated, `allocation` / `autoAllocation` and the allocation mark stay as they are;
/// - absent optional members keep what is stored.
pub fn merge_notice(existing: &PayOrder, notice: &PayOrder) -> Merge {
    let identity = [
        ("bizOrderNo", existing.biz_order_no != notice.biz_order_no),
        ("channel", existing.channel != notice.channel),
        ("amount", existing.amount != notice.amount),
        (
            "outOrderNo",
            matches!((&existing.out_order_no, &notice.out_order_no), (Some(a), Some(b)) if a != b),
        ),
    ];
    if let Some((field, _)) = identity.iter().find(|(_, changed)| *changed) {
        return Merge::Conflict(format!(
            "{field} differs from the stored pay order {}",
            existing.order_no
        ));
    }
    let allocated = existing.allocation_no.is_some();
    let merged = PayOrder {
        order_no: existing.order_no.clone(),
        biz_order_no: existing.biz_order_no.clone(),
        out_order_no: notice
            .out_order_no
            .clone()
            .or_else(|| existing.out_order_no.clone()),
        title: if notice.title.is_empty() {
            existing.title.clone()
        } else {
            notice.title.clone()
        },
        channel: existing.channel,
        method: notice.method.clone().or_else(|| existing.method.clone()),
        amount: existing.amount,
        status: if existing.status == PayStatus::Success {
            PayStatus::Success
        } else {
            notice.status
        },
        allocation: if allocated {
            existing.allocation
        } else {
            notice.allocation
        },
        auto_allocation: if allocated {
            existing.auto_allocation
        } else {
            notice.auto_allocation
        },
        refund_status: notice
            .refund_status
            .clone()
            .or_else(|| existing.refund_status.clone()),
        attach: notice.attach.clone().or_else(|| existing.attach.clone()),
        pay_time: notice.pay_time.or(existing.pay_time),
        allocation_no: existing.allocation_no.clone(),
        auto_allocation_error: existing.auto_allocation_error.clone(),
        refunded: existing.refunded,
        // the first stamp stays: the payment was made under it
        account: existing.account.clone().or_else(|| notice.account.clone()),
    };
    if &merged == existing {
        Merge::Unchanged
    } else {
        Merge::Update(Box::new(merged))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: PayStatus) -> PayOrder {
        PayOrder {
            order_no: "P1".into(),
            biz_order_no: "B1".into(),
            out_order_no: Some("T1".into()),
            title: "t".into(),
            channel: Channel::AliPay,
            method: Some("qrcode".into()),
            amount: 10000,
            status,
            allocation: true,
            auto_allocation: false,
            refund_status: None,
            attach: None,
            pay_time: Some(1_719_475_200),
            allocation_no: None,
            auto_allocation_error: None,
            refunded: 0,
            account: None,
        }
    }
    #[test]
    fn close_after_success_does_not_regress() {
        let paid = order(PayStatus::Success);
        let closed = order(PayStatus::Close);
        assert_eq!(merge_notice(&paid, &closed), Merge::Unchanged);
        assert_eq!(merge_notice(&paid, &paid), Merge::Unchanged);
        let progress = order(PayStatus::Progress);
        assert_eq!(
            merge_notice(&progress, &paid),
            Merge::Update(Box::new(paid.clone()))
        );
    }

    #[test]
    fn allocation_mark_survives_and_identity_is_fixed() {
        let mut allocated = order(PayStatus::Success);
        allocated.allocation_no = Some("A1".into());
        let mut later = order(PayStatus::Success);
        later.allocation = false;
        later.refund_status = Some("refunding".into());
        match merge_notice(&allocated, &later) {
            Merge::Update(m) => {
                assert_eq!(m.allocation_no.as_deref(), Some("A1"));
                assert!(m.allocation);
                assert_eq!(m.refund_status.as_deref(), Some("refunding"));
            }
            other => panic!("expected an update, got {other:?}"),
        }
        let mut other_amount = order(PayStatus::Success);
        other_amount.amount = 5;
        assert!(
            matches!(merge_notice(&allocated, &other_amount), Merge::Conflict(m) if m.starts_with("amount"))
        );
    }
}
