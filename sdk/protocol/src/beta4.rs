//! DaxPay 3.0.0-beta4's signatures (SPEC §8.2), as its SDK's and server's `PaySignUtil` make
//! them:
//! - a request is signed over its members (`sign` and nulls left out), keys sorted by byte
//!   order, each value as text: a string as it is, a number as a decimal without trailing
//!   zeros (`BigDecimal.stripTrailingZeros().toPlainString()`), a non-empty list as the two
//!   characters `{}` (Hutool writes a top-level `List` as an empty bean: the items are not
//!   covered), an empty list not at all, an object as Hutool's JSON of it;
//! - an answer is signed over its whole envelope (`code`, `msg`, `data`, `resTime`, `traceId`,
//!   nulls left out), `data` as Hutool's JSON of the model: members in the model's declaration
//!   order, nulls left out, decimals without trailing zeros, lists as arrays;
//! - then every `"` and `\` is deleted, `&key=<secret>` appended, and the string digested
//!   (HMAC-SHA256 keyed with the secret, or MD5), lowercase hex.

use crate::json::{JsonObject, JsonValue, View};
use crate::sign::{Signer, hutool_escaped};
use subtle::ConstantTimeEq;

/// A value of a beta4 model, members in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(String),
    /// A decimal (`BigDecimal`), as its plain text; written without trailing zeros.
    Dec(String),
    Int(i64),
    Bool(bool),
    Obj(Vec<(&'static str, Val)>),
    List(Vec<Val>),
    Null,
}

/// `text` (a JSON number) as Java's `new BigDecimal(text).stripTrailingZeros().toPlainString()`.
pub fn plain_decimal(text: &str) -> String {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits: String = int.chars().chain(frac.chars()).collect();
    // the decimal point sits `point` digits from the left
    let mut point = i64::try_from(int.len()).unwrap_or(0) + exponent;
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    point -= i64::try_from(leading).unwrap_or(0);
    let trimmed = digits.trim_end_matches('0').len();
    digits.truncate(trimmed);
    if digits.is_empty() {
        return "0".to_owned();
    }
    let len = i64::try_from(digits.len()).unwrap_or(0);
    let mut out = String::with_capacity(digits.len() + 4);
    if negative {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-point).unwrap_or(0),
        ));
        out.push_str(&digits);
    } else if point >= len {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n(
            '0',
            usize::try_from(point - len).unwrap_or(0),
        ));
    } else {
        let split = usize::try_from(point).unwrap_or(0);
        out.push_str(&digits[..split]);
        out.push('.');
        out.push_str(&digits[split..]);
    }
    out
}

/// Hutool's JSON text of a value (as the sign string takes it, before `"` and `\` go).
fn hutool_json(out: &mut String, v: &Val) {
    match v {
        Val::Str(s) => {
            out.push('"');
            hutool_escaped(out, s);
            out.push('"');
        }
        Val::Dec(d) => out.push_str(&plain_decimal(d)),
        Val::Int(i) => out.push_str(itoa::Buffer::new().format(*i)),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Obj(members) => {
            out.push('{');
            let mut first = true;
            for (k, v) in members.iter().filter(|(_, v)| *v != Val::Null) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push('"');
                hutool_escaped(out, k);
                out.push_str("\":");
                hutool_json(out, v);
            }
            out.push('}');
        }
        Val::List(items) => {
            out.push('[');
            let mut first = true;
            for item in items.iter().filter(|v| **v != Val::Null) {
                if !first {
                    out.push(',');
                }
                first = false;
                hutool_json(out, item);
            }
            out.push(']');
        }
        Val::Null => out.push_str("null"),
    }
}

/// Standard JSON text of a value, for the wire (nulls kept out of objects).
fn wire_json(out: &mut String, v: &Val) {
    match v {
        Val::Str(s) => out.push_str(&serde_json::Value::from(s.as_str()).to_string()),
        Val::Dec(d) => out.push_str(&plain_decimal(d)),
        Val::Obj(members) => {
            out.push('{');
            let mut first = true;
            for (k, v) in members.iter().filter(|(_, v)| *v != Val::Null) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&serde_json::Value::from(*k).to_string());
                out.push(':');
                wire_json(out, v);
            }
            out.push('}');
        }
        Val::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                wire_json(out, item);
            }
            out.push(']');
        }
        other => hutool_json(out, other),
    }
}

/// `k=v&…` of `members` sorted by key, then `"` and `\` deleted and `&key=` appended.
fn finish(mut members: Vec<(String, String)>, secret: &str) -> String {
    members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let joined = members
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut out: String = joined.chars().filter(|c| *c != '"' && *c != '\\').collect();
    out.push_str("&key=");
    out.push_str(secret);
    out
}

