//! The api handler end to end: real lambda_http requests, DynamoDB on the local emulator.

use crate::common::*;
use serde_json::{Value, json};

fn pay_notice(order_no: &str, status: &str) -> Value {
    sign(json!({
        "orderNo": order_no, "bizOrderNo": format!("B-{order_no}"), "outOrderNo": format!("T-{order_no}"),
        "title": "测试支付", "channel": "ali_pay", "method": "qrcode", "amount": 10000,
        "status": status, "allocation": true, "autoAllocation": false, "payTime": 1719475200,
        "attach": "x", "code": 0, "resTime": 1719475201
    }))
}

async fn feed(app: &shared::app::App, notice: &Value) -> (u16, String) {
    let r = call(app, "/feed/pay-order", &notice.to_string()).await;
    (r.status().as_u16(), body_text(&r))
}

fn query_body(order_no: &str) -> Value {
    let nonce: String = unique("n")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    sign(json!({"orderNo": order_no, "reqTime": now(), "nonceStr": nonce}))
}

#[tokio::test]
async fn feed_is_idempotent_and_never_regresses_a_paid_order() {
    let app = app().await;
    assert_eq!(
        feed(&app, &pay_notice("P1", "success")).await,
        (200, "SUCCESS".into())
    );
    assert_eq!(
        feed(&app, &pay_notice("P1", "success")).await,
        (200, "SUCCESS".into())
    );
    // pay order, bizOrderNo pointer and freeze-deadline watch, nothing more
    assert_eq!(all_items(&app.store).await.len(), 3);
    assert_eq!(
        feed(&app, &pay_notice("P1", "close")).await,
        (200, "SUCCESS".into())
    );
    let stored = app.store.pay_order("P1").await.ok().flatten();
    let (order, version) = match stored {
        Some(s) => s,
        None => panic!("pay order missing"),
    };
    assert_eq!(order.status, shared::domain::PayStatus::Success);
    assert_eq!(version, 1, "a repeated or stale notice writes nothing");

    // visible through the signed pay-order query, by either number
    let r = call(
        &app,
        "/unipay/query/payOrder",
        &query_body("P1").to_string(),
    )
    .await;
    let env = envelope(&r);
    assert_eq!(env["code"], 0);
    assert_eq!(env["traceId"], "trace-test-1");
    assert_eq!(env["data"]["status"], "success");
    assert_eq!(env["data"]["allocStatus"], "waiting");
    assert_eq!(env["data"]["amount"], 10000);
    assert_signed(&env["data"]);
    let by_biz = sign(json!({"bizOrderNo": "B-P1", "reqTime": now()}));
    let env = envelope(&call(&app, "/UNIPAY/query/PAYORDER", &by_biz.to_string()).await);
    assert_eq!(env["data"]["orderNo"], "P1");
}

#[tokio::test]
async fn feed_progress_then_success_updates() {
    let app = app().await;
    assert_eq!(feed(&app, &pay_notice("P2", "progress")).await.0, 200);
    assert_eq!(feed(&app, &pay_notice("P2", "success")).await.0, 200);
    let order = app
        .store
        .pay_order("P2")
        .await
        .ok()
        .flatten()
        .map(|(o, v)| (o.status, v));
    assert_eq!(order, Some((shared::domain::PayStatus::Success, 2)));
}

