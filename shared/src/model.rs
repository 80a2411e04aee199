//! Codes of the merchant API (SPEC §2.5) and the pay order (SPEC §4.1).

use serde::{Deserialize, Serialize};

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $code)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

code_enum!(
    /// Payment channels known to DaxPay. Only Alipay and WeChat Pay support sharing.
    Channel {
        AliPay = "ali_pay",
        WechatPay = "wechat_pay",
        UnionPay = "union_pay",
        WalletPay = "wallet_pay",
    }
);

impl Channel {
    pub fn supports_sharing(self) -> bool {
        matches!(self, Self::AliPay | Self::WechatPay)
    }

    /// Why a channel cannot share, in DaxPay's words.
    pub fn sharing_refusal(self) -> Option<&'static str> {
        match self {
            Self::UnionPay => Some("云闪付不支持分账 (union_pay does not support allocation)"),
            Self::WalletPay => Some("钱包支付不支持分账 (wallet_pay does not support allocation)"),
            Self::AliPay | Self::WechatPay => None,
        }
    }
}

code_enum!(
    /// Status of a pay order as DaxPay reports it.
    PayStatus {
        Progress = "progress",
        Success = "success",
        Close = "close",
        Cancel = "cancel",
        Fail = "fail",
    }
);

code_enum!(
    /// Allocation order status.
    AllocationStatus {
        Processing = "allocation_processing",
        End = "allocation_end",
        Failed = "allocation_failed",
        Finish = "finish",
        FinishFailed = "finish_failed",
        Ignore = "ignore",
    }
);

code_enum!(
    /// Allocation order result.
    AllocationResult {
        AllPending = "all_pending",
        AllSuccess = "all_success",
        PartSuccess = "part_success",
        AllFailed = "all_failed",
    }
);

code_enum!(
    /// Result of one receiver's share.
    DetailResult {
        Pending = "pending",
        Success = "success",
        Fail = "fail",
        Ignore = "ignore",
    }
);

code_enum!(
    /// Receiver account types.
    ReceiverType {
        WxPersonal = "wx_personal",
        WxMerchant = "wx_merchant",
        AliUserId = "ali_user_id",
        AliOpenId = "ali_open_id",
        AliLoginName = "ali_login_name",
    }
);

impl ReceiverType {
    pub fn channel(self) -> Channel {
        match self {
            Self::WxPersonal | Self::WxMerchant => Channel::WechatPay,
            Self::AliUserId | Self::AliOpenId | Self::AliLoginName => Channel::AliPay,
        }
    }
}

code_enum!(
    /// How a receiver relates to the merchant (WeChat's `relation_type` values).
    RelationType {
        ServiceProvider = "SERVICE_PROVIDER",
        Store = "STORE",
        Staff = "STAFF",
        StoreOwner = "STORE_OWNER",
        Partner = "PARTNER",
        Headquarter = "HEADQUARTER",
        Brand = "BRAND",
        Distributor = "DISTRIBUTOR",
        User = "USER",
        Supplier = "SUPPLIER",
        Custom = "CUSTOM",
    }
);

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

    /// DaxPay's `allocStatus`: `waiting` until an allocation is made, then `allocation`.
    pub fn alloc_status(&self) -> Option<&'static str> {
        match (&self.allocation_no, self.allocation) {
            (Some(_), _) => Some("allocation"),
            (None, true) => Some("waiting"),
            (None, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(*c));
        }
        assert_eq!(
            serde_json::to_string(&AllocationStatus::Processing).ok(),
            Some("\"allocation_processing\"".to_owned())
        );
        assert_eq!(ReceiverType::AliOpenId.channel(), Channel::AliPay);
        assert!(!Channel::UnionPay.supports_sharing());
    }
}

/// A receiver registered with a channel (SPEC §4.8). Immutable once added, except its group count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
    pub relation_type: RelationType,
    pub relation_name: Option<String>,
    /// How many groups list this receiver; it cannot be removed while above 0.
    pub group_count: i64,
}

/// A member of a group: a copy of the receiver's account (receivers never change) and its rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub receiver_no: String,
    /// Basis points (1/10000 of the pay amount).
    pub rate: i64,
    pub receiver_type: ReceiverType,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
}

/// A named set of receivers with rates, of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub group_no: String,
    pub name: String,
    pub channel: Channel,
    pub remark: Option<String>,
    pub members: Vec<GroupMember>,
}

