//! The money after the split (SPEC §4.9–§4.11), end to end on each channel: refunds fed by
//! DaxPay's refund notice, what is still splittable (ours and the channel's), and the start's
//! refusal of more than is left.

use crate::common::harness::{Fault, Harness, Kind, Sim, Sink, fast_jobs};
use crate::common::{body_text, call, now, sign};
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
const ALLOCATABLE: &str = "/unipay/query/allocatable";
const RETURN: &str = "/unipay/allocation/return";
const RETURNS: &str = "/unipay/query/allocationReturn";
/// The WeChat merchant receiver of the harness (r2).
const MERCHANT: &str = "1900000110";

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn wechat(h: &Harness) -> &wechat_sim::WechatSim {
    match &h.sim {
        Sim::Wechat(s) => s,
        Sim::Alipay(_) => panic!("a WeChat harness"),
    }
}

/// A split order: r1 got 1000, r2 6000 (on WeChat r2 is the merchant receiver).
async fn split(h: &Harness) -> (String, String) {
    let trade = setup(h, "P1").await;
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(1000, 6000)}),
        )
        .await;
    let no = text(&d["allocationNo"]);
    h.settle(&trade, &no, &[]).await;
    let q = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(q["status"], json!("allocation_end"), "{q}");
    (no, trade)
}

fn ret(biz: &str, allocation_no: &str, amount: i64) -> Value {
    json!({"bizReturnNo": biz, "allocationNo": allocation_no, "receiverNo": "r2",
           "amount": amount, "description": "客户退款"})
}

