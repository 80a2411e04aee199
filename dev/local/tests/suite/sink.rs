//! The notice sink over real HTTP: FAIL for the first N notices, then SUCCESS; `/received`.

use crate::{bounded, send};
use local::sink::serve_sink;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};

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
    let r = send(addr, json_post, br#"{"id":"n1","n":1}"#).await;
    assert_eq!((r.status, r.text()), (500, "FAIL"));
    let content_type = r.header("content-type");
    assert!(
        content_type.iter().any(|v| v.starts_with("text/plain")),
        "{content_type:?}"
    );
    let r = send(addr, form_post, b"notify_id=n2&trade_status=TRADE_SUCCESS").await;
    assert_eq!((r.status, r.text()), (500, "FAIL"));
    let r = send(addr, json_post, br#"{"id":"n3","nested":{"a":[1,2]}}"#).await;
    assert_eq!((r.status, r.text()), (200, "SUCCESS"));
    let r = send(addr, json_post, b"").await;
    assert_eq!((r.status, r.text()), (200, "SUCCESS"));

    let expected = json!([
        {"id": "n1", "n": 1},
        "notify_id=n2&trade_status=TRADE_SUCCESS",
        {"id": "n3", "nested": {"a": [1, 2]}},
        "",
    ]);
    let r = send(addr, "GET /received HTTP/1.1", b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), ["application/json"]);
    let listed: Value = serde_json::from_str(r.text()).expect("JSON array");
    assert_eq!(listed, expected);
    assert_eq!(Value::Array(sink.received()), expected);

    // Anything but a POST or GET /received is a 404 and is not recorded.
    assert_eq!(send(addr, "GET /other HTTP/1.1", b"").await.status, 404);

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
    let r = send(addr, "POST / HTTP/1.1", b"hello").await;
    assert_eq!((r.status, r.text()), (200, "SUCCESS"));
    assert_eq!(sink.received(), [json!("hello")]);
}
