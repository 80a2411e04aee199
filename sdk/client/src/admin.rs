//! The admin API (`/admin/…`): operators create merchants and their apps, rotate sign secrets,
//! set app settings and channel accounts (direct, or under a service provider they create here
//! too), re-run a day's reconciliation, and read the audit trail. It is not DaxPay-signed: API
//! Gateway guards it with `AWS_IAM` authorization, so every request is signed with SigV4
//! (service `execute-api`) with the caller's AWS credentials, and an unsigned or wrongly signed
//! call is answered `403 {"message":"Forbidden"}` before the function sees it.
//!
//! Bodies are JSON both ways. A 2xx answer is the JSON value; a 4xx is a refusal
//! (`{"code","message"}`); a 5xx or no answer is a failure that may be retried. Reads (`GET`)
//! and the idempotent writes (`PUT`, `DELETE`) are sent again after a failure, signed anew; a
//! `POST` is sent once.
//!
//! ```no_run
//! use alloc_client::admin::{AdminClient, Credentials};
//! # async fn demo() -> Result<(), alloc_client::AdminError> {
//! let credentials = Credentials::new("AKIA…", "the secret access key", None);
//! let admin = AdminClient::builder("https://abc123.execute-api.eu-west-1.amazonaws.com", credentials)
//!     .region("eu-west-1")
//!     .build()?;
//! let created = admin.create_merchant("M1", "Shop one").await?;
//! println!("{} {}", created.data.mch_no, created.data.status);
//! # Ok(()) }
//! ```

mod providers;
mod sign;
mod views;

pub use providers::{AlipayAuthorization, Provider, WechatSubMerchant};
pub use sign::{Credentials, SERVICE, signature_headers};
pub use views::*;

use crate::client::RetryPolicy;
use crate::error::TransportError;
use crate::transport::Transport;
use bytes::Bytes;
use http::{Method, Request, StatusCode, Uri};
use http_body_util::Full;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::time::{Duration, SystemTime};

/// Why an admin call returned no result. No variant carries a credential or a request body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// API Gateway refused the signature (403 `{"message":"Forbidden"}`): wrong or expired
    /// credentials, another region, a clock far off, or a caller without `execute-api:Invoke`.
    #[error("forbidden: the caller's AWS credentials were refused{}", detail(.message))]
    Forbidden { message: String },
    /// The service answered no (4xx): `code` is `invalid`, `not_found`, `conflict`… when the
    /// service sent one (API Gateway's own 4xx have only a message).
    #[error("refused (HTTP {status}{}): {message}", code_suffix(.code))]
    Refused {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The service or the gateway failed (5xx); the outcome of a write is unknown.
    #[error("service failure (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// A 2xx answer that is not the JSON expected, or a status no API answers.
    #[error("unreadable answer: {0}")]
    Malformed(String),
    /// The client was given something it cannot send (a bad URL, region, path).
    #[error("invalid admin client setting: {0}")]
    Config(String),
}

fn detail(message: &str) -> String {
    // API Gateway's plain body says nothing more than the sentence already does.
    if message.is_empty() || message == "Forbidden" {
        String::new()
    } else {
        format!(" ({message})")
    }
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
}

impl AdminError {
    /// Whether the call may be sent again: no answer, a 5xx or a 429 (throttled).
    pub fn is_retryable(&self) -> bool {
        match self {
            AdminError::Transport(_) | AdminError::Server { .. } => true,
            AdminError::Refused { status, .. } => *status == 429,
            AdminError::Forbidden { .. } | AdminError::Malformed(_) | AdminError::Config(_) => {
                false
            }
        }
    }

    /// Whether the gateway or the service answered no (a 4xx, the 403 of a refused signature
    /// included).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            AdminError::Forbidden { .. } | AdminError::Refused { .. }
        )
    }

    /// The HTTP status of the answer, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            AdminError::Forbidden { .. } => Some(403),
            AdminError::Refused { status, .. } | AdminError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A typed answer and the JSON object as received (for `--json`-style output).