/// The value of one request member in the sign string (`None`: left out).
fn request_value<T: JsonValue>(v: &T) -> Option<String> {
    Some(match v.view() {
        View::Null => return None,
        View::Str(s) => s.to_owned(),
        View::Bool(b) => b.to_string(),
        View::Number(n) => plain_decimal(&n.to_string()),
        View::Array([]) => return None,
        View::Array(_) => "{}".to_owned(),
        View::Object(members) => {
            let mut out = String::from("{");
            let mut first = true;
            for (k, v) in members.filter(|(_, v)| !matches!(v.view(), View::Null)) {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push('"');
                hutool_escaped(&mut out, k);
                out.push_str("\":");
                out.push_str(&nested_text(v));
            }
            out.push('}');
            out
        }
    })
}

fn nested_text<T: JsonValue>(v: &T) -> String {
    match v.view() {
        View::Str(s) => {
            let mut out = String::from("\"");
            hutool_escaped(&mut out, s);
            out.push('"');
            out
        }
        View::Number(n) => plain_decimal(&n.to_string()),
        View::Bool(b) => b.to_string(),
        View::Null => "null".to_owned(),
        View::Array(items) => {
            let inner: Vec<String> = items
                .iter()
                .filter(|v| !matches!(v.view(), View::Null))
                .map(nested_text)
                .collect();
            format!("[{}]", inner.join(","))
        }
        View::Object(_) => request_value(v).unwrap_or_default(),
    }
}

/// The exact string a beta4 request is signed over (`sign` left out).
pub fn request_sign_string<O: JsonObject + ?Sized>(object: &O, secret: &str) -> String {
    let members = object
        .members()
        .filter(|(k, _)| *k != "sign")
        .filter_map(|(k, v)| Some((k.to_owned(), request_value(v)?)))
        .collect();
    finish(members, secret)
}

/// A beta4 answer: `DaxResult`'s members (`sign` is made from the others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub code: i64,
    pub msg: String,
    /// The model (`Val::Obj` in declaration order); `None`: `data` is null.
    pub data: Option<Val>,
    /// `yyyy-MM-dd HH:mm:ss`.
    pub res_time: String,
    pub trace_id: Option<String>,
}

impl Answer {
    /// The exact string the answer is signed over.
    pub fn sign_string(&self, secret: &str) -> String {
        let mut members = vec![
            ("code".to_owned(), self.code.to_string()),
            ("msg".to_owned(), self.msg.clone()),
            ("resTime".to_owned(), self.res_time.clone()),
        ];
        if let Some(data) = &self.data {
            let mut text = String::new();
            hutool_json(&mut text, data);
            members.push(("data".to_owned(), text));
        }
        if let Some(t) = &self.trace_id {
            members.push(("traceId".to_owned(), t.clone()));
        }
        finish(members, secret)
    }

    /// The answer as its JSON text, carrying `sign` (members in `DaxResult`'s order).
    pub fn to_json(&self, sign: &str) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"code\":");
        out.push_str(itoa::Buffer::new().format(self.code));
        out.push_str(",\"msg\":");
        out.push_str(&serde_json::Value::from(self.msg.as_str()).to_string());
        out.push_str(",\"data\":");
        match &self.data {
            Some(data) => wire_json(&mut out, data),
            None => out.push_str("null"),
        }
        out.push_str(",\"sign\":");
        out.push_str(&serde_json::Value::from(sign).to_string());
        out.push_str(",\"resTime\":");
        out.push_str(&serde_json::Value::from(self.res_time.as_str()).to_string());
        out.push_str(",\"traceId\":");
        match &self.trace_id {
            Some(t) => out.push_str(&serde_json::Value::from(t.as_str()).to_string()),
            None => out.push_str("null"),
        }
        out.push('}');
        out
    }
}

impl Signer {
    /// The signature of a beta4 request as received.
    pub fn sign_beta4_request<O: JsonObject + ?Sized>(&self, object: &O) -> String {
        self.digest(&request_sign_string(object, self.secret_text()))
    }

    /// True when `object["sign"]` is the beta4 signature of the rest, compared in constant time.
    pub fn verify_beta4_request<O: JsonObject + ?Sized>(&self, object: &O) -> bool {
        let Some(View::Str(given)) = object.member("sign").map(JsonValue::view) else {
            return false;
        };
        let expected = self.sign_beta4_request(object);
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }

    /// The answer's JSON text, signed.
    pub fn signed_beta4_answer(&self, answer: &Answer) -> String {
        let sign = self.digest(&answer.sign_string(self.secret_text()));
        answer.to_json(&sign)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Secret, SignType};

    fn signer() -> Signer {
        Signer::new(SignType::HmacSha256, Secret::new("123456"))
    }

    #[test]
    fn decimals_lose_their_trailing_zeros_as_java_writes_them() {
        for (text, plain) in [
            ("1.50", "1.5"),
            ("10.00", "10"),
            ("0.10", "0.1"),
            ("1e2", "100"),
            ("1E+3", "1000"),
            ("0.00", "0"),
            ("0", "0"),
            ("100", "100"),
            ("-2.500", "-2.5"),
            ("0.01", "0.01"),
            ("1.5e-3", "0.0015"),
            ("120", "120"),
        ] {
            assert_eq!(plain_decimal(text), plain, "{text}");
        }
    }

