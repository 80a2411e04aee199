//! The emulator's fault injection (`scripts/emulator.py`, `/__faults`) as the Rust AWS SDK sees
//! it: each kind of fault arrives with the status and error code AWS sends, a dropped answer's
//! write is applied, the SDK's retries get through a throttle (and a transaction's through its
//! lost answer, by its token), a delay does not hold up other DynamoDB calls, and healing stops
//! it all.
//!
//! Each test runs an emulator of its own (the faults are global to an emulator, and the shared
//! one serves the other tests meanwhile), with the venv's python (`scripts/test.sh` makes it;
//! `LOCAL_TEST_PYTHON` names another).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, Put,
    ScalarAttributeType, TransactWriteItem,
};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::{LIMIT, bounded, send};

struct Emulator {
    addr: SocketAddr,
    _process: Child,
}

impl Emulator {
    async fn start() -> Emulator {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let python = std::env::var_os("LOCAL_TEST_PYTHON")
            .map_or_else(|| root.join(".venv/bin/python"), PathBuf::from);
        assert!(
            python.exists(),
            "{} is missing: run scripts/test.sh once (it makes the venv with moto), or set \
             LOCAL_TEST_PYTHON to a python that has moto",
            python.display()
        );
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            probe.local_addr().expect("address").port()
        };
        let process = Command::new(python)
            .arg(root.join("scripts/emulator.py"))
            .args(["127.0.0.1", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the emulator starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + LIMIT;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            assert!(Instant::now() < deadline, "the emulator did not listen");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Emulator {
            addr,
            _process: process,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `method /__faults` with `body`: the status it answered.
    async fn faults(&self, method: &str, body: &Value) -> Value {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let reply = send(self.addr, &format!("{method} /__faults HTTP/1.1"), &body).await;
        assert_eq!(reply.status, 200, "{method} /__faults: {}", reply.text());
        serde_json::from_slice(&reply.body).expect("JSON status")
    }

    async fn rule(&self, rule: Value) {
        self.faults("POST", &json!({"seed": 1, "rules": [rule]}))
            .await;
    }

    async fn sdk(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .load()
            .await
    }

    /// A DynamoDB client that does not retry (unless `retries`), so each fault is seen as is.
    async fn dynamodb(&self, retries: bool) -> aws_sdk_dynamodb::Client {
        let retry = if retries {
            RetryConfig::standard().with_initial_backoff(Duration::from_millis(10))
        } else {
            RetryConfig::disabled()
        };
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk().await)
            .retry_config(retry)
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }
}

async fn create_table(client: &aws_sdk_dynamodb::Client) {
    let key = KeySchemaElement::builder()
        .attribute_name("pk")
        .key_type(KeyType::Hash)
        .build()
        .expect("key");
    let attribute = AttributeDefinition::builder()
        .attribute_name("pk")
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute");
    bounded(
        client
            .create_table()
            .table_name("t")
            .key_schema(key)
            .attribute_definitions(attribute)
            .billing_mode(BillingMode::PayPerRequest)
            .send(),
    )
    .await
    .expect("CreateTable");
}

async fn put(client: &aws_sdk_dynamodb::Client, pk: &str) -> Result<(), SdkError<PutItemError>> {
    bounded(
        client
            .put_item()
            .table_name("t")
            .item("pk", AttributeValue::S(pk.to_owned()))
            .send(),
    )
    .await
    .map(drop)
}

async fn exists(client: &aws_sdk_dynamodb::Client, pk: &str) -> bool {
    let got = bounded(
        client
            .get_item()
            .table_name("t")
            .key("pk", AttributeValue::S(pk.to_owned()))
            .send(),
    )
    .await
    .expect("GetItem");
    got.item().is_some()
}

/// (HTTP status, error code) of a service error.
fn service_error(result: Result<(), SdkError<PutItemError>>) -> (u16, String) {
    let error = result.expect_err("a fault");
    assert!(
        matches!(error, SdkError::ServiceError(_)),
        "a service error: {error:?}"
    );
    let status = error.raw_response().map_or(0, |r| r.status().as_u16());
    (status, error.code().unwrap_or("(none)").to_owned())
}

#[tokio::test]
async fn dynamodb_faults_reach_the_sdk_as_aws_sends_them() {
    let emulator = Emulator::start().await;
    let status = emulator.faults("GET", &Value::Null).await;
    assert_eq!(status["active"], false, "off by default: {status}");
    let db = emulator.dynamodb(false).await;
    create_table(&db).await;
    put(&db, "plain").await.expect("no fault");

    let cases = [
        (
            json!({"throttle": 1}),
            400,
            "ProvisionedThroughputExceededException",
        ),
        (
            json!({"throttle": 1, "throttle_code": "ThrottlingException"}),
            400,
            "ThrottlingException",
        ),
        (json!({"error500": 1}), 500, "InternalServerError"),
        (json!({"error503": 1}), 503, "ServiceUnavailable"),
    ];
    for (mut rule, status, code) in cases {
        rule["service"] = "dynamodb".into();
        emulator.rule(rule.clone()).await;
        assert_eq!(
            service_error(put(&db, "faulty").await),
            (status, code.to_owned()),
            "{rule}"
        );
    }
    emulator.faults("DELETE", &Value::Null).await;
    assert!(!exists(&db, "faulty").await, "no failed call was applied");

    // A conflicting transaction: cancelled, one reason per item, nothing applied.
    emulator
        .rule(json!({
            "service": "dynamodb", "operation": "TransactWriteItems", "transaction_conflict": 1,
        }))
        .await;
    let item = |pk: &str| {
        let put = Put::builder()
            .table_name("t")
            .item("pk", AttributeValue::S(pk.to_owned()))
            .build()
            .expect("put");
        TransactWriteItem::builder().put(put).build()
    };
    let error = bounded(
        db.transact_write_items()
            .transact_items(item("tx-a"))
            .transact_items(item("tx-b"))
            .send(),
    )
    .await
    .expect_err("cancelled");
    let codes = cancellation_codes(&error);
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(
        codes.contains(&"TransactionConflict".to_owned()) && codes.contains(&"None".to_owned())
    );
    assert!(
        error
            .as_service_error()
            .and_then(|e| e.message())
            .is_some_and(|m| m.contains("TransactionConflict"))
    );
    // Only transactions take that rule; other operations of the service take no rule.
    put(&db, "not-a-transaction").await.expect("no fault");
    assert!(!exists(&db, "tx-a").await && !exists(&db, "tx-b").await);

    // Applied, then the answer lost: the SDK sees a broken connection, the write is there.
    emulator
        .rule(json!({"service": "dynamodb", "operation": "PutItem", "drop_after_apply": 1}))
        .await;
    let error = put(&db, "dropped").await.expect_err("no answer");
    assert!(
        matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_)
        ),
        "a transport failure: {error:?}"
    );
    let status = emulator.faults("DELETE", &Value::Null).await;
    assert_eq!(status["active"], false);
    assert!(exists(&db, "dropped").await, "applied before the drop");

