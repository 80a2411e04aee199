//! The `/v3/profitsharing/…` endpoints: routing, `Authorization` verification with the key of
//! the merchant or provider it names, the merchant a call acts for (partner calls: the
//! `sub_mchid` they carry), header checks, fault injection and signed answers.

use std::collections::VecDeque;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use sim_kit::{Dropped, Reply, random_bytes};

use crate::accounts::{Signer, SubMerchant};
use crate::bills::Scope;
use crate::crypto::{ALNUM, HEX_UPPER, random_text};
use crate::state::{ApiError, ApiResult, Ctx, Partner, param_error};
use crate::{CallRecord, Fault, Inner, Op, SimError, beijing_now, unix_now};

const SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// How far a request `timestamp` may be from now, in seconds.
const MAX_SKEW: i64 = 300;
/// How old `Fault::StaleTimestamp` makes an answer, in seconds.
const STALE_BY: i64 = 600;

/// Maps a request to its operation and path parameter (out_order_no, out_return_no,
/// transaction_id or sub_mchid).
fn route(method: &Method, path: &str) -> Option<(Op, String)> {
    if method == Method::POST && path == "/v3/refund/domestic/refunds" {
        return Some((Op::Refund, String::new()));
    }
    if method == Method::GET && path == "/v3/billdownload/file" {
        return Some((Op::BillDownload, String::new()));
    }
    let rest = path.strip_prefix("/v3/profitsharing/")?;
    let segment = |s: &str| (!s.is_empty() && !s.contains('/')).then(|| percent_decode(s));
    let op = match (method, rest) {
        (&Method::POST, "orders") => Op::CreateOrder,
        (&Method::POST, "orders/unfreeze") => Op::Unfreeze,
        (&Method::POST, "receivers/add") => Op::AddReceiver,
        (&Method::POST, "receivers/delete") => Op::DeleteReceiver,
        (&Method::POST, "return-orders") => Op::CreateReturn,
        (&Method::GET, "bills") => Op::Bills,
        (&Method::GET, _) => {
            if let Some(no) = rest.strip_prefix("orders/").and_then(segment) {
                return Some((Op::QueryOrder, no));
            }
            if let Some(sub) = rest.strip_prefix("merchant-configs/").and_then(segment) {
                return Some((Op::MerchantConfigs, sub));
            }
            if let Some(no) = rest.strip_prefix("return-orders/").and_then(segment) {
                return Some((Op::QueryReturn, no));
            }
            let id = rest
                .strip_prefix("transactions/")
                .and_then(|r| r.strip_suffix("/amounts"))
                .and_then(segment)?;
            return Some((Op::Amounts, id));
        }
        _ => return None,
    };
    Some((op, String::new()))
}

/// `%XX` escapes decoded; anything else (including an invalid escape) kept as is.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| percent_decode(k) == key)
        .map(|(_, v)| percent_decode(v))
}

/// `k="v",k="v"` in any order, optional blanks around commas; duplicates rejected.
fn parse_auth_params(mut rest: &str) -> Result<Vec<(&str, &str)>, String> {
    let mut params: Vec<(&str, &str)> = Vec::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        if rest.is_empty() {
            return Ok(params);
        }
        let (key, after) = rest
            .split_once('=')
            .ok_or("Authorization: expected key=\"value\"")?;
        let key = key.trim();
        let (value, after) = after
            .strip_prefix('"')
            .and_then(|a| a.split_once('"'))
            .ok_or_else(|| format!("Authorization: {key} must be a quoted value"))?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(format!("Authorization: {key} given twice"));
        }
        if !after.trim_start().is_empty() && !after.trim_start().starts_with(',') {
            return Err("Authorization: parameters must be separated by commas".into());
        }
        params.push((key, value));
        rest = after;
    }
}

