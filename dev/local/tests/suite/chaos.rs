//! Crash injection, SQS duplicates and reordering (`local::chaos`): each is off by default,
//! observable once switched on, counted, and gone once healed. The functions are the
//! `local-echo` and `local-sqs-echo` fixtures; AWS is the emulator at `AWS_ENDPOINT_URL`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use http::{HeaderMap, Method};
use local::apigw::{INTEGRATION_ERROR_BODY, event_response_to_http, request_to_event};
use local::chaos::Chaos;
use local::pool::HostPool;
use local::runtime::{FunctionHost, FunctionSpec, HostError, Invocation};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::sqs::{
    client as sqs_client, counts, create_queue, echo_host_with, eventually, log_path,
    logged_events, send as send_message, start_worker, unique,
};
use crate::{LIMIT, bounded, send};

fn echo_spec(chaos: &Arc<Chaos>) -> FunctionSpec {
    let mut spec = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    spec.timeout = Duration::from_secs(15);
    spec.quiet = true;
    spec.chaos = Some(Arc::clone(chaos));
    spec
}

async fn ready(spec: FunctionSpec) -> FunctionHost {
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT)).await.expect("ready");
    host
}

fn event(path_and_query: &str) -> Value {
    let ip: IpAddr = [127, 0, 0, 1].into();
    request_to_event(&Method::GET, path_and_query, &HeaderMap::new(), b"", ip)
}

fn status_of(outcome: &Result<Invocation, HostError>) -> u16 {
    let Ok(Invocation::Response(bytes)) = outcome else {
        panic!("expected a response, got {outcome:?}");
    };
    let response = event_response_to_http(bytes).expect("valid v2 response");
    response.status().as_u16()
}

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    crate::sqs::endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&sdk)
}

/// A fresh table with a string hash key `pk`.
async fn table(client: &aws_sdk_dynamodb::Client) -> String {
    let name = unique("local-chaos");
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
            .table_name(&name)
            .key_schema(key)
            .attribute_definitions(attribute)
            .billing_mode(BillingMode::PayPerRequest)
            .send(),
    )
    .await
    .expect("CreateTable");
    name
}

async fn has_item(client: &aws_sdk_dynamodb::Client, table: &str, pk: &str) -> bool {
    let got = bounded(
        client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk.to_owned()))
            .consistent_read(true)
            .send(),
    )
    .await
    .expect("GetItem");
    got.item().is_some()
}

#[tokio::test]
async fn a_crash_after_an_aws_call_keeps_its_write_and_a_fresh_sandbox_serves_the_next() {
    let db = dynamodb().await;
    let table = table(&db).await;
    let chaos = Arc::new(Chaos::off("echo"));
    let host = ready(echo_spec(&chaos)).await;
    let calls = |key: &str, n: u32| event(&format!("/aws?calls={n}&table={table}&key={key}"));

    // Off by default: the calls go through the proxy and nothing dies.
    assert_eq!(status_of(&bounded(host.invoke(calls("off", 2))).await), 201);
    assert!(has_item(&db, &table, "off#0").await && has_item(&db, &table, "off#1").await);
    let first_sandbox = host.runtime_api();

    chaos
        .update(&json!({"seed": 1, "crash_rate": 1, "crash_after": 1}))
        .expect("valid settings");
    let outcome = bounded(host.invoke(calls("on", 2))).await;
    let Err(HostError::Killed { reason, .. }) = &outcome else {
        panic!("expected an injected crash, got {outcome:?}");
    };
    assert!(
        reason.contains("call #1 (DynamoDB_20120810.PutItem)"),
        "{reason}"
    );
    // The call it died after was applied; it never got to the next one.
    assert!(has_item(&db, &table, "on#0").await);
    assert!(!has_item(&db, &table, "on#1").await);
    let counters = chaos.counters();
    assert_eq!(counters.crashes.get("echo"), Some(&1));
    assert_eq!(counters.crashes_after_call, 1);

    // Healed: the next invocation gets a fresh sandbox, which serves it.
    chaos.heal();
    assert_eq!(
        status_of(&bounded(host.invoke(calls("healed", 1))).await),
        201
    );
    assert!(has_item(&db, &table, "healed#0").await);
    assert_ne!(host.runtime_api(), first_sandbox, "a new sandbox");
    assert_eq!(chaos.counters().crashes_total(), 1);
    bounded(host.shutdown()).await;
}

#[tokio::test]
async fn an_invocation_with_fewer_calls_than_planned_dies_at_its_answer() {
    let db = dynamodb().await;
    let table = table(&db).await;
    let chaos = Arc::new(Chaos::off("echo"));
    chaos
        .update(&json!({"crash_rate": 1, "crash_after": [5, 5]}))
        .expect("valid settings");
    let host = ready(echo_spec(&chaos)).await;
    let outcome =
        bounded(host.invoke(event(&format!("/aws?calls=2&table={table}&key=late")))).await;
    let Err(HostError::Killed { reason, .. }) = &outcome else {
        panic!("expected an injected crash, got {outcome:?}");
    };
    assert!(
        reason.contains("posted its answer, after 2 outgoing calls"),
        "{reason}"
    );
    assert!(has_item(&db, &table, "late#0").await && has_item(&db, &table, "late#1").await);
    assert_eq!(chaos.counters().crashes_at_response, 1);
    bounded(host.shutdown()).await;
}

