//! Many merchants and apps in one stack (SPEC §8): administration through IAM-protected
//! routes, each app answering under `/app/{appId}` with its own secret, unknown and disabled
//! apps refused without an oracle, rotation, settings, and the default app's data where a
//! single-merchant stack left it. The stack runs on the emulator's DynamoDB and KMS.

use crate::common::*;
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use shared::app::Stack;
use shared::daxpay::sign::{Secret, SignType, Signer};
use shared::infra::keyring::Keyring;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub const ADMIN: &str = "arn:aws:iam::000000000000:user/ops";

/// A stack with a default app on a fresh table and a fresh KMS key; apps are not cached, so
/// every change is seen at once.
pub async fn platform() -> Stack {
    let app = app().await;
    let kms = aws_sdk_kms::Client::new(&sdk().await);
    let key = kms
        .create_key()
        .send()
        .await
        .ok()
        .and_then(|o| o.key_metadata)
        .map(|m| m.key_id)
        .unwrap_or_else(|| panic!("KMS key"));
    Stack::with_tenants(
        app,
        Keyring::new(kms, key),
        Arc::new(HashMap::new()),
        Duration::ZERO,
    )
}

pub async fn admin(stack: &Stack, method: &str, path: &str, body: Value) -> (u16, Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = shared::http::handle(stack, admin_request(method, path, &text, Some(ADMIN))).await;
    let status = r.status().as_u16();
    (
        status,
        serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null),
    )
}