/// The `k="v"` parameters of the `Authorization` header.
fn auth_params(headers: &HeaderMap) -> Result<Vec<(&str, &str)>, String> {
    let header = headers
        .get(AUTHORIZATION)
        .ok_or("no Authorization header")?
        .to_str()
        .map_err(|_| "Authorization is not visible ASCII")?;
    let rest = header
        .strip_prefix(SCHEME)
        .filter(|r| r.starts_with(' '))
        .ok_or_else(|| format!("Authorization scheme must be {SCHEME}"))?;
    parse_auth_params(rest)
}

/// The `mchid` the `Authorization` header names, for the call record.
fn named_mchid(headers: &HeaderMap) -> Option<String> {
    let params = auth_params(headers).ok()?;
    params
        .iter()
        .find(|(k, _)| *k == "mchid")
        .map(|(_, v)| v.to_string())
}

/// Checks the `Authorization` header against the merchant or provider it names; `Ok` is that
/// signer, `Err` carries the reason (sent as `detail.issue`).
fn check_authorization(
    inner: &Inner,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Signer, String> {
    let params = auth_params(headers)?;
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .filter(|v| !v.is_empty())
            .ok_or(format!("Authorization: {key} missing or empty"))
    };
    let mchid = get("mchid")?;
    // A provider signs with its own key under its sp_mchid; a sub-merchant never signs.
    let signer = inner
        .merchants()
        .signer(mchid)
        .ok_or_else(|| format!("mchid {mchid} is not a merchant of this simulator"))?;
    let merchant = signer.merchant();
    if get("serial_no")? != merchant.serial {
        return Err(format!("serial_no is not {}", merchant.serial));
    }
    let timestamp = get("timestamp")?;
    let ts: i64 = timestamp
        .parse()
        .map_err(|_| "timestamp is not Unix seconds")?;
    if (unix_now() - ts).abs() > MAX_SKEW {
        return Err("timestamp is more than 5 minutes from now".into());
    }
    let nonce = get("nonce_str")?;
    let mut message = format!("{method}\n{target}\n{timestamp}\n{nonce}\n").into_bytes();
    message.extend_from_slice(body);
    message.push(b'\n');
    if !merchant.verifier.verify_b64(&message, get("signature")?) {
        return Err(format!(
            "signature does not verify over METHOD\\nPATH?QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n with the public key of merchant {mchid}"
        ));
    }
    Ok(signer)
}

/// Whether a comma-separated media-type header lists `application/json`.
fn lists_json(headers: &HeaderMap, name: hyper::header::HeaderName) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let media = item.split(';').next().unwrap_or_default().trim();
            media.eq_ignore_ascii_case("application/json")
        })
}

fn check_headers(parts: &Parts) -> Result<(), ApiError> {
    let ua_present = parts
        .headers
        .get(USER_AGENT)
        .is_some_and(|v| v.as_bytes().iter().any(|b| !b.is_ascii_whitespace()));
    if !ua_present {
        return Err(param_error("请求头缺少 User-Agent"));
    }
    if !lists_json(&parts.headers, ACCEPT) {
        return Err(param_error("请求头 Accept 须为 application/json"));
    }
    if parts.method == Method::POST && !lists_json(&parts.headers, CONTENT_TYPE) {
        return Err(param_error("请求头 Content-Type 须为 application/json"));
    }
    Ok(())
}

// A direct merchant's request carrying `sub_mchid`: WeChat's answer on the v3 payment API
// ({"code":"PARAM_ERROR","message":"普通商户不允许传sub_mch_id"},
// developers.weixin.qq.com/community/develop/doc/00022e46b909804e13cb518055bc00). No
// profit-sharing page names one; the same rule is applied here, so that a direct-mode caller
// sending a sub_mchid is caught.
const DIRECT_WITH_SUB_MCHID: &str = "普通商户不允许传sub_mch_id";

