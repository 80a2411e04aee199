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
use sha2::digest::Update;
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
        let secret = self.secret.expose().as_bytes();
        match self.sign_type {
            SignType::HmacSha256 => {
                // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
                let Ok(mac) = Hmac::<Sha256>::new_from_slice(secret) else {
                    return String::new();
                };
                let mut sink = Digesting::new(mac);
                write_sign_string(&mut sink, object, &self.secret);
                hex::encode(sink.finish().finalize().into_bytes())
            }
            SignType::Md5 => {
                let mut sink = Digesting::new(Md5::new());
                write_sign_string(&mut sink, object, &self.secret);
                hex::encode(sink.finish().finalize())
            }
        }
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

    /// The lowercase hex digest of a whole sign string (`&key=` already in it).
    pub(crate) fn digest(&self, string: &str) -> String {
        match self.sign_type {
            SignType::HmacSha256 => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
                else {
                    return String::new();
                };
                Mac::update(&mut mac, string.as_bytes());
                hex::encode(mac.finalize().into_bytes())
            }
            SignType::Md5 => hex::encode(Md5::digest(string.as_bytes())),
        }
    }

    pub(crate) fn secret_text(&self) -> &str {
        self.secret.expose()
    }

    /// Sets `object["sign"]` to the signature of the rest of the object.
    pub fn sign_in_place(&self, object: &mut Map<String, Value>) {
        let signature = self.sign(object);
        object.insert("sign".to_owned(), Value::String(signature));
    }
}

/// The exact string that is digested, `&key=<secret>` included.
pub fn sign_string<O: JsonObject + ?Sized>(object: &O, secret: &Secret) -> String {
    let mut bytes = Vec::with_capacity(256);
    write_sign_string(&mut bytes, object, secret);
    // Only ASCII bytes (`"`, `\`) are ever left out, so the text stays UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Where a sign string is written: a buffer ([`sign_string`]) or, to sign, straight into the
/// digest, so the string is never held whole.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
    fn byte(&mut self, byte: u8);
}

impl Sink for Vec<u8> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

/// A digest fed through a small buffer: the sign string arrives in pieces of a few bytes, and
/// each `update` of the digest has a cost of its own.
struct Digesting<D: Update> {
    digest: D,
    buf: [u8; 512],
    len: usize,
}

impl<D: Update> Digesting<D> {
    fn new(digest: D) -> Self {
        Self {
            digest,
            buf: [0; 512],
            len: 0,
        }
    }

    fn finish(mut self) -> D {
        self.digest.update(&self.buf[..self.len]);
        self.digest
    }
}

impl<D: Update> Digesting<D> {
    #[inline(never)]
    fn flush(&mut self) {
        self.digest.update(&self.buf[..self.len]);
        self.len = 0;
    }
}

impl<D: Update> Sink for Digesting<D> {
    #[inline]
    fn byte(&mut self, byte: u8) {
        if self.len == self.buf.len() {
            self.flush();
        }
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
            if bytes.len() > self.buf.len() {
                self.digest.update(bytes);
                return;
            }
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
}

/// The sign string, written in one pass: steps 1-5 at once, `"` and `\` left out as they are
/// written rather than filtered from a finished string.
fn write_sign_string<O: JsonObject + ?Sized>(out: &mut impl Sink, object: &O, secret: &Secret) {
    let mut members: Vec<(&str, &O::Value)> = object
        .members()
        .filter(|(k, v)| *k != "sign" && !is_dropped(*v))
        .collect();
    members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.byte(b'&');
        }
        push_stripped(out, k);
        out.byte(b'=');
        match v.view() {
            View::Str(s) => push_stripped(out, s),
            View::Bool(b) => out.put(if b { b"true" } else { b"false" }),
            View::Number(n) => push_number(out, n),
            View::Null => {}
            View::Array(_) | View::Object(_) => push_nested(out, *v),
        }
    }
    out.put(b"&key=");
    out.put(secret.expose().as_bytes());
}