/// The r2 line of an order's returns query.
fn r2(all: &Value) -> Value {
    all["receivers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["receiverNo"] == json!("r2"))
        .cloned()
        .unwrap_or(Value::Null)
}

async fn query_return(h: &Harness, return_no: &str) -> Value {
    h.ok(RETURNS, json!({"returnNo": return_no})).await
}

async fn sync_return(h: &Harness, allocation_no: &str, return_no: &str) {
    let job = shared::infra::Job::SyncReturn {
        allocation_no: allocation_no.to_owned(),
        return_no: return_no.to_owned(),
    };
    let r = shared::jobs::worker::run(&h.app, &job).await;
    assert!(r.is_ok(), "{:?}", r.err().map(|e| e.to_string()));
}

use crate::common::on_every_account;

on_every_account!(
    a_refund_before_the_start_limits_the_split,
    refund_notices_are_idempotent_and_checked,
    the_channels_figure_refuses_what_our_records_miss,
    a_settling_channel_is_no_failure,
    a_split_met_with_still_settling_is_not_failed,
    returns_are_checked_against_what_the_receiver_got,
    racing_returns_for_the_last_money_one_is_accepted,
    an_unsplit_pay_order_is_told_before_its_freeze_deadline,
);

#[tokio::test]
async fn a_wechat_return_on_a_short_balance_converges_under_the_same_number() {
    let h = harness(Kind::Wechat).await;
    let (allocation_no, _) = split(&h).await;
    let sim = wechat(&h);
    sim.set_balance(MERCHANT, Some(100));
    let r = h.ok(RETURN, ret("BR1", &allocation_no, 2500)).await;
    assert_eq!(r["status"], json!("return_processing"), "{r}");
    let no = text(&r["returnNo"]);
    // still short: the scheduled sync asks again, and it stays processing
    sync_return(&h, &allocation_no, &no).await;
    assert_eq!(
        query_return(&h, &no).await["status"],
        json!("return_processing")
    );
    sim.set_balance(MERCHANT, None);
    sync_return(&h, &allocation_no, &no).await;
    let done = query_return(&h, &no).await;
    assert_eq!(done["status"], json!("return_success"), "{done}");
    assert!(done["finishTime"].as_i64().is_some(), "{done}");
    let at_channel = sim.return_order(&no).map(|r| (r.result, r.amount));
    assert_eq!(at_channel, Some(("SUCCESS".to_owned(), 2500)));
    assert_eq!(
        sim.return_count(&allocation_no, MERCHANT),
        1,
        "one return, the same number"
    );
    // a synced final return is left alone
    sync_return(&h, &allocation_no, &no).await;
    assert_eq!(sim.return_count(&allocation_no, MERCHANT), 1);
}

#[tokio::test]
async fn a_return_notice_reaches_the_merchant_signed() {
    let sink = Sink::start(1).await;
    let mut h = harness(Kind::Wechat).await;
    h.with_queue(fast_jobs(), 3).await;
    let (allocation_no, _) = split(&h).await;
    let mut body = ret("BR1", &allocation_no, 2500);
    body["notifyUrl"] = json!(sink.url);
    body["attach"] = json!("商户扩展");
    let no = text(&h.ok(RETURN, body).await["returnNo"]);
    // the first delivery fails; the retry on the notice's schedule delivers it
    let delivered = |notices: &Value| {
        notices["notices"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|n| n["returnNo"] == json!(no))
            .map(|n| {
                (
                    n["delivered"].clone(),
                    n["attempts"].as_array().map(Vec::len),
                )
            })
    };
    h.run_until(Duration::from_secs(30), || async {
        delivered(&h.notices(&allocation_no).await) == Some((json!(true), Some(2)))
    })
    .await;
    let notice = sink
        .bodies()
        .into_iter()
        .find(|b| b["returnNo"] == json!(no))
        .unwrap_or(Value::Null);
    crate::common::assert_signed(&notice);
    assert_eq!(
        (&notice["status"], &notice["amount"], &notice["attach"]),
        (&json!("return_success"), &json!(2500), &json!("商户扩展")),
        "{notice}"
    );
    assert!(
        text(&notice["receiverAccount"]).contains("****"),
        "{notice}"
    );
    let notices = h.notices(&allocation_no).await;
    let delivered = notices["notices"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|n| n["returnNo"] == json!(no))
        .map(|n| {
            (
                n["delivered"].clone(),
                n["attempts"].as_array().map(Vec::len),
            )
        });
    assert_eq!(delivered, Some((json!(true), Some(2))), "{notices}");
}

#[tokio::test]
async fn a_refused_return_query_does_not_fail_the_return() {
    let h = harness(Kind::Wechat).await;
    let (allocation_no, _) = split(&h).await;
    let sim = wechat(&h);
    sim.set_balance(MERCHANT, Some(0));
    let no = text(&h.ok(RETURN, ret("BR1", &allocation_no, 2500)).await["returnNo"]);
    sim.inject(
        wechat_sim::Op::QueryReturn,
        wechat_sim::Fault::Status {
            status: 400,
            code: "PARAM_ERROR".into(),
            message: "参数错误".into(),
        },
    );
    sync_return(&h, &allocation_no, &no).await;
    let q = query_return(&h, &no).await;
    assert_eq!(
        q["status"],
        json!("return_processing"),
        "a refused query is no verdict: {q}"
    );
    sim.set_balance(MERCHANT, None);
    sync_return(&h, &allocation_no, &no).await;
    assert_eq!(
        query_return(&h, &no).await["status"],
        json!("return_success")
    );
}

#[tokio::test]
async fn a_wechat_return_whose_answer_is_lost_converges_without_a_second_return() {
    let h = harness(Kind::Wechat).await;
    let (allocation_no, _) = split(&h).await;
    let sim = wechat(&h);
    sim.inject(
        wechat_sim::Op::CreateReturn,
        wechat_sim::Fault::TimeoutAfterApply,
    );
    let r = h.ok(RETURN, ret("BR1", &allocation_no, 2500)).await;
    assert_eq!(
        r["status"],
        json!("return_processing"),
        "outcome unknown: {r}"
    );
    let no = text(&r["returnNo"]);
    sync_return(&h, &allocation_no, &no).await;
    assert_eq!(
        query_return(&h, &no).await["status"],
        json!("return_success")
    );
    assert_eq!(
        sim.return_count(&allocation_no, MERCHANT),
        1,
        "returned once"
    );
    let tally = h.ok(RETURNS, json!({"allocationNo": allocation_no})).await;
    assert_eq!(
        r2(&tally),
        json!({"receiverNo": "r2", "amount": 6000, "returned": 2500, "returnCount": 1}),
        "{tally}"
    );
}

#[tokio::test]
async fn a_failed_wechat_return_gives_its_amount_back() {
    let h = harness(Kind::Wechat).await;
    let (allocation_no, _) = split(&h).await;
    let sim = wechat(&h);
    sim.set_balance(MERCHANT, Some(0));
    let r = h.ok(RETURN, ret("BR1", &allocation_no, 6000)).await;
    let no = text(&r["returnNo"]);
    let failed = sim.complete_return(
        &no,
        wechat_sim::ReturnOutcome::Failed {
            fail_reason: "TIME_OUT_CLOSED".into(),
        },
    );
    assert!(failed.is_ok(), "{failed:?}");
    sync_return(&h, &allocation_no, &no).await;
    let done = query_return(&h, &no).await;
    assert_eq!(
        (&done["status"], &done["errorCode"]),
        (&json!("return_failed"), &json!("TIME_OUT_CLOSED")),
        "{done}"
    );
    // nothing was returned: the whole share can be asked for again
    sim.set_balance(MERCHANT, None);
    let again = h.ok(RETURN, ret("BR2", &allocation_no, 6000)).await;
    assert_eq!(again["status"], json!("return_success"), "{again}");
}

#[tokio::test]
async fn an_alipay_return_is_a_refund_plan_the_refund_settles() {
    let h = harness(Kind::Alipay).await;
    let (allocation_no, trade) = split(&h).await;
    let mut body = ret("BR1", &allocation_no, 2500);
    body["bizRefundNo"] = json!("BRF1");
    body["notifyUrl"] = json!("http://127.0.0.1:9/return-notice");
    let r = h.ok(RETURN, body).await;
    assert_eq!(r["status"], json!("return_planned"), "{r}");
    assert_eq!(
        r["refundRoyaltyParameters"],
        json!([{"royalty_type": "transfer", "trans_out_type": "loginName",
                "trans_out": "shop****.com", "amount": "25.00"}]),
        "{r}"
    );
    let no = text(&r["returnNo"]);
    // the payment gateway refunds 3000 with the plan's row; DaxPay notifies the refund
    let Sim::Alipay(sim) = &h.sim else {
        panic!("an Alipay harness")
    };
    let row = alipay_sim::RoyaltyRefund {
        trans_out_type: "loginName".into(),
        trans_out: "shop@example.com".into(),
        amount_fen: 2500,
    };
    let refunded = sim.refund(&trade, "RF1", 3000, &[row]);
    assert!(refunded.is_ok(), "{refunded:?}");
    assert_eq!(
        sim.holding_fen(&trade, "loginName", "shop@example.com"),
        Some(3500)
    );
    let mut notice = refund_body(&h, "P1", "RF1", 3000, "success");
    notice["bizRefundNo"] = json!("BRF1");
    let r = call(&h.app, "/feed/refund", &sign(notice).to_string()).await;
    assert_eq!(body_text(&r), "SUCCESS");
    let done = query_return(&h, &no).await;
    assert_eq!(
        (&done["status"], &done["refundNo"]),
        (&json!("return_success"), &json!("RF1")),
        "{done}"
    );
    // its signed notice is written, in the order's partition beside the order's own
    let notices = h.notices(&allocation_no).await;
    let statuses: Vec<(String, String)> = notices["notices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| (text(&n["status"]), text(&n["returnNo"])))
        .collect();
    assert!(
        statuses.contains(&("return_success".into(), no.clone())),
        "{notices}"
    );
    // the same refund notice again changes nothing
    let mut again = refund_body(&h, "P1", "RF1", 3000, "success");
    again["bizRefundNo"] = json!("BRF1");
    let r = call(&h.app, "/feed/refund", &sign(again).to_string()).await;
    assert_eq!(body_text(&r), "SUCCESS");
    assert_eq!(
        query_return(&h, &no).await["status"],
        json!("return_success")
    );
}

async fn harness(kind: Kind) -> Harness {
    Harness::new(kind, Duration::from_secs(5)).await
}

/// DaxPay's refund notice (`RefundNoticeModel` plus `status`), signed; the HTTP status and
/// body of our answer.
async fn refund_notice(
    h: &Harness,
    order_no: &str,
    refund_no: &str,
    amount: i64,
    status: &str,
) -> (u16, String) {
    let notice = sign(refund_body(h, order_no, refund_no, amount, status));
    let r = call(&h.app, "/feed/refund", &notice.to_string()).await;
    (r.status().as_u16(), body_text(&r))
}

/// An unsigned refund notice.
fn refund_body(h: &Harness, order_no: &str, refund_no: &str, amount: i64, status: &str) -> Value {
    json!({
        "orderNo": order_no, "bizOrderNo": format!("B{order_no}"), "outOrderNo": format!("2026{order_no}"),
        "title": "测试", "refundNo": refund_no, "bizRefundNo": format!("B{refund_no}"),
        "outRefundNo": format!("O{refund_no}"), "channel": h.channel(), "orderAmount": 10000,
        "amount": amount, "reason": "客户退货", "finishTime": now().to_string(),
        "createTime": now().to_string(), "status": status, "attach": null, "errorCode": null,
        "errorMsg": null, "code": 0, "resTime": now()
    })
}

async fn setup(h: &Harness, order_no: &str) -> String {
    let [(t1, a1), (t2, a2)] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.receiver("r2", t2, a2).await;
    h.paid(order_no, 10000).await
}

fn two(a: i64, b: i64) -> Value {
    json!([{"receiverNo": "r1", "amount": a}, {"receiverNo": "r2", "amount": b}])
}

async fn a_refund_before_the_start_limits_the_split(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    let before = h.ok(ALLOCATABLE, json!({"orderNo": "P1"})).await;
    assert_eq!(
        (
            &before["amount"],
            &before["refunded"],
            &before["allocatable"]
        ),
        (&json!(10000), &json!(0), &json!(10000)),
        "{before}"
    );
    assert_eq!(before["channelAllocatable"], json!(10000), "{before}");
    let deadline = before["freezeDeadline"].as_i64().unwrap_or_default();
    assert!(
        (deadline - now() - 30 * 86_400).abs() < 60,
        "30 days after payment: {before}"
    );

    h.refund_at_channel(&trade, "R1", 3000);
    assert_eq!(
        refund_notice(&h, "P1", "R1", 3000, "success").await,
        (200, "SUCCESS".into())
    );
    let msg = h
        .refused(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(6000, 1001)}),
        )
        .await;
    assert!(
        msg.starts_with("分账金额超过可分账金额")
            && msg.contains("7000 fen left to split after 3000 fen of refunds"),
        "{msg}"
    );
    assert_eq!(h.all_split_calls(), 0, "nothing reached the channel");
    let after_refund = h.ok(ALLOCATABLE, json!({"bizOrderNo": "BP1"})).await;
    assert_eq!(
        (&after_refund["refunded"], &after_refund["allocatable"]),
        (&json!(3000), &json!(7000)),
        "{after_refund}"
    );
    assert_eq!(
        after_refund["channelAllocatable"],
        json!(7000),
        "{after_refund}"
    );

    let started = h
        .ok(
            START,
            json!({"bizAllocationNo": "A2", "orderNo": "P1", "receivers": two(6000, 1000)}),
        )
        .await;
    let allocation_no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let split = h.ok(ALLOCATABLE, json!({"orderNo": "P1"})).await;
    assert_eq!(
        (
            &split["allocated"],
            &split["allocatable"],
            &split["allocationNo"]
        ),
        (&json!(7000), &json!(0), &json!(allocation_no)),
        "{split}"
    );
    // the channel's own figure is what its simulator holds frozen
    assert_eq!(
        split["channelAllocatable"],
        json!(h.frozen(&trade)),
        "{split}"
    );
}