#[derive(Debug, Clone, PartialEq)]
pub struct AdminAnswer<T> {
    pub data: T,
    pub raw: Map<String, Value>,
}

/// Builds an [`AdminClient`].
#[derive(Debug, Clone)]
pub struct AdminClientBuilder {
    url: String,
    credentials: Credentials,
    region: String,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
}

impl AdminClientBuilder {
    /// The region signed for: the stack's (default `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// How long one attempt may take, answer included (default 20 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How `GET`, `PUT` and `DELETE` calls are sent again (`POST`s are sent once).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn build(self) -> Result<AdminClient, AdminError> {
        let base = self.url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| AdminError::Config(format!("`{base}` is not a URL")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(AdminError::Config(format!(
                    "`{base}` must start with http:// or https://"
                )));
            }
        };
        let Some(authority) = uri.authority().filter(|a| !a.host().is_empty()) else {
            return Err(AdminError::Config(format!("`{base}` has no host")));
        };
        if uri.query().is_some() || authority.as_str().contains('@') {
            return Err(AdminError::Config(format!(
                "`{base}` must be a base URL with a host, no user and no query"
            )));
        }
        // The `host` header sent and signed: without the scheme's default port, as hyper and
        // every SDK send it.
        let default_port = if https { 443 } else { 80 };
        let host = match authority.port_u16() {
            Some(port) if port != default_port => format!("{}:{port}", authority.host()),
            _ => authority.host().to_owned(),
        };
        let region_ok = !self.region.is_empty()
            && self
                .region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(AdminError::Config(format!(
                "region `{}`: expected a region name like us-east-1",
                self.region
            )));
        }
        if self.credentials.access_key_id().is_empty() {
            return Err(AdminError::Config("the access key id is empty".into()));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(AdminError::Config("timeouts must be more than 0".into()));
        }
        let transport = Transport::new(https, self.connect_timeout).map_err(|e| match e {
            crate::Error::Config(why) => AdminError::Config(why),
            other => AdminError::Config(other.to_string()),
        })?;
        Ok(AdminClient {
            base,
            host,
            credentials: self.credentials,
            region: self.region,
            timeout: self.timeout,
            retry: RetryPolicy {
                max_attempts: self.retry.max_attempts.max(1),
                ..self.retry
            },
            transport,
        })
    }
}

/// A client of one deployment's admin API. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct AdminClient {
    base: String,
    host: String,
    credentials: Credentials,
    region: String,
    timeout: Duration,
    retry: RetryPolicy,
    transport: Transport,
}

