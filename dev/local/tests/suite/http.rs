//! The API Gateway emulator end to end: a real HTTP client → `serve_listener` → `local-echo`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use local::runtime::{FunctionHost, FunctionSpec, HostError};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test step timed out")
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Vec<&str> {
        let found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        found.map(|(_, v)| v.as_str()).collect()
    }
}

/// A minimal HTTP/1.1 client: one request per connection (`Connection: close`).
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> Reply {
    bounded(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of head");
        let head = String::from_utf8(raw[..split].to_vec()).expect("ASCII head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .expect("status")
            .parse()
            .expect("number");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Reply {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        }
    })
    .await
}

#[tokio::test]
async fn http_api_round_trip_errors_and_shutdown() {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.quiet = true;
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    let host = Arc::new(host);
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
    let host = Arc::new(host);
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