async fn refunded(h: &Harness, order_no: &str) -> Value {
    h.ok("/unipay/query/payOrder", json!({"orderNo": order_no}))
        .await["refunded"]
        .clone()
}

async fn refund_notices_are_idempotent_and_checked(kind: Kind) {
    let h = harness(kind).await;
    setup(&h, "P1").await;
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "progress").await.0, 200);
    assert_eq!(
        refunded(&h, "P1").await,
        json!(0),
        "a refund in progress takes nothing yet"
    );
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "success").await.0, 200);
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "success").await.0, 200);
    // a late "progress" or a contradicting "fail" does not undo the success
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "progress").await.0, 200);
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "fail").await.0, 200);
    assert_eq!(
        refunded(&h, "P1").await,
        json!(1000),
        "counted exactly once"
    );

    let (status, text) = refund_notice(&h, "P1", "R1", 999, "success").await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("amount differs"), "{text}");
    let (status, text) = refund_notice(&h, "P9", "R9", 100, "success").await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("P9 is not known"), "{text}");
    let (status, text) = refund_notice(&h, "P1", "R2", 9001, "success").await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("exceed the paid amount"), "{text}");
    assert_eq!(refund_notice(&h, "P1", "R3", 9000, "success").await.0, 200);
    assert_eq!(refunded(&h, "P1").await, json!(10000));

    let mut tampered = sign(
        json!({"orderNo": "P1", "refundNo": "R4", "channel": h.channel(),
        "amount": 1, "status": "success", "code": 0, "resTime": now()}),
    );
    tampered["amount"] = json!(2);
    let r = call(&h.app, "/feed/refund", &tampered.to_string()).await;
    assert_eq!(r.status().as_u16(), 401, "{}", body_text(&r));
    let r = call(&h.app, "/feed/refund", r#"{"orderNo":"P1"}"#).await;
    assert_eq!(r.status().as_u16(), 400, "{}", body_text(&r));
    assert_eq!(
        refunded(&h, "P1").await,
        json!(10000),
        "refused notices change nothing"
    );
}

