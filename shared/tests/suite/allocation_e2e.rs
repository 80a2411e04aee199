//! Allocation end to end, on each channel: real lambda_http requests through the api handler,
//! DynamoDB on the emulator, the channel on its simulator. Every scenario runs once per channel
//! (`<scenario>::alipay`, `<scenario>::wechat`).

use crate::common::harness::{Fault, Harness, Kind, Sim};
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
const FINISH: &str = "/unipay/allocation/finish";

use crate::common::on_every_account;
use crate::common::{call, envelope, now, sign};

on_every_account!(
    explicit_receivers_settle_sync_and_finish,
    mixed_and_all_failed_outcomes,
    groups_default_group_and_rounding,
    all_zero_is_ignored_without_a_channel_call,
    fifty_identical_starts_make_one_order_and_one_split,
    fifty_different_starts_on_one_pay_order_one_wins,
    timeout_then_sync_converges_with_the_same_request_number,
    a_lost_answer_converges_without_a_second_split,
    a_refused_query_is_not_taken_for_a_lost_split,
    unverifiable_answers_are_never_acted_on,
    a_definite_refusal_fails_the_order_and_frees_the_pay_order,
    every_start_refusal_has_its_message_and_writes_nothing,
    receivers_of_an_unconfigured_channel_are_refused,
    dynamodb_round_trips_stay_within_budget,
    an_empty_description_is_not_sent_empty,
);

async fn harness(kind: Kind) -> Harness {
    Harness::new(kind, Duration::from_secs(5)).await
}

fn status_of(data: &Value) -> (String, String) {
    (
        data["status"].as_str().unwrap_or_default().to_owned(),
        data["result"].as_str().unwrap_or_default().to_owned(),
    )
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Two bound receivers r1, r2 of the channel and a paid order of 10000 fen.
async fn setup(h: &Harness, order_no: &str) -> String {
    let [(t1, a1), (t2, a2)] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.receiver("r2", t2, a2).await;
    h.paid(order_no, 10000).await
}

fn two(a: i64, b: i64) -> Value {
    json!([{"receiverNo": "r1", "amount": a}, {"receiverNo": "r2", "amount": b}])
}

async fn explicit_receivers_settle_sync_and_finish(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    for (t, a) in h.accounts() {
        assert!(h.bound(t, a), "{a} bound at the channel");
    }
    let data = h
        .ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "description": "分账", "receivers": two(6000, 1500)}))
        .await;
    assert_eq!(data["status"], "allocation_processing");
    assert_eq!(data["bizAllocationNo"], "A1");
    let no = text(&data["allocationNo"]);
    assert!(no.starts_with("TA") && no.len() <= 32, "{no}");
    assert_eq!(h.split_calls(&no), 1);
    if let Sim::Alipay(s) = &h.sim {
        // trans_in_type from the receiver type, yuan strings, async royalty mode
        let call = s
            .calls()
            .into_iter()
            .find(|c| c.method == "alipay.trade.order.settle")
            .map(|c| c.biz_content);
        let rows = call
            .as_ref()
            .map(|b| b["royalty_parameters"].clone())
            .unwrap_or(Value::Null);
        assert_eq!(
            (rows[0]["trans_in_type"].clone(), rows[0]["amount"].clone()),
            (json!("userId"), json!("60.00"))
        );
        assert_eq!(
            (rows[1]["trans_in_type"].clone(), rows[1]["amount"].clone()),
            (json!("loginName"), json!("15.00"))
        );
        assert_eq!(
            call.map(|b| b["royalty_mode"].clone()),
            Some(json!("async"))
        );
    }

    // still pending at the channel: sync changes nothing
    let synced = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(
        status_of(&synced),
        ("allocation_processing".into(), "all_pending".into())
    );
    // the channel settles; the sync (by bizAllocationNo, 2.0.8 spelling) ends the order
    h.settle(&trade, &no, &[]).await;
    let synced = h.sync(json!({"bizAllocNo": "A1"})).await;
    assert_eq!(
        status_of(&synced),
        ("allocation_end".into(), "all_success".into())
    );

    let q = h.query(&no).await;
    assert_eq!(q["amount"], 7500);
    assert_eq!(q["outOrderNo"], trade);
    assert_eq!(q["channel"], h.channel());
    assert!(
        q["outAllocationNo"].as_str().is_some_and(|s| !s.is_empty()),
        "{q}"
    );
    assert_eq!(q["details"][0]["receiverAccount"], h.masked_first());
    assert_eq!(q["details"][0]["rate"], 6000);
    assert_eq!(q["details"][0]["result"], "success");
    // DaxPay's LocalDateTime text, Beijing time (the SDK reads a number as milliseconds)
    assert!(
        q["details"][0]["finishTime"]
            .as_str()
            .is_some_and(is_beijing_date_time),
        "{q}"
    );

    // finish releases the remainder under allocationNo + "F"
    assert_eq!(h.frozen(&trade), Some(2500));
    let f = h.ok(FINISH, json!({"allocationNo": no})).await;
    assert_eq!(f["status"], "finish");
    assert_eq!(h.split_calls(&format!("{no}F")), 1);
    h.settle_finish(&trade, &no).await;
    assert_eq!(h.frozen(&trade), Some(0));
    assert!(
        h.query(&no).await["finishTime"]
            .as_str()
            .is_some_and(is_beijing_date_time)
    );
    // finishing again is refused as DaxPay refuses it, without a second call
    let again = h.refused(FINISH, json!({"bizAllocationNo": "A1"})).await;
    assert!(again.starts_with("分账单状态错误"), "{again}");
    assert_eq!(h.split_calls(&format!("{no}F")), 1);
    // every call went out as the app's account: the provider for its sub-merchant or merchant
    assert!(h.every_call_acted_as_the_account() >= 5);
}

