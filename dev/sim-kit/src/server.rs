//! A loopback-only HTTP/1.1 server: the accept loop, a shutdown signal that also releases held
//! requests, and small answer helpers.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::Error;

/// How long `Server::hold` keeps a request unanswered (unless shut down).
const HOLD: Duration = Duration::from_secs(60);
/// The largest request body `read_body` accepts.
const MAX_BODY: usize = 1 << 20;
/// How long `Server::shutdown` waits for the connections to close.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

pub type Reply = Response<Full<Bytes>>;

pub fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `value` as JSON; should it not serialize, a 500 `{"error": …}`.
pub fn json_reply<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    let (status, text) = match serde_json::to_string(value) {
        Ok(text) => (status, text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({"error": e.to_string()}).to_string(),
        ),
    };
    reply(status, "application/json", text)
}

/// `{"error": message}`, as the control APIs answer a refused request.
pub fn error_reply(status: StatusCode, message: impl fmt::Display) -> Reply {
    json_reply(status, &json!({"error": message.to_string()}))
}

/// The whole request body, up to 1 MiB.
pub async fn read_body(body: Incoming) -> Result<Bytes, Box<dyn std::error::Error + Send + Sync>> {
    Ok(Limited::new(body, MAX_BODY).collect().await?.to_bytes())
}

/// Locks a mutex, carrying on with the data a panicked holder left.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Returned by a handler that must not answer: hyper then closes the connection.
#[derive(Debug)]
pub struct Dropped;

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped without an answer (injected fault)")
    }
}

impl std::error::Error for Dropped {}

/// A server bound on a loopback address. `bind`, then `serve` once the handler can be built.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    /// Binds `listen` (loopback only; port 0 picks a free port). Nothing is accepted before
    /// `serve`.
    pub async fn bind(listen: SocketAddr) -> Result<(Server, TcpListener), Error> {
        if !listen.ip().is_loopback() {
            return Err(Error::NotLoopback(listen));
        }
        let listener = TcpListener::bind(listen).await?;
        let server = Server {
            addr: listener.local_addr()?,
            stop: watch::channel(false).0,
            task: Mutex::new(None),
        };
        Ok((server, listener))
    }

    /// Accepts connections on `listener` and answers each request with `handler` until
    /// `shutdown`.
    pub fn serve<H, F>(&self, listener: TcpListener, handler: H)
    where
        H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
        F: Future<Output = Result<Reply, Dropped>> + Send + 'static,
    {
        let task = tokio::spawn(accept_loop(listener, handler, self.stop.subscribe()));
        *lock(&self.task) = Some(task);
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Keeps a request unanswered for 60 s, or until shutdown.
    pub async fn hold(&self) -> Dropped {
        let mut stop = self.stop.subscribe();
        if !*stop.borrow_and_update() {
            tokio::select! {
                _ = tokio::time::sleep(HOLD) => {}
                _ = stop.changed() => {}
            }
        }
        Dropped
    }

    /// Stops accepting, releases held requests and closes every open connection.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let task = lock(&self.task).take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(SHUTDOWN_WAIT, task).await;
        }
    }
}

async fn accept_loop<H, F>(listener: TcpListener, handler: H, mut stop: watch::Receiver<bool>)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + 'static,
    F: Future<Output = Result<Reply, Dropped>> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let service = service_fn(handler.clone());
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    async fn get(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        answer
    }

    #[tokio::test]
    async fn serves_until_shutdown_and_releases_held_requests() {
        let any = "0.0.0.0:0".parse().expect("addr");
        assert!(matches!(
            Server::bind(any).await,
            Err(Error::NotLoopback(_))
        ));

        let (server, listener) = Server::bind("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("bind");
        let server = Arc::new(server);
        let inside = Arc::clone(&server);
        server.serve(listener, move |req: Request<Incoming>| {
            let server = Arc::clone(&inside);
            async move {
                match req.uri().path() {
                    "/hold" => Err(server.hold().await),
                    _ => Ok(reply(StatusCode::OK, "text/plain", "hello")),
                }
            }
        });
        let addr = server.local_addr();
        let answer = get(addr, "/").await;
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.ends_with("hello"));

        let held = tokio::spawn(get(addr, "/hold"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!held.is_finished(), "held until shutdown");
        let started = Instant::now();
        server.shutdown().await;
        let answer = tokio::time::timeout(Duration::from_secs(3), held)
            .await
            .expect("released")
            .expect("join");
        assert_eq!(answer, "", "closed without an answer");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    }
}