/// A second refund reached the channel but its notice has not reached us: our figure says
/// 9,000 is left, the channel's 6,000; after any refund the start asks the channel, and the
/// plan above its figure is refused before anything is written or sent.
async fn the_channels_figure_refuses_what_our_records_miss(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    h.refund_at_channel(&trade, "R1", 1000);
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "success").await.0, 200);
    h.refund_at_channel(&trade, "R2", 3000);
    let items = h.items().await;
    let msg = h
        .refused(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(6000, 1000)}),
        )
        .await;
    assert!(
        msg.starts_with("分账金额超过可分账金额") && msg.contains("more than the 6000 fen"),
        "{msg}"
    );
    assert_eq!(h.items().await, items, "nothing written");
    assert_eq!(h.all_split_calls(), 0, "nothing sent");
    h.ok(
        START,
        json!({"bizAllocationNo": "A2", "orderNo": "P1", "receivers": two(5000, 1000)}),
    )
    .await;
    assert_eq!(h.frozen(&trade), Some(0), "all that was left is split");
}

/// While the channel is still settling the payment its figure is not known: the allocatable
/// query says so, and a start goes ahead on ours.
async fn a_settling_channel_is_no_failure(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    h.refund_at_channel(&trade, "R1", 1000);
    assert_eq!(refund_notice(&h, "P1", "R1", 1000, "success").await.0, 200);
    h.settling(&trade, true);
    let a = h.ok(ALLOCATABLE, json!({"orderNo": "P1"})).await;
    assert!(a.get("channelAllocatable").is_none(), "{a}");
    assert!(
        a["channelError"]
            .as_str()
            .unwrap_or_default()
            .starts_with("订单处理中"),
        "{a}"
    );
    assert_eq!(a["allocatable"], json!(9000), "{a}");
    let started = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(6000, 1000)}),
        )
        .await;
    assert_eq!(
        started["status"],
        json!("allocation_processing"),
        "{started}"
    );
}