    /// The SDK's own example, run with its PaySignUtil: receivers are signed as `{}`.
    #[test]
    fn a_start_request_signs_as_the_beta4_sdk_signs_it() {
        let body = r#"{"bizAllocNo":"SDK_1734661800000","orderNo":"DEVP2024122010250060000001","title":"测试分账","receivers":[{"receiverNo":"R001","amount":1},{"receiverNo":"R002","amount":2.5}],"notifyUrl":"https://merchant.example.com/alloc/notify","appId":"M8207639754663343","clientIp":"127.0.0.1","sign":"5b95762e3ce52f5a723171a425552de8d858bc170cb3229c8a03a010a04eddd8","reqTime":"2024-12-20 10:30:00","nonceStr":"a1b2c3d4"}"#;
        let tree = crate::json::parse_object(body.as_bytes()).unwrap_or_default();
        assert_eq!(
            request_sign_string(&tree, "123456"),
            "appId=M8207639754663343&bizAllocNo=SDK_1734661800000&clientIp=127.0.0.1&nonceStr=a1b2c3d4&notifyUrl=https://merchant.example.com/alloc/notify&orderNo=DEVP2024122010250060000001&receivers={}&reqTime=2024-12-20 10:30:00&title=测试分账&key=123456"
        );
        assert!(signer().verify_beta4_request(&tree));
        // the receivers are not covered: changing them keeps the signature good (SPEC §8.2)
        let changed = body.replace("\"amount\":2.5", "\"amount\":25");
        let tree = crate::json::parse_object(changed.as_bytes()).unwrap_or_default();
        assert!(signer().verify_beta4_request(&tree));
        let changed = body.replace("SDK_1734661800000", "SDK_1734661800001");
        let tree = crate::json::parse_object(changed.as_bytes()).unwrap_or_default();
        assert!(!signer().verify_beta4_request(&tree));
    }

    #[test]
    fn an_answer_signs_over_its_envelope_with_data_in_declaration_order() {
        let answer = Answer {
            code: 0,
            msg: "success".into(),
            data: Some(Val::Obj(vec![
                ("allocNo", Val::Str("DEVA2024122010300160000001".into())),
                ("bizAllocNo", Val::Str("SDK_1734661800000".into())),
                ("status", Val::Str("processing".into())),
                ("result", Val::Str("all_pending".into())),
            ])),
            res_time: "2024-12-20 10:30:01".into(),
            trace_id: Some("k3j5h2g8f9d1".into()),
        };
        assert_eq!(
            answer.sign_string("123456"),
            "code=0&data={allocNo:DEVA2024122010300160000001,bizAllocNo:SDK_1734661800000,status:processing,result:all_pending}&msg=success&resTime=2024-12-20 10:30:01&traceId=k3j5h2g8f9d1&key=123456"
        );
        let json = signer().signed_beta4_answer(&answer);
        assert!(
            json.contains(
                r#""sign":"020b85e4eba0a559823ef4c7968da1911921f1fa6be9d5a48a34a5ac485c98a2""#
            ),
            "{json}"
        );
        assert!(
            json.starts_with(r#"{"code":0,"msg":"success","data":{"allocNo":"#),
            "{json}"
        );
        let none = Answer {
            code: 20052,
            msg: "验签失败".into(),
            data: None,
            res_time: "2024-12-20 10:30:01".into(),
            trace_id: Some("T1".into()),
        };
        assert_eq!(
            none.sign_string("123456"),
            "code=20052&msg=验签失败&resTime=2024-12-20 10:30:01&traceId=T1&key=123456"
        );
    }

    #[test]
    fn a_query_answer_writes_decimals_stripped_and_lists_as_arrays() {
        let data = Val::Obj(vec![
            ("allocNo", Val::Str("DEVA1".into())),
            ("outAllocNo", Val::Null),
            ("amount", Val::Dec("10.10".into())),
            (
                "details",
                Val::List(vec![Val::Obj(vec![
                    ("receiverNo", Val::Str("R001".into())),
                    ("amount", Val::Dec("0.10".into())),
                    ("rate", Val::Dec("1".into())),
                    ("receiverName", Val::Str("张\"三".into())),
                ])]),
            ),
        ]);
        let mut text = String::new();
        hutool_json(&mut text, &data);
        assert_eq!(
            text,
            r#"{"allocNo":"DEVA1","amount":10.1,"details":[{"receiverNo":"R001","amount":0.1,"rate":1,"receiverName":"张\"三"}]}"#
        );
        let mut wire = String::new();
        wire_json(&mut wire, &data);
        assert_eq!(
            wire,
            r#"{"allocNo":"DEVA1","amount":10.1,"details":[{"receiverNo":"R001","amount":0.1,"rate":1,"receiverName":"张\"三"}]}"#
        );
    }
}