impl Group {
    pub fn total_rate(&self) -> i64 {
        self.members.iter().map(|m| m.rate).sum()
    }
}

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
    pub spelling: crate::daxpay::Spelling,
    /// The start asked for no merchant notices (2.0.7 `notNotify`).
    pub not_notify: bool,
}

/// Kinds of due work, one partition of the `due` index each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DueKind {
    Sync,
    Finish,
    AutoAllocate,
    Notify,
}

impl DueKind {
    pub const ALL: [DueKind; 4] = [Self::Sync, Self::Finish, Self::AutoAllocate, Self::Notify];

    /// The `duePk` value.
    pub fn partition(self) -> &'static str {
        match self {
            Self::Sync => "DUE#sync",
            Self::Finish => "DUE#finish",
            Self::AutoAllocate => "DUE#auto_allocate",
            Self::Notify => "DUE#notify",
        }
    }

    pub fn from_partition(p: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.partition() == p)
    }
}

/// Work of some kind due at an instant (epoch seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub kind: DueKind,
    pub at: i64,
}

/// One attempt to deliver a merchant notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeAttempt {
    pub number: i64,
    pub at: i64,
    pub delivered: bool,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it failed: a transport error or the first 100 characters of the answer.
    pub error: Option<String>,
}

/// The merchant notice of one order status (outbox item, SPEC §4.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub allocation_no: String,
    pub status: AllocationStatus,
    pub url: String,
    /// The signed JSON body, built once when the status changed; every attempt sends it.
    pub body: String,
    pub delivered: bool,
    pub attempts: Vec<NoticeAttempt>,
    /// When the next attempt may be made (the schedule); `due` may run later than this while
    /// the scheduler leases the item.
    pub next_at: Option<i64>,
    pub due: Option<Due>,
    /// The delays after each failed attempt, fixed when the notice is written (a later change
    /// of the setting does not re-time notices in flight).
    pub schedule: Vec<i64>,
    /// How many attempts it may take: one more than the schedule's delays, plus one for every
    /// time the merchant asked for it again.
    pub max_attempts: i64,
}

impl Notice {
    /// When to try again after a failed attempt made at `now`, when `made` attempts (this one
    /// included) have been made; `None`: the attempts are used up.
    pub fn retry_at(&self, made: i64, now: i64) -> Option<i64> {
        if made >= self.max_attempts {
            return None;
        }
        // the delay after attempt `made` is the schedule's entry `made - 1` (a resend past the
        // end of the schedule waits as long as its last step)
        let index = usize::try_from(made.saturating_sub(1)).unwrap_or(0);
        let delay = self
            .schedule
            .get(index)
            .or(self.schedule.last())
            .copied()
            .unwrap_or(0);
        Some(now + delay)
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

/// Masks an account for display: keeps a few characters at each end (`2088****1234`).
pub fn mask_account(account: &str) -> String {
    let chars: Vec<char> = account.chars().collect();
    let n = chars.len();
    let keep = match n {
        0..=2 => 0,
        3..=6 => 1,
        7..=10 => 2,
        _ => 4,
    };
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[n - keep..].iter().collect();
    format!("{head}****{tail}")
}

/// Masks every receiver account of `accounts` that appears in a channel's text (an error
/// message may quote the account it refuses). Accounts shorter than 3 characters are left: they
/// would match ordinary words.
pub fn mask_accounts_in(text: &str, accounts: &[&str]) -> String {
    let mut out = text.to_owned();
    for account in accounts {
        if account.chars().count() >= 3 && out.contains(account) {
            out = out.replace(account, &mask_account(account));
        }
    }
    out
}

#[cfg(test)]
mod mask_tests {
    use super::{mask_account, mask_accounts_in};

    #[test]
    fn accounts_in_channel_texts_are_masked() {
        assert_eq!(
            mask_accounts_in(
                "分账接收方 oUpF8uMuAJO_M2pxb1Q9zNjWeS6o 重复",
                &["oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "19"]
            ),
            "分账接收方 oUpF****eS6o 重复"
        );
        assert_eq!(
            mask_accounts_in("余额不足", &["2088000000000011"]),
            "余额不足"
        );
    }

    #[test]
    fn masks_keep_little() {
        assert_eq!(mask_account("2088123412341234"), "2088****1234");
        assert_eq!(mask_account("a@b.cn"), "a****n");
        assert_eq!(mask_account("ab"), "****");
        assert_eq!(mask_account("用户账号很长的名字啊"), "用户****字啊");
    }
}
