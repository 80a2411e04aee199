//! Returns (分账回退, SPEC §4.9): money taken back from a receiver after a split, so that the
//! merchant can refund the customer. WeChat Pay returns on its own (a return order); Alipay
//! only inside a refund, so its return is a refund plan: the `refund_royalty_parameters` row
//! the gateway's refund must carry, recorded until the refund notice that settles it.

use super::allocation::{AllocationDetail, AllocationOrder};
use super::codes::{AllocationStatus, Channel, DetailResult, ReceiverType, ReturnStatus};
use super::due::Due;
use super::spelling::Spelling;
use std::fmt;

/// How many returns a receiver of one order may have (WeChat Pay's limit).
pub const MAX_RETURNS_PER_RECEIVER: i64 = 20;
/// How long after the split a return may be made (WeChat Pay's limit).
pub const RETURN_WINDOW_SECS: i64 = 180 * 86_400;

/// A return of (part of) one receiver's share of an allocation order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnOrder {
    /// Ours (prefix + `R` + time + digits): the channel's request number (`out_return_no`).
    pub return_no: String,
    pub biz_return_no: String,
    pub allocation_no: String,
    pub biz_allocation_no: String,
    pub order_no: String,
    /// The channel's trade number.
    pub out_order_no: String,
    pub channel: Channel,
    pub receiver_no: String,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    /// Fen.
    pub amount: i64,
    pub description: Option<String>,
    pub status: ReturnStatus,
    /// The channel's return number (WeChat `return_id`).
    pub out_return_no: Option<String>,
    pub error_code: Option<String>,
    pub error_msg: Option<String>,
    pub finish_time: Option<i64>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// Alipay: the merchant's refund (bizRefundNo) that will carry the plan, if it said.
    pub biz_refund_no: Option<String>,
    /// Alipay: the refund that carried it.
    pub refund_no: Option<String>,
    pub digest: String,
    pub spelling: Spelling,
    pub created_at: i64,
    /// A sync while the channel is still processing it.
    pub due: Option<Due>,
    pub sync_attempts: i64,
    /// The channel account of its order (SPEC §6.5): its calls use it.
    pub account: Option<String>,
}

/// What a receiver of an order has given back so far: the sum of its returns that are not
/// failed (planned and processing ones included: they are spoken for), and how many there were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Returned {
    pub amount: i64,
    pub count: i64,
}

/// Why a return is refused before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRefusal {
    /// The order has not been split (still processing, failed, ignored).
    NotSplit(AllocationStatus),
    /// This receiver's share did not succeed.
    ShareNotPaid(DetailResult),
    /// The channel cannot take money back from this kind of receiver.
    TypeUnsupported(ReceiverType),
    Over {
        received: i64,
        returned: i64,
        asked: i64,
    },
    TooMany,
    TooLate {
        days: i64,
    },
}

impl fmt::Display for ReturnRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSplit(s) => write!(
                f,
                "分账单未完成分账，不可回退 (the order is {s}; returns need a split order)"
            ),
            Self::ShareNotPaid(r) => write!(
                f,
                "该接收方未分账成功，不可回退 (the receiver's share is {r}, not success)"
            ),
            Self::TypeUnsupported(t) => write!(
                f,
                "该接收方类型不支持分账回退 (WeChat Pay returns only from MERCHANT_ID receivers, not {t})"
            ),
            Self::Over {
                received,
                returned,
                asked,
            } => write!(
                f,
                "回退金额超过可回退金额 (the receiver got {received} fen, {returned} fen are returned \
                 or being returned, {asked} fen asked)"
            ),
            Self::TooMany => write!(
                f,
                "回退次数超过限制 (at most {MAX_RETURNS_PER_RECEIVER} returns per receiver of an order)"
            ),
            Self::TooLate { days } => write!(
                f,
                "分账已超过 180 天，不可回退 (the split was {days} days ago)"
            ),
        }
    }
}

/// Whether `amount` may be returned from `detail` of `order` now, given what it returned so
/// far (SPEC §4.9): the order was split, the share succeeded, the channel can return from
/// this receiver type, no more than it got, at most 20 returns, within 180 days.
pub fn check_return(
    order: &AllocationOrder,
    detail: &AllocationDetail,
    returned: Returned,
    amount: i64,
    now: i64,
) -> Result<(), ReturnRefusal> {
    if !matches!(
        order.status,
        AllocationStatus::End | AllocationStatus::Finish | AllocationStatus::FinishFailed
    ) {
        return Err(ReturnRefusal::NotSplit(order.status));
    }
    if detail.result != DetailResult::Success {
        return Err(ReturnRefusal::ShareNotPaid(detail.result));
    }
    if order.channel == Channel::WechatPay && detail.receiver_type != ReceiverType::WxMerchant {
        return Err(ReturnRefusal::TypeUnsupported(detail.receiver_type));
    }
    let age = now - order.created_at;
    if age > RETURN_WINDOW_SECS {
        return Err(ReturnRefusal::TooLate { days: age / 86_400 });
    }
    if returned.count >= MAX_RETURNS_PER_RECEIVER {
        return Err(ReturnRefusal::TooMany);
    }
    if amount > detail.amount - returned.amount {
        return Err(ReturnRefusal::Over {
            received: detail.amount,
            returned: returned.amount,
            asked: amount,
        });
    }
    Ok(())
}