    let status = emulator.faults("GET", &Value::Null).await;
    let put_item = &status["counters"]["dynamodb"]["PutItem"];
    assert_eq!(put_item["throttle"], 2, "{status}");
    assert_eq!(put_item["error500"], 1);
    assert_eq!(put_item["error503"], 1);
    assert_eq!(put_item["drop_after_apply"], 1);
    assert_eq!(
        status["counters"]["dynamodb"]["TransactWriteItems"]["transaction_conflict"],
        1
    );
    assert_eq!(status["totals"]["faults"], 6);
    // Healed: calls go through again.
    put(&db, "healed").await.expect("no fault");
}

#[tokio::test]
async fn the_sdk_retries_through_limited_faults_and_delays_do_not_hold_the_lock() {
    let emulator = Emulator::start().await;
    let plain = emulator.dynamodb(false).await;
    create_table(&plain).await;

    // Two throttles, then the rule is spent: the SDK's third attempt succeeds.
    emulator
        .rule(json!({"service": "dynamodb", "operation": "PutItem", "throttle": 1, "limit": 2}))
        .await;
    let retrying = emulator.dynamodb(true).await;
    put(&retrying, "retried").await.expect("retried through");
    let status = emulator.faults("GET", &Value::Null).await;
    let put_item = &status["counters"]["dynamodb"]["PutItem"];
    assert_eq!(
        (put_item["calls"].as_u64(), put_item["throttle"].as_u64()),
        (Some(3), Some(2))
    );

    // A slow GetItem does not delay a PutItem sent after it (the delay is served outside the
    // emulator's DynamoDB lock).
    emulator
        .rule(json!({
            "service": "dynamodb", "operation": "GetItem",
            "latency_rate": 1, "latency_ms": [800, 800],
        }))
        .await;
    let started = Instant::now();
    let slow = {
        let plain = plain.clone();
        tokio::spawn(async move { exists(&plain, "retried").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    put(&plain, "quick").await.expect("no fault");
    let quick = started.elapsed();
    assert!(bounded(slow).await.expect("task"), "the slow read answers");
    let slow = started.elapsed();
    assert!(quick < Duration::from_millis(700), "quick: {quick:?}");
    assert!(slow >= Duration::from_millis(800), "slow: {slow:?}");
    let status = emulator.faults("GET", &Value::Null).await;
    assert_eq!(status["totals"]["delayed"], 1, "{status}");
}

/// The reason codes of a cancelled transaction, one per item.
fn cancellation_codes(error: &SdkError<TransactWriteItemsError>) -> Vec<String> {
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        panic!("a TransactionCanceledException: {error:?}");
    };
    cancelled
        .cancellation_reasons()
        .iter()
        .filter_map(|r| r.code().map(str::to_owned))
        .collect()
}

/// A conditional put of `pk` as a one-item transaction, under `token` if given.
async fn transact_new(
    client: &aws_sdk_dynamodb::Client,
    pk: &str,
    token: Option<&str>,
) -> Result<(), SdkError<TransactWriteItemsError>> {
    let put = Put::builder()
        .table_name("t")
        .item("pk", AttributeValue::S(pk.to_owned()))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("put");
    let item = TransactWriteItem::builder().put(put).build();
    let call = client
        .transact_write_items()
        .transact_items(item)
        .set_client_request_token(token.map(str::to_owned));
    bounded(call.send()).await.map(drop)
}

/// DynamoDB keeps a transaction's ClientRequestToken for 10 minutes, and the SDK resends it with
/// each retry: a transaction applied whose answer was lost is answered as the success it was
/// when retried (moto alone refused the retry by the conditions its first attempt satisfied);
/// a new transaction meets the conditions, and a token reused with other parameters is refused.
#[tokio::test]
async fn a_transaction_retried_after_a_lost_answer_succeeds_through_its_token() {
    let emulator = Emulator::start().await;
    let plain = emulator.dynamodb(false).await;
    create_table(&plain).await;
    emulator
        .rule(json!({
            "service": "dynamodb", "operation": "TransactWriteItems",
            "drop_after_apply": 1, "limit": 1,
        }))
        .await;
    let retrying = emulator.dynamodb(true).await;
    transact_new(&retrying, "once", None)
        .await
        .expect("the retry is answered as the success the first attempt was");
    let status = emulator.faults("DELETE", &Value::Null).await;
    let counts = &status["counters"]["dynamodb"]["TransactWriteItems"];
    assert_eq!(
        (
            counts["calls"].as_u64(),
            counts["drop_after_apply"].as_u64()
        ),
        (Some(2), Some(1)),
        "{status}"
    );
    assert!(exists(&plain, "once").await);

    let error = transact_new(&plain, "once", None)
        .await
        .expect_err("another transaction meets the condition");
    assert_eq!(cancellation_codes(&error), ["ConditionalCheckFailed"]);

    transact_new(&plain, "a", Some("token-1"))
        .await
        .expect("first");
    transact_new(&plain, "a", Some("token-1"))
        .await
        .expect("the same again: a success, nothing applied");
    let error = transact_new(&plain, "b", Some("token-1"))
        .await
        .expect_err("the token with other parameters");
    assert_eq!(
        error.code(),
        Some("IdempotentParameterMismatchException"),
        "{error:?}"
    );
    assert!(!exists(&plain, "b").await);
}

#[tokio::test]
async fn sqs_and_kms_faults_and_bad_configurations() {
    let emulator = Emulator::start().await;
    let sdk = emulator.sdk().await;
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
            .build(),
    );
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&sdk)
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::disabled())
            .build(),
    );
    let queue = bounded(sqs.create_queue().queue_name("q").send())
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("URL");
    emulator
        .faults(
            "POST",
            &json!({"rules": [
                {"service": "sqs", "operation": "SendMessage", "throttle": 1},
                {"service": "kms", "error500": 1},
            ]}),
        )
        .await;
    let sent = bounded(
        sqs.send_message()
            .queue_url(&queue)
            .message_body("x")
            .send(),
    )
    .await;
    let error = sent.expect_err("throttled");
    assert_eq!(error.code(), Some("ThrottlingException"), "{error:?}");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));
    // The rule names SendMessage: other SQS calls pass.
    bounded(sqs.get_queue_attributes().queue_url(&queue).send())
        .await
        .expect("no fault");
    let error = bounded(kms.list_keys().send()).await.expect_err("500");
    assert_eq!(error.code(), Some("InternalFailure"), "{error:?}");
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(500));

    for bad in [
        json!({"rules": [{"service": "sqs", "throttle": 2}]}),
        json!({"rules": [{"service": "sqs", "throttle": 0.6, "error500": 0.6}]}),
        json!({"rules": [{"service": "sqs", "trottle": 0.1}]}),
        json!({"rules": [{"latency_ms": [5, 1]}]}),
        json!({"seed": "x"}),
    ] {
        let reply = send(
            emulator.addr,
            "POST /__faults HTTP/1.1",
            bad.to_string().as_bytes(),
        )
        .await;
        assert_eq!(reply.status, 400, "{bad}: {}", reply.text());
    }
    let status = emulator.faults("GET", &Value::Null).await;
    assert_eq!(
        status["active"], true,
        "a refused configuration changes nothing"
    );
    emulator.faults("DELETE", &Value::Null).await;
    bounded(
        sqs.send_message()
            .queue_url(&queue)
            .message_body("x")
            .send(),
    )
    .await
    .expect("healed");
    let reply = send(emulator.addr, "DELETE /__faults/counters HTTP/1.1", b"").await;
    let status: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(status["totals"]["faults"], 0, "{status}");
}
