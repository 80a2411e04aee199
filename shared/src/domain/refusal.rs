//! Every business refusal (SPEC §2.3: envelope `code` 0, `data.code` 1), each text written once.
//! DaxPay's Chinese wording is kept where DaxPay had the same check; the English in brackets
//! says what exactly was wrong.

use super::codes::{AllocationStatus, Channel, PayStatus};
use super::money::{FULL_RATE, MAX_RECEIVERS};
use std::fmt;

/// Why a verified request was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    PayOrderNotFound,
    PayOrderNotPaid(PayStatus),
    NotForAllocation,
    SharingUnsupported(Channel),
    AlreadyAllocated,
    ChannelNotConfigured(Channel),
    /// The split exceeds the share of the payment a WeChat Pay sub-merchant authorised its
    /// provider to split (`max_ratio` in 1/10000).
    OverMaxRatio {
        total: i64,
        amount: i64,
        max_ratio: i64,
    },
    /// The channel's account cannot act now (a key that cannot sign, a merchant authorisation
    /// expired: `why` says which and the fix): nothing was written.
    ChannelNotReady {
        channel: Channel,
        why: String,
    },
    NoTradeNo,
    BizAllocationNoReused,
    OrderNotFound,
    /// Finish from a status other than `allocation_end` / `finish_failed`.
    WrongStatus(AllocationStatus),
    AmountOverPaid {
        total: i64,
        paid: i64,
    },
    /// More than what refunds left to split (ours, or the channel's own figure).
    AmountOverSplittable {
        total: i64,
        splittable: i64,
        refunded: i64,
    },
    /// The pay order changed (a refund) while the start was deciding: nothing was written.
    PayOrderChanged,
    ReceiverNotFound(String),
    ReceiverOfOtherChannel {
        receiver_no: String,
        channel: Channel,
        belongs_to: Channel,
    },
    ReceiverExists(String),
    ReceiverInGroups {
        receiver_no: String,
        groups: i64,
    },
    ReceiverJoinedGroup(String),
    GroupNotFound(String),
    NoDefaultGroup(Channel),
    GroupOfOtherChannel {
        group_no: String,
        channel: Channel,
        belongs_to: Channel,
    },
    GroupEmpty(String),
    GroupExists(String),
    GroupChannelFixed {
        group_no: String,
        channel: Channel,
    },
    GroupTooLarge,
    RatesOverFull(i64),
    NotAMember {
        receiver_no: String,
        group_no: String,
    },
    DefaultGroupUndeletable {
        group_no: String,
        channel: Channel,
    },
    NotTheDefault(String),
    NoticeNotFound(AllocationStatus),
    /// The channel refused a receiver bind/unbind (`action` says which).
    ChannelRefused {
        action: &'static str,
        code: String,
        msg: String,
    },
    /// The channel did not answer clearly; the merchant may retry.
    ChannelUnclear(&'static str),
    /// A return the rules do not allow (SPEC §4.9).
    Return(super::returns::ReturnRefusal),
    BizReturnNoReused,
    /// The order has no share for this receiver.
    ShareNotFound(String),
    ReturnNotFound,
    /// Orders by status and day are listed only where the deployment keeps the lists.
    OrderListsOff,
    /// No statement of that channel and day: the day was not reconciled (SPEC §4.13).
    StatementNotFound {
        channel: Channel,
        day: String,
    },
}

