//! API Gateway HTTP API (payload format 2.0) in front of a [`HostPool`]: HTTP request →
//! Lambda event, Lambda response → HTTP response.
//!
//! Paths under `/admin/` are routed with `AWS_IAM` authorization, as the stack's API routes
//! `/admin/{proxy+}`: the request must be SigV4-signed with the front door's credentials
//! ([`AdminAuth`]: `LOCAL_ADMIN_ACCESS_KEY_ID` / `LOCAL_ADMIN_SECRET_ACCESS_KEY`, default
//! `test` / `test`, and the region), else it is answered `403 {"message":"Forbidden"}` without
//! invoking the function; a signed one reaches the function with `requestContext.authorizer.iam`
//! naming the caller. Other paths are not authorized, as before.
//!
//! [`chaos::CONTROL_PATH`] (`/__local/chaos`) is not a route of the stack: it is the local
//! runner's chaos control (see [`crate::chaos`]), answered here when the sandboxes run with
//! chaos, and never passed to the function.
//!
//! Field names follow `aws_lambda_events` 1.x `ApiGatewayV2httpRequest` / `ApiGatewayV2httpResponse`.
//! `lambda_http` 1.3 recognises an event as HTTP API v2 by trying to deserialise it into
//! `ApiGatewayV2httpRequest` (the only hard requirement is `requestContext.http.method`); the
//! missing top-level `httpMethod` is what keeps it from being read as a REST (v1) event.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::header::{CONTENT_TYPE, COOKIE, HOST, SET_COOKIE, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use rand::Rng;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::chaos;
use crate::pool::HostPool;
use crate::runtime::{ACCOUNT_ID, Invocation};

mod sigv4;

pub use sigv4::{
    ACCESS_KEY_ENV, ADMIN_PREFIX, AdminAuth, MAX_SKEW_SECS, Refusal, SECRET_KEY_ENV, SERVICE,
    USER_ARN, USER_ID, iam_authorizer, is_protected,
};

/// Status given to the client when the function fails, times out or answers garbage: 500 with
/// API Gateway's body, as an HTTP API answers a failed Lambda integration. (A real integration
/// timeout answers 503; locally it is reported the same way as other failures.)
pub const INTEGRATION_ERROR_STATUS: StatusCode = StatusCode::INTERNAL_SERVER_ERROR;
/// API Gateway's body for integration failures.
pub const INTEGRATION_ERROR_BODY: &str = r#"{"message":"Internal Server Error"}"#;
/// API Gateway's answer to a request its `AWS_IAM` authorization refuses.
pub const FORBIDDEN_STATUS: StatusCode = StatusCode::FORBIDDEN;
pub const FORBIDDEN_BODY: &str = r#"{"message":"Forbidden"}"#;
/// HTTP APIs reject request bodies over 10 MB.
const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;

/// A function response that API Gateway could not turn into an HTTP response.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("the function response is not JSON: {0}")]
    NotJson(String),
    #[error("invalid statusCode {0}")]
    Status(String),
    #[error("invalid response header `{0}`")]
    Header(String),
    #[error("invalid body: {0}")]
    Body(String),
}

/// Builds the payload format 2.0 event API Gateway would send for this request.
pub fn request_to_event(
    method: &Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: &[u8],
    source_ip: IpAddr,
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let now = time::OffsetDateTime::now_utc();
    let time_format = time::macros::format_description!(
        "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
    );

    // Header names are already lowercase in a HeaderMap. Repeated headers are joined with ','.
    // Cookies are moved from the `cookie` header to the `cookies` array (one item per cookie).
    let mut event_headers = Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if name == COOKIE {
            for value in values {
                let items = value.split(';').map(str::trim).filter(|c| !c.is_empty());
                cookies.extend(items.map(str::to_owned));
            }
        } else {
            let joined = values.collect::<Vec<_>>().join(",");
            event_headers.insert(name.as_str().to_owned(), Value::String(joined));
        }
    }
    // The headers API Gateway adds. The scheme is the one the client really used here (http).
    let forwarded_for = match event_headers.get("x-forwarded-for").and_then(Value::as_str) {
        Some(chain) => format!("{chain}, {source_ip}"),
        None => source_ip.to_string(),
    };
    let port = header_str(headers, &HOST)
        .and_then(|h| h.rsplit_once(':'))
        .map_or("80", |(_, p)| p)
        .to_owned();
    event_headers.insert("x-forwarded-for".into(), forwarded_for.into());
    event_headers.insert("x-forwarded-proto".into(), "http".into());
    event_headers.insert("x-forwarded-port".into(), port.into());
    event_headers.insert("x-amzn-trace-id".into(), crate::runtime::trace_id().into());

    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": event_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": "localhost",
            "domainPrefix": "localhost",
            "http": {
                "method": method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip.to_string(),
                "userAgent": header_str(headers, &USER_AGENT).unwrap_or(""),
            },
            "requestId": api_request_id(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format(time_format).unwrap_or_default(),
            "timeEpoch": i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        },
        "isBase64Encoded": false,
    });
    // API Gateway leaves out `cookies`, `queryStringParameters` and `body` when there are none.
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters(query));
    }
    if !body.is_empty() {
        let text = std::str::from_utf8(body)
            .ok()
            .filter(|_| is_textual(header_str(headers, &CONTENT_TYPE)));
        match text {
            Some(text) => event["body"] = text.into(),
            None => {
                event["body"] = BASE64.encode(body).into();
                event["isBase64Encoded"] = true.into();
            }
        }
    }
    event
}

