//! `POST /gateway.do`: common-parameter checks, RSA2 request verification with the key of the
//! app the request names, fault injection and the signed response envelope.

use std::collections::VecDeque;

use hyper::StatusCode;
use serde_json::{Value, json};
use sim_kit::{Dropped, Reply, reply};
use time::{Date, Duration, Month, PrimitiveDateTime, Time};

use crate::accounts::App;
use crate::state::{METHODS, business_failed};
use crate::{CallRecord, Fault, Inner, SimCert, SimError, beijing_now, format_dt};

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
fn parse_timestamp(s: &str) -> Option<PrimitiveDateTime> {
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

    let (name, node) = match check_common(&params, app.as_deref(), verified) {
        Err(e) => ("error_response".to_string(), e.to_json()),
        Ok(()) => {
            let node = match &fault {
                Some(Fault::Business { sub_code, sub_msg }) => business_failed(sub_code, sub_msg),
                _ => {
                    let now = format_dt(beijing_now());
                    // A direct app acts for itself: the merchant is the calling app. An
                    // `app_auth_token` (third-party apps, not simulated) would name another.
                    let merchant = app_id.as_str();
                    let answer = inner.state().call(&method, &biz, merchant, &now);
                    answer.unwrap_or_else(|| {
                        json!({"code": "40002", "msg": "Invalid Arguments",
                        "sub_code": "isv.invalid-method", "sub_msg": "不存在的方法名"})
                    })
                }
            };
            (node_name(&method), node)
        }
    };
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
