//! The asynchronous `alipay.trade.order.settle.notify` message: a signed form POSTed to the
//! application gateway (`notify_url`).

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use serde_json::json;
use time::OffsetDateTime;

use crate::gateway::sign_content;
use crate::state::Settle;
use crate::{Inner, NotifyDelivery, SimError};

/// Bound on one delivery attempt (connect, send, read the answer).
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(5);

/// The form pairs of a settle notification for the settle's current state, signed over all
/// pairs except `sign` and `sign_type`. `app_id` is the app whose call made the settle; when that
/// is an ISV app acting for an authorised merchant, `auth_app_id` names the merchant's app, as
/// Alipay's notifications do for third-party calls (`auth_app_id` beside `app_id`:
/// github.com/smartwalle/alipay `TradeNotification`; the token answer's `auth_app_id`,
/// `/work/shared/reference/tenancy-isv-bills.md` §1.7), so a provider's receiver can route it.
pub(crate) fn settle_pairs(
    inner: &Inner,
    settle: &Settle,
    auth_app_id: Option<&str>,
) -> Result<Vec<(String, String)>, SimError> {
    let biz = json!({
        "trade_no": settle.trade_no,
        "settle_no": settle.settle_no,
        "out_request_no": settle.out_request_no,
        "operation_dt": settle.operation_dt,
        "royalty_detail_list": settle.detail_list(),
    });
    let notify_id: String = sim_kit::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let utc_ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    let mut pairs: Vec<(String, String)> = [
        ("notify_id", notify_id),
        ("utc_timestamp", utc_ms.to_string()),
        ("msg_method", "alipay.trade.order.settle.notify".into()),
        // The app that made the settle: the trade's own app, or the ISV app acting for it.
        ("app_id", settle.caller.clone()),
        ("version", "1.1".into()),
        ("charset", "utf-8".into()),
        ("sign_type", "RSA2".into()),
        ("biz_content", biz.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(auth_app_id) = auth_app_id {
        pairs.push(("auth_app_id".into(), auth_app_id.to_string()));
    }
    let content = sign_content(&pairs, &["sign", "sign_type"]);
    pairs.push(("sign".into(), inner.signer.sign_b64(content.as_bytes())?));
    Ok(pairs)
}

/// POSTs the pairs form-encoded to `url`; delivered iff the answer body is exactly `success`.
pub(crate) async fn post_form(url: &str, pairs: &[(String, String)]) -> NotifyDelivery {
    match tokio::time::timeout(NOTIFY_TIMEOUT, try_post(url, pairs)).await {
        Err(_) => NotifyDelivery::Failed {
            error: format!("no answer within {} s", NOTIFY_TIMEOUT.as_secs()),
        },
        Ok(Err(error)) => NotifyDelivery::Failed { error },
        Ok(Ok((_, body))) if body == "success" => NotifyDelivery::Delivered,
        Ok(Ok((status, body))) => NotifyDelivery::Rejected { status, body },
    }
}

async fn try_post(url: &str, pairs: &[(String, String)]) -> Result<(u16, String), String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("bad notify_url {url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("notify_url {url}: only http:// is supported"));
    }
    let (Some(host), Some(authority)) = (uri.host(), uri.authority()) else {
        return Err(format!("notify_url {url}: no host"));
    };
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("connect {authority}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::post(path)
        .header(HOST, authority.as_str())
        .header(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded;charset=utf-8",
        )
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let bytes = Limited::new(response.into_body(), 64 * 1024)
        .collect()
        .await
        .map_err(|e| format!("read answer: {e}"))?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}
