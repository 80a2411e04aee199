//! `POST /gateway.do`: common-parameter checks, RSA2 request verification with the key of the
//! app the request names, the merchant a call acts for (the app itself, or the merchant whose
//! `app_auth_token` it carries), `alipay.open.auth.token.app`, fault injection and the signed
//! response envelope.

use std::collections::VecDeque;

use hyper::StatusCode;
use serde_json::{Value, json};
use sim_kit::{Dropped, Reply, reply};
use time::{Date, Duration, Month, PrimitiveDateTime, Time};

use crate::accounts::{App, AuthTokenState, Grant, RefreshRefusal};
use crate::state::{METHODS, TOKEN_APP, business_failed, success};
use crate::{CallRecord, Fault, Inner, SimCert, SimError, beijing_now, format_dt, unix_now};

/// How far a request `timestamp` may be from Beijing time now.
const MAX_SKEW: Duration = Duration::minutes(10);

/// A gateway-level rejection (40001 / 40002), answered under `error_response`.
struct GatewayError {
    code: &'static str,
    msg: &'static str,
    sub_code: &'static str,
    sub_msg: String,
}

impl GatewayError {
    fn missing(sub_code: &'static str, sub_msg: &str) -> Self {
        let (code, msg) = ("40001", "Missing Required Arguments");
        let sub_msg = sub_msg.to_string();
        GatewayError {
            code,
            msg,
            sub_code,
            sub_msg,
        }
    }

    fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Self {
        let (code, msg) = ("40002", "Invalid Arguments");
        let sub_msg = sub_msg.into();
        GatewayError {
            code,
            msg,
            sub_code,
            sub_msg,
        }
    }

    fn to_json(&self) -> Value {
        json!({"code": self.code, "msg": self.msg, "sub_code": self.sub_code, "sub_msg": self.sub_msg})
    }
}

/// The string both sides sign: parameters with a non-empty value and a name not in `exclude`,
/// sorted by name (byte order), joined as `k=v&k=v` with raw values.
pub(crate) fn sign_content(params: &[(String, String)], exclude: &[&str]) -> String {
    let mut kept: Vec<&(String, String)> = params
        .iter()
        .filter(|(k, v)| !v.is_empty() && !exclude.contains(&k.as_str()))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs: Vec<String> = kept.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join("&")
}

/// `yyyy-MM-dd HH:mm:ss`, digits exactly where expected.
pub(crate) fn parse_timestamp(s: &str) -> Option<PrimitiveDateTime> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return None;
    }
    let num = |from: usize, to: usize| s[from..to].parse::<u16>().ok();
    let month = Month::try_from(u8::try_from(num(5, 7)?).ok()?).ok()?;
    let day = u8::try_from(num(8, 10)?).ok()?;
    let date = Date::from_calendar_date(i32::from(num(0, 4)?), month, day).ok()?;
    let [h, m, sec] = [num(11, 13)?, num(14, 16)?, num(17, 19)?].map(|v| u8::try_from(v).ok());
    let time = Time::from_hms(h?, m?, sec?).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// `app`: the registered app the request's `app_id` names, if any.
