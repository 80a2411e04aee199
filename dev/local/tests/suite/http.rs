//! The API Gateway emulator end to end: a real HTTP client → `serve_listener` → `local-echo`.

use std::sync::Arc;
use std::time::Duration;

use crate::{LIMIT, bounded, send};
use local::runtime::{FunctionHost, FunctionSpec, HostError};
use serde_json::Value;
use tokio::net::TcpListener;

#[tokio::test]
async fn http_api_round_trip_errors_and_shutdown() {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.quiet = true;
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    let host = Arc::new(local::pool::HostPool::one(host));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(local::apigw::serve_listener(
        listener,
        Arc::clone(&host),
        async move {
            let _ = stopped.await;
        },
    ));

    // JSON echo: method, path, query, headers, cookies and a text body; status 201, headers.
    let reply = send(
        addr,
        "POST /hello/world?a=1&a=2&b=x%20y HTTP/1.1\r\nX-Test: yes\r\n\
         Content-Type: application/json\r\nCookie: c1=v1; c2=v2",
        br#"{"k":"v"}"#,
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("x-echo"), ["local-echo"]);
    assert_eq!(reply.header("content-type"), ["application/json"]);
    assert_eq!(reply.header("set-cookie"), ["echo=1; Path=/"]);
    assert_eq!(reply.header("apigw-requestid").len(), 1);
    let echo: Value = serde_json::from_slice(&reply.body).expect("echo JSON");
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/hello/world");
    assert_eq!(echo["query"], "a=1&a=2&b=x%20y");
    assert_eq!(echo["a"], serde_json::json!(["1", "2"]));
    assert_eq!(echo["x_test"], "yes");
    assert_eq!(echo["cookie"], "c1=v1; c2=v2");
    assert_eq!(echo["body"], r#"{"k":"v"}"#);

    // A non-UTF-8 body goes base64 both ways and comes back byte for byte.
    let binary = [0u8, 0x9f, 0x92, 0x96, 0xff, 0xfe, b'\n', 0];
    let head = "PUT /raw HTTP/1.1\r\nContent-Type: application/octet-stream";
    let reply = send(addr, head, &binary).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, binary);

    // A function error is API Gateway's 500, and the function keeps serving.
    let reply = send(addr, "GET /boom HTTP/1.1", b"").await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body, br#"{"message":"Internal Server Error"}"#);
    let reply = send(addr, "GET /after HTTP/1.1", b"").await;
    assert_eq!(reply.status, 201);

    // Graceful stop: the server returns and the function process is killed.
    let _ = stop.send(());
    bounded(server).await.expect("server task");
    let after = bounded(host.invoke(serde_json::json!({}))).await;
    assert!(
        matches!(after, Err(HostError::ShutDown { .. })),
        "{after:?}"
    );
}

#[tokio::test]
async fn process_exit_gives_500_then_clear_errors() {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.quiet = true;
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    let host = Arc::new(local::pool::HostPool::one(host));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(local::apigw::serve_listener(
        listener,
        Arc::clone(&host),
        std::future::pending(),
    ));
    let reply = send(addr, "GET /exit HTTP/1.1", b"").await;
    assert_eq!(reply.status, 500);
    let reply = send(addr, "GET / HTTP/1.1", b"").await;
    assert_eq!(reply.status, 500);
    server.abort();
}

/// With two sandboxes, a request that takes long does not hold up the next one: it is served
/// by the idle sandbox, as Lambda serves concurrent requests in sandboxes of their own.
#[tokio::test]
async fn a_slow_request_does_not_block_the_others() {
    let mut hosts = Vec::new();
    for _ in 0..2 {
        let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
        spec.quiet = true;
        let host = FunctionHost::start(spec).await.expect("host starts");
        bounded(host.wait_ready(LIMIT)).await.expect("ready");
        hosts.push(host);
    }
    let pool = Arc::new(local::pool::HostPool::new(hosts));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(local::apigw::serve_listener(
        listener,
        Arc::clone(&pool),
        std::future::pending(),
    ));
    let slow = tokio::spawn(async move { send(addr, "GET /sleep?ms=3000 HTTP/1.1", b"").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let quick = bounded(send(addr, "GET /quick HTTP/1.1", b"")).await;
    assert_eq!(quick.status, 201);
    assert!(
        !slow.is_finished(),
        "the quick request was served while the slow one ran"
    );
    let slow = bounded(slow).await.expect("slow request");
    assert_eq!(slow.status, 200);
    server.abort();
    pool.stop().await;
}
