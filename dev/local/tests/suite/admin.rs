//! The front door's `AWS_IAM` authorization of `/admin/` paths, end to end: a real HTTP client
//! → `serve_listener_with` → `local-echo`. Requests are signed with the admin client's signer
//! (the `aws-sigv4` crate), which the front door checks with its own implementation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::{LIMIT, Reply, bounded, send};
use alloc_client::AdminError;
use alloc_client::admin::{AdminClient, Credentials, signature_headers};
use local::apigw::{AdminAuth, FORBIDDEN_BODY, USER_ARN, USER_ID};
use local::runtime::{FunctionHost, FunctionSpec};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const KEY_ID: &str = "AKIDLOCALTEST";
const SECRET: &str = "local-admin-secret";
const REGION: &str = "us-east-1";

struct Signed<'a> {
    secret: &'a str,
    region: &'a str,
    token: Option<&'a str>,
    at: SystemTime,
}

impl Default for Signed<'_> {
    fn default() -> Self {
        Self {
            secret: SECRET,
            region: REGION,
            token: None,
            at: SystemTime::now(),
        }
    }
}

/// The request line and headers of `method target` signed over `body` as `how` says.
fn signed_head(addr: SocketAddr, method: &str, target: &str, body: &[u8], how: &Signed) -> String {
    let credentials = Credentials::new(KEY_ID, how.secret, how.token.map(str::to_owned));
    let host = addr.to_string();
    let mut headers = vec![("host", host.as_str())];
    if !body.is_empty() {
        headers.push(("content-type", "application/json"));
    }
    let url = format!("http://{addr}{target}");
    let signature = signature_headers(
        &credentials,
        how.region,
        method,
        &url,
        &headers,
        body,
        how.at,
    )
    .expect("signed");
    let mut head = format!("{method} {target} HTTP/1.1");
    if !body.is_empty() {
        head.push_str("\r\nContent-Type: application/json");
    }
    for (name, value) in signature {
        head.push_str(&format!("\r\n{name}: {value}"));
    }
    head
}

fn echo(reply: &Reply) -> Value {
    assert_eq!(reply.status, 201, "forwarded: {}", reply.text());
    serde_json::from_slice(&reply.body).expect("echo JSON")
}

fn assert_forbidden(reply: &Reply, case: &str) {
    assert_eq!(reply.status, 403, "{case}: {}", reply.text());
    assert_eq!(reply.text(), FORBIDDEN_BODY, "{case}");
    assert_eq!(reply.header("content-type"), ["application/json"], "{case}");
    assert_eq!(reply.header("apigw-requestid").len(), 1, "{case}");
}