/// `value` percent-encoded for a path segment or a query member: everything but RFC 3986's
/// unreserved characters, as SigV4 encodes them, so the URL sent reads back unchanged.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl AdminClient {
    pub fn builder(url: impl Into<String>, credentials: Credentials) -> AdminClientBuilder {
        AdminClientBuilder {
            url: url.into(),
            credentials,
            region: "us-east-1".into(),
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Sends `method path?query` with `body` as JSON, signed, and gives the 2xx answer's JSON.
    /// `path` is absolute (`/admin/…`) and already encoded (see [`encode_component`]); the
    /// query members are encoded here.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, AdminError> {
        if !path.starts_with('/') || path.contains(['?', '#']) {
            return Err(AdminError::Config(format!(
                "`{path}`: expected an absolute path without query"
            )));
        }
        let mut url = format!("{}{path}", self.base);
        for (i, (name, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(&encode_component(name));
            url.push('=');
            url.push_str(&encode_component(value));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| AdminError::Config(format!("`{url}` is not a URL")))?;
        let body = match body {
            Some(value) => Some(Bytes::from(
                serde_json::to_vec(value).map_err(|e| AdminError::Config(e.to_string()))?,
            )),
            None => None,
        };
        // Only what HTTP makes idempotent is sent again: a repeated POST could create twice.
        let allowed = if matches!(method, Method::GET | Method::PUT | Method::DELETE) {
            self.retry.max_attempts
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Signed anew each time: a signature is only good for minutes.
            let request = self.signed(&method, &url, &uri, body.clone(), SystemTime::now())?;
            let outcome = match self.transport.send(request, self.timeout).await {
                Ok((status, answer)) => read_answer(status, &answer),
                Err(e) => Err(AdminError::Transport(e)),
            };
            match outcome {
                Err(e) if attempt < allowed && e.is_retryable() => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// The request with `host`, `content-type` (with a body) and the SigV4 headers.
    fn signed(
        &self,
        method: &Method,
        url: &str,
        uri: &Uri,
        body: Option<Bytes>,
        time: SystemTime,
    ) -> Result<Request<Full<Bytes>>, AdminError> {
        let mut headers: Vec<(&str, &str)> = vec![("host", self.host.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        let bytes = body.unwrap_or_default();
        let signature = signature_headers(
            &self.credentials,
            &self.region,
            method.as_str(),
            url,
            &headers,
            &bytes,
            time,
        )?;
        let mut builder = Request::builder().method(method.clone()).uri(uri.clone());
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        for (name, value) in signature {
            builder = builder.header(name, value);
        }
        builder
            .body(Full::new(bytes))
            .map_err(|e| AdminError::Config(format!("request: {e}")))
    }

    async fn typed<W: DeserializeOwned, T>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
        pick: impl FnOnce(W) -> T,
    ) -> Result<AdminAnswer<T>, AdminError> {
        let value = self.call(method, path, query, body).await?;
        let Value::Object(raw) = value else {
            return Err(AdminError::Malformed(format!(
                "{path}: the answer is not a JSON object"
            )));
        };
        let whole: W = serde_json::from_value(Value::Object(raw.clone()))
            .map_err(|e| AdminError::Malformed(format!("{path}: {e}")))?;
        Ok(AdminAnswer {
            data: pick(whole),
            raw,
        })
    }

    /// `POST /admin/merchants`.
    pub async fn create_merchant(
        &self,
        mch_no: &str,
        name: &str,
    ) -> Result<AdminAnswer<Merchant>, AdminError> {
        let body = json!({"mchNo": mch_no, "name": name});
        self.typed(
            Method::POST,
            "/admin/merchants",
            &[],
            Some(&body),
            |w: OneMerchant| w.merchant,
        )
        .await
    }

    /// `GET /admin/merchants`: a page of merchants.
    pub async fn list_merchants(
        &self,
        page: &Page,
    ) -> Result<AdminAnswer<MerchantPage>, AdminError> {
        let limit = page.limit.map(|l| l.to_string());
        let query = page_query(limit.as_deref(), page.cursor.as_deref());
        self.typed(Method::GET, "/admin/merchants", &query, None, |p| p)
            .await
    }

    /// `GET /admin/merchants/{mchNo}`.
    pub async fn merchant(&self, mch_no: &str) -> Result<AdminAnswer<Merchant>, AdminError> {
        let path = format!("/admin/merchants/{}", encode_component(mch_no));
        self.typed(Method::GET, &path, &[], None, |w: OneMerchant| w.merchant)
            .await
    }

    /// `POST /admin/merchants/{mchNo}/disable`: its apps are refused until it is enabled.
    pub async fn disable_merchant(
        &self,
        mch_no: &str,
    ) -> Result<AdminAnswer<Merchant>, AdminError> {
        let path = format!("/admin/merchants/{}/disable", encode_component(mch_no));
        self.typed(Method::POST, &path, &[], None, |w: OneMerchant| w.merchant)
            .await
    }

    /// `POST /admin/merchants/{mchNo}/enable`.
    pub async fn enable_merchant(&self, mch_no: &str) -> Result<AdminAnswer<Merchant>, AdminError> {
        let path = format!("/admin/merchants/{}/enable", encode_component(mch_no));
        self.typed(Method::POST, &path, &[], None, |w: OneMerchant| w.merchant)
            .await
    }

    /// `GET /admin/merchants/{mchNo}/apps`.
    pub async fn merchant_apps(&self, mch_no: &str) -> Result<AdminAnswer<Vec<App>>, AdminError> {
        let path = format!("/admin/merchants/{}/apps", encode_component(mch_no));
        self.typed(Method::GET, &path, &[], None, |w: Apps| w.apps)
            .await
    }

    /// `POST /admin/apps`: the app and its sign secret, shown this once.
    pub async fn create_app(&self, app: &NewApp) -> Result<AdminAnswer<AppSecret>, AdminError> {
        let body = serde_json::to_value(app).map_err(|e| AdminError::Config(e.to_string()))?;
        self.typed(Method::POST, "/admin/apps", &[], Some(&body), |a| a)
            .await
    }

    /// `GET /admin/apps/{appId}`.
    pub async fn app(&self, app_id: &str) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!("/admin/apps/{}", encode_component(app_id));
        self.typed(Method::GET, &path, &[], None, |w: OneApp| w.app)
            .await
    }

    /// `POST /admin/apps/{appId}/disable`.
    pub async fn disable_app(&self, app_id: &str) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!("/admin/apps/{}/disable", encode_component(app_id));
        self.typed(Method::POST, &path, &[], None, |w: OneApp| w.app)
            .await
    }

    /// `POST /admin/apps/{appId}/enable`.
    pub async fn enable_app(&self, app_id: &str) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!("/admin/apps/{}/enable", encode_component(app_id));
        self.typed(Method::POST, &path, &[], None, |w: OneApp| w.app)
            .await
    }

    /// `POST /admin/apps/{appId}/rotate-secret`: a new sign secret, shown this once; the
    /// previous one still verifies for `grace_secs` (the service's default: a day).
    pub async fn rotate_secret(
        &self,
        app_id: &str,
        grace_secs: Option<u32>,
    ) -> Result<AdminAnswer<AppSecret>, AdminError> {
        let path = format!("/admin/apps/{}/rotate-secret", encode_component(app_id));
        let body = match grace_secs {
            Some(secs) => json!({ "graceSecs": secs }),
            None => json!({}),
        };
        self.typed(Method::POST, &path, &[], Some(&body), |a| a)
            .await
    }

    /// `POST /admin/apps/{appId}/settings`: sets each setting given; a `null` value clears the
    /// app's own value (the default applies again).
    pub async fn update_settings(
        &self,
        app_id: &str,
        settings: &Map<String, Value>,
    ) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!("/admin/apps/{}/settings", encode_component(app_id));
        let body = json!({ "settings": settings });
        self.typed(Method::POST, &path, &[], Some(&body), |w: OneApp| w.app)
            .await
    }

    /// `PUT /admin/apps/{appId}/channels/{channel}`: the app's account at a channel.
    pub async fn set_channel(
        &self,
        app_id: &str,
        account: &ChannelAccount,
    ) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!(
            "/admin/apps/{}/channels/{}",
            encode_component(app_id),
            account.channel()
        );
        let body = account
            .body()
            .map_err(|e| AdminError::Config(e.to_string()))?;
        self.typed(Method::PUT, &path, &[], Some(&body), |w: OneApp| w.app)
            .await
    }

    /// `DELETE /admin/apps/{appId}/channels/{channel}` (`ali_pay` or `wechat_pay`).
    pub async fn remove_channel(
        &self,
        app_id: &str,
        channel: &str,
    ) -> Result<AdminAnswer<App>, AdminError> {
        let path = format!(
            "/admin/apps/{}/channels/{}",
            encode_component(app_id),
            encode_component(channel)
        );
        self.typed(Method::DELETE, &path, &[], None, |w: OneApp| w.app)
            .await
    }

    /// `POST /admin/apps/{appId}/reconcile`: queues a re-run of `day`'s reconciliation
    /// (`yyyy-MM-dd`, before today and within the channels' 3 months) of the app's account at
    /// `channel` (`ali_pay` or `wechat_pay`); the default app is named by its id too. Sent once.
    pub async fn rerun_reconcile(
        &self,
        app_id: &str,
        channel: &str,
        day: &str,
    ) -> Result<AdminAnswer<QueuedJob>, AdminError> {
        let path = format!("/admin/apps/{}/reconcile", encode_component(app_id));
        let body = json!({"channel": channel, "day": day});
        self.typed(Method::POST, &path, &[], Some(&body), |w: Queued| w.queued)
            .await
    }

    /// `GET /admin/audit`: records newest first.
    pub async fn audit(&self, q: &AuditQuery) -> Result<AdminAnswer<AuditPage>, AdminError> {
        let limit = q.page.limit.map(|l| l.to_string());
        let mut query = page_query(limit.as_deref(), q.page.cursor.as_deref());
        if let Some(target) = &q.target {
            query.push(("target", target));
        }
        self.typed(Method::GET, "/admin/audit", &query, None, |p| p)
            .await
    }
}