/// Receiver bind / unbind, as the refusals name them.
pub const BIND: &str = "绑定分账接收方";
pub const UNBIND: &str = "解绑分账接收方";

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Refusal::*;
        match self {
            PayOrderNotFound => f.write_str("支付订单不存在"),
            PayOrderNotPaid(s) => {
                write!(f, "支付订单未支付成功，不可分账 (pay order status is {s})")
            }
            NotForAllocation => f.write_str(
                "该订单不允许分账 (the pay order was not paid with funds frozen for allocation)",
            ),
            SharingUnsupported(c) => f.write_str(c.sharing_refusal().unwrap_or("不支持分账")),
            AlreadyAllocated => {
                f.write_str("该订单已分账完成 (the pay order has an allocation already)")
            }
            ChannelNotConfigured(c) => {
                write!(f, "支付通道 {c} 未配置分账 (channel not configured)")
            }
            OverMaxRatio {
                total,
                amount,
                max_ratio,
            } => write!(
                f,
                "分账金额超过子商户授权的最大分账比例: {total}/{amount} 分 > {}.{:02}% (max_ratio {max_ratio}; the sub-merchant raises it in 商户平台 产品中心 - 授权的产品 - 分账授权)",
                max_ratio / 100,
                max_ratio % 100
            ),
            ChannelNotReady { channel, why } => {
                write!(f, "支付通道 {channel} 暂不可用: {why} (nothing was done)")
            }
            NoTradeNo => f.write_str("支付订单缺少通道交易号 (the pay order has no outOrderNo)"),
            BizAllocationNoReused => f.write_str(
                "商户分账单号已被使用 (bizAllocationNo is already used with other parameters)",
            ),
            OrderNotFound => f.write_str("分账单不存在"),
            OrderListsOff => f.write_str(
                "未开启分账单列表 (this deployment keeps no order lists: OrderLists / ORDER_LISTS=true)",
            ),
            WrongStatus(s) => write!(
                f,
                "分账单状态错误 (status is {s}; finish needs allocation_end or finish_failed)"
            ),
            AmountOverPaid { total, paid } => write!(
                f,
                "分账金额超过支付金额 (receivers total {total} fen, more than the paid {paid} fen)"
            ),
            AmountOverSplittable {
                total,
                splittable,
                refunded,
            } => write!(
                f,
                "分账金额超过可分账金额 (receivers total {total} fen, more than the {splittable} fen \
                 left to split after {refunded} fen of refunds)"
            ),
            PayOrderChanged => f.write_str(
                "支付订单已变化，请重试 (the pay order changed meanwhile, e.g. a refund; nothing was \
                 written, the same request may be sent again)",
            ),
            ReceiverNotFound(no) => write!(f, "分账接收方不存在 (receiver {no} not found)"),
            ReceiverOfOtherChannel {
                receiver_no,
                channel,
                belongs_to,
            } => write!(
                f,
                "分账接收方 {receiver_no} 不属于支付通道 {channel} (it belongs to {belongs_to})"
            ),
            ReceiverExists(no) => write!(f, "分账接收方编号已存在 (receiver {no} exists)"),
            ReceiverInGroups {
                receiver_no,
                groups,
            } => write!(
                f,
                "分账接收方已被分账组使用，不可删除 (receiver {receiver_no} is in {groups} group(s))"
            ),
            ReceiverJoinedGroup(no) => write!(
                f,
                "分账接收方已被分账组使用，不可删除 (receiver {no} joined a group meanwhile)"
            ),
            GroupNotFound(g) => write!(f, "分账组不存在 (group {g} not found)"),
            NoDefaultGroup(c) => write!(f, "未配置默认分账组 (no default group for channel {c})"),
            GroupOfOtherChannel {
                group_no,
                channel,
                belongs_to,
            } => write!(
                f,
                "分账组 {group_no} 不属于支付通道 {channel} (it belongs to {belongs_to})"
            ),
            GroupEmpty(g) => write!(f, "分账组 {g} 没有分账接收方 (the group has no receivers)"),
            GroupExists(g) => write!(f, "分账组编号已存在 (group {g} exists)"),
            GroupChannelFixed { group_no, channel } => {
                write!(
                    f,
                    "分账组通道不可修改 (group {group_no} belongs to {channel})"
                )
            }
            GroupTooLarge => write!(
                f,
                "分账组最多 {MAX_RECEIVERS} 个接收方 (at most {MAX_RECEIVERS} receivers per group)"
            ),
            RatesOverFull(total) => write!(
                f,
                "分账比例合计超过 {FULL_RATE} (group rates would add up to {total})"
            ),
            NotAMember {
                receiver_no,
                group_no,
            } => write!(f, "分账接收方 {receiver_no} 不在分账组 {group_no} 中"),
            DefaultGroupUndeletable { group_no, channel } => write!(
                f,
                "默认分账组不可删除，请先取消默认 (group {group_no} is the default of {channel})"
            ),
            NotTheDefault(g) => write!(f, "分账组 {g} 不是默认分账组 (not the default group)"),
            NoticeNotFound(s) => write!(f, "通知不存在 (no notice of status {s} for this order)"),
            ChannelRefused { action, code, msg } => write!(f, "{action}失败: {code} {msg}"),
            Return(r) => write!(f, "{r}"),
            BizReturnNoReused => f.write_str(
                "商户回退单号已被使用 (bizReturnNo is already used with other parameters)",
            ),
            ShareNotFound(no) => write!(
                f,
                "分账单中没有该接收方 (receiver {no} has no share in this order)"
            ),
            ReturnNotFound => f.write_str("分账回退单不存在 (no such return)"),
            StatementNotFound { channel, day } => write!(
                f,
                "对账单不存在 (no statement of {channel} for {day}: the day was not reconciled)"
            ),
            ChannelUnclear(action) => write!(
                f,
                "{action}失败: 通道暂时不可用，请重试 (channel did not answer clearly; retry)"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daxpay_texts_lead_the_messages() {
        assert_eq!(Refusal::PayOrderNotFound.to_string(), "支付订单不存在");
        assert!(
            Refusal::AlreadyAllocated
                .to_string()
                .starts_with("该订单已分账完成")
        );
        assert!(
            Refusal::WrongStatus(AllocationStatus::Finish)
                .to_string()
                .starts_with("分账单状态错误")
        );
        assert_eq!(
            Refusal::SharingUnsupported(Channel::UnionPay).to_string(),
            "云闪付不支持分账 (union_pay does not support allocation)"
        );
    }
}
