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
    // a service provider's notification as the stack's own callbacks
    let r = call(&app, "/provider/sp-1/callback/wechat", &big).await;
    assert_eq!(r.status().as_u16(), 413, "{}", body_text(&r));
    assert!(crate::common::all_items(&app.store).await.is_empty());
}

/// A job that claimed a notice attempt and stopped before recording it (SPEC §9) does not
/// wedge the notice: once the claim's lease passes, the attempt counts as failed and the
/// notice goes on to the merchant.
#[tokio::test]
async fn a_notice_attempt_cut_short_does_not_wedge_the_notice() {
    use crate::common::harness::{Sink, fast_jobs};
    use shared::domain::{AllocationStatus, Topic};
    let sink = Sink::start(0).await;
    let mut h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    h.with_queue(fast_jobs(), 3).await;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    let trade = h.paid("P1", 10000).await;
    let d = h
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "notifyUrl": sink.url,
                "receivers": [{"receiverNo": "r1", "amount": 100}]}),
        )
        .await;
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    // a worker claims the first attempt, its lease already over, and dies before sending
    let topic = Topic::Status(AllocationStatus::End);
    let t = now();
    let claimed = h
        .app
        .store
        .start_notice_attempt(&no, &topic, 0, t, t - 1)
        .await;
    assert!(matches!(claimed, Ok(true)), "{claimed:?}");
    h.run_until(Duration::from_secs(40), || async {
        sink.bodies().len() == 1
    })
    .await;
    h.run_until(Duration::from_secs(40), || async {
        h.notices(&no).await["notices"][0]["delivered"] == true
    })
    .await;
    let n = h.notices(&no).await;
    let attempts = &n["notices"][0]["attempts"];
    assert_eq!(attempts[0]["delivered"], false, "{n}");
    assert_eq!(attempts[1]["delivered"], true, "{n}");
    assert_eq!(attempts.as_array().map(Vec::len), Some(2), "{n}");
}

/// The allocation made at a pay order's freeze deadline has a number of its own: an earlier
/// auto allocation of the same pay order that the channel refused (under `AUTO<orderNo>`, with
/// other parameters) does not stand in for it, and the funds are split before they thaw.
#[tokio::test]
async fn the_freeze_deadline_allocates_even_after_a_refused_auto_allocation() {
    let mut h = Harness::new(Kind::Wechat, Duration::from_secs(5)).await;
    h.app.jobs.freeze_deadline_allocates = true;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.default_group("g", json!([{"receiverNo": "r1", "rate": 3000}]))
        .await;
    h.pay_notice_auto("PB", 10000).await;
    h.inject(Fault::Refusal);
    let auto = shared::service::start::auto_allocate(&h.app, "PB").await;
    assert!(auto.is_ok(), "{auto:?}");
    let first = h
        .ok(
            "/unipay/query/allocationOrder",
            json!({"bizAllocationNo": "AUTOPB"}),
        )
        .await;
    assert_eq!(first["status"], "allocation_failed", "{first}");
    let watched = shared::service::deadline::watch(&h.app, "PB").await;
    assert!(watched.is_ok(), "{watched:?}");
    let pay = h
        .ok("/unipay/query/payOrder", json!({"orderNo": "PB"}))
        .await;
    assert_eq!(
        pay["allocStatus"], "allocation",
        "split before the thaw: {pay}"
    );
    assert_ne!(pay["allocationNo"], first["allocationNo"], "{pay}");
    let second = h
        .ok(
            "/unipay/query/allocationOrder",
            json!({"allocationNo": pay["allocationNo"]}),
        )
        .await;
    assert_eq!(second["bizAllocationNo"], "DEADLINEPB", "{second}");
    assert_eq!(second["amount"], 3000, "{second}");
}

/// A sync that found no record of the split sends it again; when the re-send is refused but
/// the first request has landed meanwhile, the order is not failed and its pay order stays
/// taken: the channel is asked once more, and its rows decide.
async fn a_refused_re_send_does_not_release_a_split_that_landed(kind: Kind) {
    let h = Harness::new(kind, Duration::from_millis(700)).await;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    let trade = h.paid("P1", 10000).await;
    h.inject(Fault::TimeoutAfterApply);
    let d = h
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "A1", "orderNo": "P1",
                "receivers": [{"receiverNo": "r1", "amount": 100}]}),
        )
        .await;
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    assert_eq!(d["status"], "allocation_processing", "{d}");
    // asked, the channel has no record yet; the re-send meets a refusal
    h.forget_next_query();
    h.inject(Fault::Refusal);
    let q = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(q["status"], "allocation_processing", "{kind:?}: {q}");
    let pay = h
        .ok("/unipay/query/payOrder", json!({"orderNo": "P1"}))
        .await;
    assert_eq!(
        pay["allocStatus"], "allocation",
        "{kind:?}: still taken: {pay}"
    );
    h.settle(&trade, &no, &[]).await;
    let q = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(q["status"], "allocation_end", "{kind:?}: {q}");
    assert_eq!(h.executed(&trade), 1, "{kind:?}");
}

#[tokio::test]
async fn a_refused_re_send_does_not_release_a_split_that_landed_alipay() {
    a_refused_re_send_does_not_release_a_split_that_landed(Kind::Alipay).await;
}

#[tokio::test]
async fn a_refused_re_send_does_not_release_a_split_that_landed_wechat() {
    a_refused_re_send_does_not_release_a_split_that_landed(Kind::Wechat).await;
}

