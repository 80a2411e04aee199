//! Verification of merchant requests (SPEC §2.2, §3): parse, validate, check the signature and
//! the `reqTime` window. Replay refusal needs storage and is done by the caller (a nonce claim)
//! once this pure part has passed.

use super::envelope::{ApiError, ValidationError};
use super::json::{self, JsonError, JsonObject, JsonValue, Node, Object, View};
use super::sign::Signer;
use serde::de::DeserializeOwned;

/// Request members every endpoint accepts.
pub const COMMON_FIELDS: [&str; 4] = ["clientIp", "nonceStr", "sign", "reqTime"];

/// The most a `reqTime` may be ahead of the server clock (DaxPay's fixed 60 s).
pub const MAX_FUTURE_SECS: i64 = 60;

/// The common members of a verified request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Common {
    pub client_ip: Option<String>,
    pub nonce_str: Option<String>,
    pub req_time: i64,
    /// The generation of field names the request used; the answer uses the same.
    pub spelling: crate::domain::Spelling,
}

/// A request that passed every check but the replay check.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    pub params: T,
    pub common: Common,
}

/// The business parameters of one endpoint: deserialized from the members that are not common
/// (unknown members are refused), then checked for lengths and ranges.
pub trait Params: DeserializeOwned {
    fn validate(&self) -> Result<(), ValidationError>;

    /// Whether the use case claims the request's (nonceStr, reqTime) itself, in the first write
    /// it makes (a start: in its create transaction, saving a round trip), instead of a claim
    /// of its own before it runs.
    const CLAIMS_NONCE: bool = false;
}

/// Request verification settings.
#[derive(Debug, Clone)]
pub struct Verifier {
    /// Verifies requests and signs answers and notices (the app's current secret).
    pub signer: Signer,
    /// DaxPay's `reqSign`: when false, signatures are not required (and not checked).
    pub require_sign: bool,
    /// How old a `reqTime` may be, in seconds.
    pub req_timeout_secs: i64,
    /// During a rotation (SPEC §8.1): the previous secret, which still verifies requests until
    /// the time given (epoch seconds); answers are signed with the current one.
    pub previous: Option<(Signer, i64)>,
}

impl Verifier {
    /// A verifier with one secret and no rotation in progress.
    pub fn new(signer: Signer, require_sign: bool, req_timeout_secs: i64) -> Self {
        Self {
            signer,
            require_sign,
            req_timeout_secs,
            previous: None,
        }
    }

    /// The verifier of an app that does not exist: requests are checked as any app's are, and
    /// no signature verifies (its secret is random and never leaves this value), so an unknown
    /// app is answered exactly as a known app is answered a wrong signature (SPEC §8.2: no
    /// oracle on app ids).
    pub fn refusing(req_timeout_secs: i64) -> Self {
        let secret = crate::infra::crypto::random_alnum(48);
        Self::new(
            Signer::new(
                super::sign::SignType::HmacSha256,
                super::sign::Secret::new(secret),
            ),
            true,
            req_timeout_secs,
        )
    }

    /// Whether `raw` carries a signature of the current secret, or of the previous one while
    /// it is still valid at `now`.
    pub fn signed<O: JsonObject + ?Sized>(&self, raw: &O, now: i64) -> bool {
        self.signer.verify(raw)
            || self
                .previous
                .as_ref()
                .is_some_and(|(signer, until)| now <= *until && signer.verify(raw))
    }

    /// Parses and verifies `body` at time `now` (epoch seconds).
    pub fn verify<T: Params>(&self, body: &[u8], now: i64) -> Result<Verified<T>, ApiError> {
        let arena = json::Arena::for_body(body.len());
        let raw = json::parse_tree(body, &arena).map_err(|e| match e {
            JsonError::DuplicateKey(k) => ApiError::invalid(k, "appears more than once"),
            other => ApiError::Malformed(other.to_string()),
        })?;
        let common = common_fields(&raw)?;
        let params: T = deserialize_params(&raw, &COMMON_FIELDS)?;
        params.validate()?;
        if self.require_sign && !self.signed(&raw, now) {
            return Err(ApiError::BadSignature);
        }
        check_req_time(common.req_time, now, self.req_timeout_secs)?;
        Ok(Verified { params, common })
    }
}

/// The `reqTime` window: at most [`MAX_FUTURE_SECS`] ahead, at most `timeout` behind.
pub fn check_req_time(req_time: i64, now: i64, timeout: i64) -> Result<(), ValidationError> {
    if req_time > now.saturating_add(MAX_FUTURE_SECS) {
        return Err(ValidationError::new(
            "reqTime",
            format!(
                "请求时间晚于服务器接收到的时间，请检查 (more than {MAX_FUTURE_SECS} s ahead of server time; epoch seconds expected)"
            ),
        ));
    }
    if now.saturating_sub(req_time) > timeout {
        return Err(ValidationError::new(
            "reqTime",
            format!("请求已过期，请重新发送！ (older than {timeout} s)"),
        ));
    }
    Ok(())
}

/// `clientIp`: optional, at most 64, an IPv4 or IPv6 address.
pub(crate) fn client_ip(raw: &Object<'_>) -> Result<Option<String>, ValidationError> {
    let client_ip = optional_string(raw, "clientIp", 64)?;
    if let Some(ip) = &client_ip
        && ip.parse::<std::net::IpAddr>().is_err()
    {
        return Err(ValidationError::new(
            "clientIp",
            "IP地址不合法！ (must be an IPv4 or IPv6 address)",
        ));
    }
    Ok(client_ip)
}

