//! The proxies between a sandbox and what it calls (crash injection, [`crate::chaos`]): each
//! variable of [`PROXIED_ENV`] holding an `http://` URL is given to the function pointing at a
//! proxy of this sandbox instead, which forwards every request to the URL's host (same method,
//! path, headers and body) and passes the answer back. Each request is one outgoing call of the
//! invocation in progress; when it is the one the invocation is to die after, the answer is
//! received, the sandbox killed, and the connection closed without passing the answer on.
//!
//! A request that cannot be forwarded (the target refuses the connection, breaks it, or resets
//! it, as the emulator's injected drops do) closes the function's connection without an answer,
//! so the function sees a broken connection as it would without the proxy. `https://` URLs are
//! left alone: they would need the proxy to terminate TLS.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::{FunctionSpec, HostError, Shared};
use crate::chaos::PROXIED_ENV;

/// Headers about one connection, not the request: not forwarded (the bodies are forwarded whole,
/// with their length).
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "expect",
];

/// Starts one proxy per distinct target host of the proxied variables. Returns the variables
/// to give the function (pointing at the proxies) and the proxies' tasks.
pub(super) async fn start(
    spec: &FunctionSpec,
    shared: &Arc<Shared>,
) -> Result<(Vec<(String, String)>, Vec<JoinHandle<()>>), HostError> {
    let mut env = Vec::new();
    let mut tasks = Vec::new();
    let mut proxies: HashMap<String, SocketAddr> = HashMap::new();
    for &name in PROXIED_ENV {
        let Some(url) = setting(spec, name) else {
            continue;
        };
        let Some(rest) = url.strip_prefix("http://") else {
            continue;
        };
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            continue;
        }
        let addr = match proxies.get(authority) {
            Some(addr) => *addr,
            None => {
                let listener = TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .map_err(|e| HostError::Bind(e.to_string()))?;
                let addr = listener
                    .local_addr()
                    .map_err(|e| HostError::Bind(e.to_string()))?;
                let target: Arc<str> = Arc::from(authority);
                tasks.push(tokio::spawn(serve(listener, target, Arc::clone(shared))));
                proxies.insert(authority.to_owned(), addr);
                addr
            }
        };
        env.push((name.to_owned(), format!("http://{addr}{path}")));
    }
    Ok((env, tasks))
}

/// The value the function would get: the spec's (its last), else this process's environment.
fn setting(spec: &FunctionSpec, name: &str) -> Option<String> {
    let given = spec.env.iter().rev().find(|(k, _)| k == name);
    given
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var(name).ok())
        .filter(|v| !v.is_empty())
}

async fn serve(listener: TcpListener, target: Arc<str>, shared: Arc<Shared>) {
    // Connections live in the set so that aborting this task closes them all.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let (target, shared) = (Arc::clone(&target), Arc::clone(&shared));
                let service = service_fn(move |req| {
                    forward(Arc::clone(&shared), Arc::clone(&target), req)
                });
                connections.spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Forwards one request. An `Err` makes hyper close the connection without an answer.
async fn forward(
    shared: Arc<Shared>,
    target: Arc<str>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let label = match req.headers().get("x-amz-target") {
        Some(target) => String::from_utf8_lossy(target.as_bytes()).into_owned(),
        None => format!("{} {}", req.method(), req.uri().path()),
    };
    let (mut parts, body) = req.into_parts();
    let body = body.collect().await.map_err(other)?.to_bytes();
    let crash = shared.outgoing_call(&label);
    strip_hop_by_hop(&mut parts.headers);
    let answer = call(&target, Request::from_parts(parts, Full::new(body))).await;
    if let Some(reason) = crash {
        shared.crash(reason, false).await;
        return Err(other("the sandbox was killed"));
    }
    answer
}

/// One request on a connection of its own (the emulator closes every connection anyway).
async fn call(
    target: &str,
    request: Request<Full<Bytes>>,
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let stream = TcpStream::connect(target).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(other)?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(other)?;
    let (mut parts, body) = response.into_parts();
    let body = body.collect().await.map_err(other)?.to_bytes();
    driver.abort();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Full::new(body)))
}

fn strip_hop_by_hop(headers: &mut http::HeaderMap) {
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> std::io::Error {
    std::io::Error::other(e)
}