/// Creates merchant `mch` (if new) and app `app` under it; answers the app's sign secret.
pub async fn new_app(stack: &Stack, mch: &str, app: &str) -> String {
    let _ = admin(
        stack,
        "POST",
        "/admin/merchants",
        json!({"mchNo": mch, "name": mch}),
    )
    .await;
    let (status, body) = admin(
        stack,
        "POST",
        "/admin/apps",
        json!({"mchNo": mch, "appId": app, "name": app}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["signSecret"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no secret: {body}"))
}

pub fn signed_with(secret: &str, mut body: Value) -> String {
    if let Value::Object(m) = &mut body {
        Signer::new(SignType::HmacSha256, Secret::new(secret)).sign_in_place(m);
    }
    body.to_string()
}

pub async fn post(stack: &Stack, path: &str, body: &str) -> Response<Body> {
    shared::http::handle(stack, apigw_request("POST", path, body)).await
}

pub fn pay_notice(order_no: &str) -> Value {
    json!({
        "orderNo": order_no, "bizOrderNo": format!("B-{order_no}"), "outOrderNo": format!("T-{order_no}"),
        "title": "测试支付", "channel": "ali_pay", "method": "qrcode", "amount": 10000,
        "status": "success", "allocation": true, "autoAllocation": false, "payTime": 1719475200,
        "code": 0, "resTime": 1719475201
    })
}

fn pay_query(order_no: &str) -> Value {
    json!({"orderNo": order_no, "reqTime": now()})
}

/// `(envelope code, envelope msg, data.code)` of an answer.
fn outcome(r: &Response<Body>) -> (i64, String, Option<i64>) {
    let env = envelope(r);
    (
        env["code"].as_i64().unwrap_or(-1),
        env["msg"].as_str().unwrap_or_default().to_owned(),
        env["data"]["code"].as_i64(),
    )
}

#[tokio::test]
async fn admin_routes_refuse_a_call_iam_did_not_let_through_and_change_nothing() {
    let stack = platform().await;
    let body = json!({"mchNo": "M1", "name": "shop"}).to_string();
    let r = shared::http::handle(
        &stack,
        admin_request("POST", "/admin/merchants", &body, None),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(body_text(&r), r#"{"message":"Forbidden"}"#);
    assert!(all_items(&stack.default_app().store).await.is_empty());
}

#[tokio::test]
async fn an_app_answers_under_its_prefix_with_its_own_secret_and_sees_only_its_data() {
    let stack = platform().await;
    let secret = new_app(&stack, "M1", "shop-1").await;
    // the app's feed and query, signed with its secret
    let fed = post(
        &stack,
        "/app/shop-1/feed/pay-order",
        &signed_with(&secret, pay_notice("P1")),
    )
    .await;
    assert_eq!(
        (fed.status().as_u16(), body_text(&fed)),
        (200, "SUCCESS".into())
    );
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &signed_with(&secret, pay_query("P1")),
    )
    .await;
    let env = envelope(&r);
    assert_eq!(
        (env["code"].as_i64(), env["data"]["orderNo"].as_str()),
        (Some(0), Some("P1"))
    );
    let data: serde_json::Map<String, Value> = env["data"].as_object().cloned().unwrap_or_default();
    assert!(
        Signer::new(SignType::HmacSha256, Secret::new(&secret)).verify(&data),
        "signed with the app's secret"
    );
    // the default app's secret does not speak for the app, and the default app does not see it
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &sign(pay_query("P1")).to_string(),
    )
    .await;
    assert_eq!(outcome(&r).0, 20052);
    let r = post(
        &stack,
        "/unipay/query/payOrder",
        &sign(pay_query("P1")).to_string(),
    )
    .await;
    assert_eq!(
        outcome(&r),
        (0, "success".into(), Some(1)),
        "not the default app's order"
    );
    // the default app is also served under its own id
    let r = post(
        &stack,
        "/app/default/unipay/query/payOrder",
        &sign(pay_query("P1")).to_string(),
    )
    .await;
    assert_eq!(outcome(&r), (0, "success".into(), Some(1)));
}

#[tokio::test]
async fn an_unknown_app_is_answered_as_a_wrong_signature_is() {
    let stack = platform().await;
    let _ = new_app(&stack, "M1", "shop-1").await;
    let wrong = signed_with("not-the-secret", pay_query("P1"));
    let known = post(&stack, "/app/shop-1/unipay/query/payOrder", &wrong).await;
    let unknown = post(&stack, "/app/shop-9/unipay/query/payOrder", &wrong).await;
    assert_eq!(outcome(&known), outcome(&unknown));
    assert_eq!(outcome(&unknown).0, 20052);
    // checks before the signature come first for both: no difference there either
    let bad = signed_with("x", json!({"orderNo": "P1"}));
    let known = post(&stack, "/app/shop-1/unipay/query/payOrder", &bad).await;
    let unknown = post(&stack, "/app/shop-9/unipay/query/payOrder", &bad).await;
    assert_eq!(outcome(&known), outcome(&unknown));
    assert_eq!(outcome(&unknown).0, 10006);
    // a feed of an unknown app is a bad signature too
    let r = post(
        &stack,
        "/app/shop-9/feed/pay-order",
        &signed_with("x", pay_notice("P1")),
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn a_disabled_app_or_merchant_is_refused_and_nothing_is_written() {
    let stack = platform().await;
    let secret = new_app(&stack, "M1", "shop-1").await;
    let with_nonce = |n: &str| {
        let mut q = pay_query("P1");
        q["nonceStr"] = json!(n);
        signed_with(&secret, q)
    };
    let items = all_items(&stack.default_app().store).await.len();
    assert_eq!(
        admin(&stack, "POST", "/admin/apps/shop-1/disable", Value::Null)
            .await
            .0,
        200
    );
    let before = all_items(&stack.default_app().store).await.len();
    assert_eq!(before, items + 2, "the change and its two audit records");
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &with_nonce("n1"),
    )
    .await;
    let (code, msg, _) = outcome(&r);
    assert_eq!(code, 20023);
    assert!(msg.contains("disabled"), "{msg}");
    let r = post(
        &stack,
        "/app/shop-1/feed/pay-order",
        &signed_with(&secret, pay_notice("P1")),
    )
    .await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        all_items(&stack.default_app().store).await.len(),
        before,
        "no nonce, no pay order"
    );
    // a wrong signature on a disabled app says nothing about it
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &signed_with("x", pay_query("P1")),
    )
    .await;
    assert_eq!(outcome(&r).0, 20052);

    assert_eq!(
        admin(&stack, "POST", "/admin/apps/shop-1/enable", Value::Null)
            .await
            .0,
        200
    );
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &with_nonce("n2"),
    )
    .await;
    assert_eq!(outcome(&r).0, 0);

    let (status, m) = admin(&stack, "POST", "/admin/merchants/M1/disable", Value::Null).await;
    assert_eq!(
        (status, m["merchant"]["status"].as_str()),
        (200, Some("disabled"))
    );
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &with_nonce("n3"),
    )
    .await;
    assert_eq!(outcome(&r).0, 20023);
    // no app can be added to a disabled merchant
    let (status, body) = admin(
        &stack,
        "POST",
        "/admin/apps",
        json!({"mchNo": "M1", "appId": "shop-2"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        admin(&stack, "POST", "/admin/merchants/M1/enable", Value::Null)
            .await
            .0,
        200
    );
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &with_nonce("n4"),
    )
    .await;
    assert_eq!(outcome(&r).0, 0);
}

#[tokio::test]
async fn a_rotated_secret_keeps_verifying_until_its_grace_ends() {
    let stack = platform().await;
    let old = new_app(&stack, "M1", "shop-1").await;
    let (status, body) = admin(
        &stack,
        "POST",
        "/admin/apps/shop-1/rotate-secret",
        json!({"graceSecs": 600}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let new = body["signSecret"].as_str().unwrap_or_default().to_owned();
    assert_ne!(new, old);
    assert!(body["app"]["previousSecretValidUntil"].as_i64().is_some());
    for secret in [&old, &new] {
        let r = post(
            &stack,
            "/app/shop-1/unipay/query/payOrder",
            &signed_with(secret, pay_query("P1")),
        )
        .await;
        let env = envelope(&r);
        assert_eq!(env["code"], 0, "{env}");
        // answers are signed with the new secret
        let data: serde_json::Map<String, Value> =
            env["data"].as_object().cloned().unwrap_or_default();
        assert!(Signer::new(SignType::HmacSha256, Secret::new(&new)).verify(&data));
    }
    // rotated again without grace: only the newest verifies
    let (_, body) = admin(
        &stack,
        "POST",
        "/admin/apps/shop-1/rotate-secret",
        json!({"graceSecs": 0}),
    )
    .await;
    let newest = body["signSecret"].as_str().unwrap_or_default().to_owned();
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &signed_with(&new, pay_query("P1")),
    )
    .await;
    assert_eq!(outcome(&r).0, 20052);
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &signed_with(&newest, pay_query("P1")),
    )
    .await;
    assert_eq!(outcome(&r).0, 0);
    // no answer of the admin routes shows a secret but the one just made
    let (_, shown) = admin(&stack, "GET", "/admin/apps/shop-1", Value::Null).await;
    let text = shown.to_string();
    assert!(
        !text.contains(&old) && !text.contains(&new) && !text.contains(&newest),
        "{text}"
    );
}

#[tokio::test]
async fn an_apps_settings_override_the_stacks_and_every_change_is_audited() {
    let stack = platform().await;
    let secret = new_app(&stack, "M1", "shop-1").await;
    let (status, body) = admin(
        &stack,
        "POST",
        "/admin/apps/shop-1/settings",
        json!({"settings": {"reqTimeoutSecs": 5, "autoFinish": false}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["app"]["settings"]["reqTimeoutSecs"], 5);
    assert_eq!(
        body["app"]["overrides"],
        json!({"reqTimeoutSecs": 5, "autoFinish": false})
    );
    let late = |s: &str| signed_with(s, json!({"orderNo": "P1", "reqTime": now() - 10}));
    let r = post(&stack, "/app/shop-1/unipay/query/payOrder", &late(&secret)).await;
    let (code, msg, _) = outcome(&r);
    assert_eq!(code, 10006);
    assert!(msg.contains("reqTime"), "{msg}");
    // the default app keeps the stack's 300 s
    let r = post(
        &stack,
        "/unipay/query/payOrder",
        &sign(json!({"orderNo": "P1", "reqTime": now() - 10})).to_string(),
    )
    .await;
    assert_eq!(outcome(&r).0, 0);
    // a bad setting is named and changes nothing
    let (status, body) = admin(
        &stack,
        "POST",
        "/admin/apps/shop-1/settings",
        json!({"settings": {"autoFinish": "maybe"}}),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid")));
    assert_eq!(
        body["message"],
        "settings.autoFinish: must be true or false"
    );
    let (_, shown) = admin(&stack, "GET", "/admin/apps/shop-1", Value::Null).await;
    assert_eq!(shown["app"]["overrides"]["autoFinish"], false);
    // each change was recorded with who made it, newest first
    let (status, audit) = admin(&stack, "GET", "/admin/audit?target=app:shop-1", Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, ["app.settings", "app.create"]);
    assert_eq!(audit["records"][0]["principal"], ADMIN);
    let (_, all) = admin(&stack, "GET", "/admin/audit?limit=2", Value::Null).await;
    assert_eq!(all["records"].as_array().map(Vec::len), Some(2));
    assert!(all["next"].is_string());
}

#[tokio::test]
async fn bad_admin_input_is_refused_by_field_and_writes_nothing() {
    let stack = platform().await;
    let cases = [
        (
            "POST",
            "/admin/merchants",
            json!({"mchNo": "M 1"}),
            400,
            "mchNo: must be 1 to 32 characters of letters, digits, _ and -",
        ),
        (
            "POST",
            "/admin/merchants",
            json!({"name": "x"}),
            400,
            "mchNo: is required",
        ),
        (
            "POST",
            "/admin/merchants",
            json!({"mchNo": "M1", "owner": "x"}),
            400,
            "owner: is not a known field",
        ),
        (
            "POST",
            "/admin/apps",
            json!({"mchNo": "M9", "appId": "a1"}),
            404,
            "no merchant M9",
        ),
        (
            "POST",
            "/admin/apps",
            json!({"mchNo": "M1", "appId": "default"}),
            409,
            "app id default is taken",
        ),
        (
            "POST",
            "/admin/apps",
            json!({"mchNo": "M1", "settings": {"reqSign": 1}}),
            400,
            "settings.reqSign: must be true or false",
        ),
        (
            "GET",
            "/admin/merchants?limit=0",
            Value::Null,
            400,
            "limit: must be a whole number from 1 to 100",
        ),
        ("GET", "/admin/apps/nope", Value::Null, 404, "no app nope"),
        (
            "GET",
            "/admin/audit?target=bank:1",
            Value::Null,
            400,
            "target: must be merchant:<mchNo>, app:<appId> or provider:<providerId>",
        ),
        (
            "DELETE",
            "/admin/merchants",
            Value::Null,
            404,
            "no admin route DELETE /admin/merchants",
        ),
    ];
    for (method, path, body, status, message) in cases {
        let (got, answer) = admin(&stack, method, path, body).await;
        assert_eq!(
            (got, answer["message"].as_str()),
            (status, Some(message)),
            "{method} {path}"
        );
    }
    assert!(all_items(&stack.default_app().store).await.is_empty());
    // one that does exist is refused the second time
    assert_eq!(
        admin(&stack, "POST", "/admin/merchants", json!({"mchNo": "M1"}))
            .await
            .0,
        200
    );
    let (status, body) = admin(&stack, "POST", "/admin/merchants", json!({"mchNo": "M1"})).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (409, Some("merchant M1 exists"))
    );
    let (status, list) = admin(&stack, "GET", "/admin/merchants", Value::Null).await;
    assert_eq!(
        (status, list["merchants"][0]["mchNo"].as_str()),
        (200, Some("M1"))
    );
}

#[tokio::test]
async fn a_channel_account_is_checked_before_it_is_stored_and_its_keys_are_never_shown() {
    let stack = platform().await;
    let _ = new_app(&stack, "M1", "shop-1").await;
    let (private, public) = match shared::infra::crypto::generate_rsa_keypair() {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let account = |key: &str| {
        json!({"mode": "direct", "appId": "2021000000000009",
        "privateKey": key, "publicKey": public, "gatewayUrl": "http://127.0.0.1:9/gateway.do"})
    };
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-1/channels/ali_pay",
        account("bm90IGEga2V5"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("privateKey:"),
        "{body}"
    );
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-1/channels/ali_pay",
        account(&private),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["app"]["channels"]["ali_pay"]["appId"],
        "2021000000000009"
    );
    assert_eq!(body["app"]["channels"]["ali_pay"]["mode"], "direct");
    let text = body.to_string();
    assert!(
        !text.contains(&private) && !text.contains(&public[..40]),
        "no key is shown"
    );
    let (_, audit) = admin(&stack, "GET", "/admin/audit?target=app:shop-1", Value::Null).await;
    assert!(
        !audit.to_string().contains(&private[..40]),
        "no key is audited"
    );
    let (status, body) = admin(
        &stack,
        "DELETE",
        "/admin/apps/shop-1/channels/ali_pay",
        Value::Null,
    )
    .await;
    assert_eq!((status, body["app"]["channels"].clone()), (200, json!({})));
}

/// SPEC §8.3: a function reads an app once (one GetItem, one KMS Decrypt) and then keeps it:
/// a warm request of a known app makes no call of its own for the app, and a start stays at
/// its three round trips.
#[tokio::test]
async fn a_warm_request_of_a_known_app_reads_nothing_for_the_app() {
    use crate::common::harness::{Harness, Kind, RoundTrips};
    let h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    let kms_calls = RoundTrips::default();
    let sdk = sdk().await;
    let kms = aws_sdk_kms::Client::from_conf(
        aws_sdk_kms::config::Builder::from(&sdk)
            .interceptor(kms_calls.clone())
            .build(),
    );
    let key = kms
        .create_key()
        .send()
        .await
        .ok()
        .and_then(|o| o.key_metadata)
        .map(|m| m.key_id)
        .unwrap_or_else(|| panic!("KMS key"));
    let stack = Stack::with_tenants(
        h.app.clone(),
        Keyring::new(kms, key),
        Arc::new(HashMap::new()),
        Duration::from_secs(300),
    );
    let secret = new_app(&stack, "M1", "shop-1").await;
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-1/channels/ali_pay",
        h.account.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let query = || {
        let secret = secret.clone();
        let stack = &stack;
        async move {
            let r = post(
                stack,
                "/app/shop-1/unipay/query/payOrder",
                &signed_with(&secret, pay_query("P1")),
            )
            .await;
            assert_eq!(envelope(&r)["code"], 0);
        }
    };
    h.trips.take();
    kms_calls.take();
    query().await;
    let (cold_db, cold_kms) = (h.trips.take(), kms_calls.take());
    query().await;
    let (warm_db, warm_kms) = (h.trips.take(), kms_calls.take());
    println!("app reads: cold {cold_db} DynamoDB + {cold_kms} KMS, warm {warm_db} + {warm_kms}");
    assert_eq!(
        (cold_db, cold_kms),
        (2, 1),
        "cold: the app's item and its key, then the query"
    );
    assert_eq!((warm_db, warm_kms), (1, 0), "warm: the query only");

    // a start of the app: three round trips, nothing for the app
    h.seed("2026P1", 10000);
    let mut notice = pay_notice("P1");
    notice["outOrderNo"] = json!("2026P1");
    let fed = post(
        &stack,
        "/app/shop-1/feed/pay-order",
        &signed_with(&secret, notice),
    )
    .await;
    assert_eq!(body_text(&fed), "SUCCESS");
    let [(t, a), _] = h.accounts();
    let add = json!({"receiverNo": "r1", "channel": "ali_pay", "receiverType": t, "receiverAccount": a,
        "receiverName": "张三", "relationType": "PARTNER", "reqTime": now()});
    let r = post(
        &stack,
        "/app/shop-1/unipay/allocation/receiver/add",
        &signed_with(&secret, add),
    )
    .await;
    assert_eq!(envelope(&r)["data"]["code"], 0, "{}", body_text(&r));
    h.trips.take();
    kms_calls.take();
    let start = json!({"bizAllocationNo": "A1", "orderNo": "P1", "nonceStr": "n1", "reqTime": now(),
        "receivers": [{"receiverNo": "r1", "amount": 100}]});
    let r = post(
        &stack,
        "/app/shop-1/unipay/allocation/start",
        &signed_with(&secret, start),
    )
    .await;
    assert_eq!(envelope(&r)["data"]["code"], 0, "{}", body_text(&r));
    assert_eq!((h.trips.take(), kms_calls.take()), (3, 0));
}

/// A disabled app's new splits wait: its auto allocation job does nothing (the pay order is
/// untouched and stays due); once enabled, the same job runs.
#[tokio::test]
async fn a_disabled_apps_auto_allocation_waits_until_it_is_enabled() {
    let stack = platform().await;
    let secret = new_app(&stack, "M1", "shop-1").await;
    let mut notice = pay_notice("P1");
    notice["autoAllocation"] = json!(true);
    let fed = post(
        &stack,
        "/app/shop-1/feed/pay-order",
        &signed_with(&secret, notice),
    )
    .await;
    assert_eq!(body_text(&fed), "SUCCESS");
    assert_eq!(
        admin(&stack, "POST", "/admin/apps/shop-1/disable", Value::Null)
            .await
            .0,
        200
    );
    let job = r#"{"app":"shop-1","kind":"auto_allocate","orderNo":"P1"}"#;
    let ran = shared::jobs::worker::run_message(&stack, job).await;
    assert!(ran.is_ok(), "{:?}", ran.err().map(|e| e.to_string()));
    let store = stack.default_app().store.scoped(shared::store::Scope::app(
        &shared::domain::AppId::parse("shop-1").unwrap_or_else(|e| panic!("{e}")),
    ));
    let pay = store.pay_order("P1").await.ok().flatten().map(|(p, _)| p);
    assert_eq!(
        pay.as_ref()
            .map(|p| (p.allocation_no.is_none(), p.auto_allocation_error.is_none())),
        Some((true, true)),
        "untouched while disabled"
    );
    assert_eq!(
        admin(&stack, "POST", "/admin/apps/shop-1/enable", Value::Null)
            .await
            .0,
        200
    );
    let ran = shared::jobs::worker::run_message(&stack, job).await;
    assert!(ran.is_ok());
    let pay = store.pay_order("P1").await.ok().flatten().map(|(p, _)| p);
    // enabled, it ran: with no default group, the reason is recorded and it is no longer due
    assert!(pay.is_some_and(|p| p.auto_allocation_error.is_some()));
}
