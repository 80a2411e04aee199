//! Test support: every test gets its own table on the local AWS emulator (moto), reached through
//! the real SDK clients. Run the suite through `scripts/test.sh`, which starts the emulator.
#![allow(dead_code)]

pub mod harness;
pub mod meter;

use aws_sdk_dynamodb::Client;
use lambda_http::{Body, Request, Response};
use serde_json::{Map, Value, json};
use shared::app::App;
use shared::daxpay::request::Verifier;
use shared::daxpay::sign::{Secret, SignType, Signer};
use shared::store::Store;
use std::sync::atomic::{AtomicU32, Ordering};

pub const SECRET: &str = "test-secret-123";

/// The SDK configuration for the emulator. Refuses to run anywhere but on loopback.
pub async fn sdk() -> aws_config::SdkConfig {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local emulator (got `{endpoint}`): run scripts/test.sh"
    );
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique name for a test's own table, queue or secret.
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// A store over a freshly created table.
pub async fn fresh_store() -> Store {
    let sdk = sdk().await;
    let client = Client::new(&sdk);
    let table = unique("t");
    if let Err(e) = shared::store::schema::create_table(&client, &table).await {
        panic!("{e}");
    }
    Store::new(client, table)
}

pub fn signer() -> Signer {
    Signer::new(SignType::HmacSha256, Secret::new(SECRET))
}

/// Warnings and errors of the code under test go to the test's captured output, so a failing
/// test shows the cause behind an answer such as 10001. `RUST_LOG` widens it.
pub fn capture_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(filter)
        .try_init();
}

pub async fn app() -> App {
    capture_logs();
    App {
        tenant: shared::domain::Tenant::default_app(),
        verifier: Verifier {
            signer: signer(),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        },
        store: fresh_store().await,
        clock: shared::infra::Clock::Fixed(now()),
        channels: Default::default(),
        allocation_no_prefix: String::new(),
        queue: None,
        archive: None,
        jobs: Default::default(),
    }
}

/// Every item of the table (a Scan: test-only, to prove what was or was not written).
pub async fn all_items(store: &Store) -> Vec<shared::store::Item> {
    let client = Client::new(&sdk().await);
    let out = client.scan().table_name(store.table()).send().await;
    match out {
        Ok(o) => o.items.unwrap_or_default(),
        Err(e) => panic!("scan: {e:?}"),
    }
}

pub fn now() -> i64 {
    shared::app::now_secs()
}

/// Signs `body` with the test secret (adds `sign`).
pub fn sign(mut body: Value) -> Value {
    if let Value::Object(m) = &mut body {
        signer().sign_in_place(m);
    }
    body
}

/// An API Gateway HTTP API (v2) event for `POST path` with `body`, turned into a request the
/// same way lambda_http does inside Lambda.
pub fn apigw_request(method: &str, path: &str, body: &str) -> Request {
    event_request(method, path, "", body, None, "trace-test-1")
}

/// An admin request as API Gateway passes it once IAM let it through: the caller's principal
/// (`None`: none, as if the route had lost its authorizer) in `requestContext.authorizer.iam`,
/// and the query string.
pub fn admin_request(
    method: &str,
    path_and_query: &str,
    body: &str,
    principal: Option<&str>,
) -> Request {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    event_request(method, path, query, body, principal, "trace-admin-1")
}

fn event_request(
    method: &str,
    path: &str,
    query: &str,
    body: &str,
    principal: Option<&str>,
    request_id: &str,
) -> Request {
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "test",
            "domainName": "test.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "22/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795341600000i64
        },
        "body": body,
        "isBase64Encoded": false
    });
    if !query.is_empty() {
        let params: Map<String, Value> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect();
        event["queryStringParameters"] = Value::Object(params);
    }
    if let Some(arn) = principal {
        event["requestContext"]["authorizer"] = json!({"iam": {
            "accessKey": "AKIATEST", "accountId": "000000000000", "callerId": "AIDATEST",
            "cognitoIdentity": null, "principalOrgId": null, "userArn": arn, "userId": "AIDATEST"}});
    }
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => panic!("event: {e}"),
    }
}

pub async fn call(app: &App, path: &str, body: &str) -> Response<Body> {
    shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        apigw_request("POST", path, body),
    )
    .await
}

pub fn body_text(r: &Response<Body>) -> String {
    String::from_utf8_lossy(r.body().as_ref()).into_owned()
}

/// The envelope of a JSON answer (HTTP status must be 200).
pub fn envelope(r: &Response<Body>) -> Value {
    assert_eq!(r.status(), 200, "enveloped answers are HTTP 200");
    serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null)
}

/// Asserts `data` carries a valid signature of the test secret.
pub fn assert_signed(data: &Value) {
    let map: Map<String, Value> = data.as_object().cloned().unwrap_or_default();
    assert!(signer().verify(&map), "data must be signed: {data}");
}

tokio::task_local! {
    /// Set by `on_every_account!`'s provider tests: harnesses made inside act through a service
    /// provider (a WeChat Pay partner for its sub-merchant, an Alipay ISV app for a merchant
    /// that authorised it) instead of a direct account.
    static PROVIDER_MODE: bool;
}

/// Runs `scenario` with every harness it makes in provider mode.
pub async fn in_provider_mode<F: std::future::Future>(scenario: F) -> F::Output {
    PROVIDER_MODE.scope(true, scenario).await
}

/// Whether harnesses made here act through a service provider.
pub fn provider_mode() -> bool {
    PROVIDER_MODE.try_with(|on| *on).unwrap_or(false)
}

/// Runs each scenario on each channel, with a direct account and with a provider's (SPEC
/// §6.5); the calling module has `Kind` in scope:
/// `<scenario>::{alipay, wechat, alipay_isv, wechat_partner}`.
macro_rules! on_every_account {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn alipay() {
                super::$scenario(super::Kind::Alipay).await
            }
            #[tokio::test]
            async fn wechat() {
                super::$scenario(super::Kind::Wechat).await
            }
            #[tokio::test]
            async fn alipay_isv() {
                crate::common::in_provider_mode(super::$scenario(super::Kind::Alipay)).await
            }
            #[tokio::test]
            async fn wechat_partner() {
                crate::common::in_provider_mode(super::$scenario(super::Kind::Wechat)).await
            }
        }
    )*};
}
pub(crate) use on_every_account;
