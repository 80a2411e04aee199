//! DaxPay 3.0.0-beta4's allocation parameters, member for member as its SDK's param classes
//! (`org.dromara.daxpay.single.sdk.param.allocation`), and what each is in the 2.0.x terms the
//! services take: receiver amounts in yuan become fen, beta4's receiver and relation type
//! codes become ours. Checked by the rules of the 2.0.x parameters they become.

use super::super::envelope::ValidationError;
use super::super::params::{AllocationRef, Receivers, StartParams};
use super::super::receiver_params::{QueryReceiverParams, ReceiverAddParams, ReceiverRemoveParams};
use super::super::request::{Params, check_opt_len};
use super::codes::{receiver_type_of, relation_type_of};
use crate::domain::Channel;
use crate::domain::money::{Fen, yuan_to_fen};
use serde::{Deserialize, Deserializer};

/// An amount in yuan, read exactly (more than 0, at most two decimals), held in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuan(pub Fen);

const YUAN_RULE: &str =
    "分账金额至少为0.01元 (a number of yuan above 0 with at most 2 decimals, below 100000000)";

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Yuan;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(YUAN_RULE)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Yuan, E> {
                yuan(&n.to_string()).ok_or_else(|| E::custom(YUAN_RULE))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Yuan, E> {
                yuan(&n.to_string()).ok_or_else(|| E::custom(YUAN_RULE))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Yuan, E> {
                // Rust writes the shortest text that reads back as this double: for amounts of
                // at most 10 significant digits, exactly the decimal that was sent.
                yuan(&format!("{n}")).ok_or_else(|| E::custom(YUAN_RULE))
            }
        }
        d.deserialize_any(Visit)
    }
}

/// `text` as yuan: below 10^8, at most two decimals, above 0.
fn yuan(text: &str) -> Option<Yuan> {
    let whole = text.split('.').next().unwrap_or_default();
    if whole.len() > 8 {
        return None;
    }
    let fen = yuan_to_fen(text)?;
    Fen::new(fen).ok().map(Yuan)
}

/// beta4's `AllocationParam.ReceiverParam`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReceiverParam {
    pub receiver_no: String,
    pub amount: Yuan,
}

/// beta4's `AllocationParam` (`/unipay/alloc/start`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocationParam {
    pub biz_alloc_no: String,
    pub order_no: Option<String>,
    pub biz_order_no: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub group_no: Option<String>,
    pub receivers: Option<Vec<ReceiverParam>>,
    pub notify_url: Option<String>,
    pub attach: Option<String>,
}

impl AllocationParam {
    /// The start it asks for.
    pub fn start(&self) -> StartParams {
        let receivers = self
            .receivers
            .as_ref()
            .filter(|r| !r.is_empty())
            .map(|list| {
                list.iter()
                    .map(|r| (r.receiver_no.as_str(), r.amount.0))
                    .collect::<Receivers>()
            });
        StartParams {
            biz_allocation_no: self.biz_alloc_no.clone(),
            order_no: self.order_no.clone().filter(|o| !o.is_empty()),
            biz_order_no: self.biz_order_no.clone().filter(|o| !o.is_empty()),
            description: self.description.clone(),
            group_no: self.group_no.clone(),
            receivers,
            notify_url: self.notify_url.clone(),
            attach: self.attach.clone(),
            not_notify: None,
            title: self.title.clone().filter(|t| !t.trim().is_empty()),
        }
    }
}

impl Params for AllocationParam {
    const CLAIMS_NONCE: bool = true;

    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("title", &self.title, 100)?;
        self.start().validate().map_err(|e| ValidationError {
            field: e.field.replace("bizAllocationNo", "bizAllocNo"),
            ..e
        })
    }
}

/// beta4's `AllocFinishParam`, `AllocSyncParam` and `QueryAllocOrderParam`: an order by our
/// number or the merchant's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocRef {
    pub alloc_no: Option<String>,
    pub biz_alloc_no: Option<String>,
}

impl AllocRef {
    pub fn order(&self) -> AllocationRef {
        AllocationRef {
            allocation_no: self.alloc_no.clone(),
            biz_allocation_no: self.biz_alloc_no.clone(),
        }
    }
}

impl Params for AllocRef {
    fn validate(&self) -> Result<(), ValidationError> {
        check_opt_len("allocNo", &self.alloc_no, 32)?;
        check_opt_len("bizAllocNo", &self.biz_alloc_no, 100)?;
        if self.alloc_no.as_deref().is_none_or(str::is_empty)
            && self.biz_alloc_no.as_deref().is_none_or(str::is_empty)
        {
            return Err(ValidationError::new(
                "allocNo",
                "分账号与商户分账号不可以同时为空 (allocNo or bizAllocNo is required)",
            ));
        }
        Ok(())
    }
}

/// beta4's `AllocReceiverAddParam` (its codes: `merchant_no`, `user_id`, `open_id`,
/// `login_name`; relation types in lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocReceiverAddParam {
    pub receiver_no: String,
    pub channel: Channel,
    pub receiver_type: String,
    pub receiver_account: String,
    pub receiver_name: Option<String>,
    pub relation_type: String,
    pub relation_name: Option<String>,
}

impl AllocReceiverAddParam {
    pub fn add(&self) -> Result<ReceiverAddParams, ValidationError> {
        Ok(ReceiverAddParams {
            receiver_no: self.receiver_no.clone(),
            channel: self.channel,
            receiver_type: receiver_type_of(self.channel, &self.receiver_type)?,
            receiver_account: self.receiver_account.clone(),
            receiver_name: self.receiver_name.clone(),
            relation_type: relation_type_of(&self.relation_type)?,
            relation_name: self.relation_name.clone(),
        })
    }
}

impl Params for AllocReceiverAddParam {
    fn validate(&self) -> Result<(), ValidationError> {
        self.add()?.validate()
    }
}

/// beta4's `AllocReceiverRemoveParam`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AllocReceiverRemoveParam {
    pub receiver_no: String,
}

impl AllocReceiverRemoveParam {
    pub fn remove(&self) -> ReceiverRemoveParams {
        ReceiverRemoveParams {
            receiver_no: self.receiver_no.clone(),
        }
    }
}

impl Params for AllocReceiverRemoveParam {
    fn validate(&self) -> Result<(), ValidationError> {
        self.remove().validate()
    }
}

/// beta4's `QueryAllocReceiverParam` (`/unipay/alloc/receiver/list`): the receivers of a
/// channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct QueryAllocReceiverParam {
    pub channel: Channel,
}

impl QueryAllocReceiverParam {
    pub fn query(&self) -> QueryReceiverParams {
        QueryReceiverParams {
            channel: Some(self.channel),
            receiver_no: None,
        }
    }
}

impl Params for QueryAllocReceiverParam {
    fn validate(&self) -> Result<(), ValidationError> {
        self.query().validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Result<i64, String> {
        serde_json::from_str::<Yuan>(json)
            .map(|y| y.0.get())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn yuan_amounts_read_exactly_as_fen() {
        for (json, fen) in [
            ("1", 100),
            ("2.5", 250),
            ("0.01", 1),
            ("99999999.99", 9_999_999_999),
            ("1.50", 150),
        ] {
            assert_eq!(amount(json), Ok(fen), "{json}");
        }
        for bad in ["0", "0.001", "1.005", "-1", "\"1.00\"", "100000000", "0.0"] {
            assert!(amount(bad).is_err_and(|e| e.contains("0.01")), "{bad}");
        }
    }
}