/// `yyyy-MM-dd HH:mm:ss`.
fn is_beijing_date_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

async fn mixed_and_all_failed_outcomes(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    let trade2 = h.paid("P2", 10000).await;
    let [(_, a1), (_, a2)] = h.accounts();
    let one = text(
        &h.ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(100, 200)}),
        )
        .await["allocationNo"],
    );
    let two_no = text(
        &h.ok(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P2", "receivers": two(100, 200)}),
        )
        .await["allocationNo"],
    );
    h.settle(&trade, &one, &[a2]).await;
    h.settle(&trade2, &two_no, &[a1, a2]).await;
    let s1 = h.sync(json!({"allocationNo": one})).await;
    assert_eq!(
        status_of(&s1),
        ("allocation_end".into(), "part_success".into())
    );
    let s2 = h.sync(json!({"allocationNo": two_no})).await;
    assert_eq!(
        status_of(&s2),
        ("allocation_end".into(), "all_failed".into())
    );
    let q = h.query(&one).await;
    let failed = q["details"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["receiverNo"] == "r2").cloned())
        .unwrap_or(Value::Null);
    let (code, msg) = h.failure();
    assert_eq!(
        (
            text(&failed["result"]),
            text(&failed["errorCode"]),
            text(&failed["errorMsg"])
        ),
        ("fail".into(), code.into(), msg.into())
    );
}

