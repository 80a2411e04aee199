//! Test-only: a loopback HTTP/1.1 server that plays the allocation service with canned answers
//! (signed, unsigned, refused, 5xx, slow, a dropped connection) and records every request
//! (method, path, query, headers, body), so the client's and the CLI's tests can count and
//! check what was sent. It runs on a thread of its own
//! with its own runtime, so both async and plain tests can use it; it stops when dropped.

use alloc_protocol::{Secret, SignType, Signer, json};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// The path as received (still percent-encoded).
    pub path: String,
    /// The query as received, without `?`.
    pub query: Option<String>,
    /// Every header as received, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body as a JSON object (empty if it was not one).
    pub body: Map<String, Value>,
    /// The body's bytes.
    pub raw: Bytes,
}

impl Hit {
    /// The values of header `name`, in order.
    pub fn header(&self, name: &str) -> Vec<&str> {
        let found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str()).collect()
    }

    /// The body as JSON (`Null` if there is none or it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.raw).unwrap_or(Value::Null)
    }

    /// Whether the request's signature verifies with `signer`.
    pub fn verifies(&self, signer: &Signer) -> bool {
        signer.verify(&self.body)
    }
}

/// What the server answers to one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// HTTP 200 with `data` completed (`code` 0, `resTime`) and signed with the signer given.
    Signed(Signer, Value),
    /// HTTP 200, a business refusal: `data = {code: 1, msg, resTime}` signed.
    Refused(Signer, String),
    /// HTTP 200, an envelope with `code` and no data (unverifiable or failed request).
    Envelope(i64, String),
    /// HTTP `status` with this body, as it is.
    Raw(u16, String),
    /// The reply after a wait.
    Slow(Duration, Box<Reply>),
    /// The connection is closed without an answer.
    Drop,
}

/// The signer of the tests: HMAC-SHA256 with `secret`.
pub fn signer(secret: &str) -> Signer {
    Signer::new(SignType::HmacSha256, Secret::new(secret))
}

/// An accepted answer's envelope, `data` signed by `signer`.
pub fn signed_envelope(signer: &Signer, data: Value, code: i64) -> Value {
    let mut data = match data {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    data.insert("code".into(), json!(code));
    data.insert("resTime".into(), json!(1_719_475_200));
    signer.sign_in_place(&mut data);
    json!({"code": 0, "msg": "success", "data": data, "traceId": "mock-trace"})
}

type Handler = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

/// The server. `handler` gets each request and how many requests to the same path came before
/// it (0 for the first), and says what to answer.
pub struct Mock {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Mock {
    pub fn start(handler: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let handler: Arc<Handler> = Arc::new(handler);
        let recorded = hits.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                loop {
                    let stream = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok((stream, _)) => stream,
                            Err(_) => continue,
                        },
                        _ = &mut stopped => break,
                    };
                    let handler = handler.clone();
                    let recorded = recorded.clone();
                    tokio::spawn(async move {
                        let service =
                            service_fn(move |req| answer(req, handler.clone(), recorded.clone()));
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            });
        });
        Mock {
            url,
            hits,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// How many requests reached `path`.
    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(
    req: Request<Incoming>,
    handler: Arc<Handler>,
    recorded: Arc<Mutex<Vec<Hit>>>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let headers = req
        .headers()
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), value)
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(std::io::Error::other)?
        .to_bytes();
    let hit = Hit {
        method,
        path: path.clone(),
        query,
        headers,
        body: json::parse_object(&body).unwrap_or_default(),
        raw: body,
    };
    let before = {
        let mut all = recorded.lock().map_err(|_| std::io::Error::other("lock"))?;
        let before = all.iter().filter(|h| h.path == path).count();
        all.push(hit.clone());
        before
    };
    let mut reply = handler(&hit, before);
    loop {
        match reply {
            Reply::Slow(wait, then) => {
                tokio::time::sleep(wait).await;
                reply = *then;
            }
            Reply::Drop => return Err(std::io::Error::other("dropped on purpose")),
            Reply::Signed(signer, data) => {
                return Ok(respond(200, signed_envelope(&signer, data, 0).to_string()));
            }
            Reply::Refused(signer, msg) => {
                let data = json!({ "msg": msg });
                return Ok(respond(200, signed_envelope(&signer, data, 1).to_string()));
            }
            Reply::Envelope(code, msg) => {
                let body = json!({"code": code, "msg": msg, "data": null, "traceId": "mock-trace"});
                return Ok(respond(200, body.to_string()));
            }
            Reply::Raw(status, body) => return Ok(respond(status, body)),
        }
    }
}

fn respond(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