// A provider's request without the `sub_mchid` the partner API requires (go-pay/gopay#157:
// "文档更新了sub_mchid为必填"): 400 PARAM_ERROR in the words WeChat's required-field check used on
// the partner payment query (developers.weixin.qq.com/community/develop/doc/0004e26a344940026bd210eee65c00).
// Not documented for the profit-sharing calls: a stand-in. Splits and unfreezes are the
// exception, see `resolve`.
const MISSING_SUB_MCHID: &str = "“sub_mchid”映射到字段“子商户号”必填性规则校验失败,此字段为必填项";

// A `sub_mchid` that is not a sub-merchant signed under the calling provider (another
// provider's, an unknown number, any for a direct merchant): 403 NO_AUTH, the documented answer
// of the partner max-ratio API (pay.weixin.qq.com/wiki/doc/apiv3_partner/apis/chapter8_7_10.shtml;
// wechatpay-go services/profitsharing/api_merchants.go), applied to every partner call here.
fn not_signed() -> ApiError {
    ApiError::new(403, "NO_AUTH", "非服务商下的签约子商户")
}

/// The `sub_mchid` a request carries: in the body of a POST, the query string of a GET, the
/// path of `merchant-configs`. Absent, null and "" are "not given".
fn carried_sub_mchid(
    op: Op,
    param: &str,
    json: &Value,
    query: Option<&str>,
) -> Result<Option<String>, ApiError> {
    match op {
        Op::MerchantConfigs => Ok(Some(param.to_string())),
        Op::QueryOrder | Op::QueryReturn | Op::Amounts | Op::Bills => {
            Ok(query_param(query, "sub_mchid").filter(|s| !s.is_empty()))
        }
        _ => match json.get("sub_mchid") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(param_error("sub_mchid 须为字符串")),
        },
    }
}

/// Whom a verified call acts for.
enum Acting {
    /// The signer itself: a direct merchant; or a provider naming no `sub_mchid` on a split or
    /// unfreeze, which WeChat takes as the provider's own direct-mode request and so refuses on
    /// a partner transaction with 交易模式不匹配 (observed on the v3 partner unfreeze,
    /// github.com/binarywang/WxJava/issues/2747).
    Itself,
    /// The sub-merchant a provider's call names.
    Sub(SubMerchant),
    /// A provider's amounts query without `sub_mchid`: the partner amounts API has the
    /// transaction id only (pay.weixin.qq.com/wiki/doc/apiv3_partner/apis/chapter8_1_6.shtml),
    /// so any transaction paid through the provider.
    AllSubs,
}

fn resolve(inner: &Inner, signer: &Signer, op: Op, sub_mchid: Option<&str>) -> ApiResult<Acting> {
    match (signer, sub_mchid) {
        (Signer::Direct(_), None) => Ok(Acting::Itself),
        (Signer::Direct(_), Some(_)) => Err(param_error(DIRECT_WITH_SUB_MCHID)),
        (Signer::Provider(p), Some(sub)) => inner
            .merchants()
            .sub_of(p.sp_mchid(), sub)
            .map(Acting::Sub)
            .ok_or_else(not_signed),
        (Signer::Provider(_), None) => match op {
            Op::CreateOrder | Op::Unfreeze => Ok(Acting::Itself),
            // The partner bill without sub_mchid: every sub-merchant's (SPEC §4.13).
            Op::Amounts | Op::Bills => Ok(Acting::AllSubs),
            _ => Err(param_error(MISSING_SUB_MCHID)),
        },
    }
}

/// `GET /v3/profitsharing/merchant-configs/{sub_mchid}` (partner only): the ratio the
/// sub-merchant authorised to the calling provider.
fn merchant_config(inner: &Inner, signer: &Signer, sub_mchid: &str) -> ApiResult {
    let sub = match signer {
        Signer::Provider(p) => inner.merchants().sub_of(p.sp_mchid(), sub_mchid),
        Signer::Direct(_) => None,
    };
    let sub = sub.ok_or_else(not_signed)?;
    Ok(json!({"sub_mchid": sub.sub_mchid, "max_ratio": sub.max_ratio}))
}