async fn groups_default_group_and_rounding(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    let ch = h.channel();
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g1", "name": "门店", "channel": ch}),
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

    // by groupNo: floor(999 × 3333 / 10000) = 332 each; the rest stays with the merchant
    let trade2 = h.pay_notice("P2", 999, ch, "success", true).await;
    let no = h
        .ok(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P2", "groupNo": "g1"}),
        )
        .await;
    let q = h.query(&text(&no["allocationNo"])).await;
    let amounts: Vec<i64> = q["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["amount"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(amounts, vec![332, 332]);
    assert_eq!(
        (q["amount"].clone(), q["details"][0]["rate"].clone()),
        (json!(664), json!(3333))
    );
    assert_eq!(h.frozen(&trade2), Some(999 - 664));

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
        .ok("/unipay/allocation/group/query", json!({"channel": ch}))
        .await;
    assert_eq!(groups["groups"][0]["defaultGroup"], true);
    assert_eq!(
        groups["groups"][0]["receivers"][0]["receiverAccount"],
        h.masked_first()
    );
    // the default group, with the pay order named by bizOrderNo
    let d = h
        .ok(START, json!({"bizAllocationNo": "A1", "bizOrderNo": "BP1"}))
        .await;
    assert_eq!(h.query(&text(&d["allocationNo"])).await["amount"], 6666);
    assert_eq!(h.frozen(&trade), Some(10000 - 6666));

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
    let [(t1, a1), _] = h.accounts();
    assert!(!h.bound(t1, a1), "unbound at the channel");
    h.ok("/unipay/allocation/group/delete", json!({"groupNo": "g1"}))
        .await;
    h.ok(
        "/unipay/allocation/receiver/remove",
        json!({"receiverNo": "r2"}),
    )
    .await;
    let left = h
        .ok("/unipay/query/allocationReceiver", json!({"channel": ch}))
        .await;
    assert_eq!(left["receivers"], json!([]));
}

async fn all_zero_is_ignored_without_a_channel_call(kind: Kind) {
    let h = harness(kind).await;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.pay_notice("P1", 1, h.channel(), "success", true).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": h.channel()}),
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
    assert_eq!(h.all_split_calls(), 0);
    assert_eq!(
        h.query(&text(&d["allocationNo"])).await["details"][0]["result"],
        "ignore"
    );
    let msg = h
        .refused(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P1", "groupNo": "g"}),
        )
        .await;
    assert!(msg.contains("该订单已分账完成"), "{msg}");
}

async fn fifty_identical_starts_make_one_order_and_one_split(kind: Kind) {
    let h = std::sync::Arc::new(harness(kind).await);
    let trade = setup(&h, "P1").await;
    let body = json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]});
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (h, body) = (h.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            h.ok(START, body).await["allocationNo"].clone()
        }));
    }
    let mut numbers = std::collections::HashSet::new();
    for t in tasks {
        numbers.insert(t.await.unwrap_or(Value::Null).to_string());
    }
    assert_eq!(numbers.len(), 1, "{numbers:?}");
    assert_eq!(h.executed(&trade), 1);
    assert_eq!(h.all_split_calls(), 1);
}

async fn fifty_different_starts_on_one_pay_order_one_wins(kind: Kind) {
    let h = std::sync::Arc::new(harness(kind).await);
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
            // a start the channel refused for good ends allocation_failed and frees the pay
            // order (as designed); it is not the winner, but say why it happened
            Some(0) if env["data"]["status"] == "allocation_failed" => {
                let q = h.query(&text(&env["data"]["allocationNo"])).await;
                eprintln!(
                    "a start was refused by the channel: {} {}",
                    q["errorCode"], q["errorMsg"]
                );
            }
            Some(0) => accepted += 1,
            Some(1) => assert!(
                text(&env["data"]["msg"]).contains("该订单已分账完成"),
                "{env}"
            ),
            _ => panic!("{env}"),
        }
    }
    assert_eq!(accepted, 1);
    assert_eq!(h.executed(&trade), 1);
}

async fn timeout_then_sync_converges_with_the_same_request_number(kind: Kind) {
    let h = Harness::new(kind, Duration::from_millis(700)).await;
    let trade = setup(&h, "P1").await;
    h.inject(Fault::Timeout);
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    assert_eq!(d["status"], "allocation_processing");
    let no = text(&d["allocationNo"]);
    assert_eq!(h.executed(&trade), 0);
    // the channel does not know the split: the sync sends it again, same number
    assert_eq!(
        h.sync(json!({"allocationNo": no})).await["status"],
        "allocation_processing"
    );
    assert_eq!(h.split_calls(&no), 2, "the same request number both times");
    assert_eq!(h.executed(&trade), 1);
    h.settle(&trade, &no, &[]).await;
    assert_eq!(
        status_of(&h.sync(json!({"allocationNo": no})).await),
        ("allocation_end".into(), "all_success".into())
    );
}