#[tokio::test]
async fn bad_notices_are_refused_and_write_nothing() {
    let app = app().await;
    let mut tampered = pay_notice("P3", "success");
    tampered["amount"] = json!(1);
    let (status, text) = feed(&app, &tampered).await;
    assert_eq!(
        (status, text.as_str()),
        (401, "FAIL: signature verification failed")
    );
    let mut unsigned = pay_notice("P3", "success");
    unsigned.as_object_mut().map(|m| m.remove("sign"));
    assert_eq!(feed(&app, &unsigned).await.0, 401);
    let mut no_amount = pay_notice("P3", "success");
    no_amount.as_object_mut().map(|m| m.remove("amount"));
    let (status, text) = feed(&app, &sign(no_amount)).await;
    assert_eq!(status, 400);
    assert!(
        text.starts_with("FAIL: invalid notice: amount: is required"),
        "{text}"
    );
    let r = call(&app, "/feed/pay-order", "{not json").await;
    assert_eq!(r.status(), 400);
    assert!(all_items(&app.store).await.is_empty());

    // a notice that contradicts the stored order is refused too
    assert_eq!(feed(&app, &pay_notice("P3", "success")).await.0, 200);
    let mut other_amount = pay_notice("P3", "success");
    other_amount["amount"] = json!(5);
    let (status, text) = feed(&app, &sign(other_amount)).await;
    assert_eq!(status, 409);
    assert!(text.contains("amount differs"), "{text}");
    // and a new order cannot take another order's bizOrderNo
    let mut thief = pay_notice("P4", "success");
    thief["bizOrderNo"] = json!("B-P3");
    let (status, text) = feed(&app, &sign(thief)).await;
    assert_eq!(status, 409, "{text}");
    // P3's pay order, pointer and freeze-deadline watch
    assert_eq!(all_items(&app.store).await.len(), 3);
}

#[tokio::test]
async fn concurrent_identical_notices_make_one_order() {
    let app = app().await;
    let notice = pay_notice("P5", "success");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let app = app.clone();
        let notice = notice.clone();
        tasks.push(tokio::spawn(async move { feed(&app, &notice).await }));
    }
    for t in tasks {
        assert_eq!(t.await.ok().map(|r| r.0), Some(200));
    }
    // one pay order, its pointer and one freeze-deadline watch
    assert_eq!(all_items(&app.store).await.len(), 3);
}

