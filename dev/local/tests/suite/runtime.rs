//! `FunctionHost` against the real `local-echo` lambda_http binary.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use http::{HeaderMap, Method};
use local::apigw::{event_response_to_http, request_to_event};
use local::runtime::{FunctionHost, FunctionSpec, HostError, Invocation};
use serde_json::Value;

use crate::{LIMIT, bounded};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn spec() -> FunctionSpec {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.timeout = Duration::from_secs(10);
    spec.quiet = true;
    spec
}

async fn ready_host(spec: FunctionSpec) -> FunctionHost {
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT))
        .await
        .expect("function polls /next");
    host
}

fn event(method: Method, path_and_query: &str, body: &[u8]) -> Value {
    let ip: IpAddr = [127, 0, 0, 1].into();
    request_to_event(&method, path_and_query, &HeaderMap::new(), body, ip)
}

/// The echo JSON of a successful invocation.
fn echo_of(outcome: Result<Invocation, HostError>) -> Value {
    let Ok(Invocation::Response(bytes)) = outcome else {
        panic!("expected a response, got {outcome:?}");
    };
    let response = event_response_to_http(&bytes).expect("valid v2 response");
    assert_eq!(response.status(), 201);
    serde_json::from_slice(response.body()).expect("echo JSON")
}

#[tokio::test]
async fn invoke_round_trip_and_cold_start() {
    let host = FunctionHost::start(spec()).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    let first = host.first_poll_after().expect("first poll recorded");
    assert!(first > Duration::ZERO);

    let echo = echo_of(bounded(host.invoke(event(Method::DELETE, "/x/y?a=1", b""))).await);
    assert_eq!(echo["method"], "DELETE");
    assert_eq!(echo["path"], "/x/y");
    assert_eq!(echo["a"], serde_json::json!(["1"]));
    bounded(host.shutdown()).await;
}

#[tokio::test]
async fn function_error_is_reported_and_the_sandbox_survives() {
    let host = ready_host(spec()).await;
    let outcome = bounded(host.invoke(event(Method::GET, "/boom", b""))).await;
    let Ok(Invocation::Error { error_type, body }) = outcome else {
        panic!("expected a function error, got {outcome:?}");
    };
    assert_eq!(error_type, "unhandled"); // what lambda_runtime 1.5 sends
    let body: Value = serde_json::from_slice(&body).expect("error JSON");
    assert_eq!(body["errorMessage"], "boom requested");

    echo_of(bounded(host.invoke(event(Method::GET, "/after", b""))).await);
}

#[tokio::test]
async fn concurrent_invocations_are_served_in_fifo_order() {
    let host = ready_host(spec()).await;
    const N: usize = 8;
    let mut calls: Vec<Pin<Box<dyn Future<Output = _>>>> = (0..N)
        .map(|i| Box::pin(host.invoke(event(Method::GET, &format!("/n/{i}"), b""))) as _)
        .collect();
    // Poll each call once, in order: that queues the events 0..N in that order.
    std::future::poll_fn(|cx| {
        for call in &mut calls {
            assert!(call.as_mut().poll(cx).is_pending());
        }
        Poll::Ready(())
    })
    .await;
    let mut seqs = Vec::new();
    for (i, call) in calls.into_iter().enumerate() {
        let echo = echo_of(bounded(call).await);
        assert_eq!(echo["path"], format!("/n/{i}"));
        seqs.push(echo["seq"].as_u64().expect("seq"));
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "not FIFO: {seqs:?}");

    // Callers on other tasks simply queue too.
    let host = std::sync::Arc::new(host);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..N {
        let host = std::sync::Arc::clone(&host);
        tasks.spawn(async move {
            host.invoke(event(Method::POST, &format!("/t/{i}"), b"x"))
                .await
        });
    }
    let mut done = 0;
    while let Some(joined) = bounded(tasks.join_next()).await {
        echo_of(joined.expect("task"));
        done += 1;
    }
    assert_eq!(done, N);
}

#[tokio::test]
async fn child_exit_fails_pending_and_later_invocations() {
    let host = ready_host(spec()).await;
    let err = bounded(host.invoke(event(Method::GET, "/exit", b"")))
        .await
        .expect_err("the process exits mid-invocation");
    assert!(
        matches!(&err, HostError::Exited { status, .. } if status.contains('3')),
        "{err:?}"
    );
    assert!(err.to_string().contains("function process exited"), "{err}");
    let again = bounded(host.invoke(event(Method::GET, "/", b""))).await;
    assert!(matches!(again, Err(HostError::Exited { .. })), "{again:?}");
}

#[tokio::test]
async fn init_error_fails_invocations() {
    let mut spec = spec();
    spec.env.push(("ECHO_INIT_FAIL".into(), "1".into()));
    let host = FunctionHost::start(spec).await.expect("host starts");
    let err = bounded(host.invoke(event(Method::GET, "/", b"")))
        .await
        .expect_err("init failed");
    assert!(
        matches!(&err, HostError::InitFailed { error_type, .. } if error_type == "EchoInitError"),
        "{err:?}"
    );
    assert!(bounded(host.wait_ready(LIMIT)).await.is_err());
    let again = bounded(host.invoke(event(Method::GET, "/", b""))).await;
    assert!(
        matches!(again, Err(HostError::InitFailed { .. })),
        "{again:?}"
    );
}

#[tokio::test]
async fn invocation_times_out() {
    let mut spec = spec();
    spec.timeout = Duration::from_millis(300);
    let host = ready_host(spec).await;
    let outcome = bounded(host.invoke(event(Method::GET, "/sleep?ms=2000", b""))).await;
    assert!(
        matches!(outcome, Err(HostError::Timeout { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn missing_binary_is_a_spawn_error() {
    let spec = FunctionSpec::new("nope", "/nonexistent/bootstrap");
    let err = FunctionHost::start(spec).await.err().expect("cannot spawn");
    assert!(matches!(err, HostError::Spawn { .. }), "{err:?}");
}

#[tokio::test]
async fn runtime_api_rejects_unknown_paths_and_ids() {
    let host = ready_host(spec()).await;
    let get = "GET /2018-06-01/runtime/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert!(raw_request(&host, get).await.starts_with("HTTP/1.1 404"));
    let post = "POST /2018-06-01/runtime/invocation/unknown-id/response HTTP/1.1\r\nHost: x\r\n\
                Content-Length: 2\r\nConnection: close\r\n\r\n{}";
    assert!(raw_request(&host, post).await.starts_with("HTTP/1.1 400"));
}

async fn raw_request(host: &FunctionHost, request: &str) -> String {
    bounded(async {
        let mut stream = tokio::net::TcpStream::connect(host.runtime_api())
            .await
            .expect("connect");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.expect("read");
        answer
    })
    .await
}