async fn a_lost_answer_converges_without_a_second_split(kind: Kind) {
    let h = Harness::new(kind, Duration::from_millis(700)).await;
    let trade = setup(&h, "P1").await;
    h.inject(Fault::TimeoutAfterApply);
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    let no = text(&d["allocationNo"]);
    assert_eq!(d["status"], "allocation_processing");
    h.settle(&trade, &no, &[]).await;
    assert_eq!(
        h.sync(json!({"allocationNo": no})).await["status"],
        "allocation_end"
    );
    assert_eq!((h.executed(&trade), h.split_calls(&no)), (1, 1));
}

async fn a_refused_query_is_not_taken_for_a_lost_split(kind: Kind) {
    let h = Harness::new(kind, Duration::from_millis(700)).await;
    let trade = setup(&h, "P1").await;
    h.inject(Fault::TimeoutAfterApply);
    let d = h.ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    let no = text(&d["allocationNo"]);
    // only "no such split" justifies sending it again; any other refusal leaves it unknown
    h.refuse_next_query();
    assert_eq!(
        h.sync(json!({"allocationNo": no})).await["status"],
        "allocation_processing"
    );
    assert_eq!(h.split_calls(&no), 1, "not sent again");
    h.settle(&trade, &no, &[]).await;
    assert_eq!(
        h.sync(json!({"allocationNo": no})).await["status"],
        "allocation_end"
    );
    assert_eq!((h.executed(&trade), h.split_calls(&no)), (1, 1));
}

async fn unverifiable_answers_are_never_acted_on(kind: Kind) {
    let h = harness(kind).await;
    setup(&h, "P1").await;
    h.paid("P2", 10000).await;
    let body = |a: &str, o: &str| json!({"bizAllocationNo": a, "orderNo": o, "receivers": [{"receiverNo": "r1", "amount": 100}]});
    for (fault, (a, o)) in [
        (Fault::BadSignature, ("A1", "P1")),
        (Fault::Busy, ("A2", "P2")),
    ] {
        h.inject(fault);
        let d = h.ok(START, body(a, o)).await;
        assert_eq!(d["status"], "allocation_processing", "{fault:?}");
        let q = h.query(&text(&d["allocationNo"])).await;
        assert!(
            q.get("outAllocationNo").is_none(),
            "nothing read from an unverified answer: {q}"
        );
    }
}

async fn a_definite_refusal_fails_the_order_and_frees_the_pay_order(kind: Kind) {
    let h = harness(kind).await;
    setup(&h, "P1").await;
    let (code, msg) = h.inject(Fault::Refusal);
    let body = |a: &str| json!({"bizAllocationNo": a, "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]});
    let d = h.ok(START, body("A1")).await;
    assert_eq!(d["status"], "allocation_failed");
    let q = h.query(&text(&d["allocationNo"])).await;
    assert_eq!(
        (
            text(&q["errorCode"]),
            text(&q["errorMsg"]),
            text(&q["result"])
        ),
        (code.into(), msg.into(), "all_failed".into())
    );
    assert_eq!(
        h.ok("/unipay/query/payOrder", json!({"orderNo": "P1"}))
            .await["allocStatus"],
        "waiting"
    );
    // a new bizAllocationNo may start again; the failed one answers as it is
    assert_eq!(
        h.ok(START, body("A2")).await["status"],
        "allocation_processing"
    );
    assert_eq!(h.ok(START, body("A1")).await["status"], "allocation_failed");
}

async fn every_start_refusal_has_its_message_and_writes_nothing(kind: Kind) {
    let h = harness(kind).await;
    let ch = h.channel();
    setup(&h, "P1").await;
    h.pay_notice("P2", 10000, ch, "progress", true).await;
    h.pay_notice("P3", 10000, ch, "success", false).await;
    h.pay_notice("P4", 10000, "union_pay", "success", true)
        .await;
    h.paid("P5", 10000).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "empty", "name": "n", "channel": ch}),
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
            json!({"bizAllocationNo": "X", "orderNo": "P1", "receivers": two(6000, 4001)}),
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
    let calls_before = h.call_count();
    for (body, expected) in cases {
        let msg = h.refused(START, body.clone()).await;
        assert!(msg.contains(expected), "{body}: `{msg}` lacks `{expected}`");
    }
    assert_eq!(h.items().await, before, "refusals write nothing");
    assert_eq!(h.call_count(), calls_before, "refusals call nothing");
}