/// The signer of a request whose `Authorization` passed, or 401 `SIGN_ERROR` saying why not.
fn signed(auth: Result<Signer, String>) -> ApiResult<Signer> {
    auth.map_err(|issue| {
        let mut error = ApiError::new(401, "SIGN_ERROR", "签名错误");
        error.issue = Some(issue);
        error
    })
}

/// Checks and applies one API call.
fn process(
    inner: &Inner,
    parts: &Parts,
    route: Option<&(Op, String)>,
    auth: Result<Signer, String>,
    body: &[u8],
) -> ApiResult {
    let signer = signed(auth)?;
    check_headers(parts)?;
    let Some((op, param)) = route else {
        return Err(ApiError::new(404, "NOT_FOUND", "请求的资源不存在"));
    };
    let json: Value = if parts.method == Method::POST {
        serde_json::from_slice(body)
            .map_err(|e| param_error(format!("请求体不是合法的 JSON: {e}")))?
    } else {
        Value::Null
    };
    let query = parts.uri.query();
    let sub_mchid = carried_sub_mchid(*op, param, &json, query)?;
    if *op == Op::MerchantConfigs {
        return merchant_config(inner, &signer, param);
    }
    let acting = resolve(inner, &signer, *op, sub_mchid.as_deref())?;
    let merchant = signer.merchant();
    let (mchid, partner) = match &acting {
        Acting::Sub(sub) => {
            let partner = Partner {
                sp_mchid: &merchant.mchid,
                sub_appid: sub.sub_appid.as_deref(),
                max_ratio: sub.max_ratio,
            };
            (sub.sub_mchid.as_str(), Some(partner))
        }
        Acting::Itself | Acting::AllSubs => (merchant.mchid.as_str(), None),
    };
    let ctx = Ctx {
        mchid,
        // A provider's bodies carry its sp_appid, whoever they act for.
        appid: &merchant.appid,
        partner,
        key_id: &inner.key_id,
        key: &inner.key,
        serial_header: parts
            .headers
            .get("wechatpay-serial")
            .and_then(|v| v.to_str().ok()),
        now: beijing_now(),
        now_unix: unix_now(),
    };
    let mut state = inner.state();
    match op {
        Op::CreateOrder => state.create_order(&ctx, &json),
        Op::QueryOrder => {
            let transaction_id = query_param(query, "transaction_id");
            state.query_order(ctx.mchid, param, transaction_id.as_deref())
        }
        Op::Unfreeze => state.unfreeze(&ctx, &json),
        Op::AddReceiver => state.add_receiver(&ctx, &json),
        Op::DeleteReceiver => state.delete_receiver(&ctx, &json),
        Op::Amounts => match acting {
            Acting::AllSubs => state.amounts(None, Some(&merchant.mchid), param),
            _ => state.amounts(Some(ctx.mchid), ctx.provider(), param),
        },
        Op::CreateReturn => state.create_return(&ctx, &json),
        Op::QueryReturn => {
            let out_order_no = query_param(query, "out_order_no");
            state.query_return(ctx.mchid, param, out_order_no.as_deref())
        }
        Op::Refund => state.refund_api(&ctx, &json),
        Op::Bills => {
            let scope = match &acting {
                Acting::Sub(sub) => Scope::Sub {
                    sp_mchid: &merchant.mchid,
                    sub_mchid: &sub.sub_mchid,
                },
                Acting::AllSubs => Scope::Provider(&merchant.mchid),
                Acting::Itself => Scope::Direct(&merchant.mchid),
            };
            let host = inner.server.local_addr();
            crate::bills::query(&mut state, scope, &merchant.mchid, query, host)
        }
        // Answered above, and by `handle`.
        Op::MerchantConfigs => merchant_config(inner, &signer, param),
        Op::BillDownload => Err(ApiError::new(404, "NOT_FOUND", "请求的资源不存在")),
    }
}

