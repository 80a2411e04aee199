//! The API's codes (SPEC §2.5): channels, statuses, results, receiver and relation types.
//!
//! Each is an enum of the codes this version knows plus `Other`, which keeps a code a newer
//! service sends: an answer is never refused for a status added later. Parsing a code from
//! text (`FromStr`, what a command line does) accepts only the known ones.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

macro_rules! codes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vm])* $variant,)+
            /// A code this version does not know, as the service sent it.
            Other(String),
        }

        impl $name {
            /// Every code this version knows.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The code as the API writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $code,)+
                    $name::Other(code) => code,
                }
            }

            fn known(code: &str) -> Option<Self> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::known(s).ok_or_else(|| {
                    let known: Vec<&str> = Self::KNOWN.iter().map(|c| c.as_str()).collect();
                    format!("unknown code `{s}` (expected one of {})", known.join(", "))
                })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = String::deserialize(deserializer)?;
                Ok(Self::known(&code).unwrap_or($name::Other(code)))
            }
        }
    };
}

codes!(
    /// Payment channels. Only Alipay and WeChat Pay support sharing; the service refuses the
    /// others with a clear message.
    Channel {
        AliPay = "ali_pay",
        WechatPay = "wechat_pay",
        UnionPay = "union_pay",
        WalletPay = "wallet_pay",
    }
);

codes!(
    /// Status of an allocation order.
    AllocationStatus {
        Processing = "allocation_processing",
        End = "allocation_end",
        Failed = "allocation_failed",
        Finish = "finish",
        FinishFailed = "finish_failed",
        /// Nothing to split: every amount rounded to 0.
        Ignore = "ignore",
    }
);

codes!(
    /// Result of an allocation order over its receivers.
    AllocationResult {
        AllPending = "all_pending",
        AllSuccess = "all_success",
        PartSuccess = "part_success",
        AllFailed = "all_failed",
    }
);

codes!(
    /// Result of one receiver's share.
    DetailResult {
        Pending = "pending",
        Success = "success",
        Fail = "fail",
        Ignore = "ignore",
    }
);

codes!(
    /// Receiver account types, each of one channel.
    ReceiverType {
        /// WeChat Pay PERSONAL_OPENID.
        WxPersonal = "wx_personal",
        /// WeChat Pay MERCHANT_ID.
        WxMerchant = "wx_merchant",
        AliUserId = "ali_user_id",
        AliOpenId = "ali_open_id",
        AliLoginName = "ali_login_name",
    }
);

codes!(
    /// How a receiver relates to the merchant.
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
        /// Needs a `relationName`.
        Custom = "CUSTOM",
    }
);

codes!(
    /// Status of a pay order, as the payment gateway reported it.
    PayStatus {
        Progress = "progress",
        Success = "success",
        Close = "close",
        Cancel = "cancel",
        Fail = "fail",
    }
);

codes!(
    /// Status of a return (分账回退). `return_planned` is Alipay's: a refund plan waiting for
    /// the refund that carries it.
    ReturnStatus {
        Processing = "return_processing",
        Planned = "return_planned",
        Success = "return_success",
        Failed = "return_failed",
    }
);

codes!(
    /// What a sync of many orders did with one of them.
    SyncOutcome {
        /// A sync job was queued: the order is still processing.
        Queued = "queued",
        /// Nothing to ask: the order is no longer processing (its status is given).
        NotProcessing = "not_processing",
        NotFound = "not_found",
    }
);

codes!(
    /// How a day's reconciliation with the channel's bill came out.
    StatementStatus {
        /// Both sides agree (every discrepancy the channel's per-order query resolved).
        Consistent = "consistent",
        /// Discrepancies the per-order query did not resolve.
        Discrepancies = "discrepancies",
        /// The bill could not be read or fetched (`error` says why).
        Failed = "failed",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_round_trip_and_unknown_ones_are_kept() {
        for s in AllocationStatus::KNOWN {
            assert_eq!(s.as_str().parse::<AllocationStatus>().as_ref(), Ok(s));
        }
        let read: AllocationStatus =
            serde_json::from_str("\"allocation_paused\"").unwrap_or(AllocationStatus::Ignore);
        assert_eq!(read, AllocationStatus::Other("allocation_paused".into()));
        assert_eq!(
            serde_json::to_string(&read).ok().as_deref(),
            Some("\"allocation_paused\"")
        );
        assert!(
            "paypal"
                .parse::<Channel>()
                .is_err_and(|e| e.contains("ali_pay"))
        );
    }
}
