//! Pure allocation rules (SPEC §4.2, §4.3, §4.5): shares and rounding, aggregation of detail
//! results into the order, applying a channel's answer, request digests and order numbers.

use crate::channel::{ShareResult, ShareState};
use crate::model::{
    AllocationDetail, AllocationResult, AllocationStatus, DetailResult, GroupMember, Receiver,
};
use crate::params::{FULL_RATE, StartParams};
use sha2::{Digest, Sha256};

/// A detail to create: who, how much, at which rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub receiver_no: String,
    pub amount: i64,
    pub rate: i64,
}

/// Explicit amounts: as given; their sum may not exceed the pay amount. The detail rate is
/// `floor(amount × 10000 / payAmount)`.
pub fn plan_explicit(pay_amount: i64, amounts: &[(String, i64)]) -> Result<Vec<Planned>, String> {
    let total: i64 = amounts.iter().map(|(_, a)| *a).sum();
    if total > pay_amount {
        return Err(format!(
            "分账金额超过支付金额 (receivers total {total} fen, more than the paid {pay_amount} fen)"
        ));
    }
    Ok(amounts
        .iter()
        .map(|(no, amount)| Planned {
            receiver_no: no.clone(),
            amount: *amount,
            rate: if pay_amount > 0 {
                amount.saturating_mul(FULL_RATE) / pay_amount
            } else {
                0
            },
        })
        .collect())
}

/// Group rates: `floor(payAmount × rate / 10000)` per member; the remainder stays with the
/// merchant and is released at finish.
pub fn plan_group(pay_amount: i64, members: &[GroupMember]) -> Vec<Planned> {
    members
        .iter()
        .map(|m| Planned {
            receiver_no: m.receiver_no.clone(),
            amount: pay_amount.saturating_mul(m.rate) / FULL_RATE,
            rate: m.rate,
        })
        .collect()
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

/// Hex SHA-256 of the start request's business fields (everything but `sign`, `nonceStr`,
/// `reqTime` and `clientIp`, which are not part of `StartParams`), spelling-independent.
pub fn start_digest(params: &StartParams) -> String {
    let text = serde_json::to_string(params).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// `yyMMddHHmmss` in Beijing time.
fn beijing_digits(now: i64) -> String {
    let stamp = crate::channel::alipay::beijing_timestamp(now);
    stamp.chars().filter(char::is_ascii_digit).skip(2).collect()
}

/// A fresh allocation number: prefix + `A` + `yyMMddHHmmss` (Beijing time) + 8 random digits.
/// Its uniqueness is enforced by the conditional write that stores the order.
pub fn new_allocation_no(prefix: &str, now: i64) -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random_range(0..100_000_000);
    format!("{prefix}A{}{n:08}", beijing_digits(now))
}

/// A fresh request number for a receiver bind/unbind at the channel (≤ 32 of `[A-Za-z0-9]`).
pub fn new_request_no(kind: char, now: i64) -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{kind}{}{n:016x}", beijing_digits(now))
}

/// The receivers a start refers to must exist and belong to the pay order's channel.
pub fn check_receivers<'a>(
    channel: crate::model::Channel,
    wanted: impl IntoIterator<Item = &'a str>,
    found: &'a [Receiver],
) -> Result<Vec<&'a Receiver>, String> {
    let mut out = Vec::new();
    for no in wanted {
        let Some(r) = found.iter().find(|r| r.receiver_no == no) else {
            return Err(format!("分账接收方不存在 (receiver {no} not found)"));
        };
        if r.channel != channel {
            return Err(format!(
                "分账接收方 {no} 不属于支付通道 {channel} (it belongs to {})",
                r.channel
            ));
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReceiverType;

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
        assert_eq!(initial_result(0), DetailResult::Ignore);
    }

    #[test]
    fn explicit_amounts_and_rates() {
        let planned = plan_explicit(10000, &[("a".into(), 6000), ("b".into(), 1)]);
        assert_eq!(
            planned.map(|p| p.iter().map(|x| x.rate).collect::<Vec<_>>()),
            Ok(vec![6000, 1])
        );
        assert!(
            plan_explicit(10000, &[("a".into(), 6000), ("b".into(), 4001)])
                .is_err_and(|e| e.contains("10001"))
        );
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

    #[test]
    fn receivers_must_exist_and_match_the_channel() {
        use crate::model::{Channel, RelationType};
        let r = |no: &str, channel, receiver_type| Receiver {
            receiver_no: no.into(),
            channel,
            receiver_type,
            receiver_account: "a".into(),
            receiver_name: None,
            relation_type: RelationType::Partner,
            relation_name: None,
            group_count: 0,
        };
        let found = vec![
            r("ali", Channel::AliPay, ReceiverType::AliUserId),
            r("wx", Channel::WechatPay, ReceiverType::WxPersonal),
        ];
        assert!(check_receivers(Channel::AliPay, ["ali"], &found).is_ok());
        assert!(
            check_receivers(Channel::AliPay, ["ali", "wx"], &found)
                .is_err_and(|e| e.contains("wx")
                    && e.contains("ali_pay")
                    && e.contains("wechat_pay"))
        );
        assert!(
            check_receivers(Channel::WechatPay, ["nobody"], &found)
                .is_err_and(|e| e.contains("分账接收方不存在"))
        );
    }

    #[test]
    fn numbers_have_the_daxpay_shape() {
        let no = new_allocation_no("DEV", 1_719_475_200);
        assert!(no.starts_with("DEVA240627160000"), "{no}");
        assert_eq!(no.len(), 3 + 1 + 12 + 8);
        assert!(no.chars().all(|c| c.is_ascii_alphanumeric()));
        let r = new_request_no('B', 1_719_475_200);
        assert!(
            r.len() <= 32 && r.chars().all(|c| c.is_ascii_alphanumeric()),
            "{r}"
        );
    }

    #[test]
    fn digest_ignores_spelling_and_common_fields() {
        let a: StartParams = serde_json::from_str(r#"{"bizAllocationNo":"A","orderNo":"P"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let b: StartParams = serde_json::from_str(r#"{"bizAllocNo":"A","orderNo":"P"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        let c: StartParams = serde_json::from_str(r#"{"bizAllocNo":"A","orderNo":"Q"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(start_digest(&a), start_digest(&b));
        assert_ne!(start_digest(&a), start_digest(&c));
    }
}