async fn receivers_of_an_unconfigured_channel_are_refused(kind: Kind) {
    let h = harness(kind).await;
    setup(&h, "P1").await;
    let (other, other_type, account) = match kind {
        Kind::Alipay => ("wechat_pay", "wx_personal", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        Kind::Wechat => ("ali_pay", "ali_user_id", "2088000000000012"),
    };
    let msg = h
        .refused(
            "/unipay/allocation/receiver/add",
            json!({"receiverNo": "x", "channel": other,
        "receiverType": other_type, "receiverAccount": account, "relationType": "PARTNER"}),
        )
        .await;
    assert!(msg.contains(other) && msg.contains("未配置"), "{msg}");
    h.pay_notice("PX", 10000, other, "success", true).await;
    let msg = h.refused(START, json!({"bizAllocationNo": "X", "orderNo": "PX", "receivers": [{"receiverNo": "r1", "amount": 1}]})).await;
    assert!(msg.contains(other), "{msg}");
    let [(t1, a1), _] = h.accounts();
    let msg = h
        .refused(
            "/unipay/allocation/receiver/add",
            json!({"receiverNo": "r1", "channel": h.channel(),
        "receiverType": t1, "receiverAccount": a1, "receiverName": "n", "relationType": "PARTNER"}),
        )
        .await;
    assert!(msg.contains("已存在"), "{msg}");
}

async fn dynamodb_round_trips_stay_within_budget(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    h.trips.take();
    // a start with a nonce: read, create (claiming the nonce with the bizAllocationNo), outcome
    let body = sign(
        json!({"bizAllocationNo": "A1", "orderNo": "P1", "reqTime": now(),
        "nonceStr": "round-trips-1", "receivers": [{"receiverNo": "r1", "amount": 100}]}),
    )
    .to_string();
    let env = envelope(&call(&h.app, START, &body).await);
    assert_eq!(env["data"]["code"], 0, "{env}");
    let start = h.trips.take();
    let no = text(&env["data"]["allocationNo"]);
    // the same request again is a replay, refused as one, and writes nothing
    let items = h.items().await;
    let replay = envelope(&call(&h.app, START, &body).await);
    assert_eq!(replay["code"], 10006, "{replay}");
    assert!(
        replay["msg"]
            .as_str()
            .unwrap_or_default()
            .contains("nonceStr"),
        "{replay}"
    );
    assert_eq!(h.items().await, items);
    h.trips.take();
    h.query(&no).await;
    let query = h.trips.take();
    h.ok(
        "/unipay/query/allocationOrder",
        json!({"bizAllocationNo": "A1"}),
    )
    .await;
    let query_biz = h.trips.take();
    h.settle(&trade, &no, &[]).await;
    h.ok("/unipay/sync/allocation", json!({"allocationNo": no}))
        .await;
    let sync = h.trips.take();
    // a start without a nonce
    h.paid("P3", 10000).await;
    h.trips.take();
    h.ok(START, json!({"bizAllocationNo": "A3", "orderNo": "P3", "receivers": [{"receiverNo": "r1", "amount": 100}]}))
        .await;
    let start_plain = h.trips.take();
    // the longest start: the pay order by bizOrderNo (a pointer, then the order), with the
    // default group (a pointer, then the group)
    h.paid("P2", 10000).await;
    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": h.channel()}),
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
        "{kind:?} dynamodb round trips: start {start} (with a nonce), {start_plain} (without), via bizOrderNo + default group {start_default}, query {query} (by bizAllocationNo {query_biz}), sync {sync}"
    );
    assert!(
        start <= 3 && start_plain <= 3,
        "start {start} / {start_plain}"
    );
    assert!(start_default <= 4, "start via two pointers {start_default}");
    assert_eq!(query, 1, "query");
    assert!(query_biz <= 2, "query by bizAllocationNo {query_biz}");
    assert!(sync <= 3, "sync {sync}");
}