#[tokio::test]
async fn channel_calls_are_proxied_and_a_crash_can_follow_one() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gateway = format!("http://{}/gateway.do", listener.local_addr().expect("addr"));
    let sink = local::sink::serve_sink(listener, 0, std::future::pending());
    let chaos = Arc::new(Chaos::off("echo"));
    let mut spec = echo_spec(&chaos);
    spec.env.push(("ALIPAY_GATEWAY_URL".into(), gateway));
    let host = ready(spec).await;
    let post = || event("/post?env=ALIPAY_GATEWAY_URL");

    let outcome = bounded(host.invoke(post())).await;
    assert_eq!(status_of(&outcome), 201);
    chaos
        .update(&json!({"crash_rate": 1, "crash_after": 1}))
        .expect("valid settings");
    let outcome = bounded(host.invoke(post())).await;
    let Err(HostError::Killed { reason, .. }) = &outcome else {
        panic!("expected an injected crash, got {outcome:?}");
    };
    assert!(reason.contains("(POST /gateway.do)"), "{reason}");
    // The channel got both posts: the second was answered, but the function died first.
    assert_eq!(sink.received(), [json!("hello"), json!("hello")]);
    bounded(host.shutdown()).await;
}

#[tokio::test]
async fn the_front_door_answers_a_crash_as_api_gateway_does_and_switches_chaos() {
    let db = dynamodb().await;
    let table = table(&db).await;
    let chaos = Arc::new(Chaos::off("echo"));
    let hosts = vec![
        ready(echo_spec(&chaos)).await,
        ready(echo_spec(&chaos)).await,
    ];
    let pool = Arc::new(HostPool::new(hosts));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(local::apigw::serve_listener(
        listener,
        Arc::clone(&pool),
        std::future::pending(),
    ));
    let control = |method: &str| format!("{method} /__local/chaos HTTP/1.1");
    let write = |key: &str| format!("GET /aws?calls=1&table={table}&key={key} HTTP/1.1");

    let reply = send(addr, &control("GET"), b"").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let status: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(status["config"]["crash_rate"], 0.0);
    assert_eq!(status["totals"]["crashes"], 0);
    assert_eq!(send(addr, &write("off"), b"").await.status, 201);

    let on = br#"{"crash_rate": 1, "crash_after": [1, 1], "seed": 3}"#;
    let reply = send(addr, &control("POST"), on).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = send(addr, &write("on"), b"").await;
    assert_eq!((reply.status, reply.text()), (500, INTEGRATION_ERROR_BODY));
    assert!(
        has_item(&db, &table, "on#0").await,
        "written before the crash"
    );
    let reply = send(addr, &control("GET"), b"").await;
    let status: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(status["totals"]["crashes"], 1);
    assert_eq!(status["totals"]["crashes_by_function"]["echo"], 1);
    assert_eq!(status["processes"][0]["process"], "echo");

    let typo = send(addr, &control("POST"), br#"{"crash_rat": 1}"#).await;
    assert_eq!(typo.status, 400, "{}", typo.text());
    let reply = send(addr, &control("DELETE"), b"").await;
    assert_eq!(reply.status, 200);
    let status: Value = serde_json::from_slice(&reply.body).expect("JSON");
    assert_eq!(status["config"]["crash_rate"], 0.0);
    assert_eq!(status["totals"]["crashes"], 1, "healing keeps the counters");
    // Healed, and the killed sandbox was replaced: every request is served.
    for i in 0..4 {
        assert_eq!(
            send(addr, &write(&format!("after{i}")), b"").await.status,
            201
        );
    }
    server.abort();
    pool.stop().await;

    // A front door without chaos has no control route.
    let mut plain = FunctionSpec::new("echo", env!("CARGO_BIN_EXE_local-echo"));
    plain.quiet = true;
    let pool = Arc::new(HostPool::one(ready(plain).await));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(local::apigw::serve_listener(
        listener,
        Arc::clone(&pool),
        std::future::pending(),
    ));
    assert_eq!(send(addr, &control("GET"), b"").await.status, 404);
    server.abort();
    pool.stop().await;
}

/// How many times each body was delivered to the function.
fn deliveries(log: &std::path::Path) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for event in logged_events(log) {
        for record in event.records {
            *seen.entry(record.body.unwrap_or_default()).or_default() += 1;
        }
    }
    seen
}

async fn queue(visibility_secs: u32) -> (aws_sdk_sqs::Client, crate::sqs::Queue) {
    let client = sqs_client().await;
    let attributes = [(
        QueueAttributeName::VisibilityTimeout,
        visibility_secs.to_string(),
    )];
    let queue = create_queue(&client, "local-chaos", &attributes).await;
    (client, queue)
}

