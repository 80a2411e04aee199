//! DaxPay request / response / notice signing (SPEC §3).
//!
//! The sign string is built from the JSON members actually received (or about to be sent), so
//! both the 2.0.7 (`allocationNo`) and 2.0.8 (`allocNo`) spellings verify:
//! 1. drop `sign`, `null` members and empty arrays (empty strings stay);
//! 2. a scalar becomes its text; an array (or object) becomes compact JSON text in which every
//!    object has string values and keys sorted case-insensitively;
//! 3. top-level keys sorted by byte order, joined `k=v&k=v` without URL encoding;
//! 4. every `"` and `\` removed; 5. `&key=<secret>` appended;
//! 6. HMAC-SHA256 (keyed with the secret) or MD5, lowercase hex; 7. constant-time comparison.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use crate::infra::crypto::{Secret, SignType};

/// Signs and verifies objects with one secret and one sign type.
#[derive(Clone, Debug)]
pub struct Signer {
    sign_type: SignType,
    secret: Secret,
}

impl Signer {
    pub fn new(sign_type: SignType, secret: Secret) -> Self {
        Self { sign_type, secret }
    }

    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// The lowercase hex signature of `object` (its `sign` member, if any, is ignored).
    pub fn sign(&self, object: &Map<String, Value>) -> String {
        let text = sign_string(object, &self.secret);
        digest_hex(self.sign_type, self.secret.expose(), &text)
    }

    /// True when `object["sign"]` is a string equal to the expected signature, compared in
    /// constant time. Uppercase hex is refused, as DaxPay does.
    pub fn verify(&self, object: &Map<String, Value>) -> bool {
        let Some(Value::String(given)) = object.get("sign") else {
            return false;
        };
        let expected = self.sign(object);
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }

    /// Sets `object["sign"]` to the signature of the rest of the object.
    pub fn sign_in_place(&self, object: &mut Map<String, Value>) {
        let signature = self.sign(object);
        object.insert("sign".to_owned(), Value::String(signature));
    }
}

/// The exact string that is digested, `&key=<secret>` included.
pub fn sign_string(object: &Map<String, Value>, secret: &Secret) -> String {
    let mut members: Vec<(&String, String)> = object
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && !is_dropped(v))
        .map(|(k, v)| (k, value_text(v)))
        .collect();
    members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::new();
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
    let mut out: String = out.chars().filter(|c| *c != '"' && *c != '\\').collect();
    out.push_str("&key=");
    out.push_str(secret.expose());
    out
}

fn is_dropped(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Text of a top-level member value.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(_) | Value::Object(_) => nested_json(value),
    }
}

/// Compact JSON of a nested value in the form DaxPay's Hutool serializer produced it: objects
/// have their keys sorted case-insensitively and every scalar value turned into a string;
/// null members are left out.
fn nested_json(value: &Value) -> String {
    match value {
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter(|v| !v.is_null())
                .map(nested_json)
                .collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> =
                map.iter().filter(|(_, v)| !is_dropped(v)).collect();
            entries.sort_by(|a, b| {
                a.0.to_lowercase()
                    .cmp(&b.0.to_lowercase())
                    .then_with(|| a.0.cmp(b.0))
            });
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| {
                    let inner = match v {
                        Value::Array(_) | Value::Object(_) => nested_json(v),
                        scalar => hutool_quote(&value_text(scalar)),
                    };
                    format!("{}:{}", hutool_quote(k), inner)
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        scalar => hutool_quote(&value_text(scalar)),
    }
}

/// A string as JSON text, escaped exactly as Hutool 5.8's `JSONUtil` escapes it (DaxPay's
/// server and SDK build nested JSON with it): `"` and `\` get a backslash; `\b \t \n \f \r`
/// their short escapes; other characters below U+0020 and those in U+0080–U+00A0,
/// U+2000–U+2010, U+2028–U+202F and U+2066–U+206F become `\uXXXX` in lowercase hex; everything
/// else (`/`, emoji, other non-ASCII) stays literal. serde_json leaves those ranges literal, so a
/// name with a no-break space would sign differently from DaxPay.
pub fn hutool_quote(text: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{0}'..='\u{1f}'
            | '\u{80}'..='\u{a0}'
            | '\u{2000}'..='\u{2010}'
            | '\u{2028}'..='\u{202f}'
            | '\u{2066}'..='\u{206f}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn digest_hex(sign_type: SignType, secret: &str, text: &str) -> String {
    match sign_type {
        SignType::HmacSha256 => {
            // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
            match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
                Ok(mut mac) => {
                    mac.update(text.as_bytes());
                    hex::encode(mac.finalize().into_bytes())
                }
                Err(_) => String::new(),
            }
        }
        SignType::Md5 => hex::encode(Md5::digest(text.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn non_ascii_is_not_escaped_in_nested_json() {
        let o = obj(json!({"receivers":[{"receiverNo":"中文","amount":2}]}));
        assert_eq!(
            sign_string(&o, &Secret::new("k")),
            "receivers=[{amount:2,receiverNo:中文}]&key=k"
        );
    }

    #[test]
    fn booleans_and_nested_nulls() {
        let o = obj(json!({"allocation":true,"d":[{"a":null,"B":false,"c":"x"}]}));
        assert_eq!(
            sign_string(&o, &Secret::new("k")),
            "allocation=true&d=[{B:false,c:x}]&key=k"
        );
    }

    #[test]
    fn verify_refuses_missing_non_string_and_uppercase_sign() {
        let s = Signer::new(SignType::HmacSha256, Secret::new("123456"));
        let mut o = obj(json!({"reqTime":1}));
        assert!(!s.verify(&o));
        o.insert("sign".into(), json!(12));
        assert!(!s.verify(&o));
        let good = s.sign(&o);
        o.insert("sign".into(), Value::String(good.to_uppercase()));
        assert!(!s.verify(&o));
        o.insert("sign".into(), Value::String(good));
        assert!(s.verify(&o));
    }

    #[test]
    fn secret_is_not_debug_printed() {
        let s = Signer::new(SignType::Md5, Secret::new("topsecret"));
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