fn page_query<'a>(limit: Option<&'a str>, cursor: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut query = Vec::new();
    if let Some(limit) = limit {
        query.push(("limit", limit));
    }
    if let Some(cursor) = cursor {
        query.push(("cursor", cursor));
    }
    query
}

#[derive(Deserialize)]
struct OneMerchant {
    merchant: Merchant,
}

#[derive(Deserialize)]
struct OneApp {
    app: App,
}

#[derive(Deserialize)]
struct Queued {
    queued: QueuedJob,
}

#[derive(Deserialize)]
struct Apps {
    apps: Vec<App>,
}

/// The outcome of one answer: 2xx → its JSON; 403 without a service `code` → the gateway's
/// refusal of the signature; other 4xx → a refusal; 5xx → a failure.
fn read_answer(status: StatusCode, body: &[u8]) -> Result<Value, AdminError> {
    if status.is_success() {
        return serde_json::from_slice(body).map_err(|e| {
            AdminError::Malformed(format!("HTTP {} but not JSON: {e}", status.as_u16()))
        });
    }
    let json: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    let member = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = member("code");
    let message = member("message").unwrap_or_else(|| text(status, body));
    let status_u16 = status.as_u16();
    if status == StatusCode::FORBIDDEN && code.is_none() {
        Err(AdminError::Forbidden { message })
    } else if status.is_client_error() {
        Err(AdminError::Refused {
            status: status_u16,
            code,
            message,
        })
    } else if status.is_server_error() {
        Err(AdminError::Server {
            status: status_u16,
            message,
        })
    } else {
        Err(AdminError::Malformed(format!(
            "unexpected HTTP {status_u16}"
        )))
    }
}

