//! Allocation end to end on Alipay: real lambda_http requests through the api handler,
//! DynamoDB on the emulator, Alipay on its simulator.

mod common;
use alipay_sim::{Fault, Outcome as SimOutcome};
use common::harness::Harness;
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
const SYNC: &str = "/unipay/sync/allocation";
const FINISH: &str = "/unipay/allocation/finish";
const SETTLE: &str = "alipay.trade.order.settle";

async fn harness() -> Harness {
    Harness::alipay(Duration::from_secs(5)).await
}

fn settles_of(h: &Harness, request_no: &str) -> usize {
    h.sim
        .calls()
        .iter()
        .filter(|c| c.method == SETTLE && c.out_request_no.as_deref() == Some(request_no))
        .count()
}

fn status_of(data: &Value) -> (String, String) {
    (
        data["status"].as_str().unwrap_or_default().to_owned(),
        data["result"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Two bound receivers (userId and loginName) and a paid order of 10000 fen.
async fn setup(h: &Harness, order_no: &str) -> String {
    h.receiver("r1", "ali_user_id", "2088000000000011").await;
    h.receiver("r2", "ali_login_name", "shop@example.com").await;
    h.paid(order_no, 10000).await
}

#[tokio::test]
async fn explicit_receivers_settle_sync_and_finish() {
    let h = harness().await;
    let trade = setup(&h, "P1").await;
    assert!(h.sim.is_bound("userId", "2088000000000011"));
    assert!(h.sim.is_bound("loginName", "shop@example.com"));
    let data = h
        .ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "description": "分账",
            "receivers": [{"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 1500}]}))
        .await;
    assert_eq!(data["status"], "allocation_processing");
    assert_eq!(data["bizAllocationNo"], "A1");
    let no = data["allocationNo"].as_str().unwrap_or_default().to_owned();
    assert!(no.starts_with("TA") && no.len() <= 32, "{no}");

    // the split reached Alipay once, with trans_in_type from the receiver type, in yuan
    assert_eq!(settles_of(&h, &no), 1);
    let call = h
        .sim
        .calls()
        .into_iter()
        .find(|c| c.method == SETTLE)
        .map(|c| c.biz_content);
    let rows = call
        .as_ref()
        .map(|b| b["royalty_parameters"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(rows[0]["trans_in_type"], "userId");
    assert_eq!(rows[0]["amount"], "60.00");
    assert_eq!(rows[1]["trans_in_type"], "loginName");
    assert_eq!(rows[1]["amount"], "15.00");
    assert_eq!(
        call.map(|b| b["royalty_mode"].clone()),
        Some(json!("async"))
    );

    // still pending at Alipay: sync changes nothing
    let synced = h.ok(SYNC, json!({"allocationNo": no})).await;
    assert_eq!(
        status_of(&synced),
        ("allocation_processing".into(), "all_pending".into())
    );

    // Alipay settles; the sync (by bizAllocationNo) ends the order
    let done = h.sim.complete(&trade, &no, &[]).await;
    assert!(done.is_ok(), "{done:?}");
    let synced = h.ok(SYNC, json!({"bizAllocNo": "A1"})).await;
    assert_eq!(
        status_of(&synced),
        ("allocation_end".into(), "all_success".into())
    );

    let q = h.query(&no).await;
    assert_eq!(q["amount"], 7500);
    assert_eq!(q["outOrderNo"], trade);
    assert!(q["outAllocationNo"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(q["details"][0]["receiverAccount"], "2088****0011");
    assert_eq!(q["details"][0]["rate"], 6000);
    assert_eq!(q["details"][0]["result"], "success");
    assert!(q["details"][0]["finishTime"].as_i64().is_some());

    // finish releases the remainder under allocationNo + "F"
    assert_eq!(h.sim.unsettled_fen(&trade), Some(2500));
    let f = h.ok(FINISH, json!({"allocationNo": no})).await;
    assert_eq!(f["status"], "finish");
    assert_eq!(settles_of(&h, &format!("{no}F")), 1);
    // Alipay releases the frozen rest once it has processed the (async) finish
    assert!(h.sim.complete(&trade, &format!("{no}F"), &[]).await.is_ok());
    assert_eq!(h.sim.unsettled_fen(&trade), Some(0));
    let q = h.query(&no).await;
    assert!(q["finishTime"].as_i64().is_some());
    // finishing again is answered from the order, without a second call
    assert_eq!(
        h.ok(FINISH, json!({"bizAllocationNo": "A1"})).await["status"],
        "finish"
    );
    assert_eq!(settles_of(&h, &format!("{no}F")), 1);
}

#[tokio::test]
async fn mixed_and_all_failed_outcomes() {
    let h = harness().await;
    let trade = setup(&h, "P1").await;
    let trade2 = h.paid("P2", 10000).await;
    let body = |a: &str, o: &str| {
        json!({"bizAllocationNo": a, "orderNo": o,
        "receivers": [{"receiverNo": "r1", "amount": 100}, {"receiverNo": "r2", "amount": 200}]})
    };
    let one = h.ok(START, body("A1", "P1")).await["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let two = h.ok(START, body("A2", "P2")).await["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let fail = || SimOutcome::Fail {
        code: "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH".into(),
        desc: "分账余额不足".into(),
    };
    assert!(
        h.sim
            .complete(&trade, &one, &[("shop@example.com".into(), fail())])
            .await
            .is_ok()
    );
    assert!(
        h.sim
            .complete(
                &trade2,
                &two,
                &[
                    ("shop@example.com".into(), fail()),
                    ("2088000000000011".into(), fail())
                ]
            )
            .await
            .is_ok()
    );
    let s1 = h.ok(SYNC, json!({"allocationNo": one})).await;
    assert_eq!(
        status_of(&s1),
        ("allocation_end".into(), "part_success".into())
    );
    let s2 = h.ok(SYNC, json!({"allocationNo": two})).await;
    assert_eq!(
        status_of(&s2),
        ("allocation_end".into(), "all_failed".into())
    );
    let q = h.query(&one).await;
    let failed = q["details"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["receiverNo"] == "r2").cloned());
    assert_eq!(
        failed.as_ref().map(|d| d["errorCode"].clone()),
        Some(json!("TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH"))
    );
    assert_eq!(
        failed.map(|d| d["errorMsg"].clone()),
        Some(json!("分账余额不足"))
    );
}

#[tokio::test]
async fn groups_default_group_and_rounding() {
    let h = harness().await;
    let trade = setup(&h, "P1").await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g1", "name": "门店", "channel": "ali_pay"}),
    )
    .await;
    let bound = h
        .ok(
            "/unipay/allocation/group/bind",
            json!({"groupNo": "g1",
            "receivers": [{"receiverNo": "r1", "rate": 3333}, {"receiverNo": "r2", "rate": 3333}]}),
        )
        .await;
    assert_eq!(bound["totalRate"], 6666);
    let over = h
        .refused(
            "/unipay/allocation/group/bind",
            json!({"groupNo": "g1", "receivers": [{"receiverNo": "r1", "rate": 6668}]}),
        )
        .await;
    assert!(over.contains("10001"), "{over}");

    // by groupNo: floor(999 × 3333 / 10000) = 332 each, the rest stays with the merchant
    let trade2 = h.pay_notice("P2", 999, "ali_pay", "success", true).await;
    let no = h
        .ok(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P2", "groupNo": "g1"}),
        )
        .await;
    let q = h
        .query(no["allocationNo"].as_str().unwrap_or_default())
        .await;
    let amounts: Vec<i64> = q["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["amount"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(amounts, vec![332, 332]);
    assert_eq!(q["amount"], 664);
    assert_eq!(q["details"][0]["rate"], 3333);
    assert_eq!(h.sim.unsettled_fen(&trade2), Some(999 - 664));

    // no default group yet
    let msg = h
        .refused(START, json!({"bizAllocationNo": "A1", "bizOrderNo": "BP1"}))
        .await;
    assert!(msg.contains("未配置默认分账组"), "{msg}");
    h.ok(
        "/unipay/allocation/group/setDefault",
        json!({"groupNo": "g1"}),
    )
    .await;
    let groups = h
        .ok(
            "/unipay/allocation/group/query",
            json!({"channel": "ali_pay"}),
        )
        .await;
    assert_eq!(groups["groups"][0]["defaultGroup"], true);
    assert_eq!(
        groups["groups"][0]["receivers"][0]["receiverAccount"],
        "2088****0011"
    );
    // the default group, found through bizOrderNo
    let d = h
        .ok(START, json!({"bizAllocationNo": "A1", "bizOrderNo": "BP1"}))
        .await;
    let q = h
        .query(d["allocationNo"].as_str().unwrap_or_default())
        .await;
    assert_eq!(q["amount"], 6666);
    assert_eq!(h.sim.unsettled_fen(&trade), Some(10000 - 6666));

    // a receiver in a group cannot be removed; a default group cannot be deleted
    let msg = h
        .refused(
            "/unipay/allocation/receiver/remove",
            json!({"receiverNo": "r1"}),
        )
        .await;
    assert!(msg.contains("已被分账组使用"), "{msg}");
    let msg = h
        .refused("/unipay/allocation/group/delete", json!({"groupNo": "g1"}))
        .await;
    assert!(msg.contains("默认分账组不可删除"), "{msg}");
    h.ok(
        "/unipay/allocation/group/clearDefault",
        json!({"groupNo": "g1"}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/unbind",
        json!({"groupNo": "g1", "receiverNos": ["r1"]}),
    )
    .await;
    h.ok(
        "/unipay/allocation/receiver/remove",
        json!({"receiverNo": "r1"}),
    )
    .await;
    assert!(!h.sim.is_bound("userId", "2088000000000011"));
    h.ok("/unipay/allocation/group/delete", json!({"groupNo": "g1"}))
        .await;
    h.ok(
        "/unipay/allocation/receiver/remove",
        json!({"receiverNo": "r2"}),
    )
    .await;
    let left = h
        .ok(
            "/unipay/query/allocationReceiver",
            json!({"channel": "ali_pay"}),
        )
        .await;
    assert_eq!(left["receivers"], json!([]));
}

#[tokio::test]
async fn all_zero_is_ignored_without_a_channel_call() {
    let h = harness().await;
    h.receiver("r1", "ali_user_id", "2088000000000011").await;
    h.pay_notice("P1", 1, "ali_pay", "success", true).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": "ali_pay"}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/bind",
        json!({"groupNo": "g", "receivers": [{"receiverNo": "r1", "rate": 5000}]}),
    )
    .await;
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "groupNo": "g"}),
        )
        .await;
    assert_eq!(d["status"], "ignore");
    assert!(h.sim.calls().iter().all(|c| c.method != SETTLE));
    let q = h
        .query(d["allocationNo"].as_str().unwrap_or_default())
        .await;
    assert_eq!(q["details"][0]["result"], "ignore");
    // the pay order is used up all the same
    let msg = h
        .refused(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P1", "groupNo": "g"}),
        )
        .await;
    assert!(msg.contains("该订单已分账完成"), "{msg}");
}

#[tokio::test]
async fn fifty_identical_starts_make_one_order_and_one_settle() {
    let h = std::sync::Arc::new(harness().await);
    let trade = setup(&h, "P1").await;
    let body = json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let h = h.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            h.ok(START, body).await["allocationNo"].clone()
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        numbers.insert(t.await.unwrap_or(Value::Null).to_string());
    }
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    assert_eq!(h.sim.settle_count(&trade), 1);
    assert_eq!(
        h.sim.calls().iter().filter(|c| c.method == SETTLE).count(),
        1
    );
}

#[tokio::test]
async fn fifty_different_starts_on_one_pay_order_one_wins() {
    let h = std::sync::Arc::new(harness().await);
    let trade = setup(&h, "P1").await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        let h = h.clone();
        let body = json!({"bizAllocationNo": format!("A{i}"), "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]});
        tasks.push(tokio::spawn(async move { h.post(START, body).await }));
    }
    let mut accepted = 0;
    for t in tasks {
        let env = t.await.unwrap_or(Value::Null);
        match env["data"]["code"].as_i64() {
            Some(0) => accepted += 1,
            Some(1) => assert!(
                env["data"]["msg"]
                    .as_str()
                    .unwrap_or("")
                    .contains("该订单已分账完成"),
                "{env}"
            ),
            _ => panic!("{env}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(h.sim.settle_count(&trade), 1);
}

#[tokio::test]
async fn timeout_then_sync_converges_with_the_same_request_number() {
    let h = Harness::alipay(Duration::from_millis(700)).await;
    let trade = setup(&h, "P1").await;
    // the request never lands: the order stays processing
    h.sim.inject(SETTLE, Fault::Timeout);
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    assert_eq!(d["status"], "allocation_processing");
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    assert_eq!(h.sim.settle_count(&trade), 0);
    // the sync finds nothing at Alipay and sends the same split again
    let s = h.ok(SYNC, json!({"allocationNo": no})).await;
    assert_eq!(s["status"], "allocation_processing");
    assert_eq!(settles_of(&h, &no), 2, "the same request number both times");
    assert_eq!(h.sim.settle_count(&trade), 1);
    assert!(h.sim.complete(&trade, &no, &[]).await.is_ok());
    assert_eq!(
        status_of(&h.ok(SYNC, json!({"allocationNo": no})).await),
        ("allocation_end".into(), "all_success".into())
    );
}

#[tokio::test]
async fn a_lost_answer_converges_without_a_second_split() {
    let h = Harness::alipay(Duration::from_millis(700)).await;
    let trade = setup(&h, "P1").await;
    h.sim.inject(SETTLE, Fault::TimeoutAfterApply);
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    assert_eq!(d["status"], "allocation_processing");
    assert!(h.sim.complete(&trade, &no, &[]).await.is_ok());
    assert_eq!(
        status_of(&h.ok(SYNC, json!({"allocationNo": no})).await).0,
        "allocation_end"
    );
    assert_eq!(h.sim.settle_count(&trade), 1);
    assert_eq!(settles_of(&h, &no), 1);
}

#[tokio::test]
async fn unverifiable_answers_are_never_acted_on() {
    let h = harness().await;
    setup(&h, "P1").await;
    h.paid("P2", 10000).await;
    h.paid("P3", 10000).await;
    let body = |a: &str, o: &str| json!({"bizAllocationNo": a, "orderNo": o, "receivers": [{"receiverNo": "r1", "amount": 100}]});
    // a refusal whose signature fails is not believed: no allocation_failed
    h.sim.inject(SETTLE, Fault::BadSignature);
    h.sim.inject(SETTLE, Fault::Unsigned20000);
    for (a, o) in [("A1", "P1"), ("A2", "P2")] {
        let d = h.ok(START, body(a, o)).await;
        assert_eq!(d["status"], "allocation_processing");
        let q = h
            .query(d["allocationNo"].as_str().unwrap_or_default())
            .await;
        assert!(
            q.get("outAllocationNo").is_none(),
            "nothing read from an unverified answer: {q}"
        );
    }
    // whitespace inside the signed node is fine: the client verifies the exact bytes
    h.sim.inject(SETTLE, Fault::WhitespaceInNode);
    let d = h.ok(START, body("A3", "P3")).await;
    let q = h
        .query(d["allocationNo"].as_str().unwrap_or_default())
        .await;
    assert!(
        q["outAllocationNo"].as_str().is_some_and(|s| !s.is_empty()),
        "{q}"
    );
}

#[tokio::test]
async fn a_definite_refusal_fails_the_order_and_frees_the_pay_order() {
    let h = harness().await;
    setup(&h, "P1").await;
    h.sim.inject(
        SETTLE,
        Fault::Business {
            sub_code: "ACQ.TRADE_NOT_EXIST".into(),
            sub_msg: "交易不存在".into(),
        },
    );
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    assert_eq!(d["status"], "allocation_failed");
    let q = h
        .query(d["allocationNo"].as_str().unwrap_or_default())
        .await;
    assert_eq!(
        (q["errorCode"].clone(), q["errorMsg"].clone()),
        (json!("ACQ.TRADE_NOT_EXIST"), json!("交易不存在"))
    );
    assert_eq!(q["result"], "all_failed");
    let pay = h
        .ok("/unipay/query/payOrder", json!({"orderNo": "P1"}))
        .await;
    assert_eq!(pay["allocStatus"], "waiting");
    // a new bizAllocationNo may start again; the failed one answers as it is
    let again = h.ok(START, json!({"bizAllocationNo": "A2", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    assert_eq!(again["status"], "allocation_processing");
    let same = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    assert_eq!(same["status"], "allocation_failed");
}

#[tokio::test]
async fn every_start_refusal_has_its_message_and_writes_nothing() {
    let h = harness().await;
    setup(&h, "P1").await;
    h.pay_notice("P2", 10000, "ali_pay", "progress", true).await;
    h.pay_notice("P3", 10000, "ali_pay", "success", false).await;
    h.pay_notice("P4", 10000, "union_pay", "success", true)
        .await;
    h.paid("P5", 10000).await;
    h.ok("/unipay/allocation/receiver/add", json!({"receiverNo": "w1", "channel": "ali_pay", "receiverType": "ali_open_id", "receiverAccount": "o1", "relationType": "STORE"})).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "empty", "name": "n", "channel": "ali_pay"}),
    )
    .await;
    let done = h.ok(START, json!({"bizAllocationNo": "DONE", "orderNo": "P5", "receivers": [{"receiverNo": "r1", "amount": 1}]})).await;
    assert_eq!(done["status"], "allocation_processing");

    let r = |no: &str, amount: i64| json!([{"receiverNo": no, "amount": amount}]);
    let cases = [
        (
            json!({"bizAllocationNo": "X", "orderNo": "NOPE", "receivers": r("r1", 1)}),
            "支付订单不存在",
        ),
        (
            json!({"bizAllocationNo": "X", "bizOrderNo": "NOPE", "receivers": r("r1", 1)}),
            "支付订单不存在",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P2", "receivers": r("r1", 1)}),
            "支付订单未支付成功",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P3", "receivers": r("r1", 1)}),
            "该订单不允许分账",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P4", "receivers": r("r1", 1)}),
            "云闪付不支持分账",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P5", "receivers": r("r1", 1)}),
            "该订单已分账完成",
        ),
        (
            json!({"bizAllocationNo": "DONE", "orderNo": "P5", "receivers": r("r1", 2)}),
            "商户分账单号已被使用",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P1", "receivers": r("ghost", 1)}),
            "分账接收方不存在",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 4001}]}),
            "分账金额超过支付金额",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P1", "groupNo": "nogroup"}),
            "分账组不存在",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P1", "groupNo": "empty"}),
            "没有分账接收方",
        ),
        (
            json!({"bizAllocationNo": "X", "orderNo": "P1"}),
            "未配置默认分账组",
        ),
    ];
    let before = h.items().await;
    let calls_before = h.sim.calls().len();
    for (body, expected) in cases {
        let msg = h.refused(START, body.clone()).await;
        assert!(msg.contains(expected), "{body}: `{msg}` lacks `{expected}`");
    }
    assert_eq!(h.items().await, before, "refusals write nothing");
    assert_eq!(h.sim.calls().len(), calls_before, "refusals call nothing");
}

#[tokio::test]
async fn a_receiver_of_another_channel_is_refused() {
    let h = harness().await;
    setup(&h, "P1").await;
    // a WeChat pay order with an Alipay receiver: the channel check names both
    h.pay_notice("PW", 10000, "wechat_pay", "success", true)
        .await;
    let msg = h.refused(START, json!({"bizAllocationNo": "X", "orderNo": "PW", "receivers": [{"receiverNo": "r1", "amount": 1}]})).await;
    // WeChat is not configured in this harness, which is refused first
    assert!(msg.contains("wechat_pay"), "{msg}");
    let msg = h.refused("/unipay/allocation/receiver/add", json!({"receiverNo": "r1", "channel": "ali_pay",
        "receiverType": "ali_user_id", "receiverAccount": "2088000000000012", "relationType": "PARTNER"})).await;
    assert!(msg.contains("已存在"), "{msg}");
}

#[tokio::test]
async fn dynamodb_round_trips_stay_within_budget() {
    let h = harness().await;
    let trade = setup(&h, "P1").await;
    h.trips.take();
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    let start = h.trips.take();
    let no = d["allocationNo"].as_str().unwrap_or_default().to_owned();
    h.query(&no).await;
    let query = h.trips.take();
    h.ok(
        "/unipay/query/allocationOrder",
        json!({"bizAllocationNo": "A1"}),
    )
    .await;
    let query_biz = h.trips.take();
    assert!(h.sim.complete(&trade, &no, &[]).await.is_ok());
    h.ok(SYNC, json!({"bizAllocationNo": "A1"})).await;
    let sync = h.trips.take();
    // the longest start: by bizOrderNo with the default group
    h.paid("P2", 10000).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": "ali_pay"}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/bind",
        json!({"groupNo": "g", "receivers": [{"receiverNo": "r1", "rate": 100}]}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/setDefault",
        json!({"groupNo": "g"}),
    )
    .await;
    h.trips.take();
    h.ok(START, json!({"bizAllocationNo": "A2", "bizOrderNo": "BP2"}))
        .await;
    let start_default = h.trips.take();
    println!(
        "dynamodb round trips: start {start}, start via bizOrderNo + default group {start_default}, query {query} (by bizAllocationNo {query_biz}), sync {sync}"
    );
    assert!(
        start <= 4 && start_default <= 4,
        "start {start} / {start_default}"
    );
    assert!(query <= 2 && query_biz <= 2, "query {query} / {query_biz}");
    assert!(sync <= 3, "sync {sync}");
}
