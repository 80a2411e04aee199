//! One HTTP/1.1 client (http or https) on the stack the service uses: hyper 1, hyper-util's
//! pooled client, rustls on aws-lc-rs with the system's roots. Failures are described without
//! the request body.

use crate::error::{Error, TransportError};
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::time::Duration;

/// The largest answer read (a receiver list or an order's returns are a few KB).
const MAX_ANSWER_BYTES: usize = 4 << 20;

const USER_AGENT: &str = concat!("alloc-client/", env!("CARGO_PKG_VERSION"));

#[derive(Clone)]
pub(crate) struct Transport {
    inner: HyperClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Transport")
    }
}

impl Transport {
    /// A client; the system's certificate store is read only when `https` calls will be made.
    pub(crate) fn new(https: bool, connect_timeout: Duration) -> Result<Self, Error> {
        let roots = if https {
            system_roots()?
        } else {
            rustls::RootCertStore::empty()
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let inner = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self { inner })
    }

    /// POSTs `body` as JSON and reads the whole answer, all within `timeout`.
    pub(crate) async fn post(
        &self,
        uri: &Uri,
        body: Bytes,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let request = Request::post(uri.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::USER_AGENT, USER_AGENT)
            .body(Full::new(body))
            .map_err(|e| TransportError::Failed(e.to_string()))?;
        self.send(request, timeout).await
    }

    /// Sends `request` as it is (its headers are the caller's: a signed request must reach
    /// the server with exactly the headers signed; `user-agent` and `accept` are added when
    /// absent) and reads the whole answer, all within `timeout`.
    pub(crate) async fn send(
        &self,
        mut request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let headers = request.headers_mut();
        if !headers.contains_key(http::header::USER_AGENT) {
            headers.insert(
                http::header::USER_AGENT,
                http::HeaderValue::from_static(USER_AGENT),
            );
        }
        if !headers.contains_key(http::header::ACCEPT) {
            headers.insert(
                http::header::ACCEPT,
                http::HeaderValue::from_static("application/json"),
            );
        }
        let call = async {
            let response = self.inner.request(request).await.map_err(|e| {
                let why = causes(&e);
                if e.is_connect() {
                    TransportError::Connect(why)
                } else {
                    TransportError::Failed(why)
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| TransportError::Unreadable(e.to_string()))?
                .to_bytes();
            Ok((parts.status, body))
        };
        tokio::time::timeout(timeout, call)
            .await
            .unwrap_or(Err(TransportError::TimedOut(timeout)))
    }
}

/// The system's trust anchors (`SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured).
fn system_roots() -> Result<rustls::RootCertStore, Error> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        return Err(Error::Config(
            "no system root certificates were found for https".into(),
        ));
    }
    Ok(roots)
}

/// An error and its causes, innermost last (`client error (Connect): Connection refused`).
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