/// Base64 signature over `TIMESTAMP\nNONCE\nBODY\n` with the WeChat Pay key.
pub(crate) fn sign_answer(
    inner: &Inner,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> Result<String, SimError> {
    let message = format!("{timestamp}\n{nonce}\n{body}\n");
    inner.key.sign_b64(message.as_bytes())
}

/// A public-key id that is not ours, for `Fault::WrongSerial`.
fn other_key_id(ours: &str) -> &'static str {
    const OTHERS: [&str; 2] = [
        "PUB_KEY_ID_0000000000000000000000000000000000",
        "PUB_KEY_ID_1111111111111111111111111111111111",
    ];
    if ours == OTHERS[0] {
        OTHERS[1]
    } else {
        OTHERS[0]
    }
}

/// The answer with its `Wechatpay-*` headers, altered as the fault says.
fn signed_reply(inner: &Inner, status: u16, body: String, fault: Option<&Fault>) -> Reply {
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|s| s.as_u16() >= 200)
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = if status == StatusCode::NO_CONTENT {
        String::new()
    } else {
        body
    };
    let mut timestamp = unix_now();
    if fault == Some(&Fault::StaleTimestamp) {
        timestamp -= STALE_BY;
    }
    let nonce = random_text(32, ALNUM);
    let signature = match fault {
        Some(Fault::SignTest) => Ok(format!(
            "WECHATPAY/SIGNTEST/{}",
            STANDARD.encode(random_bytes::<192>())
        )),
        Some(Fault::BadSignature) => sign_answer(inner, timestamp, &nonce, &format!("{body} ")),
        _ => sign_answer(inner, timestamp, &nonce, &body),
    };
    let signature = match signature {
        Ok(s) => s,
        Err(e) => {
            let mut r = crate::reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            return r;
        }
    };
    let serial = match fault {
        Some(Fault::WrongSerial) => other_key_id(&inner.key_id),
        _ => inner.key_id.as_str(),
    };
    let mut reply = crate::reply(status, Bytes::from(body));
    let headers = reply.headers_mut();
    for (name, value) in [
        ("wechatpay-timestamp", timestamp.to_string()),
        ("wechatpay-nonce", nonce),
        ("wechatpay-serial", serial.to_string()),
        ("wechatpay-signature", signature),
        ("request-id", random_text(32, HEX_UPPER)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    reply
}

/// Handles one non-control request. `Err` means: answer nothing and drop the connection.
pub(crate) async fn handle(inner: &Inner, parts: &Parts, body: &Bytes) -> Result<Reply, Dropped> {
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str())
        .to_string();
    let route = route(&parts.method, parts.uri.path());
    let op = route.as_ref().map(|(op, _)| *op);
    let mchid = named_mchid(&parts.headers);
    let auth = check_authorization(inner, &parts.method, &target, &parts.headers, body);
    let json = (parts.method == Method::POST)
        .then(|| serde_json::from_slice::<Value>(body).ok())
        .flatten()
        .unwrap_or(Value::Null);
    let out_order_no = match &route {
        Some((Op::QueryOrder, no)) => Some(no.clone()),
        Some((Op::CreateOrder | Op::Unfreeze | Op::CreateReturn, _)) => {
            json["out_order_no"].as_str().map(str::to_string)
        }
        Some((Op::QueryReturn, _)) => query_param(parts.uri.query(), "out_order_no"),
        _ => None,
    };
    // What a contract test asks of a partner call: which provider signed and which
    // sub-merchant the call carried (as sent, known or not, whoever signed).
    let sp_mchid = mchid
        .clone()
        .filter(|m| inner.merchants().provider(m).is_some());
    let sub_mchid = route.as_ref().and_then(|(op, param)| {
        carried_sub_mchid(*op, param, &json, parts.uri.query())
            .ok()
            .flatten()
    });
    let (index, fault) = {
        let mut state = inner.state();
        let fault = op
            .and_then(|op| state.faults.get_mut(&op))
            .and_then(VecDeque::pop_front);
        state.calls.push(CallRecord {
            mchid,
            sp_mchid,
            sub_mchid,
            method: parts.method.to_string(),
            path: target,
            op,
            out_order_no,
            verified: auth.is_ok(),
            status: None,
            code: None,
            fault: fault.clone(),
        });
        (state.calls.len() - 1, fault)
    };

    let result = match &fault {
        Some(Fault::Timeout) => return Err(inner.server.hold().await),
        Some(Fault::Status {
            status,
            code,
            message,
        }) => Err(ApiError::new(*status, code, message.as_str())),
        // The file answer carries no WeChat signature (SPEC §4.13): the signature faults
        // leave it as it is.
        _ if op == Some(Op::BillDownload) => {
            match signed(auth).and_then(|s| crate::bills::download(inner, &s, parts.uri.query())) {
                Ok(_) if fault == Some(Fault::TimeoutAfterApply) => {
                    return Err(inner.server.hold().await);
                }
                Ok(file) => {
                    if let Some(call) = inner.state().calls.get_mut(index) {
                        call.status = Some(file.status().as_u16());
                    }
                    return Ok(file);
                }
                Err(e) => Err(e),
            }
        }
        _ => process(inner, parts, route.as_ref(), auth, body),
    };
    if fault == Some(Fault::TimeoutAfterApply) {
        return Err(inner.server.hold().await);
    }
    let (status, code, body) = match result {
        Ok(value) => (200, None, value.to_string()),
        Err(e) => (e.status, Some(e.code.clone()), e.body()),
    };
    let reply = signed_reply(inner, status, body, fault.as_ref());
    if let Some(call) = inner.state().calls.get_mut(index) {
        call.status = Some(reply.status().as_u16());
        call.code = code;
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let get = |p: &str| route(&Method::GET, p);
        let post = |p: &str| route(&Method::POST, p);
        assert_eq!(
            post("/v3/profitsharing/orders").map(|r| r.0),
            Some(Op::CreateOrder)
        );
        assert_eq!(
            get("/v3/profitsharing/orders/A%7C1"),
            Some((Op::QueryOrder, "A|1".into()))
        );
        assert_eq!(
            get("/v3/profitsharing/transactions/42/amounts"),
            Some((Op::Amounts, "42".into()))
        );
        assert_eq!(get("/v3/profitsharing/orders"), None);
        assert_eq!(get("/v3/profitsharing/orders/a/b"), None);
        assert_eq!(post("/v3/profitsharing/orders/A1"), None);
        assert_eq!(get("/v3/profitsharing/transactions//amounts"), None);
        assert_eq!(post("/v3/profitsharing/receivers/remove"), None);
        assert_eq!(
            post("/v3/profitsharing/return-orders").map(|r| r.0),
            Some(Op::CreateReturn)
        );
        assert_eq!(
            get("/v3/profitsharing/return-orders/R%401"),
            Some((Op::QueryReturn, "R@1".into()))
        );
        assert_eq!(
            post("/v3/refund/domestic/refunds").map(|r| r.0),
            Some(Op::Refund)
        );
        assert_eq!(get("/v3/refund/domestic/refunds"), None);
        assert_eq!(get("/v3/profitsharing/return-orders"), None);
    }

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b%zz%4"), "a b%zz%4");
        assert_eq!(
            query_param(Some("x=1&transaction_id=42%31"), "transaction_id").as_deref(),
            Some("421")
        );
        assert_eq!(query_param(None, "transaction_id"), None);
    }

    #[test]
    fn auth_params_in_any_order() {
        let p = parse_auth_params(r#"signature="a=b/+",mchid="1", nonce_str="n""#).expect("ok");
        assert_eq!(
            p,
            vec![("signature", "a=b/+"), ("mchid", "1"), ("nonce_str", "n")]
        );
        assert!(parse_auth_params(r#"mchid=1"#).is_err());
        assert!(parse_auth_params(r#"mchid="1" serial_no="2""#).is_err());
        assert!(parse_auth_params(r#"mchid="1",mchid="1""#).is_err());
        assert!(parse_auth_params(r#"mchid="1"#).is_err());
    }
}