/// A body that is not the JSON expected, on one line and cut short; the status's reason when
/// it is empty.
fn text(status: StatusCode, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect();
    if line.is_empty() {
        status.canonical_reason().unwrap_or("").to_owned()
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
        )
    }

    #[test]
    fn answers_read_by_status() {
        let ok = read_answer(StatusCode::OK, br#"{"merchant":{"mchNo":"M1"}}"#);
        assert_eq!(
            ok.ok().map(|v| v["merchant"]["mchNo"].clone()),
            Some(json!("M1"))
        );
        assert_eq!(
            read_answer(StatusCode::FORBIDDEN, br#"{"message":"Forbidden"}"#),
            Err(AdminError::Forbidden {
                message: "Forbidden".into()
            })
        );
        let refused = read_answer(
            StatusCode::CONFLICT,
            br#"{"code":"conflict","message":"merchant M1 exists"}"#,
        );
        assert_eq!(
            refused,
            Err(AdminError::Refused {
                status: 409,
                code: Some("conflict".into()),
                message: "merchant M1 exists".into()
            })
        );
        let failed = read_answer(StatusCode::BAD_GATEWAY, b"<html>\n bad  gateway</html>");
        assert_eq!(
            failed,
            Err(AdminError::Server {
                status: 502,
                message: "<html> bad gateway</html>".into()
            })
        );
        assert!(failed.is_err_and(|e| e.is_retryable()));
        let empty = read_answer(StatusCode::NOT_FOUND, b"");
        assert!(empty.is_err_and(|e| e.to_string() == "refused (HTTP 404): Not Found"));
        assert!(matches!(
            read_answer(StatusCode::OK, b"not json"),
            Err(AdminError::Malformed(_))
        ));
    }

    #[test]
    fn errors_say_what_happened() {
        let forbidden = AdminError::Forbidden {
            message: "Forbidden".into(),
        };
        assert_eq!(
            forbidden.to_string(),
            "forbidden: the caller's AWS credentials were refused"
        );
        assert!(forbidden.is_refusal() && !forbidden.is_retryable());
        let refused = AdminError::Refused {
            status: 400,
            code: Some("invalid".into()),
            message: "mchNo: must be 1 to 32 characters".into(),
        };
        assert_eq!(
            refused.to_string(),
            "refused (HTTP 400 invalid): mchNo: must be 1 to 32 characters"
        );
    }

    #[test]
    fn components_are_encoded_as_sigv4_encodes_them() {
        assert_eq!(encode_component("M1_a-b.c~"), "M1_a-b.c~");
        assert_eq!(encode_component("app:X"), "app%3AX");
        assert_eq!(encode_component("a b+c/d"), "a%20b%2Bc%2Fd");
        assert_eq!(encode_component("商户"), "%E5%95%86%E6%88%B7");
    }

    #[test]
    fn a_client_needs_a_base_url_a_region_and_never_shows_the_secret() {
        for bad in [
            "ftp://x",
            "127.0.0.1:9000",
            "http://",
            "http://h/?q=1",
            "http://u@h",
        ] {
            assert!(
                matches!(
                    AdminClient::builder(bad, creds()).build(),
                    Err(AdminError::Config(_))
                ),
                "{bad}"
            );
        }
        let bad_region = AdminClient::builder("http://h", creds())
            .region("US East")
            .build();
        assert!(matches!(bad_region, Err(AdminError::Config(_))));
        let c = AdminClient::builder("http://127.0.0.1:80/stage/", creds()).build();
        let c = c.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.host, "127.0.0.1", "the default port is not sent");
        assert_eq!(c.base, "http://127.0.0.1:80/stage");
        let shown = format!("{c:?}");
        assert!(shown.contains("AKIDEXAMPLE") && !shown.contains("wJalrXUtnFEMI"));
        let token = Credentials::new("A", "S", Some("the-token".into()));
        assert!(!format!("{token:?}").contains("the-token"));
        assert!(!Credentials::new("A", "S", Some(String::new())).has_session_token());
    }

    #[test]
    fn signing_needs_a_host() {
        let got = signature_headers(
            &creds(),
            "us-east-1",
            "GET",
            "/admin/merchants",
            &[],
            b"",
            SystemTime::UNIX_EPOCH,
        );
        assert!(matches!(got, Err(AdminError::Config(_))));
        let got = signature_headers(
            &creds(),
            "us-east-1",
            "GET",
            "/admin/merchants",
            &[("host", "example.com")],
            b"",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_440_938_160),
        );
        let got = got.unwrap_or_default();
        let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
        assert!(names.contains(&"authorization") && names.contains(&"x-amz-date"));
        assert!(got.contains(&("x-amz-date", "20150830T123600Z".to_owned())));
    }
}
