//! The answer envelope (SPEC §2.3): `{code, msg, data, traceId}`; `data` of an accepted or
//! refused request is signed, a request that cannot be verified gets a code and no data.

use super::sign::Signer;
use serde_json::{Map, Value, json};
use std::fmt;

/// A field and the rule it broke. Shown to the caller as `field: rule`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub field: String,
    pub rule: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

/// Envelope error codes, as DaxPay numbered them.
pub mod codes {
    pub const SYSTEM: i32 = 10001;
    pub const MALFORMED_JSON: i32 = 10005;
    pub const VALIDATION: i32 = 10006;
    pub const NOT_FOUND: i32 = 10010;
    pub const SIGN: i32 = 20052;
    /// DaxPay 3.x's `CONFIG_NOT_ENABLE`: the app (or its merchant) is not enabled.
    pub const APP_DISABLED: i32 = 20023;
}

/// A request that cannot be verified or validated, or failed unexpectedly. Answered with an
/// unsigned envelope whose `code` is not 0 and whose `data` is null.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("请求体不是合法的 JSON: {0}")]
    Malformed(String),
    #[error("验证参数错误: {0}")]
    Invalid(ValidationError),
    #[error("验签失败")]
    BadSignature,
    /// The request verified, but its app or the app's merchant is disabled (SPEC §8.1).
    #[error("商户应用未启用 (the app or its merchant is disabled)")]
    AppDisabled,
    #[error("接口不存在: {method} {path} (no such endpoint)")]
    UnknownPath { method: String, path: String },
    /// The cause is logged with the trace id, never returned.
    #[error("系统错误")]
    System(String),
}

impl ApiError {
    pub fn code(&self) -> i32 {
        match self {
            Self::Malformed(_) => codes::MALFORMED_JSON,
            Self::Invalid(_) => codes::VALIDATION,
            Self::BadSignature => codes::SIGN,
            Self::AppDisabled => codes::APP_DISABLED,
            Self::UnknownPath { .. } => codes::NOT_FOUND,
            Self::System(_) => codes::SYSTEM,
        }
    }

    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::new(field, rule))
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::Invalid(e)
    }
}

/// The envelope of a verified request: `data` gets `code` (0 accepted, 1 refused), `resTime`
/// and `sign` over all of it.
pub fn signed(
    signer: &Signer,
    mut data: Map<String, Value>,
    code: i32,
    res_time: i64,
    trace_id: &str,
) -> Value {
    data.insert("code".into(), json!(code));
    data.insert("resTime".into(), json!(res_time));
    signer.sign_in_place(&mut data);
    json!({"code": 0, "msg": "success", "data": data, "traceId": trace_id})
}

/// The data of a business refusal, before `code`, `resTime` and `sign`.
pub fn refusal_data(msg: String) -> Map<String, Value> {
    let mut data = Map::new();
    data.insert("msg".into(), Value::String(msg));
    data
}

/// The envelope of a request that could not be verified or failed: no data, no signature.
pub fn unsigned(e: &ApiError, trace_id: &str) -> Value {
    json!({"code": e.code(), "msg": e.to_string(), "data": Value::Null, "traceId": trace_id})
}
