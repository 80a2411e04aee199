//! The codes of the merchant API (SPEC §2.5): channels, statuses, results, receiver and
//! relation types, each with its DaxPay text.

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
    /// Status of a refund of a pay order, as DaxPay's refund notice reports it.
    RefundStatus {
        Progress = "progress",
        Success = "success",
        Close = "close",
        Fail = "fail",
    }
);

impl RefundStatus {
    /// Success, close and fail are final: a later notice does not change them.
    pub fn is_final(self) -> bool {
        self != Self::Progress
    }
}

code_enum!(
    /// Status of a return (分账回退, SPEC §4.9). `return_planned`: Alipay's, a refund plan
    /// waiting for the refund that carries it.
    ReturnStatus {
        Processing = "return_processing",
        Planned = "return_planned",
        Success = "return_success",
        Failed = "return_failed",
    }
);

impl ReturnStatus {
    /// Success and failed are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Success | Self::Failed)
    }
}

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
    /// Receiver account types. `wx_personal_sub`: an openid under the sub-merchant's own appid
    /// (WeChat Pay partner mode, `PERSONAL_SUB_OPENID`; the account needs its `sub_appid`).
    ReceiverType {
        WxPersonal = "wx_personal",
        WxPersonalSub = "wx_personal_sub",
        WxMerchant = "wx_merchant",
        AliUserId = "ali_user_id",
        AliOpenId = "ali_open_id",
        AliLoginName = "ali_login_name",
    }
);

impl ReceiverType {
    pub fn channel(self) -> Channel {
        match self {
            Self::WxPersonal | Self::WxPersonalSub | Self::WxMerchant => Channel::WechatPay,
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

code_enum!(
    /// Where a day's reconciliation statement stands (SPEC §4.13): both sides agree (or the
    /// per-order query resolved every disagreement); at least one discrepancy confirmed; or the
    /// bill could not be had or read (the reason is kept) and nothing was compared.
    StatementStatus {
        Consistent = "consistent",
        Discrepancies = "discrepancies",
        Failed = "failed",
    }
);

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
