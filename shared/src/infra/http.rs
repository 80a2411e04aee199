//! Outbound HTTP, shared by the channel clients and the notice sender: one HTTP/1.1 client on
//! the hyper and rustls stack the AWS SDK already links (no second TLS or HTTP stack), one
//! rustls configuration for every call, and failures described without URLs or parameters.
//!
//! Nothing is done at start-up: the certificate store is read and the TLS configuration built on
//! the first call that needs them (once per sandbox), so a function's init never pays for them.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long establishing a connection (TCP and TLS) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read; a longer one is "answer unreadable".
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// Why a call got no answer: never a URL or a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("timed out")]
    TimedOut,
    #[error("connection failed")]
    Connect,
    #[error("answer unreadable")]
    Unreadable,
    #[error("request failed")]
    Failed,
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The trust anchors: the system's certificate store (`SSL_CERT_FILE` / `SSL_CERT_DIR` are
/// honoured), read once, on first use.
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!("no system root certificates found: HTTPS calls will fail");
    }
    roots
}

static SYSTEM_TLS: LazyLock<Arc<rustls::ClientConfig>> =
    LazyLock::new(|| tls_config(system_roots()));

/// A client configuration over `roots` with the aws-lc-rs provider.
fn tls_config(roots: rustls::RootCertStore) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // The provider supports the default versions; this is unreachable in practice.
        Err(_) => rustls::ClientConfig::builder()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    Arc::new(config)
}

/// Name resolution: the system's, or one address fixed in advance (the notice sender resolves
/// and checks a merchant's host itself, then connects only to the address it checked).
#[derive(Clone)]
pub(super) enum Resolve {
    System(GaiResolver),
    Pinned(SocketAddr),
}

type Addrs = Box<dyn Iterator<Item = SocketAddr> + Send>;

impl tower_service::Service<Name> for Resolve {
    type Response = Addrs;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        match self {
            Resolve::System(gai) => gai.poll_ready(cx).map_err(std::io::Error::other),
            Resolve::Pinned(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match self {
            Resolve::System(gai) => {
                let lookup = gai.call(name);
                Box::pin(async move {
                    let addrs = lookup.await.map_err(std::io::Error::other)?;
                    Ok(Box::new(addrs) as Addrs)
                })
            }
            Resolve::Pinned(addr) => {
                let addr = *addr;
                Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as Addrs) })
            }
        }
    }
}

/// An HTTP/1.1 client (https or http) with a connection pool.
#[derive(Clone)]
pub struct HttpClient {
    inner: HyperClient<HttpsConnector<HttpConnector<Resolve>>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpClient")
    }
}

/// The hyper client every outbound call goes through, for bodies of type `B`: HTTP/1.1 over
/// TCP (no delay, a connect timeout) and rustls, keep-alive connections pooled for a minute.
fn hyper_client<B>(
    resolve: Resolve,
    tls: Arc<rustls::ClientConfig>,
) -> HyperClient<HttpsConnector<HttpConnector<Resolve>>, B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new_with_resolver(resolve);
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config((*tls).clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(https)
}

/// The client of the AWS SDK, on the same stack, built on first use.
pub(super) fn sdk_hyper_client()
-> &'static HyperClient<HttpsConnector<HttpConnector<Resolve>>, aws_smithy_types::body::SdkBody> {
    static SDK: LazyLock<
        HyperClient<HttpsConnector<HttpConnector<Resolve>>, aws_smithy_types::body::SdkBody>,
    > = LazyLock::new(|| hyper_client(Resolve::System(GaiResolver::new()), SYSTEM_TLS.clone()));
    &SDK
}

impl HttpClient {
    fn build(resolve: Resolve, tls: Arc<rustls::ClientConfig>) -> Self {
        Self {
            inner: hyper_client(resolve, tls),
        }
    }

    /// The client every channel call shares (one pool, one TLS configuration), built on first
    /// use.
    pub fn shared() -> &'static HttpClient {
        static SHARED: LazyLock<HttpClient> = LazyLock::new(|| {
            HttpClient::build(Resolve::System(GaiResolver::new()), SYSTEM_TLS.clone())
        });
        &SHARED
    }

    /// A client that connects only to `addr`, whatever the URL's host (which still names the
    /// TLS server and the `Host` header).
    pub fn pinned(addr: SocketAddr) -> Self {
        Self::build(Resolve::Pinned(addr), SYSTEM_TLS.clone())
    }

    /// A client trusting only `roots` (tests of the TLS path with their own authority).
    pub fn with_roots(roots: rustls::RootCertStore) -> Self {
        Self::build(Resolve::System(GaiResolver::new()), tls_config(roots))
    }

    /// Sends `request` and reads the whole answer, all within `timeout`. Redirects are not
    /// followed.
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Answer, Failure> {
        self.send_up_to(request, timeout, MAX_ANSWER_BYTES).await
    }

    /// [`Self::send`] reading an answer of up to `max_bytes` (a channel's bill file).
    pub async fn send_up_to(
        &self,
        request: Request<Full<Bytes>>,
        timeout: Duration,
        max_bytes: usize,
    ) -> Result<Answer, Failure> {
        let call = async {
            let response = self.inner.request(request).await.map_err(|e| {
                if e.is_connect() {
                    Failure::Connect
                } else {
                    Failure::Failed
                }
            })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_bytes)
                .collect()
                .await
                .map_err(|_| Failure::Unreadable)?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(timeout, call)
            .await
            .unwrap_or(Err(Failure::TimedOut))
    }
}

/// A request with `body` (empty: none).
pub fn request(
    method: http::Method,
    url: &str,
    headers: &[(http::header::HeaderName, &str)],
    body: impl Into<Bytes>,
) -> Result<Request<Full<Bytes>>, Failure> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(name, *value);
    }
    builder
        .body(Full::new(body.into()))
        .map_err(|_| Failure::Failed)
}
