//! Alipay's royalty rows (`royalty_detail_list`) of a settle query's answer and of a settle
//! notification, read as our receivers' states.

use crate::domain::numbers::parse_beijing_timestamp;
use crate::domain::{ReceiverType, ShareResult, ShareState};
use serde::Deserialize;

fn receiver_type_of(alipay_type: &str) -> Option<ReceiverType> {
    match alipay_type {
        "userId" => Some(ReceiverType::AliUserId),
        "openId" => Some(ReceiverType::AliOpenId),
        "loginName" => Some(ReceiverType::AliLoginName),
        _ => None,
    }
}

/// Rows of a settle query's answer, and of a settle notification's `biz_content`.
#[derive(Debug, Default, Deserialize)]
pub struct RoyaltyDetails {
    pub out_request_no: Option<String>,
    #[serde(default)]
    pub royalty_detail_list: Vec<RoyaltyDetail>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RoyaltyDetail {
    pub operation_type: Option<String>,
    pub trans_in: Option<String>,
    pub trans_in_type: Option<String>,
    pub state: Option<String>,
    /// Yuan.
    pub amount: Option<String>,
    pub execute_dt: Option<String>,
    pub error_code: Option<String>,
    pub error_desc: Option<String>,
}

impl RoyaltyDetails {
    /// The rows of type `transfer`, as our receivers' states.
    pub fn results(&self) -> Vec<ShareResult> {
        self.royalty_detail_list
            .iter()
            .filter(|r| r.operation_type.as_deref().is_none_or(|t| t == "transfer"))
            .filter_map(|r| {
                let receiver_type =
                    receiver_type_of(r.trans_in_type.as_deref().unwrap_or("userId"))?;
                let finish_time = r.execute_dt.as_deref().and_then(parse_beijing_timestamp);
                let state = match r.state.as_deref()? {
                    "SUCCESS" => ShareState::Success { finish_time },
                    "FAIL" => ShareState::Fail {
                        code: r.error_code.clone().unwrap_or_else(|| "FAIL".into()),
                        msg: r.error_desc.clone().unwrap_or_default(),
                        finish_time,
                    },
                    _ => ShareState::Pending,
                };
                Some(ShareResult {
                    receiver_type,
                    account: r.trans_in.clone()?,
                    state,
                    amount: r
                        .amount
                        .as_deref()
                        .and_then(crate::domain::money::yuan_to_fen),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn royalty_rows_map_to_states() {
        let details: RoyaltyDetails = serde_json::from_value(serde_json::json!({"royalty_detail_list": [
            {"operation_type":"transfer","trans_in":"2088","trans_in_type":"userId","state":"SUCCESS","execute_dt":"2024-06-27 16:00:00","amount":"1.00"},
            {"operation_type":"transfer","trans_in":"a@b.c","trans_in_type":"loginName","state":"FAIL","error_code":"TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH","error_desc":"分账余额不足"},
            {"operation_type":"transfer","trans_in":"o1","trans_in_type":"openId","state":"PROCESSING"},
            {"operation_type":"transfer_refund","trans_in":"2088","trans_in_type":"userId","state":"SUCCESS"}
        ]}))
        .unwrap_or_default();
        let rows = details.results();
        assert_eq!(rows.len(), 3);
        assert_eq!(
            rows[0].state,
            ShareState::Success {
                finish_time: Some(1_719_475_200)
            }
        );
        assert!(
            matches!(&rows[1].state, ShareState::Fail { code, .. } if code == "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH")
        );
        assert_eq!(
            (rows[2].receiver_type, &rows[2].state),
            (ReceiverType::AliOpenId, &ShareState::Pending)
        );
    }
}