#[tokio::test]
async fn a_killed_worker_sandbox_leaves_its_batch_and_the_worker_goes_on() {
    let (client, queue) = queue(1).await;
    let chaos = Arc::new(Chaos::off("worker"));
    // The fixture makes no outgoing call: it dies as it answers.
    chaos
        .update(&json!({"crash_rate": 1}))
        .expect("valid settings");
    let log = log_path();
    let host = echo_host_with(&log, Some(Arc::clone(&chaos))).await;
    let worker = start_worker(&host, &client, &queue, 10);
    send_message(&client, &queue, "one").await;
    eventually("a batch was killed", || async {
        chaos.counters().crashes_total() >= 1
    })
    .await;
    chaos.heal();
    eventually("the message was handled and deleted", || async {
        counts(&client, &queue).await == (0, 0)
    })
    .await;
    worker
        .stop()
        .await
        .expect("a crash does not stop the worker");
    let seen = deliveries(&log);
    let _ = std::fs::remove_file(&log);
    assert!(
        seen["one"] >= 2,
        "delivered again after the crash: {seen:?}"
    );
}

#[tokio::test]
async fn lost_deletes_deliver_handled_messages_again() {
    let (client, queue) = queue(1).await;
    let chaos = Arc::new(Chaos::off("worker"));
    let log = log_path();
    let host = echo_host_with(&log, Some(Arc::clone(&chaos))).await;
    let worker = start_worker(&host, &client, &queue, 10);

    send_message(&client, &queue, "before").await;
    eventually("`before` is deleted", || async {
        counts(&client, &queue).await == (0, 0)
    })
    .await;
    chaos
        .update(&json!({"dupes_rate": 1}))
        .expect("valid settings");
    send_message(&client, &queue, "during").await;
    eventually("`during` was delivered twice", || async {
        deliveries(&log).get("during").copied().unwrap_or(0) >= 2
    })
    .await;
    chaos.heal();
    eventually("`during` is deleted once healed", || async {
        counts(&client, &queue).await == (0, 0)
    })
    .await;
    worker.stop().await.expect("clean stop");
    let seen = deliveries(&log);
    let _ = std::fs::remove_file(&log);
    assert_eq!(seen["before"], 1, "off by default: {seen:?}");
    assert!(chaos.counters().lost_deletes >= 1);
    assert_eq!(chaos.counters().duplicates(), chaos.counters().lost_deletes);
}

#[tokio::test]
async fn twins_are_delivered_in_two_batches() {
    // A long visibility timeout: every second delivery is a twin, none a redelivery.
    let (client, queue) = queue(30).await;
    for body in ["t0", "t1", "t2"] {
        send_message(&client, &queue, body).await;
    }
    let chaos = Arc::new(Chaos::off("worker"));
    chaos
        .update(&json!({"twin_rate": 1, "seed": 5}))
        .expect("valid settings");
    let log = log_path();
    let host = echo_host_with(&log, Some(Arc::clone(&chaos))).await;
    let worker = start_worker(&host, &client, &queue, 10);
    eventually("each message was delivered twice", || async {
        let seen = deliveries(&log);
        ["t0", "t1", "t2"]
            .iter()
            .all(|b| seen.get(*b).copied().unwrap_or(0) >= 2)
    })
    .await;
    chaos.heal();
    eventually("the queue is empty", || async {
        counts(&client, &queue).await == (0, 0)
    })
    .await;
    worker.stop().await.expect("clean stop");
    let seen = deliveries(&log);
    let _ = std::fs::remove_file(&log);
    assert!(seen.values().all(|n| *n == 2), "{seen:?}");
    assert_eq!(chaos.counters().twins, 3);
}

#[tokio::test]
async fn batches_are_shuffled_and_messages_held_back() {
    let (client, queue) = queue(30).await;
    let bodies: Vec<String> = (0..6).map(|i| format!("m{i}")).collect();
    for body in &bodies {
        send_message(&client, &queue, body).await;
    }
    let chaos = Arc::new(Chaos::off("worker"));
    chaos
        .update(&json!({"reorder_rate": 1, "holdback_rate": 0.5, "seed": 11}))
        .expect("valid settings");
    let log = log_path();
    let host = echo_host_with(&log, Some(Arc::clone(&chaos))).await;
    let worker = start_worker(&host, &client, &queue, 10);
    eventually("every message was handled and deleted", || async {
        deliveries(&log).len() == bodies.len() && counts(&client, &queue).await == (0, 0)
    })
    .await;
    worker.stop().await.expect("clean stop");
    let events = logged_events(&log);
    let _ = std::fs::remove_file(&log);
    let order: Vec<String> = events
        .iter()
        .flat_map(|e| &e.records)
        .filter_map(|r| r.body.clone())
        .collect();
    assert_eq!(order.len(), bodies.len(), "each once: {order:?}");
    assert_ne!(order, bodies, "delivered out of order");
    let counters = chaos.counters();
    assert!(counters.held_back >= 1, "{counters:?}");
    assert!(counters.reordered() >= counters.held_back);
}