/// Turns a function's response into the HTTP response API Gateway would send.
///
/// Payload 2.0 rules (AWS docs, "Lambda function response format"): a JSON object with a
/// `statusCode` is a structured response (`statusCode`, `headers`, `multiValueHeaders`,
/// `cookies` → one `set-cookie` each, `body`, `isBase64Encoded`). Any other valid JSON is taken
/// as the body itself: status 200, `content-type: application/json`, not base64 (a JSON string
/// gives its contents, as in the docs' `"Hello from Lambda!"` example). Invalid JSON is an error.
pub fn event_response_to_http(bytes: &[u8]) -> Result<http::Response<Vec<u8>>, ResponseError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ResponseError::NotJson(e.to_string()))?;
    let Some(obj) = value.as_object().filter(|o| o.contains_key("statusCode")) else {
        let body = match value {
            Value::String(s) => s.into_bytes(),
            _ => bytes.to_vec(),
        };
        let mut response = http::Response::new(body);
        let json_type = HeaderValue::from_static("application/json");
        response.headers_mut().insert(CONTENT_TYPE, json_type);
        return Ok(response);
    };

    let status = obj
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| ResponseError::Status(obj["statusCode"].to_string()))?;
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = status;
    let out = response.headers_mut();
    for (name, value) in obj
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        if let Some(value) = scalar(value) {
            out.append(header_name(name)?, header_value(name, &value)?);
        }
    }
    // Not part of the documented 2.0 format (lambda_http sends it empty); appended if present.
    let multi = obj.get("multiValueHeaders").and_then(Value::as_object);
    for (name, values) in multi.into_iter().flatten() {
        for value in values.as_array().into_iter().flatten().filter_map(scalar) {
            out.append(header_name(name)?, header_value(name, &value)?);
        }
    }
    for cookie in obj
        .get("cookies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(cookie) = cookie.as_str() {
            out.append(SET_COOKIE, header_value("set-cookie", cookie)?);
        }
    }
    let base64 = obj
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    *response.body_mut() = match obj.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if base64 => BASE64
            .decode(s)
            .map_err(|e| ResponseError::Body(format!("isBase64Encoded but {e}")))?,
        Some(Value::String(s)) => s.clone().into_bytes(),
        Some(other) => return Err(ResponseError::Body(format!("not a string: {other}"))),
    };
    Ok(response)
}

/// Serves HTTP/1.1 on `listen` until Ctrl-C or SIGTERM, then kills the function. `/admin/`
/// paths take the credentials of [`AdminAuth::from_env`].
pub async fn serve(listen: SocketAddr, host: Arc<HostPool>) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    serve_listener(listener, host, shutdown_signal()).await;
    Ok(())
}

/// Serves HTTP/1.1 on an already bound listener until `shutdown` completes; then stops
/// accepting, lets requests in progress finish (at most 5 s) and kills the function. `/admin/`
/// paths take the credentials of [`AdminAuth::from_env`].
pub async fn serve_listener(
    listener: TcpListener,
    host: Arc<HostPool>,
    shutdown: impl Future<Output = ()>,
) {
    serve_listener_with(listener, host, AdminAuth::from_env(), shutdown).await;
}