fn check_common(
    params: &[(String, String)],
    app: Option<&App>,
    verified: bool,
) -> Result<(), GatewayError> {
    for (i, (k, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(seen, _)| seen == k) {
            return Err(GatewayError::invalid(
                "isv.invalid-parameter",
                format!("参数重复: {k}"),
            ));
        }
    }
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    };
    use GatewayError as E;
    let app = match (get("app_id"), app) {
        (None, _) => return Err(E::missing("isv.missing-app-id", "缺少AppID参数")),
        (Some(_), None) => return Err(E::invalid("isv.invalid-app-id", "无效的AppID参数")),
        (Some(_), Some(app)) => app,
    };
    if get("method").is_none() {
        return Err(E::missing("isv.missing-method", "缺少方法名参数"));
    }
    if let Some(cert) = &app.cert {
        match get("app_cert_sn") {
            None => {
                return Err(E::missing(
                    "isv.missing-app-cert-sn",
                    "缺少应用公钥证书序列号",
                ));
            }
            Some(sn) if sn != cert.app_cert_sn => {
                return Err(E::invalid(
                    "isv.invalid-app-cert-sn",
                    "应用公钥证书序列号不匹配",
                ));
            }
            Some(_) => {}
        }
        match get("alipay_root_cert_sn") {
            None => {
                return Err(E::missing(
                    "isv.missing-alipay-root-cert-sn",
                    "缺少支付宝根证书序列号",
                ));
            }
            Some(sn) if sn != cert.alipay_root_cert_sn => {
                return Err(E::invalid(
                    "isv.invalid-alipay-root-cert-sn",
                    "支付宝根证书序列号不匹配",
                ));
            }
            Some(_) => {}
        }
    }
    match get("charset") {
        None => return Err(E::missing("isv.missing-charset", "缺少字符集参数")),
        Some(c) if !c.eq_ignore_ascii_case("utf-8") => {
            return Err(E::invalid(
                "isv.invalid-charset",
                format!("字符集不支持: {c}"),
            ));
        }
        Some(_) => {}
    }
    if let Some(f) = get("format").filter(|f| !f.eq_ignore_ascii_case("json")) {
        return Err(E::invalid("isv.invalid-format", format!("格式不支持: {f}")));
    }
    match get("sign_type") {
        None => return Err(E::missing("isv.missing-signature-type", "缺少签名类型参数")),
        Some("RSA2") => {}
        Some(t) => {
            return Err(E::invalid(
                "isv.invalid-signature-type",
                format!("签名类型不支持: {t}"),
            ));
        }
    }
    match get("version") {
        None => return Err(E::missing("isv.missing-version", "缺少版本参数")),
        Some("1.0") => {}
        Some(v) => {
            return Err(E::invalid(
                "isv.invalid-version",
                format!("版本号不支持: {v}"),
            ));
        }
    }
    let Some(ts) = get("timestamp") else {
        return Err(E::missing("isv.missing-timestamp", "缺少时间戳参数"));
    };
    let fresh = parse_timestamp(ts).is_some_and(|t| (t - beijing_now()).abs() <= MAX_SKEW);
    if !fresh {
        return Err(E::invalid(
            "isv.invalid-timestamp",
            "非法的时间戳参数 (须为北京时间 yyyy-MM-dd HH:mm:ss, 误差 10 分钟以内)",
        ));
    }
    if get("sign").is_none() {
        return Err(E::missing("isv.missing-signature", "缺少签名参数"));
    }
    if !verified {
        return Err(E::invalid(
            "isv.invalid-signature",
            "验签出错, 建议检查签名字符串或签名私钥与应用公钥是否匹配",
        ));
    }
    if !get("method").is_some_and(|m| METHODS.contains(&m)) {
        return Err(E::invalid("isv.invalid-method", "不存在的方法名"));
    }
    Ok(())
}

/// `alipay.trade.order.settle` → `alipay_trade_order_settle_response`.
fn node_name(method: &str) -> String {
    if method.is_empty() {
        "error_response".into()
    } else {
        format!("{}_response", method.replace('.', "_"))
    }
}

/// The response body: the node text S is produced first, then signed, then embedded verbatim.
/// `cert`: the certificate mode of the app answered (its `alipay_cert_sn` is named).
fn render(
    name: &str,
    node: &Value,
    fault: Option<&Fault>,
    cert: Option<&SimCert>,
    inner: &Inner,
) -> Result<String, SimError> {
    let text = match fault {
        Some(Fault::WhitespaceInNode) => {
            let pretty = serde_json::to_string_pretty(node)?;
            format!("{{ \n\t{}", &pretty[1..])
        }
        _ => serde_json::to_string(node)?,
    };
    let signed = match fault {
        // Same node, but the signature covers one changed character.
        Some(Fault::BadSignature) => text.replacen("\"code\"", "\"c0de\"", 1),
        _ => text.clone(),
    };
    let sign = inner.signer.sign_b64(signed.as_bytes())?;
    Ok(match cert {
        Some(c) => format!(
            "{{\"{name}\":{text},\"alipay_cert_sn\":\"{}\",\"sign\":\"{sign}\"}}",
            c.alipay_cert_sn
        ),
        None => format!("{{\"{name}\":{text},\"sign\":\"{sign}\"}}"),
    })
}

fn html_status(code: u16) -> Reply {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let title = format!(
        "{} {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>Tengine</center>\r\n</body>\r\n</html>\r\n"
    );
    reply(status, "text/html", body)
}

const JSON_UTF8: &str = "application/json;charset=utf-8";

