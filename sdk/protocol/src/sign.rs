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

use crate::json::{JsonObject, JsonValue, View};
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde_json::{Map, Value};
use sha2::Sha256;
use subtle::ConstantTimeEq;

pub use crate::secret::{Secret, SignType};

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

    /// The lowercase hex signature of `object` (its `sign` member, if any, is ignored): a
    /// request as parsed, or an answer or notice as built.
    pub fn sign<O: JsonObject + ?Sized>(&self, object: &O) -> String {
        let text = sign_bytes(object, &self.secret);
        digest_hex(self.sign_type, self.secret.expose(), &text)
    }

    /// True when `object["sign"]` is a string equal to the expected signature, compared in
    /// constant time. Uppercase hex is refused, as DaxPay does.
    pub fn verify<O: JsonObject + ?Sized>(&self, object: &O) -> bool {
        let Some(View::Str(given)) = object.member("sign").map(JsonValue::view) else {
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
pub fn sign_string<O: JsonObject + ?Sized>(object: &O, secret: &Secret) -> String {
    let bytes = sign_bytes(object, secret);
    // Only ASCII bytes (`"`, `\`) are ever left out, so the text stays UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The sign string, written in one pass into one buffer: steps 1-5 at once, `"` and `\` left
/// out as they are written rather than filtered from a finished string.
fn sign_bytes<O: JsonObject + ?Sized>(object: &O, secret: &Secret) -> Vec<u8> {
    let mut members: Vec<(&str, &O::Value)> = object
        .members()
        .filter(|(k, v)| *k != "sign" && !is_dropped(*v))
        .collect();
    members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = Vec::with_capacity(256);
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        push_stripped(&mut out, k);
        out.push(b'=');
        match v.view() {
            View::Str(s) => push_stripped(&mut out, s),
            View::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
            View::Number(n) => push_number(&mut out, n),
            View::Null => {}
            View::Array(_) | View::Object(_) => push_nested(&mut out, *v),
        }
    }
    out.extend_from_slice(b"&key=");
    out.extend_from_slice(secret.expose().as_bytes());
    out
}

fn is_dropped<T: JsonValue>(value: &T) -> bool {
    match value.view() {
        View::Null => true,
        View::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// `text` without its `"` and `\` (step 4).
fn push_stripped(out: &mut Vec<u8>, text: &str) {
    out.extend(text.bytes().filter(|b| *b != b'"' && *b != b'\\'));
}

/// A number as serde_json writes it (integers are written as `itoa` writes them, directly).
fn push_number(out: &mut Vec<u8>, n: &serde_json::Number) {
    use std::io::Write;
    if let Some(u) = n.as_u64() {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else {
        // Writing to a Vec cannot fail.
        let _ = write!(out, "{n}");
    }
}

/// A nested value as compact JSON in the form DaxPay's Hutool serializer produced it (objects
/// with keys sorted case-insensitively, every scalar a string, null members left out), with
/// step 4 applied as it is written: the quotes and the escapes' backslashes never reach `out`.
fn push_nested<T: JsonValue>(out: &mut Vec<u8>, value: &T) {
    match value.view() {
        View::Array(items) => {
            out.push(b'[');
            for (i, item) in items
                .iter()
                .filter(|v| !matches!(v.view(), View::Null))
                .enumerate()
            {
                if i > 0 {
                    out.push(b',');
                }
                push_nested(out, item);
            }
            out.push(b']');
        }
        View::Object(members) => {
            // DaxPay's nested objects are small (a receiver has two or three members): they are
            // ordered on the stack, a larger one in a vector.
            const SMALL: usize = 8;
            let mut on_stack = [("", value); SMALL];
            let mut n = 0;
            let mut large = Vec::new();
            for (k, v) in members.filter(|(_, v)| !is_dropped(*v)) {
                if n < SMALL {
                    on_stack[n] = (k, v);
                    n += 1;
                } else {
                    if large.is_empty() {
                        large.extend_from_slice(&on_stack);
                    }
                    large.push((k, v));
                }
            }
            let entries: &mut [(&str, &T)] = if large.is_empty() {
                &mut on_stack[..n]
            } else {
                &mut large
            };
            entries.sort_unstable_by(|a, b| case_insensitive(a.0, b.0));
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_quoted_stripped(out, k);
                out.push(b':');
                push_nested(out, *v);
            }
            out.push(b'}');
        }
        View::Str(s) => push_quoted_stripped(out, s),
        View::Number(n) => push_number(out, n),
        View::Bool(b) => out.extend_from_slice(if b { b"true" } else { b"false" }),
        View::Null => {}
    }
}

/// Keys ordered by their lowercase form, then by bytes (Hutool's order of a case-insensitive
/// tree map, made total). ASCII keys, all DaxPay's, compare without allocating.
fn case_insensitive(a: &str, b: &str) -> std::cmp::Ordering {
    let lower = if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    };
    lower.then_with(|| a.cmp(b))
}

/// `text` as JSON text, escaped exactly as Hutool 5.8's `JSONUtil` escapes it (DaxPay's server
/// and SDK build nested JSON with it), with step 4 applied as it is written. Hutool gives `"` and
/// `\` a backslash (so both vanish here); `\b \t \n \f \r` their short escapes; other
/// characters below U+0020 and those in U+0080–U+00A0, U+2000–U+2010, U+2028–U+202F and
/// U+2066–U+206F become `\uXXXX` in lowercase hex; everything else (`/`, emoji, other non-ASCII)
/// stays literal. serde_json leaves those ranges literal, so a name with a no-break space would
/// sign differently from DaxPay.
fn push_quoted_stripped(out: &mut Vec<u8>, text: &str) {
    use std::io::Write;
    // Most text (numbers, codes, accounts) is printable ASCII without quotes or backslashes,
    // which Hutool writes as it is.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let mut buf = [0u8; 4];
    for c in text.chars() {
        match c {
            '"' | '\\' => {}
            '\u{8}' => out.push(b'b'),
            '\t' => out.push(b't'),
            '\n' => out.push(b'n'),
            '\u{c}' => out.push(b'f'),
            '\r' => out.push(b'r'),
            '\u{0}'..='\u{1f}'
            | '\u{80}'..='\u{a0}'
            | '\u{2000}'..='\u{2010}'
            | '\u{2028}'..='\u{202f}'
            | '\u{2066}'..='\u{206f}' => {
                let _ = write!(out, "u{:04x}", u32::from(c));
            }
            other => out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes()),
        }
    }
}

fn digest_hex(sign_type: SignType, secret: &str, text: &[u8]) -> String {
    match sign_type {
        SignType::HmacSha256 => {
            // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
            match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
                Ok(mut mac) => {
                    mac.update(text);
                    hex::encode(mac.finalize().into_bytes())
                }
                Err(_) => String::new(),
            }
        }
        SignType::Md5 => hex::encode(Md5::digest(text)),
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
    fn numbers_are_written_as_serde_json_writes_them() {
        let body = br#"{"a":-5,"b":18446744073709551615,"c":1.5,"d":1e2,"e":[{"x":-9223372036854775808,"y":0.1}]}"#;
        let tree = crate::json::parse_tree(body).unwrap_or_default();
        let expected =
            "a=-5&b=18446744073709551615&c=1.5&d=100.0&e=[{x:-9223372036854775808,y:0.1}]&key=k";
        assert_eq!(sign_string(&tree, &Secret::new("k")), expected);
        let map = crate::json::parse_object(body).unwrap_or_default();
        assert_eq!(sign_string(&map, &Secret::new("k")), expected);
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
