//! Who gets how much (SPEC §4.2 step 5): explicit amounts as given, group rates floored, the
//! remainder left with the merchant (released at finish).

use super::account::Account;
use super::allocation::{Allocation, AllocationDetail, AllocationOrder, aggregate, initial_result};
use super::codes::AllocationStatus;
use super::due::{Due, DueKind};
use super::lifecycle::Timing;
use super::money::Rate;
use super::pay_order::PayOrder;
use super::receivers::GroupMember;
use super::refusal::Refusal;
use super::spelling::Spelling;

/// A detail to create: who, how much, at which rate, on which account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub receiver_no: String,
    pub amount: i64,
    pub rate: i64,
    pub account: Account,
}

impl Planned {
    /// The new detail: `ignore` when there is nothing to pay, else `pending`.
    pub fn into_detail(self) -> AllocationDetail {
        AllocationDetail {
            result: initial_result(self.amount),
            receiver_no: self.receiver_no,
            amount: self.amount,
            rate: self.rate,
            receiver_type: self.account.receiver_type,
            receiver_account: self.account.account,
            receiver_name: self.account.name,
            error_code: None,
            error_msg: None,
            finish_time: None,
        }
    }
}

/// Explicit amounts: as given; their sum may not exceed the pay amount. The detail rate is
/// `floor(amount × 10000 / payAmount)`.
pub fn plan_explicit(
    pay_amount: i64,
    refunded: i64,
    amounts: impl IntoIterator<Item = (String, i64, Account)>,
) -> Result<Vec<Planned>, Refusal> {
    let planned: Vec<Planned> = amounts
        .into_iter()
        .map(|(receiver_no, amount, account)| Planned {
            receiver_no,
            amount,
            rate: Rate::of(amount, pay_amount),
            account,
        })
        .collect();
    let total: i64 = planned.iter().map(|p| p.amount).sum();
    if total > pay_amount {
        return Err(Refusal::AmountOverPaid {
            total,
            paid: pay_amount,
        });
    }
    if total > pay_amount - refunded {
        return Err(Refusal::AmountOverSplittable {
            total,
            splittable: pay_amount - refunded,
            refunded,
        });
    }
    Ok(planned)
}

/// Group rates: `floor(base × rate / 10000)` per member, `base` being what is left to split
/// (the pay amount less refunds); the remainder stays with the merchant and is released at
/// finish.
pub fn plan_group(pay_amount: i64, members: &[GroupMember]) -> Vec<Planned> {
    members
        .iter()
        .map(|m| Planned {
            receiver_no: m.receiver_no.clone(),
            amount: Rate::new(m.rate).map_or(0, |r| r.share_of(pay_amount)),
            rate: m.rate,
            account: m.account(),
        })
        .collect()
}

/// What the start request says about the order, beside the pay order and the receivers.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub biz_allocation_no: String,
    pub description: Option<String>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
    /// Of the start's business fields: a repeated bizAllocationNo is the same start when equal.
    pub digest: String,
    pub spelling: Spelling,
    pub not_notify: bool,
    /// The order's title, when the start gave one (else its pay order's).
    pub title: Option<String>,
}

/// A new order of `pay` with the planned details, before it has its number: `ignore` when
/// nothing is to be paid, else processing and due for its first sync.
pub fn new_allocation(
    pay: &PayOrder,
    trade_no: &str,
    planned: Vec<Planned>,
    req: OrderRequest,
    now: i64,
    t: &Timing,
) -> Allocation {
    let details: Vec<AllocationDetail> = planned.into_iter().map(Planned::into_detail).collect();
    let (status, result) = aggregate(&details);
    let order = AllocationOrder {
        allocation_no: String::new(),
        biz_allocation_no: req.biz_allocation_no,
        out_allocation_no: None,
        order_no: pay.order_no.clone(),
        biz_order_no: pay.biz_order_no.clone(),
        out_order_no: trade_no.to_owned(),
        title: req.title.unwrap_or_else(|| pay.title.clone()),
        channel: pay.channel,
        amount: details.iter().map(|d| d.amount).sum(),
        description: req.description,
        status,
        result,
        error_code: None,
        error_msg: None,
        finish_time: None,
        notify_url: req.notify_url,
        attach: req.attach,
        digest: req.digest,
        created_at: now,
        due: (status == AllocationStatus::Processing).then_some(Due {
            kind: DueKind::Sync,
            at: now + t.sync_first_delay_secs,
        }),
        sync_attempts: 0,
        flagged: false,
        spelling: req.spelling,
        not_notify: req.not_notify,
        account: pay.account.clone(),
    };
    Allocation { order, details }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::codes::{DetailResult, ReceiverType};

    fn account() -> Account {
        Account {
            receiver_type: ReceiverType::AliUserId,
            account: "x".into(),
            name: None,
        }
    }

    #[test]
    fn group_rounding_floors_and_keeps_the_remainder() {
        let m = |no: &str, rate| GroupMember {
            receiver_no: no.into(),
            rate,
            receiver_type: ReceiverType::AliUserId,
            receiver_account: "x".into(),
            receiver_name: None,
        };
        let planned = plan_group(999, &[m("a", 3333), m("b", 3333), m("c", 1)]);
        let amounts: Vec<i64> = planned.iter().map(|p| p.amount).collect();
        assert_eq!(amounts, vec![332, 332, 0]);
        let last = planned.into_iter().last().map(Planned::into_detail);
        assert_eq!(last.map(|d| d.result), Some(DetailResult::Ignore));
    }

    #[test]
    fn explicit_amounts_and_rates() {
        let planned = plan_explicit(
            10000,
            0,
            [("a".into(), 6000, account()), ("b".into(), 1, account())],
        );
        assert_eq!(
            planned.map(|p| p.iter().map(|x| x.rate).collect::<Vec<_>>()),
            Ok(vec![6000, 1])
        );
        let over = plan_explicit(
            10000,
            0,
            [("a".into(), 6000, account()), ("b".into(), 4001, account())],
        );
        assert!(over.is_err_and(|e| e.to_string().contains("10001")));
        // after a refund of 2,000 fen only 8,000 can be split
        let after_refund = plan_explicit(10000, 2000, [("a".into(), 8001, account())]);
        assert!(after_refund.is_err_and(|e| e.to_string().contains("8000")));
        assert!(plan_explicit(10000, 2000, [("a".into(), 8000, account())]).is_ok());
    }
}
