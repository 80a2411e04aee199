//! WeChat Pay API v3 profit sharing, the typed bodies we send and the entities we read back
//! (SPEC §6.1).

use crate::domain::{ChannelError, ReceiverType, ShareResult, ShareState};
use serde::{Deserialize, Serialize};

/// WeChat's name for a receiver type.
pub fn receiver_kind(t: ReceiverType) -> Result<&'static str, ChannelError> {
    match t {
        ReceiverType::WxPersonal => Ok("PERSONAL_OPENID"),
        ReceiverType::WxPersonalSub => Ok("PERSONAL_SUB_OPENID"),
        ReceiverType::WxMerchant => Ok("MERCHANT_ID"),
        other => Err(ChannelError::Rejected {
            code: "RECEIVER_TYPE".into(),
            msg: format!("{other} is not a WeChat Pay receiver type"),
        }),
    }
}

fn receiver_type_of(kind: &str) -> Option<ReceiverType> {
    match kind {
        "PERSONAL_OPENID" => Some(ReceiverType::WxPersonal),
        "PERSONAL_SUB_OPENID" => Some(ReceiverType::WxPersonalSub),
        "MERCHANT_ID" => Some(ReceiverType::WxMerchant),
        _ => None,
    }
}

/// `GET /v3/profitsharing/merchant-configs/{sub_mchid}` (partner only): the most a provider may
/// split of the sub-merchant's payments, in 1/10000.
#[derive(Debug, Deserialize)]
pub struct MerchantConfig {
    pub max_ratio: i64,
}

/// `GET /v3/profitsharing/transactions/{transaction_id}/amounts`.
#[derive(Debug, Deserialize)]
pub struct Amounts {
    pub unsplit_amount: i64,
}

/// `POST /v3/profitsharing/return-orders`.
#[derive(Debug, Serialize)]
pub struct CreateReturn<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<&'a str>,
    pub out_order_no: &'a str,
    pub out_return_no: &'a str,
    pub return_mchid: &'a str,
    pub amount: i64,
    pub description: &'a str,
}

/// A return order as WeChat reports it.
#[derive(Debug, Deserialize)]
pub struct ReturnEntity {
    pub result: String,
    #[serde(default)]
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub return_id: Option<String>,
    #[serde(default)]
    pub finish_time: Option<String>,
}

impl ReturnEntity {
    pub fn answer(self) -> Result<crate::domain::ReturnAnswer, ChannelError> {
        use crate::domain::{ReturnAnswer, ReturnState};
        let state = match self.result.as_str() {
            "PROCESSING" => ReturnState::Processing,
            "SUCCESS" => ReturnState::Success {
                finish_time: self.finish_time.as_deref().and_then(rfc3339),
            },
            "FAILED" => {
                // WeChat names the reason only (ACCOUNT_ABNORMAL, BALANCE_NOT_ENOUGH, ...)
                let reason = self.fail_reason.unwrap_or_else(|| "FAILED".into());
                ReturnState::Failed {
                    code: reason.clone(),
                    msg: reason,
                }
            }
            other => {
                return Err(ChannelError::Ambiguous(format!(
                    "return result {other:?} is not known"
                )));
            }
        };
        Ok(ReturnAnswer {
            state,
            return_id: self.return_id,
        })
    }
}

/// `POST /v3/profitsharing/orders`.
#[derive(Debug, Serialize)]
pub struct CreateOrder<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<&'a str>,
    pub appid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<&'a str>,
    pub transaction_id: &'a str,
    pub out_order_no: &'a str,
    pub receivers: Vec<OrderReceiverRow<'a>>,
    pub unfreeze_unsplit: bool,
}

#[derive(Debug, Serialize)]
pub struct OrderReceiverRow<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account: &'a str,
    pub amount: i64,
    pub description: String,
}

/// `POST /v3/profitsharing/orders/unfreeze`.
#[derive(Debug, Serialize)]
pub struct Unfreeze<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<&'a str>,
    pub transaction_id: &'a str,
    pub out_order_no: &'a str,
    pub description: &'static str,
}

/// `POST /v3/profitsharing/receivers/add` (`name` RSA-OAEP encrypted).
#[derive(Debug, Serialize)]
pub struct AddReceiver<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<&'a str>,
    pub appid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<&'a str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub relation_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_relation: Option<&'a str>,
}

/// `POST /v3/profitsharing/receivers/delete`.
#[derive(Debug, Serialize)]
pub struct DeleteReceiver<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<&'a str>,
    pub appid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<&'a str>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub account: &'a str,
}

/// An order entity: the answer to a create and to a query.
#[derive(Debug, Default, Deserialize)]
pub struct OrderEntity {
    pub order_id: Option<String>,
    #[serde(default)]
    pub receivers: Vec<OrderReceiver>,
}

#[derive(Debug, Deserialize)]
pub struct OrderReceiver {
    #[serde(rename = "type")]
    pub kind: String,
    pub account: String,
    #[serde(default)]
    pub amount: Option<i64>,
    pub result: String,
    pub fail_reason: Option<String>,
    pub finish_time: Option<String>,
}

/// The body of a refusal (4xx).
#[derive(Debug, Default, Deserialize)]
pub struct ErrorBody {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

fn rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

fn fail_reason_text(reason: &str) -> &'static str {
    match reason {
        "ACCOUNT_ABNORMAL" => "分账接收账户异常",
        "NO_RELATION" => "分账关系已解除",
        "RECEIVER_HIGH_RISK" => "高风险接收方",
        "RECEIVER_REAL_NAME_NOT_VERIFIED" => "接收方未实名",
        "NO_AUTH" => "分账权限已解除",
        _ => "分账失败",
    }
}

impl OrderEntity {
    /// The receivers of the order, as our detail states.
    pub fn results(&self) -> Vec<ShareResult> {
        self.receivers
            .iter()
            .filter_map(|r| {
                let finish_time = r.finish_time.as_deref().and_then(rfc3339);
                let state = match r.result.as_str() {
                    "SUCCESS" => ShareState::Success { finish_time },
                    "CLOSED" => ShareState::Fail {
                        code: r.fail_reason.clone().unwrap_or_else(|| "CLOSED".into()),
                        msg: r
                            .fail_reason
                            .as_deref()
                            .map_or("分账已关闭", fail_reason_text)
                            .to_owned(),
                        finish_time,
                    },
                    _ => ShareState::Pending,
                };
                Some(ShareResult {
                    receiver_type: receiver_type_of(&r.kind)?,
                    account: r.account.clone(),
                    state,
                    amount: r.amount,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_receivers_map_results_and_reasons() {
        let order: OrderEntity = serde_json::from_value(serde_json::json!({"receivers": [
            {"type":"PERSONAL_OPENID","account":"o1","amount":1,"result":"SUCCESS","finish_time":"2024-06-27T16:00:00+08:00"},
            {"type":"MERCHANT_ID","account":"190","amount":1,"result":"CLOSED","fail_reason":"NO_RELATION"},
            {"type":"MERCHANT_ID","account":"191","amount":1,"result":"PENDING"}
        ]}))
        .unwrap_or_default();
        let rows = order.results();
        assert_eq!(
            rows[0].state,
            ShareState::Success {
                finish_time: Some(1_719_475_200)
            }
        );
        assert_eq!(rows[1].receiver_type, ReceiverType::WxMerchant);
        assert!(
            matches!(&rows[1].state, ShareState::Fail { code, msg, .. } if code == "NO_RELATION" && msg == "分账关系已解除")
        );
        assert_eq!(rows[2].state, ShareState::Pending);
    }
}
