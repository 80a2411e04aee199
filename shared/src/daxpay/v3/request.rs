//! Verifying a DaxPay 3.0.0-beta4 request (SPEC §8.2): `appId` (and 3.0.0's `mchNo`) in the
//! body, `reqTime` as `yyyy-MM-dd HH:mm:ss` Beijing time, the signature as beta4's
//! `PaySignUtil` makes it (a list member signed as `{}`), then the common checks of every
//! dialect: lengths, the `reqTime` window. The parameters come out as the 2.0.x ones, so the
//! services never learn which dialect spoke.

use super::super::envelope::{ApiError, ValidationError};
use super::super::json::{self, JsonError, Node, Object};
use super::super::request::{
    Common, MAX_FUTURE_SECS, Params, Verified, Verifier, check_optional_string, check_req_time,
    client_ip, deserialize_params, optional_string,
};
use crate::domain::numbers::parse_beijing_timestamp;
use crate::domain::{AppId, Spelling};

/// Request members every beta4 endpoint accepts.
pub const COMMON_FIELDS: [&str; 6] = ["appId", "mchNo", "clientIp", "nonceStr", "sign", "reqTime"];

/// The app a request names, read before its app (and so its secret) is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub app_id: String,
    /// 3.0.0's merchant number, when sent: it must be the app's merchant.
    pub mch_no: Option<String>,
}

fn parse(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    json::parse_object(body).map_err(|e| match e {
        JsonError::DuplicateKey(k) => ApiError::invalid(k, "appears more than once"),
        other => ApiError::Malformed(other.to_string()),
    })
}

/// The `appId` and `mchNo` of a beta4 request.
pub fn head(body: &[u8]) -> Result<Head, ApiError> {
    let raw = parse(body)?;
    let app_id = optional_string(&raw, "appId", 32)?
        .filter(|a| !a.trim().is_empty())
        .ok_or_else(|| ValidationError::new("appId", "应用号不可为空 (is required)"))?;
    AppId::parse(&app_id).map_err(|e| ValidationError::new("appId", e.to_string()))?;
    let mch_no = optional_string(&raw, "mchNo", 32)?.filter(|m| !m.is_empty());
    Ok(Head { app_id, mch_no })
}

/// `reqTime`: required, `yyyy-MM-dd HH:mm:ss` in Beijing time.
fn req_time(raw: &Object<'_>) -> Result<i64, ValidationError> {
    let rule = "must be yyyy-MM-dd HH:mm:ss (Beijing time)";
    match raw.get("reqTime") {
        None | Some(Node::Null) => Err(ValidationError::new(
            "reqTime",
            "请求时间必填 (is required)",
        )),
        Some(Node::Str(text)) => {
            parse_beijing_timestamp(text).ok_or_else(|| ValidationError::new("reqTime", rule))
        }
        Some(_) => Err(ValidationError::new("reqTime", rule)),
    }
}

/// Parses and verifies a beta4 request at `now` with the app's `verifier`. The parameters are
/// the endpoint's beta4 ones (`T`); the common members become the 2.0.x ones.
pub fn verify<T: Params>(v: &Verifier, body: &[u8], now: i64) -> Result<Verified<T>, ApiError> {
    let arena = json::Arena::for_body(body.len());
    let raw = json::parse_tree(body, &arena).map_err(|e| match e {
        JsonError::DuplicateKey(k) => ApiError::invalid(k, "appears more than once"),
        other => ApiError::Malformed(other.to_string()),
    })?;
    let client_ip = client_ip(&raw)?;
    let nonce_str = optional_string(&raw, "nonceStr", 32)?;
    check_optional_string(&raw, "sign", 64)?;
    check_optional_string(&raw, "appId", 32)?;
    check_optional_string(&raw, "mchNo", 32)?;
    let req_time = req_time(&raw)?;
    let params: T = deserialize_params(&raw, &COMMON_FIELDS)?;
    params.validate()?;
    let signed = v.signer.verify_beta4_request(&raw)
        || v.previous
            .as_ref()
            .is_some_and(|(signer, until)| now <= *until && signer.verify_beta4_request(&raw));
    if v.require_sign && !signed {
        return Err(ApiError::BadSignature);
    }
    check_req_time(req_time, now, v.req_timeout_secs).map_err(|e| {
        if req_time > now + MAX_FUTURE_SECS {
            ValidationError::new(
                "reqTime",
                "请求时间晚于服务器接收到的时间，请检查 (more than 60 s ahead of server time)",
            )
        } else {
            e
        }
    })?;
    Ok(Verified {
        params,
        common: Common {
            client_ip,
            nonce_str,
            req_time,
            // beta4 names orders allocNo / bizAllocNo, as 2.0.8 does: its orders' notices
            // are written with those names
            spelling: Spelling::V208,
        },
    })
}
