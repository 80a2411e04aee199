//! The notice sink over real HTTP: FAIL for the first N notices, then SUCCESS; `/received`.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use local::sink::serve_sink;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(20);

async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test step timed out")
}

/// One request per connection; answers (status, content type, body).
async fn send(addr: SocketAddr, head: &str, body: &[u8]) -> (u16, String, String) {
    bounded(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{head}\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(body).await.expect("write body");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).await.expect("read");
        let (head, body) = raw.split_once("\r\n\r\n").expect("end of head");
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        let content_type = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        (status, content_type, body.to_owned())
    })
    .await
}

#[tokio::test]
async fn fails_the_first_n_then_succeeds_and_lists_what_arrived() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sink = serve_sink(listener, 2, async move {
        let _ = stopped.await;
    });

    let json_post = "POST /notify/wechat HTTP/1.1\r\nContent-Type: application/json";
    let form_post =
        "POST /notify/alipay?x=1 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded";
    let (status, content_type, body) = send(addr, json_post, br#"{"id":"n1","n":1}"#).await;
    assert_eq!((status, body.as_str()), (500, "FAIL"));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let (status, _, body) = send(addr, form_post, b"notify_id=n2&trade_status=TRADE_SUCCESS").await;
    assert_eq!((status, body.as_str()), (500, "FAIL"));
    let (status, _, body) = send(addr, json_post, br#"{"id":"n3","nested":{"a":[1,2]}}"#).await;
    assert_eq!((status, body.as_str()), (200, "SUCCESS"));
    let (status, _, body) = send(addr, json_post, b"").await;
    assert_eq!((status, body.as_str()), (200, "SUCCESS"));

    let expected = json!([
        {"id": "n1", "n": 1},
        "notify_id=n2&trade_status=TRADE_SUCCESS",
        {"id": "n3", "nested": {"a": [1, 2]}},
        "",
    ]);
    let (status, content_type, body) = send(addr, "GET /received HTTP/1.1", b"").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/json");
    let listed: Value = serde_json::from_str(&body).expect("JSON array");
    assert_eq!(listed, expected);
    assert_eq!(Value::Array(sink.received()), expected);

    // Anything but a POST or GET /received is a 404 and is not recorded.
    let (status, _, _) = send(addr, "GET /other HTTP/1.1", b"").await;
    assert_eq!(status, 404);

    let _ = stop.send(());
    let received = bounded(sink.stopped()).await;
    assert_eq!(Value::Array(received), expected);
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed after stop"
    );
}

#[tokio::test]
async fn zero_fail_first_always_succeeds() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let sink = serve_sink(listener, 0, std::future::pending());
    let (status, _, body) = send(addr, "POST / HTTP/1.1", b"hello").await;
    assert_eq!((status, body.as_str()), (200, "SUCCESS"));
    assert_eq!(sink.received(), [json!("hello")]);
}