/// A refusal that only says the request is already in hand (a duplicate still being processed)
/// or that the channel failed inside is no verdict: the order stays processing.
#[test]
fn duplicate_and_system_error_refusals_are_no_verdict() {
    use shared::domain::ChannelError;
    for (code, msg) in [
        ("INVALID_REQUEST", "订单处理中，请稍后再试"),
        ("ACQ.SYSTEM_ERROR", "系统繁忙"),
        ("PARAM_ERROR", "请求重复，请勿重复提交"),
        ("ACQ.DUPLICATE_REQUEST", "duplicate"),
    ] {
        let e = ChannelError::refusal(code.into(), msg.into());
        assert!(e.is_unknown(), "{code} {msg}: {e:?}");
    }
    for (code, msg) in [
        ("INVALID_REQUEST", "分账接收方不存在"),
        ("ACQ.TRADE_NOT_EXIST", "交易不存在"),
        ("NOT_ENOUGH", "分账金额不足"),
        ("PARAM_ERROR", "分账接收方 oUpF8u 重复"),
    ] {
        let e = ChannelError::refusal(code.into(), msg.into());
        assert!(
            matches!(e, ChannelError::Rejected { .. }),
            "{code} {msg}: {e:?}"
        );
    }
}

/// A private key of the right shape whose numbers are corrupt is refused where it is given,
/// naming the field, before anything is stored: it never reaches a first signature after an
/// order was written on its strength.
#[tokio::test]
async fn a_corrupt_private_key_is_refused_when_given() {
    use crate::tenancy::{admin, new_app, platform};
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    use serde_json::Value;
    let stack = platform().await;
    let _ = new_app(&stack, "M1", "shop-1").await;
    let (private, public) = match shared::infra::crypto::generate_rsa_keypair() {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let mut der = B64.decode(&private).unwrap_or_default();
    let mid = der.len() / 2;
    der[mid] ^= 0x01;
    let corrupt = B64.encode(&der);
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-1/channels/ali_pay",
        json!({"mode": "direct", "appId": "2021000000000009", "privateKey": corrupt,
            "publicKey": public, "gatewayUrl": "http://127.0.0.1:9/gateway.do"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("privateKey:"), "{body}");
    assert!(!message.contains(&corrupt[..20]), "no key material: {body}");
    let (_, app) = admin(&stack, "GET", "/admin/apps/shop-1", Value::Null).await;
    assert!(
        app["app"]["channels"]["ali_pay"].is_null(),
        "nothing stored: {app}"
    );
}

/// A receiver being removed cannot join a group meanwhile: a group never lists a receiver the
/// channel has unbound (the unbind's answer lost here, so the remove is repeated, as a merchant
/// does after an unclear answer), and two adds of one number never both bind.
#[tokio::test]
async fn receivers_and_groups_agree_with_the_channel_under_concurrent_changes() {
    use crate::common::harness::Sim;
    let h = Harness::new(Kind::Alipay, Duration::from_millis(700)).await;
    let Sim::Alipay(sim) = &h.sim else {
        panic!("alipay")
    };
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    assert!(sim.is_bound("userId", a1));
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": "ali_pay"}),
    )
    .await;
    sim.inject(
        "alipay.trade.royalty.relation.unbind",
        alipay_sim::Fault::TimeoutAfterApply,
    );
    let remove = h.post(
        "/unipay/allocation/receiver/remove",
        json!({"receiverNo": "r1"}),
    );
    let join = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        h.post(
            "/unipay/allocation/group/bind",
            json!({"groupNo": "g", "receivers": [{"receiverNo": "r1", "rate": 1000}]}),
        )
        .await
    };
    let (removed, joined) = tokio::join!(remove, join);
    assert_eq!(removed["data"]["code"], 1, "unclear: {removed}");
    // the merchant repeats the remove after its unclear answer
    let again = h
        .post(
            "/unipay/allocation/receiver/remove",
            json!({"receiverNo": "r1"}),
        )
        .await;
    let group = h.app.store.group("g").await.ok().flatten();
    let listed = group
        .as_ref()
        .is_some_and(|(g, _)| g.members.iter().any(|m| m.receiver_no == "r1"));
    assert!(
        !listed || sim.is_bound("userId", a1),
        "the group lists r1, unbound at the channel: join {joined}, remove {again}, {group:?}"
    );
    assert!(
        !sim.is_bound("userId", a1),
        "the remove went through: {again}"
    );
    assert_eq!(again["data"]["code"], 0, "{again}");
    // two adds of one number with different accounts: one binds, the other never does
    let add = |account: &str| {
        h.post(
            "/unipay/allocation/receiver/add",
            json!({"receiverNo": "r9", "channel": "ali_pay", "receiverType": t1,
                "receiverAccount": account, "receiverName": "张三", "relationType": "PARTNER"}),
        )
    };
    let a2 = "2088000000000022";
    let (x, y) = tokio::join!(add(a2), add(a1));
    let accepted = [&x, &y].iter().filter(|e| e["data"]["code"] == 0).count();
    assert_eq!(accepted, 1, "{x} {y}");
    assert_eq!(
        usize::from(sim.is_bound("userId", a2)) + usize::from(sim.is_bound("userId", a1)),
        1,
        "only the stored one is bound: {x} {y}"
    );
}
