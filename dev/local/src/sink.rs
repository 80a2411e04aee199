//! A stand-in for a merchant's notifyUrl: answers every `POST` (any path) with the plain text
//! `SUCCESS` (200), except the first N which get `FAIL` (500), and after them a chosen fraction
//! (`fail_rate`, drawn from a seeded generator), so that a sender's retries can be watched. Each
//! notice is logged to stdout on one line. `GET /received` answers a JSON array of every body
//! received so far, oldest first (parsed as JSON when possible, else a string), for scripts to
//! check what arrived; `GET /deliveries` the same with how each was answered
//! (`[{"path", "status", "body"}]`), so a script can tell a notice delivered from one refused.

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
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Notice bodies are logged up to this many characters.
pub const MAX_LOGGED_CHARS: usize = 2000;
/// Larger bodies are refused (413) and not recorded.
const MAX_BODY: usize = 1024 * 1024;

/// How the sink answers: `FAIL` (500) for the first `fail_first` notices, then for each later
/// one with probability `fail_rate`; `SUCCESS` otherwise.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SinkOptions {
    pub fail_first: usize,
    /// 0 to 1: the share of notices after the first `fail_first` answered `FAIL`.
    pub fail_rate: f64,
    /// Seeds the draws of `fail_rate` (the same seed fails the same arrivals); `None`: from the
    /// OS.
    pub seed: Option<u64>,
}

/// One notice received and how it was answered.
struct Delivery {
    path: String,
    status: u16,
    body: Value,
}

struct State {
    options: SinkOptions,
    rng: Mutex<StdRng>,
    received: Mutex<Vec<Delivery>>,
}

impl State {
    fn received(&self) -> MutexGuard<'_, Vec<Delivery>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn bodies(&self) -> Vec<Value> {
        self.received().iter().map(|d| d.body.clone()).collect()
    }

    /// Whether the `seq`-th notice (from 1) is refused.
    fn fails(&self, seq: usize) -> bool {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        fails(&self.options, seq, &mut *rng)
    }
}

/// Whether the `seq`-th notice (from 1) is answered `FAIL` under `options`; draws from `rng`
/// only past the first `fail_first` and when `fail_rate` is above 0.
fn fails(options: &SinkOptions, seq: usize, rng: &mut impl Rng) -> bool {
    if seq <= options.fail_first {
        return true;
    }
    options.fail_rate > 0.0 && rng.random::<f64>() < options.fail_rate
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
    let options = SinkOptions {
        fail_first,
        ..SinkOptions::default()
    };
    serve_sink_with(listener, options, stop)
}

/// [`serve_sink`] answering as `options` say (a share of the notices refused as well).
pub fn serve_sink_with(
    listener: TcpListener,
    options: SinkOptions,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Sink {
    let rng = match options.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let state = Arc::new(State {
        options,
        rng: Mutex::new(rng),
        received: Mutex::new(Vec::new()),
    });
    let server = tokio::spawn(serve(listener, Arc::clone(&state), stop));
    Sink { state, server }
}

impl Sink {
    /// Every notice body received so far, oldest first (those answered `FAIL` included).
    pub fn received(&self) -> Vec<Value> {
        self.state.bodies()
    }

    /// Waits until the server has stopped, then returns every body received.
    pub async fn stopped(self) -> Vec<Value> {
        let Sink { state, server } = self;
        let _ = server.await;
        state.bodies()
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
        let bodies = Value::Array(state.bodies());
        return Ok(respond(
            StatusCode::OK,
            "application/json",
            bodies.to_string(),
        ));
    }
    if parts.method == Method::GET && parts.uri.path() == "/deliveries" {
        let deliveries: Vec<Value> = state
            .received()
            .iter()
            .map(|d| json!({"path": d.path, "status": d.status, "body": d.body}))
            .collect();
        let text = Value::Array(deliveries).to_string();
        return Ok(respond(StatusCode::OK, "application/json", text));
    }
    if parts.method != Method::POST {
        let help = "POST a notice to any path, or GET /received or /deliveries\n";
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
    // The number, the draw and the record under one lock, so that a seed fails the same
    // arrivals whatever the interleaving of their handlers.
    let (seq, status, answer) = {
        let mut received = state.received();
        let seq = received.len() + 1;
        let (status, answer) = if state.fails(seq) {
            (StatusCode::INTERNAL_SERVER_ERROR, "FAIL")
        } else {
            (StatusCode::OK, "SUCCESS")
        };
        received.push(Delivery {
            path: parts.uri.path().to_owned(),
            status: status.as_u16(),
            body: value,
        });
        (seq, status, answer)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(options: &SinkOptions, count: usize) -> Vec<usize> {
        let mut rng = StdRng::seed_from_u64(options.seed.unwrap_or(0));
        (1..=count)
            .filter(|&seq| fails(options, seq, &mut rng))
            .collect()
    }

    #[test]
    fn fail_first_then_none_without_a_rate() {
        let options = SinkOptions {
            fail_first: 2,
            ..SinkOptions::default()
        };
        assert_eq!(refused(&options, 10), [1, 2]);
    }

    #[test]
    fn a_rate_refuses_about_that_share_the_same_way_for_a_seed() {
        let options = SinkOptions {
            fail_first: 1,
            fail_rate: 0.2,
            seed: Some(7),
        };
        let first = refused(&options, 10_000);
        assert_eq!(first[0], 1, "the first is refused by fail_first");
        let share = (first.len() - 1) as f64 / 9_999.0;
        assert!((0.18..0.22).contains(&share), "{share}");
        assert_eq!(refused(&options, 10_000), first, "same seed, same refusals");
        let all = SinkOptions {
            fail_rate: 1.0,
            ..options
        };
        assert_eq!(refused(&all, 5), [1, 2, 3, 4, 5]);
    }
}