async fn returns_are_checked_against_what_the_receiver_got(kind: Kind) {
    let h = harness(kind).await;
    let (allocation_no, _) = split(&h).await;
    let first = h.ok(RETURN, ret("BR1", &allocation_no, 2500)).await;
    let expected = if kind == Kind::Wechat {
        "return_success"
    } else {
        "return_planned"
    };
    assert_eq!(first["status"], json!(expected), "{first}");
    assert_eq!(first["receiverNo"], json!("r2"));
    let account = text(&first["receiverAccount"]);
    assert!(account.contains("****"), "masked: {first}");
    // the same request again is the same return; the same number with other parameters is not
    let again = h.ok(RETURN, ret("BR1", &allocation_no, 2500)).await;
    assert_eq!(again["returnNo"], first["returnNo"]);
    let msg = h.refused(RETURN, ret("BR1", &allocation_no, 2400)).await;
    assert!(msg.starts_with("商户回退单号已被使用"), "{msg}");
    let items = h.items().await;
    let msg = h.refused(RETURN, ret("BR2", &allocation_no, 3501)).await;
    assert!(
        msg.starts_with("回退金额超过可回退金额") && msg.contains("6000 fen, 2500 fen"),
        "{msg}"
    );
    let mut personal = ret("BR3", &allocation_no, 100);
    personal["receiverNo"] = json!("r1");
    let msg = if kind == Kind::Wechat {
        h.refused(RETURN, personal).await
    } else {
        text(&h.ok(RETURN, personal).await["status"])
    };
    if kind == Kind::Wechat {
        assert!(msg.contains("only from MERCHANT_ID"), "{msg}");
    } else {
        assert_eq!(
            msg, "return_planned",
            "Alipay returns from any receiver it split to"
        );
    }
    let mut unknown = ret("BR4", &allocation_no, 1);
    unknown["receiverNo"] = json!("r9");
    assert!(h.refused(RETURN, unknown).await.contains("r9 has no share"));
    let msg = h.refused(RETURN, ret("BR5", "A000", 1)).await;
    assert_eq!(msg, "分账单不存在");
    let extra = if kind == Kind::Wechat { 0 } else { 4 };
    assert_eq!(h.items().await, items + extra, "refusals write nothing");
    let last = h.ok(RETURN, ret("BR6", &allocation_no, 3500)).await;
    assert_eq!(last["status"], json!(expected), "{last}");
    let all = h.ok(RETURNS, json!({"bizAllocationNo": "A1"})).await;
    assert_eq!(r2(&all)["returned"], json!(6000), "{all}");
}