/// Alipay only: whitespace inside the signed node is fine, the client verifies exact bytes.
#[tokio::test]
async fn alipay_whitespace_inside_the_signed_node_verifies() {
    let h = harness(Kind::Alipay).await;
    setup(&h, "P1").await;
    let Sim::Alipay(s) = &h.sim else {
        panic!("alipay harness")
    };
    s.inject(
        "alipay.trade.order.settle",
        alipay_sim::Fault::WhitespaceInNode,
    );
    let d = h.ok(START, json!({"bizAllocationNo": "A3", "orderNo": "P1", "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
    let q = h.query(&text(&d["allocationNo"])).await;
    assert!(
        q["outAllocationNo"].as_str().is_some_and(|s| !s.is_empty()),
        "{q}"
    );
}

/// WeChat only: stale, probe (SIGNTEST) and foreign-serial answers are not acted on.
#[tokio::test]
async fn wechat_stale_probe_and_foreign_answers_are_not_acted_on() {
    let h = harness(Kind::Wechat).await;
    setup(&h, "P1").await;
    h.paid("P2", 10000).await;
    h.paid("P3", 10000).await;
    let faults = [
        wechat_sim::Fault::StaleTimestamp,
        wechat_sim::Fault::SignTest,
        wechat_sim::Fault::WrongSerial,
    ];
    for (i, fault) in faults.into_iter().enumerate() {
        if let Sim::Wechat(s) = &h.sim {
            s.inject(wechat_sim::Op::CreateOrder, fault);
        }
        let d = h.ok(START, json!({"bizAllocationNo": format!("A{i}"), "orderNo": format!("P{}", i + 1), "receivers": [{"receiverNo": "r1", "amount": 100}]})).await;
        let q = h.query(&text(&d["allocationNo"])).await;
        assert_eq!(q["status"], "allocation_processing");
        assert!(q.get("outAllocationNo").is_none(), "{q}");
    }
}

/// WeChat only: a channel's refusal that quotes a receiver's account is stored, answered,
/// notified and logged with the account masked.
#[tokio::test]
async fn wechat_refusal_quoting_an_account_is_masked_everywhere() {
    let mut h = harness(Kind::Wechat).await;
    let sink = crate::common::harness::Sink::start(0).await;
    h.with_queue(crate::common::harness::fast_jobs(), 3).await;
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    // the same account under a second receiverNo: WeChat refuses the split, naming it
    h.receiver("r3", t1, a1).await;
    h.paid("P1", 10000).await;
    let d = h
        .ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "notifyUrl": sink.url,
            "receivers": [{"receiverNo": "r1", "amount": 100}, {"receiverNo": "r3", "amount": 200}]}))
        .await;
    assert_eq!(d["status"], "allocation_failed");
    let no = text(&d["allocationNo"]);
    let q = h.query(&no).await;
    let msg = text(&q["errorMsg"]);
    assert!(msg.contains(h.masked_first()), "{msg}");
    assert_eq!(q["details"][0]["errorMsg"], msg.as_str());
    h.run_until(Duration::from_secs(30), || async {
        !sink.bodies().is_empty()
    })
    .await;
    for text in [q.to_string(), sink.bodies()[0].to_string()] {
        assert!(!text.contains(a1), "the full account leaked: {text}");
    }
}

/// An empty description is valid (it is optional): the channel gets its default text, not an
/// empty one (WeChat refuses that).
async fn an_empty_description_is_not_sent_empty(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "description": "",
            "receivers": [{"receiverNo": "r1", "amount": 100}]}),
        )
        .await;
    assert_eq!(d["status"], "allocation_processing", "{d}");
    assert_eq!(h.executed(&trade), 1);
}
