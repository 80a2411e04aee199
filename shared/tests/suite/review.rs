//! The defects an outside review found (issue 23), each held by a test that failed before its
//! fix: the alarm topic's key, the api's time budget, feeds verified whatever reqSign says, the
//! body cap.

use crate::common::harness::{Fault, Harness, Kind};
use crate::common::{body_text, call, envelope, now, sign};
use serde_json::json;
use serde_yaml::Value as Yaml;
use std::time::Duration;

fn template() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    serde_yaml::from_str(&text).unwrap_or(Yaml::Null)
}

/// The name a `!Ref X` / `!GetAtt X.Arn` points at.
fn referenced(v: &Yaml) -> Option<String> {
    match v {
        Yaml::Tagged(t) => t
            .value
            .as_str()
            .map(|s| s.split('.').next().unwrap_or(s).to_owned()),
        _ => None,
    }
}

/// CloudWatch publishes to an encrypted topic only with a key whose policy lets it: never the
/// AWS-managed `alias/aws/sns`.
#[test]
fn the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use() {
    let t = template();
    let key = &t["Resources"]["AlarmTopic"]["Properties"]["KmsMasterKeyId"];
    assert_ne!(key.as_str(), Some("alias/aws/sns"));
    let name = referenced(key)
        .unwrap_or_else(|| panic!("the topic's key is a resource of the stack: {key:?}"));
    let resource = &t["Resources"][name.as_str()];
    assert_eq!(resource["Type"].as_str(), Some("AWS::KMS::Key"));
    let statements = resource["Properties"]["KeyPolicy"]["Statement"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    let cloudwatch = statements.iter().find(|s| {
        s["Principal"]["Service"].as_str() == Some("cloudwatch.amazonaws.com")
            && s["Effect"].as_str() == Some("Allow")
    });
    let actions: Vec<String> = cloudwatch
        .and_then(|s| s["Action"].as_sequence().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    assert!(actions.contains(&"kms:Decrypt".to_owned()), "{actions:?}");
    assert!(
        actions.iter().any(|a| a == "kms:GenerateDataKey*"),
        "{actions:?}"
    );
}

/// The api's worst path (two channel calls at their 8 s timeout, plus DynamoDB) fits in its
/// timeout, and the timeout in the HTTP API's 30 s.
#[test]
fn the_apis_timeout_holds_its_longest_request() {
    let t = template();
    let api = t["Resources"]["ApiFunction"]["Properties"]["Timeout"].as_i64();
    let channel_ms = 8_000;
    assert!(
        api.is_some_and(|s| s * 1000 >= 2 * channel_ms + 3_000 && s < 30),
        "api timeout {api:?}"
    );
}

/// A request still running near the invocation's deadline is answered by the handler itself,
/// with a system error the merchant may send again, in time; never left to the gateway.
#[tokio::test]
async fn a_request_near_its_deadline_is_answered_in_time() {
    let h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    let [(t, a), _] = h.accounts();
    h.receiver("r1", t, a).await;
    h.paid("P1", 10_000).await;
    h.inject(Fault::Timeout);
    let body = sign(
        json!({"bizAllocationNo": "A1", "orderNo": "P1", "reqTime": now(),
        "receivers": [{"receiverNo": "r1", "amount": 100}]}),
    )
    .to_string();
    let stack = shared::app::Stack::single(h.app.clone());
    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_millis(2_500);
    let r = shared::http::handle_until(
        &stack,
        crate::common::apigw_request("POST", "/unipay/allocation/start", &body),
        Some(deadline),
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_millis(2_500),
        "{:?}",
        started.elapsed()
    );
    let env = envelope(&r);
    assert_eq!(env["code"], 10001, "{env}");
    // the order was written before the channel call: a sync resolves it, a retry finds it
    let again = envelope(&call(&h.app, "/unipay/allocation/start", &body).await);
    assert_eq!(again["data"]["status"], "allocation_processing", "{again}");
}

/// Feeds move money: they are verified even where merchant requests are not (reqSign false).
#[tokio::test]
async fn feeds_are_verified_whatever_req_sign_says() {
    let mut app = crate::common::app().await;
    app.verifier.require_sign = false;
    let notice = json!({"orderNo": "P1", "bizOrderNo": "B1", "outOrderNo": "T1", "title": "t",
        "channel": "ali_pay", "amount": 100, "status": "success", "allocation": true,
        "autoAllocation": false, "payTime": 1719475200});
    let r = call(&app, "/feed/pay-order", &notice.to_string()).await;
    assert_eq!(
        (r.status().as_u16(), body_text(&r).as_str()),
        (401, "FAIL: signature verification failed")
    );
    let refund = json!({"orderNo": "P1", "refundNo": "R1", "bizRefundNo": "BR1", "amount": 10,
        "status": "success", "channel": "ali_pay"});
    let r = call(&app, "/feed/refund", &refund.to_string()).await;
    assert_eq!(r.status().as_u16(), 401, "{}", body_text(&r));
    assert!(crate::common::all_items(&app.store).await.is_empty());
    // merchant requests are not: that is what reqSign=false means
    let q = call(
        &app,
        "/unipay/query/payOrder",
        &json!({"orderNo": "P1", "reqTime": now()}).to_string(),
    )
    .await;
    assert_eq!(envelope(&q)["code"], 0);
}

/// A body over 64 KB is refused before it is parsed (the largest real request, a start with 50
/// receivers, is about 5 KB); nothing is written.
#[tokio::test]
async fn an_oversized_body_is_refused_unread() {
    let app = crate::common::app().await;
    let big = format!(
        "{{\"orderNo\":\"P1\",\"reqTime\":{},\"attach\":\"{}\"}}",
        now(),
        "x".repeat(70_000)
    );
    let env = envelope(&call(&app, "/unipay/query/payOrder", &big).await);
    assert_eq!(env["code"], 10006, "{env}");
    assert!(
        env["msg"].as_str().unwrap_or_default().contains("65536"),
        "{env}"
    );
    let r = call(&app, "/feed/pay-order", &big).await;
    assert_eq!(r.status().as_u16(), 413);
    assert!(crate::common::all_items(&app.store).await.is_empty());
}