/// Ten returns at once, each for 4,000 of the receiver's 6,000: exactly one fits.
async fn racing_returns_for_the_last_money_one_is_accepted(kind: Kind) {
    let h = harness(kind).await;
    let (allocation_no, _) = split(&h).await;
    let mut set = tokio::task::JoinSet::new();
    for i in 0..10 {
        let (app, body) = (h.app.clone(), ret(&format!("BR{i}"), &allocation_no, 4000));
        set.spawn(async move {
            let mut body = body;
            body["reqTime"] = json!(now());
            let r = call(&app, RETURN, &sign(body).to_string()).await;
            crate::common::envelope(&r)
        });
    }
    let mut accepted = 0;
    while let Some(r) = set.join_next().await {
        let env = r.unwrap_or_else(|e| panic!("{e}"));
        match env["data"]["code"].as_i64() {
            Some(0) => accepted += 1,
            _ => assert!(
                text(&env["data"]["msg"]).starts_with("回退金额超过可回退金额"),
                "{env}"
            ),
        }
    }
    assert_eq!(accepted, 1);
    if kind == Kind::Wechat {
        assert_eq!(
            wechat(&h).return_count_for(&h.owner, &allocation_no, MERCHANT),
            1
        );
    }
    let all = h.ok(RETURNS, json!({"allocationNo": allocation_no})).await;
    assert_eq!(r2(&all)["returned"], json!(4000), "{all}");
    assert_eq!(all["returns"].as_array().map(Vec::len), Some(1), "{all}");
    // asked in 2.0.8 names, the listed returns name their order in 2.0.8 names too
    let all = h.ok(RETURNS, json!({"allocNo": allocation_no})).await;
    assert_eq!(all["allocNo"], json!(allocation_no), "{all}");
    let line = &all["returns"][0];
    assert_eq!(line["allocNo"], json!(allocation_no), "{all}");
    assert!(
        line.get("allocationNo").is_none() && line.get("bizAllocNo").is_some(),
        "{all}"
    );
}