/// [`serve_listener`] with the credentials `/admin/` requests must be signed with.
pub async fn serve_listener_with(
    listener: TcpListener,
    host: Arc<HostPool>,
    auth: AdminAuth,
    shutdown: impl Future<Output = ()>,
) {
    let auth = Arc::new(auth);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("[local] accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (host, auth) = (Arc::clone(&host), Arc::clone(&auth));
        let service =
            service_fn(move |req| handle(Arc::clone(&host), Arc::clone(&auth), peer.ip(), req));
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    host.stop().await;
}

/// Completes on Ctrl-C or (on Unix) SIGTERM. The Unix handlers are installed by this call, not
/// on first poll, so a signal arriving before the future is awaited is not lost.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt()).ok(),
            signal(SignalKind::terminate()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => drop(s.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

async fn handle(
    host: Arc<HostPool>,
    auth: Arc<AdminAuth>,
    source_ip: IpAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            let body = r#"{"message":"Request Entity Too Large"}"#;
            return Ok(json_response(StatusCode::PAYLOAD_TOO_LARGE, body));
        }
    };
    let what = format!("{} {}", parts.method, parts.uri.path());
    if parts.uri.path() == chaos::CONTROL_PATH {
        return Ok(chaos_control(&host, &parts.method, &body));
    }
    // The route's authorization runs before the integration: a refused request never reaches
    // the function.
    let iam_route = is_protected(parts.uri.path());
    if iam_route && let Err(why) = auth.verify(&parts.method, &parts.uri, &parts.headers, &body) {
        return Ok(forbidden(&what, &why));
    }
    let path_and_query = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut event = request_to_event(
        &parts.method,
        path_and_query,
        &parts.headers,
        &body,
        source_ip,
    );
    if iam_route {
        event["requestContext"]["authorizer"] = iam_authorizer(auth.access_key_id());
    }
    let request_id = event["requestContext"]["requestId"]
        .as_str()
        .map(str::to_owned);

    let response = match host.invoke(event).await {
        Ok(Invocation::Response(bytes)) => match event_response_to_http(&bytes) {
            Ok(response) => response.map(|b| Full::new(Bytes::from(b))),
            Err(e) => integration_error(&what, &format!("malformed Lambda response: {e}")),
        },
        Ok(Invocation::Error { error_type, .. }) => {
            integration_error(&what, &format!("function error ({error_type})"))
        }
        Err(e) => integration_error(&what, &e.to_string()),
    };
    let mut response = response;
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response.headers_mut().insert("apigw-requestid", id);
    }
    Ok(response)
}

fn chaos_control(host: &HostPool, method: &Method, body: &[u8]) -> http::Response<Full<Bytes>> {
    let (status, value) = match host.chaos() {
        Some(chaos) => chaos::control(chaos, method, body),
        None => (
            StatusCode::NOT_FOUND,
            json!({"message": "this front door runs without chaos"}),
        ),
    };
    let mut response = http::Response::new(Full::new(Bytes::from(value.to_string())));
    *response.status_mut() = status;
    let json_type = HeaderValue::from_static("application/json");
    response.headers_mut().insert(CONTENT_TYPE, json_type);
    response
}

fn integration_error(what: &str, why: &str) -> http::Response<Full<Bytes>> {
    eprintln!(
        "[local] {what} -> {}: {why}",
        INTEGRATION_ERROR_STATUS.as_u16()
    );
    json_response(INTEGRATION_ERROR_STATUS, INTEGRATION_ERROR_BODY)
}

/// API Gateway's 403 for a refused signature; the reason is only logged, as AWS keeps it in
/// its own logs.
fn forbidden(what: &str, why: &Refusal) -> http::Response<Full<Bytes>> {
    eprintln!("[local] {what} -> {}: {why}", FORBIDDEN_STATUS.as_u16());
    let mut response = json_response(FORBIDDEN_STATUS, FORBIDDEN_BODY);
    if let Ok(id) = HeaderValue::from_str(&api_request_id()) {
        response.headers_mut().insert("apigw-requestid", id);
    }
    response
}

fn json_response(status: StatusCode, body: &'static str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    let json_type = HeaderValue::from_static("application/json");
    response.headers_mut().insert(CONTENT_TYPE, json_type);
    response
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Bodies API Gateway passes as text; everything else (and a body without a content type) is
/// base64-encoded.
fn is_textual(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/javascript"
                | "application/xml"
                | "application/yaml"
                | "application/x-www-form-urlencoded"
        )
}

/// `queryStringParameters`: percent-decoded, repeated keys joined with ','.
fn query_parameters(query: &str) -> Map<String, Value> {
    let mut params = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        match params.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                params.insert(key, Value::String(value));
            }
        }
    }
    params
}

/// Decodes `%XX` escapes (a malformed escape is kept as is); `+` is left alone.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// HTTP API request ids look like `JKJaXmPLvHcESHA=`: 15 alphanumerics and `=`.
fn api_request_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut id: String = (0..15)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect();
    id.push('=');
    id
}

/// A header value given as a JSON string, number or boolean (null is skipped).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

