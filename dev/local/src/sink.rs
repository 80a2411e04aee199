//! A stand-in for a merchant's notifyUrl: answers every `POST` (any path) with the plain text
//! `SUCCESS` (200), except the first N which get `FAIL` (500), so that a sender's retries can be
//! watched. Each notice is logged to stdout on one line. `GET /received` answers a JSON array of
//! every body received so far, oldest first (parsed as JSON when possible, else a string), for
//! scripts to check what arrived.

use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Notice bodies are logged up to this many characters.
pub const MAX_LOGGED_CHARS: usize = 2000;
/// Larger bodies are refused (413) and not recorded.
const MAX_BODY: usize = 1024 * 1024;

struct State {
    fail_first: usize,
    received: Mutex<Vec<Value>>,
}

impl State {
    fn received(&self) -> MutexGuard<'_, Vec<Value>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running sink. The server runs until the `stop` given to [`serve_sink`] completes.
pub struct Sink {
    state: Arc<State>,
    server: JoinHandle<()>,
}

/// Starts serving on `listener` (on a new task) until `stop` completes; then stops accepting and
/// lets requests in progress finish (at most 5 s). The first `fail_first` `POST`s are answered
/// `FAIL`. Must be called within a Tokio runtime.
pub fn serve_sink(
    listener: TcpListener,
    fail_first: usize,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Sink {
    let state = Arc::new(State {
        fail_first,
        received: Mutex::new(Vec::new()),
    });
    let server = tokio::spawn(serve(listener, Arc::clone(&state), stop));
    Sink { state, server }
}

impl Sink {
    /// Every notice body received so far, oldest first (those answered `FAIL` included).
    pub fn received(&self) -> Vec<Value> {
        self.state.received().clone()
    }

    /// Waits until the server has stopped, then returns every body received.
    pub async fn stopped(self) -> Vec<Value> {
        let Sink { state, server } = self;
        let _ = server.await;
        state.received().clone()
    }
}

async fn serve(listener: TcpListener, state: Arc<State>, stop: impl Future<Output = ()>) {
    let graceful = GracefulShutdown::new();
    let mut stop = pin!(stop);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    eprintln!("[notice-sink] accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let state = Arc::clone(&state);
        let service = service_fn(move |req| handle(Arc::clone(&state), req));
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    if parts.method == Method::GET && parts.uri.path() == "/received" {
        let bodies = Value::Array(state.received().clone());
        return Ok(respond(
            StatusCode::OK,
            "application/json",
            bodies.to_string(),
        ));
    }
    if parts.method != Method::POST {
        let help = "POST a notice to any path, or GET /received\n";
        return Ok(respond(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            help,
        ));
    }
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            println!("POST {target} -> 413: body refused ({e})");
            let status = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(respond(status, "text/plain; charset=utf-8", "FAIL"));
        }
    };
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let seq = {
        let mut received = state.received();
        received.push(value);
        received.len()
    };
    let (status, answer) = if seq <= state.fail_first {
        (StatusCode::INTERNAL_SERVER_ERROR, "FAIL")
    } else {
        (StatusCode::OK, "SUCCESS")
    };
    println!(
        "POST {target} #{seq} -> {} {answer}: {}",
        status.as_u16(),
        crate::one_line(&body, MAX_LOGGED_CHARS)
    );
    Ok(respond(status, "text/plain; charset=utf-8", answer))
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    let content_type = HeaderValue::from_static(content_type);
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}