fn is_dropped<T: JsonValue>(value: &T) -> bool {
    match value.view() {
        View::Null => true,
        View::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// `text` without its `"` and `\` (step 4).
fn push_stripped(out: &mut impl Sink, text: &str) {
    for piece in text.as_bytes().split(|b| *b == b'"' || *b == b'\\') {
        out.put(piece);
    }
}

/// A number as serde_json writes it (integers are written as `itoa` writes them, directly).
fn push_number(out: &mut impl Sink, n: &serde_json::Number) {
    if let Some(u) = n.as_u64() {
        out.put(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64() {
        out.put(itoa::Buffer::new().format(i).as_bytes());
    } else {
        out.put(n.to_string().as_bytes());
    }
}

/// A nested value as compact JSON in the form DaxPay's Hutool serializer produced it (objects
/// with keys sorted case-insensitively, every scalar a string, null members left out), with
/// step 4 applied as it is written: the quotes and the escapes' backslashes never reach `out`.
fn push_nested<T: JsonValue>(out: &mut impl Sink, value: &T) {
    match value.view() {
        View::Array(items) => {
            out.byte(b'[');
            for (i, item) in items
                .iter()
                .filter(|v| !matches!(v.view(), View::Null))
                .enumerate()
            {
                if i > 0 {
                    out.byte(b',');
                }
                push_nested(out, item);
            }
            out.byte(b']');
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
            out.byte(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.byte(b',');
                }
                push_quoted_stripped(out, k);
                out.byte(b':');
                push_nested(out, *v);
            }
            out.byte(b'}');
        }
        View::Str(s) => push_quoted_stripped(out, s),
        View::Number(n) => push_number(out, n),
        View::Bool(b) => out.put(if b { b"true" } else { b"false" }),
        View::Null => {}
    }
}

/// Keys ordered by their lowercase form, then by bytes (Hutool's order of a case-insensitive
/// tree map, made total). ASCII keys, all DaxPay's, compare without allocating.
fn case_insensitive(a: &str, b: &str) -> std::cmp::Ordering {
    // Byte by byte while both are ASCII: DaxPay's keys differ within their first letters.
    for (x, y) in a.bytes().zip(b.bytes()) {
        if !x.is_ascii() || !y.is_ascii() {
            return a
                .to_lowercase()
                .cmp(&b.to_lowercase())
                .then_with(|| a.cmp(b));
        }
        let (x, y) = (x.to_ascii_lowercase(), y.to_ascii_lowercase());
        if x != y {
            return x.cmp(&y);
        }
    }
    // One is a prefix of the other in lowercase (lowercasing what follows never leaves it
    // empty), so the shorter comes first; equal lengths are ordered by their bytes.
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// `text` as JSON text, escaped exactly as Hutool 5.8's `JSONUtil` escapes it (DaxPay's server
/// and SDK build nested JSON with it), with step 4 applied as it is written. Hutool gives `"` and
/// `\` a backslash (so both vanish here); `\b \t \n \f \r` their short escapes; other
/// characters below U+0020 and those in U+0080–U+00A0, U+2000–U+2010, U+2028–U+202F and
/// U+2066–U+206F become `\uXXXX` in lowercase hex; everything else (`/`, emoji, other non-ASCII)
/// stays literal. serde_json leaves those ranges literal, so a name with a no-break space would
/// sign differently from DaxPay.
fn push_quoted_stripped(out: &mut impl Sink, text: &str) {
    // Most text (numbers, codes, accounts) is printable ASCII without quotes or backslashes,
    // which Hutool writes as it is.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.put(text.as_bytes());
        return;
    }
    let mut buf = [0u8; 4];
    for c in text.chars() {
        match c {
            '"' | '\\' => {}
            '\u{8}' => out.byte(b'b'),
            '\t' => out.byte(b't'),
            '\n' => out.byte(b'n'),
            '\u{c}' => out.byte(b'f'),
            '\r' => out.byte(b'r'),
            '\u{0}'..='\u{1f}'
            | '\u{80}'..='\u{a0}'
            | '\u{2000}'..='\u{2010}'
            | '\u{2028}'..='\u{202f}'
            | '\u{2066}'..='\u{206f}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = u32::from(c) as usize;
                out.put(&[
                    b'u',
                    HEX[(code >> 12) & 0xf],
                    HEX[(code >> 8) & 0xf],
                    HEX[(code >> 4) & 0xf],
                    HEX[code & 0xf],
                ]);
            }
            other => out.put(other.encode_utf8(&mut buf).as_bytes()),
        }
    }
}

/// `text` as Hutool 5.8's `JSONUtil` escapes it inside a JSON string (the rules of
/// [`push_quoted_stripped`], with the backslashes written), appended to `out`.
pub(crate) fn hutool_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
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
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            other => out.push(other),
        }
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
        let arena = crate::json::Arena::for_body(body.len());
        let tree = crate::json::parse_tree(body, &arena).unwrap_or_default();
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

    /// Signing streams the sign string into the digest through a 512-byte buffer: pieces that
    /// fill it exactly, overflow it, and exceed it sign as the whole string does.
    #[test]
    fn streamed_signature_is_the_digest_of_the_sign_string() {
        let secret = Secret::new("k");
        for len in [0, 1, 499, 500, 511, 512, 513, 1024, 1500, 5000] {
            let long = "x\"y\\z".repeat(len / 5) + &"é".repeat(len % 5);
            let receivers: Vec<Value> = (0..len / 40)
                .map(|i| json!({"receiverNo": format!("R{i}\u{a0}"), "amount": i}))
                .collect();
            let plain = "p".repeat(len);
            let o = obj(json!({"a": long, "b": receivers, "c": len, "d": plain}));
            let text = sign_string(&o, &secret);
            let mut mac = Hmac::<Sha256>::new_from_slice(b"k").unwrap_or_else(|_| unreachable!());
            Mac::update(&mut mac, text.as_bytes());
            let hmac = hex::encode(mac.finalize().into_bytes());
            let hmac_signer = Signer::new(SignType::HmacSha256, secret.clone());
            assert_eq!(hmac_signer.sign(&o), hmac, "HMAC at {len}");
            let md5_signer = Signer::new(SignType::Md5, secret.clone());
            assert_eq!(
                md5_signer.sign(&o),
                hex::encode(Md5::digest(text.as_bytes())),
                "MD5 at {len}"
            );
        }
    }

    /// The byte-by-byte order of nested keys is the order of their lowercase forms, then of
    /// their bytes, for any keys (non-ASCII ones, prefixes and letters whose lowercase form is
    /// longer or depends on what follows included).
    #[test]
    fn nested_keys_order_as_their_lowercase_forms() {
        let keys = [
            "",
            "a",
            "A",
            "amount",
            "Amount",
            "AMOUNT",
            "amounts",
            "amountΣ",
            "amountσ",
            "amountİ",
            "receiverNo",
            "receiverno",
            "receiver",
            "RECEIVERNO",
            "ΣA",
            "σa",
            "İ",
            "i",
            "é",
            "É",
            "e",
            "z",
            "Z",
            "_",
            "[",
            "~",
            "中文",
            "中",
            "a中",
            "A中",
            "ab",
            "aB",
        ];
        for a in keys {
            for b in keys {
                let reference = a
                    .to_lowercase()
                    .cmp(&b.to_lowercase())
                    .then_with(|| a.cmp(b));
                assert_eq!(case_insensitive(a, b), reference, "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn secret_is_not_debug_printed() {
        let s = Signer::new(SignType::Md5, Secret::new("topsecret"));
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