/// Compressed time: the freeze deadline is 60 s after payment with a 60 s margin, so the
/// watch is due at once. An unsplit pay order gets its signed `allocation_expiring` notice; a
/// split one does not.
async fn an_unsplit_pay_order_is_told_before_its_freeze_deadline(kind: Kind) {
    let sink = Sink::start(0).await;
    let mut h = Harness::new(kind, Duration::from_secs(5)).await;
    let mut jobs = fast_jobs();
    jobs.default_notify_url = Some(sink.url.clone());
    jobs.freeze_deadline_secs = 60;
    jobs.freeze_deadline_margin_secs = 60;
    h.with_queue(jobs, 3).await;
    let [(t1, a1), (t2, a2)] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.receiver("r2", t2, a2).await;
    h.paid("P1", 10000).await;
    h.paid("P2", 10000).await;
    h.ok(
        START,
        json!({"bizAllocationNo": "A2", "orderNo": "P2", "receivers": two(1000, 1000)}),
    )
    .await;
    h.run_until(Duration::from_secs(30), || async {
        !sink.bodies().is_empty()
    })
    .await;
    for _ in 0..3 {
        h.round().await;
    }
    let expiring: Vec<Value> = sink
        .bodies()
        .into_iter()
        .filter(|b| b["status"] == json!("allocation_expiring"))
        .collect();
    assert_eq!(
        expiring.len(),
        1,
        "one notice, for the unsplit order: {expiring:?}"
    );
    let n = &expiring[0];
    assert_eq!(
        (&n["orderNo"], &n["allocatable"], &n["channel"]),
        (&json!("P1"), &json!(10000), &json!(h.channel())),
        "{n}"
    );
    assert!(n["freezeDeadline"].as_i64().is_some_and(|d| d > 0), "{n}");
    crate::common::assert_signed(n);
}

/// The channel answers the split with "still being processed" (订单处理中): no verdict, so
/// the order stays processing (its pay order stays taken) and the sync sends it again.
async fn a_split_met_with_still_settling_is_not_failed(kind: Kind) {
    let h = harness(kind).await;
    let trade = setup(&h, "P1").await;
    h.inject(Fault::StillSettling);
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": two(1000, 6000)}),
        )
        .await;
    assert_eq!(d["status"], json!("allocation_processing"), "{d}");
    let no = text(&d["allocationNo"]);
    let a = h.ok(ALLOCATABLE, json!({"orderNo": "P1"})).await;
    assert_eq!(
        a["allocationNo"],
        json!(no),
        "the pay order stays taken: {a}"
    );
    let q = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(q["status"], json!("allocation_processing"), "{q}");
    assert_eq!(h.split_calls(&no), 2, "sent again under the same number");
    h.settle(&trade, &no, &[]).await;
    let q = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(q["status"], json!("allocation_end"), "{q}");
}