/// A request the verifier refuses: answered with the documented envelope, nothing written.
async fn assert_refused(app: &shared::app::App, body: &str, code: i64, msg_part: &str) {
    let env = envelope(&call(app, "/unipay/query/payOrder", body).await);
    assert_eq!(env["code"], code, "{body} -> {env}");
    assert!(
        env["msg"].as_str().unwrap_or("").contains(msg_part),
        "{body} -> {env}"
    );
    assert_eq!(env["data"], Value::Null);
    assert!(env["traceId"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(
        all_items(&app.store).await.is_empty(),
        "nothing may be written for {body}"
    );
}

#[tokio::test]
async fn unverifiable_requests_are_refused_and_write_nothing() {
    let app = app().await;
    let t = app.clock.now();
    let good = sign(json!({"orderNo": "P1", "reqTime": t, "nonceStr": "abc"}));

    let wrong_secret = {
        let mut m = json!({"orderNo": "P1", "reqTime": t, "nonceStr": "abc"});
        if let Some(o) = m.as_object_mut() {
            shared::daxpay::sign::Signer::new(
                shared::daxpay::sign::SignType::HmacSha256,
                shared::daxpay::sign::Secret::new("nope"),
            )
            .sign_in_place(o);
        }
        m
    };
    assert_refused(&app, &wrong_secret.to_string(), 20052, "验签失败").await;

    let mut flipped = good.clone();
    let s = flipped["sign"].as_str().unwrap_or("").to_owned();
    let mut chars: Vec<char> = s.chars().collect();
    chars[10] = if chars[10] == 'a' { 'b' } else { 'a' };
    flipped["sign"] = json!(chars.into_iter().collect::<String>());
    assert_refused(&app, &flipped.to_string(), 20052, "验签失败").await;

    let mut upper = good.clone();
    upper["sign"] = json!(s.to_uppercase());
    assert_refused(&app, &upper.to_string(), 20052, "验签失败").await;

    let mut missing = good.clone();
    missing.as_object_mut().map(|m| m.remove("sign"));
    assert_refused(&app, &missing.to_string(), 20052, "验签失败").await;

    let changed_member = {
        let mut m = good.clone();
        m["orderNo"] = json!("P2");
        m
    };
    assert_refused(&app, &changed_member.to_string(), 20052, "验签失败").await;

    let future = sign(json!({"orderNo": "P1", "reqTime": t + 61, "nonceStr": "f"}));
    assert_refused(
        &app,
        &future.to_string(),
        10006,
        "reqTime: 请求时间晚于服务器接收到的时间",
    )
    .await;
    let stale = sign(json!({"orderNo": "P1", "reqTime": t - 301, "nonceStr": "s"}));
    assert_refused(&app, &stale.to_string(), 10006, "reqTime: 请求已过期").await;

    assert_refused(&app, "{\"orderNo\":", 10005, "JSON").await;
    assert_refused(&app, "[1,2]", 10005, "JSON object").await;
    assert_refused(&app, "", 10005, "JSON").await;
    let unknown = sign(json!({"orderNo": "P1", "reqTime": t, "evil": 1}));
    assert_refused(
        &app,
        &unknown.to_string(),
        10006,
        "evil: is not a known field",
    )
    .await;
    let wrong_type = sign(json!({"orderNo": 12, "reqTime": t}));
    assert_refused(
        &app,
        &wrong_type.to_string(),
        10006,
        "orderNo: must be a string",
    )
    .await;
    let too_long = sign(json!({"orderNo": "P".repeat(33), "reqTime": t}));
    assert_refused(
        &app,
        &too_long.to_string(),
        10006,
        "orderNo: must be at most 32 characters",
    )
    .await;
    let dup = format!("{{\"orderNo\":\"P1\",\"orderNo\":\"P2\",\"reqTime\":{t}}}");
    assert_refused(&app, &dup, 10006, "orderNo: appears more than once").await;

    // the untampered request passes and claims its nonce; replaying it is refused
    let env = envelope(&call(&app, "/unipay/query/payOrder", &good.to_string()).await);
    assert_eq!(env["data"]["code"], 1);
    assert_eq!(env["data"]["msg"], "支付订单不存在");
    assert_signed(&env["data"]);
    let before = all_items(&app.store).await.len();
    assert_eq!(before, 1, "only the nonce claim is written");
    let env = envelope(&call(&app, "/unipay/query/payOrder", &good.to_string()).await);
    assert_eq!(env["code"], 10006, "{env}");
    assert!(
        env["msg"].as_str().unwrap_or("").contains("nonceStr"),
        "{env}"
    );
    assert_eq!(all_items(&app.store).await.len(), before);
}

#[tokio::test]
async fn unknown_paths_and_methods_get_a_clear_envelope() {
    let app = app().await;
    let env = envelope(&call(&app, "/unipay/allocation/nothing", "{}").await);
    assert_eq!(env["code"], 10010);
    assert!(
        env["msg"]
            .as_str()
            .unwrap_or("")
            .contains("POST /unipay/allocation/nothing"),
        "{env}"
    );
    let r = shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        apigw_request("GET", "/unipay/query/payOrder", ""),
    )
    .await;
    let env = envelope(&r);
    assert_eq!(env["code"], 10010);
    assert!(
        env["msg"]
            .as_str()
            .unwrap_or("")
            .contains("GET /unipay/query/payOrder")
    );
}

/// An integrator reads the contract from the running service: the document the route table is
/// checked against (`http::routes`), as JSON.
#[tokio::test]
async fn the_openapi_document_is_served() {
    let app = app().await;
    let r = shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        apigw_request("GET", "/openapi.json", ""),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let lambda_http::Body::Text(text) = r.body() else {
        panic!("no text body");
    };
    let doc: Value = serde_json::from_str(text).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap_or("").starts_with("3.1"),
        "{doc}"
    );
    assert!(doc["paths"]["/unipay/allocation/start"]["post"].is_object());
    // the repository's document, without its layout whitespace
    let file: Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    assert_eq!(doc, file);
    assert!(!text.contains("\n  "), "served compact");
}