fn common_fields(raw: &Object<'_>) -> Result<Common, ValidationError> {
    let client_ip = client_ip(raw)?;
    let nonce_str = optional_string(raw, "nonceStr", 32)?;
    // A missing `sign` is a signature failure (20052), as in DaxPay; only its shape is checked here.
    check_optional_string(raw, "sign", 64)?;
    let req_time = match raw.get("reqTime") {
        None | Some(Node::Null) => {
            return Err(ValidationError::new(
                "reqTime",
                "请求时间必填 (is required)",
            ));
        }
        Some(Node::Number(n)) => match n.as_i64() {
            Some(t) if t > 0 => t,
            _ => {
                return Err(ValidationError::new(
                    "reqTime",
                    "must be a positive integer (epoch seconds)",
                ));
            }
        },
        Some(_) => {
            return Err(ValidationError::new(
                "reqTime",
                "must be a positive integer (epoch seconds)",
            ));
        }
    };
    Ok(Common {
        client_ip,
        nonce_str,
        req_time,
        spelling: super::spelling::of_request(|name| raw.contains_key(name)),
    })
}

/// An optional string member of at most `max` characters (`null` is absent).
pub fn optional_string<O: JsonObject + ?Sized>(
    raw: &O,
    field: &str,
    max: usize,
) -> Result<Option<String>, ValidationError> {
    check_optional_string(raw, field, max).map(|s| s.map(str::to_owned))
}

/// [`optional_string`], borrowed.
pub(crate) fn check_optional_string<'o, O: JsonObject + ?Sized>(
    raw: &'o O,
    field: &str,
    max: usize,
) -> Result<Option<&'o str>, ValidationError> {
    match raw.member(field).map(JsonValue::view) {
        None | Some(View::Null) => Ok(None),
        Some(View::Str(s)) => {
            check_len(field, s, max)?;
            Ok(Some(s))
        }
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

/// `field` is at most `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// An optional string field is at most `max` characters.
pub fn check_opt_len(
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Result<(), ValidationError> {
    match value {
        Some(v) => check_len(field, v, max),
        None => Ok(()),
    }
}

/// A required string field is present, not blank, and at most `max` characters.
pub fn check_required(field: &str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be blank"));
    }
    check_len(field, value, max)
}

/// Deserializes the members that are not `common` into `T`, mapping serde's complaints to
/// `field: rule` messages.
pub(crate) fn deserialize_params<T: DeserializeOwned>(
    raw: &Object<'_>,
    common: &[&str],
) -> Result<T, ValidationError> {
    // Read in place from the parsed tree. The path of a failure is tracked only when there is
    // one to report (tracking it costs as much again as the reading itself): a failed read is
    // read again to find where it failed.
    let rest = || {
        let members = raw.iter().filter(|(k, _)| !common.contains(k));
        serde::de::value::MapDeserializer::<_, serde_json::Error>::new(members)
    };
    T::deserialize(rest()).or_else(|_| {
        serde_path_to_error::deserialize(rest()).map_err(|e| {
            let path = e.path().to_string();
            serde_message_to_error(&path, &e.inner().to_string())
        })
    })
}

fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." {
        field.to_owned()
    } else if path == field || path.ends_with(&format!(".{field}")) {
        // serde_path_to_error already points at the member itself
        path.to_owned()
    } else {
        format!("{path}.{field}")
    }
}

fn serde_message_to_error(path: &str, message: &str) -> ValidationError {
    if message.starts_with("missing field") {
        let field = backticked(message).unwrap_or("?");
        return ValidationError::new(join_path(path, field), "is required");
    }
    if message.starts_with("unknown field") {
        let field = backticked(message).unwrap_or("?");
        return ValidationError::new(join_path(path, field), "is not a known field");
    }
    if message.starts_with("duplicate field") {
        let field = backticked(message).unwrap_or("?");
        return ValidationError::new(
            join_path(path, field),
            "is given twice (under both spellings)",
        );
    }
    let field = if path.is_empty() || path == "." {
        "body"
    } else {
        path
    };
    let rule = if let Some(pos) = message.find("expected ") {
        let expected = &message[pos + "expected ".len()..];
        if expected.starts_with("i64") || expected.starts_with("u64") || expected.starts_with("i32")
        {
            "must be an integer".to_owned()
        } else if expected.starts_with("a string") {
            "must be a string".to_owned()
        } else if expected.starts_with("a boolean") {
            "must be true or false".to_owned()
        } else if expected.starts_with("a sequence") {
            "must be an array".to_owned()
        } else if expected.starts_with("struct") || expected.starts_with("a map") {
            "must be an object".to_owned()
        } else {
            format!("must be {expected}")
        }
    } else {
        message.to_owned()
    };
    ValidationError::new(field, rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn req_time_window_edges() {
        let now = 1_000_000;
        assert!(check_req_time(now + 60, now, 300).is_ok());
        assert!(check_req_time(now + 61, now, 300).is_err());
        assert!(check_req_time(now - 300, now, 300).is_ok());
        assert!(check_req_time(now - 301, now, 300).is_err());
        // a millisecond timestamp is far in the future
        assert!(check_req_time(now * 1000, now, 300).is_err());
    }

    #[test]
    fn serde_messages_name_the_field() {
        let e = serde_message_to_error("receivers[0]", "missing field `amount`");
        assert_eq!(e.to_string(), "receivers[0].amount: is required");
        let e = serde_message_to_error(".", "unknown field `foo`, expected one of `a`");
        assert_eq!(e.to_string(), "foo: is not a known field");
        let e = serde_message_to_error(
            "receivers[1].amount",
            "invalid type: string \"1\", expected i64",
        );
        assert_eq!(e.to_string(), "receivers[1].amount: must be an integer");
    }
}