fn header_name(name: &str) -> Result<HeaderName, ResponseError> {
    HeaderName::from_bytes(name.as_bytes()).map_err(|_| ResponseError::Header(name.to_owned()))
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, ResponseError> {
    HeaderValue::from_str(value).map_err(|_| ResponseError::Header(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::RequestExt;
    use lambda_http::request::RequestContext;

    #[test]
    fn event_is_read_by_lambda_http_as_http_api_v2() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Test", HeaderValue::from_static("one"));
        headers.append("x-test", HeaderValue::from_static("two"));
        headers.insert(COOKIE, HeaderValue::from_static("a=1; b=2"));
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:9000"));
        let ip: IpAddr = [127, 0, 0, 1].into();
        let event = request_to_event(&Method::PUT, "/a/b?x=1&x=2&s=a%20b", &headers, b"{}", ip);

        assert_eq!(event["headers"]["x-test"], "one,two");
        assert_eq!(event["headers"]["x-forwarded-port"], "9000");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(
            event["queryStringParameters"],
            json!({"x": "1,2", "s": "a b"})
        );
        assert_eq!(event["rawQueryString"], "x=1&x=2&s=a%20b");
        assert_eq!(event["body"], "{}");
        assert_eq!(event["isBase64Encoded"], false);
        let id = event["requestContext"]["requestId"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(id.len(), 16);
        let time = event["requestContext"]["time"].as_str().unwrap_or_default();
        assert_eq!(time.len(), "12/Mar/2020:19:03:58 +0000".len(), "{time}");

        let req = lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses");
        assert!(matches!(
            req.request_context_ref(),
            Some(RequestContext::ApiGatewayV2(_))
        ));
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.uri().path(), "/a/b");
        assert_eq!(req.uri().query(), Some("x=1&x=2&s=a%20b"));
        assert_eq!(req.headers()[COOKIE], "a=1; b=2");
        assert_eq!(req.body().as_ref(), b"{}");
    }

    #[test]
    fn the_iam_authorizer_is_read_by_lambda_http() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let mut event = request_to_event(&Method::GET, "/admin/x", &HeaderMap::new(), b"", ip);
        event["requestContext"]["authorizer"] = iam_authorizer("test");
        let req = lambda_http::request::from_str(&event.to_string()).expect("lambda_http parses");
        let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref() else {
            panic!("an HTTP API v2 context");
        };
        let iam = context
            .authorizer
            .as_ref()
            .and_then(|a| a.iam.as_ref())
            .expect("authorizer.iam");
        assert_eq!(iam.user_arn.as_deref(), Some(USER_ARN));
        assert_eq!(iam.access_key.as_deref(), Some("test"));
        assert_eq!(iam.account_id.as_deref(), Some(ACCOUNT_ID));
        assert_eq!(iam.user_id.as_deref(), Some(USER_ID));
        assert_eq!(iam.caller_id.as_deref(), Some(USER_ID));
        assert!(iam.cognito_identity.is_none() && iam.principal_org_id.is_none());
    }

    #[test]
    fn binary_or_untyped_bodies_are_base64() {
        let ip: IpAddr = [127, 0, 0, 1].into();
        let event = request_to_event(&Method::POST, "/", &HeaderMap::new(), b"hi", ip);
        assert_eq!(event["body"], "aGk=");
        assert_eq!(event["isBase64Encoded"], true);
        assert!(event.get("queryStringParameters").is_none());
        assert!(event.get("cookies").is_none());
        let event = request_to_event(&Method::GET, "/", &HeaderMap::new(), b"", ip);
        assert!(event.get("body").is_none());
    }

    #[test]
    fn structured_response() {
        let bytes = br#"{"statusCode":404,"headers":{"x-a":"1","x-n":2},
            "multiValueHeaders":{"x-m":["p","q"]},"cookies":["c=1","d=2"],
            "body":"AAEC/w==","isBase64Encoded":true}"#;
        let response = event_response_to_http(bytes).expect("valid");
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()["x-a"], "1");
        assert_eq!(response.headers()["x-n"], "2");
        let m: Vec<_> = response.headers().get_all("x-m").iter().collect();
        assert_eq!(m, ["p", "q"]);
        let c: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(c, ["c=1", "d=2"]);
        assert_eq!(response.body(), &[0, 1, 2, 255]);
    }

    #[test]
    fn unstructured_and_malformed_responses() {
        let response = event_response_to_http(br#"{"message":"hi"}"#).expect("valid");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.body(), br#"{"message":"hi"}"#);
        let response = event_response_to_http(br#""Hello from Lambda!""#).expect("valid");
        assert_eq!(response.body(), b"Hello from Lambda!");
        assert!(event_response_to_http(b"not json").is_err());
        assert!(event_response_to_http(br#"{"statusCode":"abc"}"#).is_err());
        assert!(
            event_response_to_http(br#"{"statusCode":200,"body":"%","isBase64Encoded":true}"#)
                .is_err()
        );
    }
}