/// A call with an `app_auth_token` that does not act for anyone: `code 20001` (授权权限不足,
/// msg "Insufficient Token Permissions") under the method's node, signed, as Alipay answers it
/// (public error-code table, open.alitrip.com/docs/doc.htm?articleId=105806&docType=1&treeId=262;
/// the answer `{"alipay_trade_pay_response":{"code":"20001","msg":"Insufficient Token
/// Permissions","sub_code":"aop.invalid-app-auth-token","sub_msg":"无效的应用授权令牌"},"sign":..}`
/// quoted in SDK tests, e.g. alipay-easysdk `TestExecuteWithAppAuthToken`).
fn token_refused(state: AuthTokenState) -> Value {
    let (sub_code, sub_msg) = match state {
        AuthTokenState::Expired => ("aop.app-auth-token-time-out", "应用授权令牌已过期"),
        AuthTokenState::Valid | AuthTokenState::Invalid => {
            ("aop.invalid-app-auth-token", "无效的应用授权令牌")
        }
    };
    json!({"code": "20001", "msg": "Insufficient Token Permissions", "sub_code": sub_code,
        "sub_msg": sub_msg})
}

/// A `40002 Invalid Arguments` node of `alipay.open.auth.token.app`.
fn token_app_invalid(sub_code: &str, sub_msg: &str) -> Value {
    json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": sub_code, "sub_msg": sub_msg})
}

/// The six fields of a token answer.
fn token_fields(g: &Grant) -> Value {
    json!({"user_id": g.user_id, "auth_app_id": g.auth_app_id,
        "app_auth_token": g.token, "app_refresh_token": g.refresh_token,
        "expires_in": g.expires_in, "re_expires_in": g.re_expires_in})
}

/// `alipay.open.auth.token.app` with `grant_type=refresh_token`: a new token and refresh token
/// for the merchant, the old ones dead. The answer carries the fields flat, as the long-standing
/// example shows (`alipay_open_auth_token_app_response` with `app_auth_token`,
/// `app_refresh_token`, `auth_app_id`, `expires_in`, `re_expires_in`, `user_id`), and again in
/// `tokens`, the array newer docs answer (both forms in go-pay/gopay `AuthTokenApp`), so a
/// client reading either works. Refusals: 40002 `isv.refresh-token-invalid` "刷新令牌
/// (refresh_token)错误或状态不对" (developer.aliyun.com/ask/285673) and, for a refresh token
/// already used, `isv.refreshed-token-invalid` (developer.aliyun.com/ask/285674).
/// `grant_type=authorization_code` is not simulated: the simulator issues no `app_auth_code`,
/// so every code is answered 40002 `isv.code-invalid` "授权码code无效".
fn token_app(inner: &Inner, app_id: &str, biz: &Value, now: &str) -> Value {
    let Value::Object(biz) = biz else {
        return token_app_invalid("isv.invalid-parameter", "biz_content 须为 JSON 对象");
    };
    match biz.get("grant_type").and_then(Value::as_str) {
        Some("refresh_token") => {}
        Some("authorization_code") => {
            return token_app_invalid("isv.code-invalid", "授权码code无效");
        }
        _ => {
            return token_app_invalid(
                "isv.invalid-parameter",
                "grant_type 须为 authorization_code 或 refresh_token",
            );
        }
    }
    let refresh_token = biz
        .get("refresh_token")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let year_month: String = now.chars().filter(char::is_ascii_digit).take(6).collect();
    let refreshed = inner
        .accounts()
        .refresh(app_id, refresh_token, &year_month, unix_now());
    match refreshed {
        Ok(grant) => {
            let fields = token_fields(&grant);
            let mut node = success(fields.clone());
            node["tokens"] = json!([fields]);
            node
        }
        Err(RefreshRefusal::Used) => token_app_invalid(
            "isv.refreshed-token-invalid",
            "该刷新令牌刷出的令牌已无效,请尝试用返回的令牌再次刷新",
        ),
        Err(RefreshRefusal::Invalid) => token_app_invalid(
            "isv.refresh-token-invalid",
            "刷新令牌(refresh_token)错误或状态不对",
        ),
    }
}