/// What the channel says of a return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnState {
    Processing,
    Success {
        finish_time: Option<i64>,
    },
    /// The channel's code and its words for it.
    Failed {
        code: String,
        msg: String,
    },
}

/// The channel's answer about a return: its state and its own number for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnAnswer {
    pub state: ReturnState,
    pub return_id: Option<String>,
}

/// What the channel's answer does to a return: the next status, and whether its amount is
/// given back to the receiver's tally (a failed return is no longer spoken for).
pub fn on_return_state(r: &ReturnOrder, state: &ReturnState, now: i64) -> Option<ReturnOrder> {
    if r.status.is_final() {
        return None;
    }
    let mut next = r.clone();
    match state {
        ReturnState::Processing => return None,
        ReturnState::Success { finish_time } => {
            next.status = ReturnStatus::Success;
            next.finish_time = Some(finish_time.unwrap_or(now));
        }
        ReturnState::Failed { code, msg } => {
            next.status = ReturnStatus::Failed;
            next.error_code = Some(code.clone());
            next.error_msg = Some(msg.clone());
            next.finish_time = Some(now);
        }
    }
    next.due = None;
    Some(next)
}

/// When a return still processing is asked about again: 30 s, then doubling, at most 1 h
/// (WeChat keeps a short-balance return processing for days until the balance suffices).
pub fn next_return_sync(attempts: i64, now: i64) -> i64 {
    let step = 30_i64.saturating_mul(1 << attempts.clamp(0, 7));
    now + step.min(3600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AllocationResult;

    fn order(status: AllocationStatus, channel: Channel) -> AllocationOrder {
        AllocationOrder {
            allocation_no: "A1".into(),
            biz_allocation_no: "B1".into(),
            out_allocation_no: None,
            order_no: "P1".into(),
            biz_order_no: "BP1".into(),
            out_order_no: "T1".into(),
            title: "t".into(),
            channel,
            amount: 7000,
            description: None,
            status,
            result: AllocationResult::AllSuccess,
            error_code: None,
            error_msg: None,
            finish_time: None,
            notify_url: None,
            attach: None,
            digest: String::new(),
            created_at: 1_000,
            due: None,
            sync_attempts: 0,
            flagged: false,
            spelling: Spelling::V207,
            not_notify: false,
            account: None,
        }
    }

    fn detail(receiver_type: ReceiverType, result: DetailResult) -> AllocationDetail {
        AllocationDetail {
            receiver_no: "r1".into(),
            amount: 6000,
            rate: 6000,
            receiver_type,
            receiver_account: "1900000110".into(),
            receiver_name: None,
            result,
            error_code: None,
            error_msg: None,
            finish_time: None,
        }
    }

    #[test]
    fn a_return_is_checked_against_what_the_receiver_got() {
        use AllocationStatus::*;
        let wx = order(End, Channel::WechatPay);
        let merchant = detail(ReceiverType::WxMerchant, DetailResult::Success);
        let none = Returned::default();
        assert_eq!(check_return(&wx, &merchant, none, 6000, 2_000), Ok(()));
        let some = Returned {
            amount: 5000,
            count: 1,
        };
        assert_eq!(check_return(&wx, &merchant, some, 1000, 2_000), Ok(()));
        assert!(matches!(
            check_return(&wx, &merchant, some, 1001, 2_000),
            Err(ReturnRefusal::Over { returned: 5000, .. })
        ));
        let many = Returned {
            amount: 20,
            count: 20,
        };
        assert_eq!(
            check_return(&wx, &merchant, many, 1, 2_000),
            Err(ReturnRefusal::TooMany)
        );
        let personal = detail(ReceiverType::WxPersonal, DetailResult::Success);
        assert!(matches!(
            check_return(&wx, &personal, none, 1, 2_000),
            Err(ReturnRefusal::TypeUnsupported(_))
        ));
        // Alipay returns (refund plans) from any receiver type it split to
        let ali = order(Finish, Channel::AliPay);
        let login = detail(ReceiverType::AliLoginName, DetailResult::Success);
        assert_eq!(check_return(&ali, &login, none, 1, 2_000), Ok(()));
        assert!(matches!(
            check_return(&order(Processing, Channel::AliPay), &login, none, 1, 2_000),
            Err(ReturnRefusal::NotSplit(Processing))
        ));
        let failed = detail(ReceiverType::WxMerchant, DetailResult::Fail);
        assert!(matches!(
            check_return(&wx, &failed, none, 1, 2_000),
            Err(ReturnRefusal::ShareNotPaid(DetailResult::Fail))
        ));
        assert!(matches!(
            check_return(&wx, &merchant, none, 1, 1_000 + RETURN_WINDOW_SECS + 86_400),
            Err(ReturnRefusal::TooLate { days: 181 })
        ));
    }

    #[test]
    fn return_syncs_back_off_to_an_hour() {
        assert_eq!(next_return_sync(0, 0), 30);
        assert_eq!(next_return_sync(1, 0), 60);
        assert_eq!(next_return_sync(10, 0), 3600);
    }
}