#[tokio::test]
async fn internal_failures_answer_10001_without_details() {
    let mut app = app().await;
    // a table that does not exist: the store fails; the caller learns nothing internal
    app.store =
        shared::store::Store::new(aws_sdk_dynamodb::Client::new(&sdk().await), "missing-table");
    let body = sign(json!({"orderNo": "P1", "reqTime": now()}));
    let env = envelope(&call(&app, "/unipay/query/payOrder", &body.to_string()).await);
    assert_eq!(env["code"], 10001);
    assert_eq!(env["msg"], "系统错误");
    assert_eq!(env["data"], Value::Null);
    let r = call(
        &app,
        "/feed/pay-order",
        &pay_notice("P9", "success").to_string(),
    )
    .await;
    assert_eq!(
        (r.status().as_u16(), body_text(&r)),
        (500, "FAIL: system error".to_owned())
    );
}

#[tokio::test]
async fn sign_secret_loads_from_secrets_manager() {
    let sdk = sdk().await;
    let client = aws_sdk_secretsmanager::Client::new(&sdk);
    let name = unique("sign");
    let created = client
        .create_secret()
        .name(&name)
        .secret_string(r#"{"signSecret":"from-secrets-manager","alipayPrivateKey":"cHJpdg==","alipayPublicKey":"cHVi"}"#)
        .send()
        .await;
    assert!(created.is_ok(), "{created:?}");
    let source = shared::infra::config::SecretSource::SecretsManager(name);
    // read the way the functions read it: their own SDK configuration and HTTP client
    let functions_sdk =
        shared::infra::aws::sdk_config(|n| std::env::var(n).ok()).unwrap_or_else(|e| panic!("{e}"));
    let secrets = shared::infra::config::load_secrets(&source, &functions_sdk).await;
    let secrets = match secrets {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(secrets.alipay_private_key.as_deref(), Some("cHJpdg=="));
    assert_eq!(secrets.alipay_public_key.as_deref(), Some("cHVi"));
    let secret = secrets.sign_secret;
    // the loaded secret signs like the same secret given inline
    let obj = shared::daxpay::json::parse_object(br#"{"a":"1","reqTime":1}"#).unwrap_or_default();
    let from_sm =
        shared::daxpay::sign::Signer::new(shared::daxpay::sign::SignType::Md5, secret).sign(&obj);
    let inline = shared::daxpay::sign::Signer::new(
        shared::daxpay::sign::SignType::Md5,
        shared::daxpay::sign::Secret::new("from-secrets-manager"),
    )
    .sign(&obj);
    assert_eq!(from_sm, inline);
    // a missing secret fails with the setting's name
    let missing = shared::infra::config::SecretSource::SecretsManager(unique("absent"));
    let err = shared::infra::config::load_secrets(&missing, &sdk)
        .await
        .err();
    assert_eq!(err.map(|e| e.setting), Some("SECRETS_ID"));
}

/// The functions' SDK configuration (region, credentials and endpoint from the environment,
/// requests through the shared HTTP client) reaches DynamoDB and SQS.
#[tokio::test]
async fn the_functions_sdk_configuration_reaches_dynamodb_and_sqs() {
    sdk().await; // only on the emulator
    let config =
        shared::infra::aws::sdk_config(|n| std::env::var(n).ok()).unwrap_or_else(|e| panic!("{e}"));
    let db = aws_sdk_dynamodb::Client::new(&config);
    let table = unique("fn-sdk");
    shared::store::schema::create_table(&db, &table)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = shared::store::Store::new(db, &table);
    let none = store
        .pay_order("P-none")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(none.is_none());
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name(unique("fn-sdk"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)));
    let url = queue.queue_url().unwrap_or_default().to_owned();
    sqs.send_message()
        .queue_url(&url)
        .message_body("ping")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)));
    let got = sqs
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)));
    let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, ["ping"]);
}