/// Handles one gateway call. `Err` means: answer nothing and drop the connection.
pub(crate) async fn handle(inner: &Inner, params: Vec<(String, String)>) -> Result<Reply, Dropped> {
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let method = get("method").unwrap_or_default().to_string();
    let app_id = get("app_id").unwrap_or_default().to_string();
    let biz: Value = get("biz_content")
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    // A common (signed) parameter: the ISV acts for the merchant it belongs to. Without it the
    // app acts for itself ("支付宝将认为是本应用替自己发起的请求", yq.aliyun.com/articles/707485).
    let app_auth_token = get("app_auth_token")
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let acting = match &app_auth_token {
        None => Ok(app_id.clone()),
        Some(token) => inner.accounts().resolve(&app_id, token, unix_now()),
    };
    let app = inner.accounts().get(&app_id);
    // Verified with the key of the app the request names: a request signed by one app but
    // naming another fails here.
    let verified = match (&app, get("sign")) {
        (Some(app), Some(sign)) => {
            let content = sign_content(&params, &["sign"]);
            app.verifier.verify_b64(content.as_bytes(), sign)
        }
        _ => false,
    };
    // Answers to an unknown app are rendered like the first app's (certificate mode included).
    let cert_app = app.clone().or_else(|| inner.accounts().first());
    let cert = cert_app.as_ref().and_then(|a| a.cert.as_ref());
    let (index, fault) = {
        let mut state = inner.state();
        let fault = state.faults.get_mut(&method).and_then(VecDeque::pop_front);
        state.calls.push(CallRecord {
            app_id: app_id.clone(),
            app_auth_token: app_auth_token.clone(),
            merchant: None,
            method: method.clone(),
            out_request_no: biz["out_request_no"].as_str().map(str::to_string),
            biz_content: biz.clone(),
            verified,
            code: None,
            sub_code: None,
            fault: fault.clone(),
        });
        (state.calls.len() - 1, fault)
    };
    let record = |node: &Value| {
        if let Some(call) = inner.state().calls.get_mut(index) {
            call.code = node["code"].as_str().map(str::to_string);
            call.sub_code = node["sub_code"].as_str().map(str::to_string);
        }
    };

    // Gateway-level faults: nothing is checked or applied.
    match &fault {
        Some(Fault::Timeout) => return Err(inner.server.hold().await),
        Some(Fault::HttpStatus(code)) => return Ok(html_status(*code)),
        Some(Fault::Unsigned20000) => {
            let node = json!({"code": "20000", "msg": "Service Currently Unavailable",
                "sub_code": "isp.unknown-error", "sub_msg": "系统繁忙"});
            record(&node);
            let body = json!({ node_name(&method): node }).to_string();
            return Ok(reply(StatusCode::OK, JSON_UTF8, body));
        }
        _ => {}
    }

    // The merchant the call acted for, once its business method ran.
    let mut acted_for: Option<&str> = None;
    let (name, node) = match check_common(&params, app.as_deref(), verified) {
        Err(e) => ("error_response".to_string(), e.to_json()),
        Ok(()) => {
            let node = match (&fault, &acting) {
                (Some(Fault::Business { sub_code, sub_msg }), _) => {
                    business_failed(sub_code, sub_msg)
                }
                // The ISV's own call; an app_auth_token it may carry is not looked at.
                _ if method == TOKEN_APP => {
                    acted_for = Some(&app_id);
                    token_app(inner, &app_id, &biz, &format_dt(beijing_now()))
                }
                (_, Err(state)) => token_refused(*state),
                (_, Ok(merchant)) => {
                    let now = format_dt(beijing_now());
                    acted_for = Some(merchant);
                    let call = (merchant.as_str(), app_id.as_str());
                    let answer = if method == crate::bills::METHOD {
                        Some(crate::bills::query(inner, merchant, &biz))
                    } else {
                        inner.state().call(&method, &biz, call, &now)
                    };
                    answer.unwrap_or_else(|| {
                        json!({"code": "40002", "msg": "Invalid Arguments",
                        "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"})
                    })
                }
            };
            (node_name(&method), node)
        }
    };
    // Recorded whether or not an answer goes out: the call was applied for this merchant.
    if let Some(merchant) = acted_for
        && let Some(call) = inner.state().calls.get_mut(index)
    {
        call.merchant = Some(merchant.to_string());
    }
    if matches!(fault, Some(Fault::TimeoutAfterApply)) {
        return Err(inner.server.hold().await);
    }
    record(&node);
    match render(&name, &node, fault.as_ref(), cert, inner) {
        Ok(body) => Ok(reply(StatusCode::OK, JSON_UTF8, body)),
        Err(e) => Ok(reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            e.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sign_content_sorts_and_drops_empty_and_excluded() {
        let p = pairs(&[
            ("b", "2"),
            ("sign", "x"),
            ("a", "1 +"),
            ("c", ""),
            ("A", "0"),
        ]);
        assert_eq!(sign_content(&p, &["sign"]), "A=0&a=1 +&b=2");
    }

    #[test]
    fn timestamps() {
        assert!(parse_timestamp("2024-02-29 23:59:59").is_some());
        for bad in [
            "2023-02-29 00:00:00",
            "2024-1-01 00:00:00",
            "2024-01-01T00:00:00",
            "2024-01-01 24:00:00",
            "2024-01-01 00:00:+1",
        ] {
            assert!(parse_timestamp(bad).is_none(), "{bad}");
        }
    }
}