#[tokio::test]
async fn admin_paths_need_a_sigv4_signature() {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.quiet = true;
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    let pool = Arc::new(local::pool::HostPool::one(host));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(local::apigw::serve_listener_with(
        listener,
        Arc::clone(&pool),
        AdminAuth::new(KEY_ID, SECRET, REGION),
        std::future::pending(),
    ));
    let body = br#"{"mchNo":"M1","name":"Shop one"}"#;
    let path = "/admin/merchants";

    // Refused before the function: each of these leaves its invocation count at 0.
    let unsigned = send(
        addr,
        "POST /admin/merchants HTTP/1.1\r\nContent-Type: application/json",
        body,
    )
    .await;
    assert_forbidden(&unsigned, "unsigned");
    let encoded = send(addr, "GET /%61dmin/merchants HTTP/1.1", b"").await;
    assert_forbidden(&encoded, "the prefix percent-encoded");
    let wrong_secret = Signed {
        secret: "not-the-secret",
        ..Signed::default()
    };
    let head = signed_head(addr, "POST", path, body, &wrong_secret);
    assert_forbidden(&send(addr, &head, body).await, "wrong secret");
    let head = signed_head(addr, "POST", path, body, &Signed::default());
    let tampered = br#"{"mchNo":"M2","name":"Shop one"}"#;
    assert_forbidden(&send(addr, &head, tampered).await, "tampered body");
    let other_path = head.replacen("/admin/merchants", "/admin/merchantz", 1);
    assert_forbidden(&send(addr, &other_path, body).await, "tampered path");
    let other_method = head.replacen("POST", "PUT", 1);
    assert_forbidden(&send(addr, &other_method, body).await, "tampered method");
    let head = signed_head(
        addr,
        "GET",
        "/admin/merchants?limit=2",
        b"",
        &Signed::default(),
    );
    let other_query = head.replacen("limit=2", "limit=3", 1);
    assert_forbidden(&send(addr, &other_query, b"").await, "tampered query");
    for (case, at) in [
        ("stale", SystemTime::now() - Duration::from_secs(360)),
        ("ahead", SystemTime::now() + Duration::from_secs(360)),
    ] {
        let how = Signed {
            at,
            ..Signed::default()
        };
        let head = signed_head(addr, "POST", path, body, &how);
        assert_forbidden(&send(addr, &head, body).await, case);
    }
    let other_region = Signed {
        region: "eu-west-1",
        ..Signed::default()
    };
    let head = signed_head(addr, "POST", path, body, &other_region);
    assert_forbidden(&send(addr, &head, body).await, "another region");
    let with_token = Signed {
        token: Some("FwoGZXIvYXdzEXAMPLE"),
        ..Signed::default()
    };
    let head = signed_head(addr, "POST", path, body, &with_token);
    assert_forbidden(&send(addr, &head, body).await, "a session token");

    // Other paths are not authorized: forwarded, and nothing above was.
    let plain = echo(&send(addr, "GET /hello HTTP/1.1", b"").await);
    assert_eq!(plain["seq"], 0, "no refused request reached the function");
    assert_eq!(plain["iam"], Value::Null);
    let cased = echo(&send(addr, "GET /Admin/merchants HTTP/1.1", b"").await);
    assert_eq!(cased["iam"], Value::Null, "routes are case-sensitive");

    // Signed: forwarded with the caller in requestContext.authorizer.iam.
    let head = signed_head(addr, "POST", path, body, &Signed::default());
    let got = echo(&send(addr, &head, body).await);
    assert_eq!(got["seq"], 2);
    assert_eq!(
        (&got["method"], &got["path"]),
        (&json!("POST"), &json!(path))
    );
    assert_eq!(got["body"], std::str::from_utf8(body).expect("text"));
    assert_eq!(
        got["iam"],
        json!({"accessKey": KEY_ID, "accountId": "000000000000", "callerId": USER_ID,
            "principalOrgId": null, "userArn": USER_ARN, "userId": USER_ID})
    );

    // The admin client end to end: a signed query, a signed body, retries signed anew.
    let client = |secret: &str| {
        AdminClient::builder(
            format!("http://{addr}"),
            Credentials::new(KEY_ID, secret, None),
        )
        .region(REGION)
        .build()
        .expect("admin client")
    };
    let listed = client(SECRET)
        .call(
            http::Method::GET,
            "/admin/merchants",
            &[("limit", "2"), ("target", "app:X y")],
            None,
        )
        .await
        .expect("forwarded");
    assert_eq!(listed["query"], "limit=2&target=app%3AX%20y");
    assert_eq!(listed["iam"]["userArn"], USER_ARN);
    let put = client(SECRET)
        .call(
            http::Method::PUT,
            "/admin/apps/A%201/channels/ali_pay",
            &[],
            Some(&json!({"mode": "direct", "appId": "2021"})),
        )
        .await
        .expect("forwarded");
    assert_eq!(put["path"], "/admin/apps/A%201/channels/ali_pay");
    assert_eq!(put["body"], r#"{"appId":"2021","mode":"direct"}"#);
    let refused = client("wrong")
        .call(http::Method::GET, "/admin/audit", &[], None)
        .await;
    assert!(
        matches!(refused, Err(AdminError::Forbidden { .. })),
        "{refused:?}"
    );
    let after = echo(&send(addr, "GET /hello HTTP/1.1", b"").await);
    assert_eq!(after["seq"], 5, "the refused call was not forwarded");

    server.abort();
    pool.stop().await;
}
