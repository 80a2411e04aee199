//! The asynchronous side end to end: jobs through a real SQS queue on the emulator, the worker
//! and scheduler logic, channel callbacks through the api handler, merchant notices to a local
//! endpoint.

use crate::common::body_text;
use crate::common::harness::{Fault, Harness, Kind, Sim, Sink, fast_jobs};
use serde_json::{Value, json};
use shared::domain::{AllocationStatus, Topic};
use shared::infra::Job;
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
const LIMIT: Duration = Duration::from_secs(40);

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A harness with a queue, two receivers and a paid order; returns the trade number.
async fn ready(kind: Kind, jobs: shared::infra::config::JobSettings) -> (Harness, String) {
    ready_with(kind, jobs, Duration::from_secs(5)).await
}

async fn ready_with(
    kind: Kind,
    jobs: shared::infra::config::JobSettings,
    timeout: Duration,
) -> (Harness, String) {
    let mut h = Harness::new(kind, timeout).await;
    h.with_queue(jobs, 3).await;
    let [(t1, a1), (t2, a2)] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.receiver("r2", t2, a2).await;
    let trade = h.paid("P1", 10000).await;
    (h, trade)
}

async fn start(h: &Harness, notify_url: &str) -> String {
    let d = h
        .ok(START, json!({"bizAllocationNo": "A1", "orderNo": "P1", "notifyUrl": notify_url,
            "attach": "商户扩展", "receivers": [{"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 1000}]}))
        .await;
    text(&d["allocationNo"])
}

async fn status(h: &Harness, no: &str) -> String {
    text(&h.query(no).await["status"])
}

/// Runs the same job `n` times at once, each on its own task.
async fn concurrently(h: &Harness, job: &Job, n: usize) {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (app, job) = (h.app.clone(), job.clone());
        set.spawn(async move {
            shared::jobs::worker::run(&app, &job)
                .await
                .map_err(|e| e.to_string())
        });
    }
    while let Some(r) = set.join_next().await {
        assert!(matches!(r, Ok(Ok(()))), "{r:?}");
    }
}

/// Each scenario with a direct account and again through a service provider (SPEC §6.5):
/// `<scenario>::{direct, provider}`.
macro_rules! direct_and_provider {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test]
            async fn direct() {
                super::$scenario().await
            }
            #[tokio::test]
            async fn provider() {
                crate::common::in_provider_mode(super::$scenario()).await
            }
        }
    )*};
}

direct_and_provider!(
    callbacks_before_after_and_around_a_scheduled_sync_agree,
    wechat_notifications_are_verified_queued_and_applied,
    auto_allocation_twice_makes_one_order_and_no_default_group_is_recorded,
    auto_finish_follows_the_end_of_an_order,
    a_lost_answer_converges_through_the_scheduler_without_a_second_split,
    an_ambiguous_finish_is_retried_by_the_scheduler,
);

#[tokio::test]
async fn every_job_twice_and_concurrently_gives_one_state_and_one_notice_per_status() {
    for kind in [Kind::Alipay, Kind::Wechat] {
        let sink = Sink::start(0).await;
        let (h, trade) = ready(kind, fast_jobs()).await;
        let no = start(&h, &sink.url).await;
        h.settle(&trade, &no, &[]).await;
        concurrently(
            &h,
            &Job::Sync {
                allocation_no: no.clone(),
            },
            4,
        )
        .await;
        concurrently(
            &h,
            &Job::Sync {
                allocation_no: no.clone(),
            },
            2,
        )
        .await;
        assert_eq!(status(&h, &no).await, "allocation_end", "{kind:?}");
        let notify = Job::notify(&no, &Topic::Status(AllocationStatus::End));
        concurrently(&h, &notify, 4).await;
        concurrently(
            &h,
            &Job::Finish {
                allocation_no: no.clone(),
            },
            3,
        )
        .await;
        h.settle_finish(&trade, &no).await;
        assert_eq!(status(&h, &no).await, "finish");
        let notify = Job::notify(&no, &Topic::Status(AllocationStatus::Finish));
        concurrently(&h, &notify, 3).await;
        // whatever is still queued (the fast-path copies) changes nothing
        h.run_until(LIMIT, || async { h.drain_once().await == 0 })
            .await;
        let statuses: Vec<String> = sink.bodies().iter().map(|b| text(&b["status"])).collect();
        assert_eq!(
            statuses,
            vec!["allocation_end", "finish"],
            "{kind:?}: one notice per status"
        );
        let q = h.notices(&no).await;
        assert_eq!(q["notices"].as_array().map(Vec::len), Some(2), "{q}");
        assert_eq!(
            h.executed(&trade),
            2,
            "one split and one finish at the channel"
        );
        // the notice is signed like a response and carries the order
        let end = &sink.bodies()[0];
        crate::common::assert_signed(end);
        assert_eq!(
            (
                text(&end["allocationNo"]),
                text(&end["attach"]),
                text(&end["result"])
            ),
            (no.clone(), "商户扩展".into(), "all_success".into())
        );
        assert_eq!(end["details"][0]["receiverAccount"], h.masked_first());
    }
}

async fn auto_allocation_twice_makes_one_order_and_no_default_group_is_recorded() {
    let (h, _) = ready(Kind::Alipay, fast_jobs()).await;
    // no default group: the reason is recorded and it is no longer due
    h.pay_notice_auto("PA", 10000).await;
    let job = Job::AutoAllocate {
        order_no: "PA".into(),
    };
    concurrently(&h, &job, 2).await;
    let pay = h
        .ok("/unipay/query/payOrder", json!({"orderNo": "PA"}))
        .await;
    assert!(
        text(&pay["autoAllocationError"]).contains("未配置默认分账组"),
        "{pay}"
    );
    assert_eq!(
        shared::service::due::tick(&h.app, crate::common::now() + 3600, 100)
            .await
            .map(|t| t.found),
        Ok(0)
    );

    h.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "g", "name": "n", "channel": "ali_pay"}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/bind",
        json!({"groupNo": "g", "receivers": [{"receiverNo": "r1", "rate": 3000}]}),
    )
    .await;
    h.ok(
        "/unipay/allocation/group/setDefault",
        json!({"groupNo": "g"}),
    )
    .await;
    let trade = h.pay_notice_auto("PB", 10000).await;
    // found by the scheduler (due at payTime + 0 s), run twice at once
    h.run_until(LIMIT, || async {
        h.ok("/unipay/query/payOrder", json!({"orderNo": "PB"}))
            .await["allocStatus"]
            == "allocation"
    })
    .await;
    concurrently(
        &h,
        &Job::AutoAllocate {
            order_no: "PB".into(),
        },
        3,
    )
    .await;
    assert_eq!(h.executed(&trade), 1);
    let q = h
        .ok(
            "/unipay/query/allocationOrder",
            json!({"bizAllocationNo": "AUTOPB"}),
        )
        .await;
    assert_eq!(q["amount"], 3000);
}

async fn auto_finish_follows_the_end_of_an_order() {
    let mut jobs = fast_jobs();
    jobs.auto_finish = true;
    let (h, trade) = ready(Kind::Wechat, jobs).await;
    let no = start(&h, "").await;
    h.settle(&trade, &no, &[]).await;
    h.run_until(LIMIT, || async { status(&h, &no).await == "finish" })
        .await;
    assert_eq!(h.frozen(&trade), Some(0));
}

#[tokio::test]
async fn a_notice_failing_three_times_takes_four_attempts_all_recorded() {
    let sink = Sink::start(3).await;
    let (h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    let no = start(&h, &sink.url).await;
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    h.run_until(LIMIT, || async {
        h.notices(&no).await["notices"][0]["delivered"] == true
    })
    .await;
    // a few more rounds change nothing
    for _ in 0..3 {
        h.round().await;
    }
    assert_eq!(sink.bodies().len(), 4);
    let attempts = h.notices(&no).await["notices"][0]["attempts"].clone();
    let delivered: Vec<bool> = attempts
        .as_array()
        .map(|a| a.iter().map(|x| x["delivered"] == true).collect())
        .unwrap_or_default();
    assert_eq!(delivered, vec![false, false, false, true], "{attempts}");
    assert_eq!(attempts[0]["error"], "FAIL");
    assert!(attempts[1]["at"].as_i64() >= attempts[0]["at"].as_i64());
}

#[tokio::test]
async fn a_notice_never_answered_success_stops_after_sixteen() {
    let sink = Sink::start(usize::MAX).await;
    let (h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    let no = start(&h, &sink.url).await;
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    h.run_until(Duration::from_secs(90), || async {
        h.notices(&no).await["notices"][0]["attempts"]
            .as_array()
            .map(Vec::len)
            == Some(16)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    h.run_until(LIMIT, || async { h.drain_once().await == 0 })
        .await;
    assert_eq!(
        shared::service::due::tick(&h.app, crate::common::now() + 86_400, 100)
            .await
            .map(|t| t.found),
        Ok(0)
    );
    assert_eq!(sink.bodies().len(), 16);
    assert_eq!(h.notices(&no).await["notices"][0]["delivered"], false);
}

async fn callbacks_before_after_and_around_a_scheduled_sync_agree() {
    for order in ["callback_first", "sync_first", "callback_twice"] {
        let sink = Sink::start(0).await;
        let (h, trade) = ready(Kind::Alipay, fast_jobs()).await;
        let no = start(&h, &sink.url).await;
        let Sim::Alipay(sim) = &h.sim else {
            panic!("alipay")
        };
        let fail = alipay_sim::Outcome::Fail {
            code: "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH".into(),
            desc: "分账余额不足".into(),
        };
        assert!(
            sim.complete(&trade, &no, &[(h.accounts()[1].1.to_owned(), fail)])
                .await
                .is_ok()
        );
        let form = sim
            .signed_settle_notify(&trade, &no)
            .unwrap_or_else(|e| panic!("{e}"));
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let post = || async { body_text(&call_form(&h, &body).await) };
        match order {
            "callback_first" => {
                assert_eq!(post().await, "success");
                h.run_until(LIMIT, || async { h.drain_once().await == 0 })
                    .await;
                h.round().await;
            }
            "sync_first" => {
                h.run_until(LIMIT, || async {
                    status(&h, &no).await == "allocation_end"
                })
                .await;
                assert_eq!(post().await, "success");
                h.run_until(LIMIT, || async { h.drain_once().await == 0 })
                    .await;
            }
            _ => {
                assert_eq!(post().await, "success");
                h.round().await;
                assert_eq!(post().await, "success");
                h.run_until(LIMIT, || async { h.drain_once().await == 0 })
                    .await;
            }
        }
        let q = h.query(&no).await;
        assert_eq!(
            (text(&q["status"]), text(&q["result"])),
            ("allocation_end".into(), "part_success".into()),
            "{order}: {q}"
        );
        h.run_until(LIMIT, || async { sink.bodies().len() == 1 })
            .await;
        assert_eq!(sink.bodies().len(), 1, "{order}: one notice");
    }
}

async fn call_form(h: &Harness, body: &str) -> lambda_http::Response<lambda_http::Body> {
    let mut req = crate::common::apigw_request("POST", "/callback/alipay", body);
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    shared::http::handle(&shared::app::Stack::single(h.app.clone()), req).await
}

#[tokio::test]
async fn tampered_stale_or_foreign_callbacks_change_nothing() {
    let (h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    let no = start(&h, "").await;
    let Sim::Alipay(sim) = &h.sim else {
        panic!("alipay")
    };
    assert!(sim.complete(&trade, &no, &[]).await.is_ok());
    let form = sim
        .signed_settle_notify(&trade, &no)
        .unwrap_or_else(|e| panic!("{e}"));
    let encode = |pairs: &[(String, String)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs.iter())
            .finish()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        form.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if k == name {
                        value.to_owned()
                    } else {
                        v.clone()
                    },
                )
            })
            .collect()
    };
    let tampered_biz = with(
        "biz_content",
        &form
            .iter()
            .find(|(k, _)| k == "biz_content")
            .map(|(_, v)| v.replace("SUCCESS", "FAIL"))
            .unwrap_or_default(),
    );
    let cases = [
        ("tampered", tampered_biz),
        ("foreign app", with("app_id", "2021999999999999")),
        ("stale", with("utc_timestamp", "1500000000000")),
        (
            "unsigned",
            form.iter().filter(|(k, _)| k != "sign").cloned().collect(),
        ),
    ];
    for (what, pairs) in cases {
        let r = call_form(&h, &encode(&pairs)).await;
        assert_eq!(body_text(&r), "fail", "{what}");
    }
    assert_eq!(h.drain_once().await, 0, "nothing was queued");
    assert_eq!(status(&h, &no).await, "allocation_processing");
    // and a genuine one is taken
    assert_eq!(body_text(&call_form(&h, &encode(&form)).await), "success");
    h.run_until(LIMIT, || async {
        status(&h, &no).await == "allocation_end"
    })
    .await;
}

async fn call_wechat(
    h: &Harness,
    headers: &[(String, String)],
    body: &str,
) -> lambda_http::Response<lambda_http::Body> {
    let mut req = crate::common::apigw_request("POST", "/callback/wechat", body);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            req.headers_mut().insert(k, v);
        }
    }
    shared::http::handle(&shared::app::Stack::single(h.app.clone()), req).await
}

async fn wechat_notifications_are_verified_queued_and_applied() {
    let (h, trade) = ready(Kind::Wechat, fast_jobs()).await;
    let no = start(&h, "").await;
    h.settle(&trade, &no, &[]).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat")
    };
    let n = sim
        .notification(&trade, &no, h.accounts()[1].1)
        .unwrap_or_else(|e| panic!("{e}"));
    let tampered = n.body.replacen("分账", "分帐", 1);
    assert_eq!(call_wechat(&h, &n.headers, &tampered).await.status(), 401);
    assert_eq!(h.drain_once().await, 0);
    assert_eq!(call_wechat(&h, &n.headers, &n.body).await.status(), 204);
    h.run_until(LIMIT, || async {
        status(&h, &no).await == "allocation_end"
    })
    .await;
}

/// A queued notification can run long after it arrived: SQS retries, a backlog, or an operator
/// redriving the DLQ a day later. The worker judges its freshness as of its arrival, so a late
/// run still applies it (Alipay's notice carries the rows: no channel call is needed).
#[tokio::test]
async fn a_notification_applied_after_its_freshness_window_still_counts() {
    let (mut h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    let no = start(&h, "").await;
    h.settle(&trade, &no, &[]).await;
    let Sim::Alipay(sim) = &h.sim else {
        panic!("alipay")
    };
    let form = sim
        .signed_settle_notify(&trade, &no)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    assert_eq!(body_text(&call_form(&h, &body).await), "success");
    // the worker runs 26 hours later, past Alipay's 25-hour window
    h.app.clock = shared::infra::Clock::Fixed(crate::common::now() + 26 * 3600);
    assert_eq!(h.drain_once().await, 1);
    h.app.clock = shared::infra::Clock::System;
    assert_eq!(status(&h, &no).await, "allocation_end");
}

async fn a_lost_answer_converges_through_the_scheduler_without_a_second_split() {
    for kind in [Kind::Alipay, Kind::Wechat] {
        let (h, trade) = ready_with(kind, fast_jobs(), Duration::from_millis(700)).await;
        h.inject(Fault::TimeoutAfterApply);
        let no = start(&h, "").await;
        assert_eq!(status(&h, &no).await, "allocation_processing");
        h.settle(&trade, &no, &[]).await;
        h.run_until(LIMIT, || async {
            status(&h, &no).await == "allocation_end"
        })
        .await;
        assert_eq!((h.executed(&trade), h.split_calls(&no)), (1, 1), "{kind:?}");
    }
}

#[tokio::test]
async fn an_order_processing_past_its_maximum_age_is_flagged_not_polled() {
    let mut jobs = fast_jobs();
    jobs.sync_max_age_secs = 0;
    let (h, _) = ready(Kind::Alipay, jobs).await;
    let no = start(&h, "").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    h.run_until(LIMIT, || async { h.notices(&no).await["flagged"] == true })
        .await;
    assert_eq!(status(&h, &no).await, "allocation_processing");
    assert_eq!(
        shared::service::due::tick(&h.app, crate::common::now() + 86_400, 100)
            .await
            .map(|t| t.found),
        Ok(0)
    );
}

#[tokio::test]
async fn a_poison_message_fails_alone_and_ends_in_the_dlq() {
    let mut h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    let dlq = h.with_queue(fast_jobs(), 2).await;
    let sqs = aws_sdk_sqs::Client::new(&crate::common::sdk().await);
    let Some(queue) = h.app.queue.clone() else {
        panic!("queue")
    };
    let sent = sqs
        .send_message()
        .queue_url(queue.url())
        .message_body("{not a job")
        .send()
        .await;
    assert!(sent.is_ok());
    assert!(
        queue
            .send(
                &Job::Sync {
                    allocation_no: "NOPE".into()
                },
                0
            )
            .await
            .is_ok()
    );
    // the good one goes at once; the poison one comes back until it is moved to the DLQ
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        h.drain_once().await;
        let in_dlq = sqs
            .receive_message()
            .queue_url(&dlq)
            .send()
            .await
            .ok()
            .and_then(|o| o.messages)
            .unwrap_or_default();
        if let Some(m) = in_dlq.first() {
            assert_eq!(m.body(), Some("{not a job"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "poison message never reached the DLQ"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn an_ambiguous_finish_is_retried_by_the_scheduler() {
    let mut jobs = fast_jobs();
    jobs.auto_finish = true;
    let (h, trade) = ready_with(Kind::Wechat, jobs, Duration::from_millis(700)).await;
    let no = start(&h, "").await;
    h.settle(&trade, &no, &[]).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat")
    };
    sim.inject(wechat_sim::Op::Unfreeze, wechat_sim::Fault::Timeout);
    h.sync(json!({"allocationNo": no})).await;
    h.run_until(LIMIT, || async { status(&h, &no).await == "finish" })
        .await;
    // the first unfreeze never landed; the retry (same number) did, once
    assert_eq!(h.split_calls(&format!("{no}F")), 2);
    assert_eq!(h.frozen(&trade), Some(0));
}

#[tokio::test]
async fn not_notify_sends_no_notice_for_that_order() {
    let sink = Sink::start(0).await;
    let (h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    // DaxPay 2.0.7's AllocationParam.notNotify
    let d = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "notifyUrl": sink.url,
            "notNotify": true, "receivers": [{"receiverNo": "r1", "amount": 6000}]}),
        )
        .await;
    let no = text(&d["allocationNo"]);
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    assert_eq!(status(&h, &no).await, "allocation_end");
    h.run_until(LIMIT, || async { h.drain_once().await == 0 })
        .await;
    assert!(sink.bodies().is_empty(), "{:?}", sink.bodies());
    assert_eq!(h.notices(&no).await["notices"], json!([]));
}

#[tokio::test]
async fn a_merchant_can_have_a_notice_sent_again() {
    let sink = Sink::start(0).await;
    let (h, trade) = ready(Kind::Wechat, fast_jobs()).await;
    let no = start(&h, &sink.url).await;
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    h.run_until(LIMIT, || async { sink.bodies().len() == 1 })
        .await;
    // delivered once; the merchant lost it and asks again (2.0.8 names)
    let again = h
        .ok(
            "/unipay/allocation/notice/resend",
            json!({"bizAllocNo": "A1"}),
        )
        .await;
    assert_eq!(again["status"], "allocation_end");
    assert_eq!(again["allocNo"], no.as_str());
    h.run_until(LIMIT, || async { sink.bodies().len() == 2 })
        .await;
    assert_eq!(sink.bodies()[0], sink.bodies()[1], "the same signed notice");
    let n = h.notices(&no).await;
    let attempts = n["notices"][0]["attempts"].as_array().map(Vec::len);
    assert_eq!(attempts, Some(2), "{n}");
    // a status with no notice is refused by name
    let refused = h
        .refused(
            "/unipay/allocation/notice/resend",
            json!({"allocationNo": no, "status": "finish"}),
        )
        .await;
    assert!(refused.starts_with("通知不存在"), "{refused}");
}

#[tokio::test]
async fn a_notice_keeps_the_schedule_it_was_written_with() {
    let sink = Sink::start(1).await;
    let (mut h, trade) = ready(Kind::Alipay, fast_jobs()).await;
    let no = start(&h, &sink.url).await;
    h.settle(&trade, &no, &[]).await;
    h.sync(json!({"allocationNo": no})).await;
    // the setting changes while the notice is in flight: it keeps its 1 s retries
    h.app.jobs.notify_delays_secs = vec![3600; 15];
    h.run_until(LIMIT, || async { sink.bodies().len() == 2 })
        .await;
    let n = h.notices(&no).await;
    let attempts = &n["notices"][0]["attempts"];
    let gap = attempts[1]["at"].as_i64().unwrap_or(0) - attempts[0]["at"].as_i64().unwrap_or(0);
    assert!((1..=30).contains(&gap), "retried after {gap} s: {n}");
    assert_eq!(n["notices"][0]["delivered"], true);
}

#[tokio::test]
async fn auto_allocated_orders_notify_in_the_configured_field_names() {
    let sink = Sink::start(0).await;
    let mut jobs = fast_jobs();
    jobs.default_notify_url = Some(sink.url.clone());
    jobs.default_spelling = shared::daxpay::Spelling::V208;
    let (h, _) = ready(Kind::Wechat, jobs).await;
    h.default_group("g", json!([{"receiverNo": "r1", "rate": 3000}]))
        .await;
    let trade = h.pay_notice_auto("PB", 10000).await;
    h.run_until(LIMIT, || async {
        h.ok("/unipay/query/payOrder", json!({"orderNo": "PB"}))
            .await["allocStatus"]
            == "allocation"
    })
    .await;
    let q = h
        .ok(
            "/unipay/query/allocationOrder",
            json!({"bizAllocationNo": "AUTOPB"}),
        )
        .await;
    let no = text(&q["allocationNo"]);
    h.settle(&trade, &no, &[]).await;
    h.run_until(LIMIT, || async { !sink.bodies().is_empty() })
        .await;
    let body = &sink.bodies()[0];
    assert_eq!(body["allocNo"], no.as_str(), "{body}");
    assert_eq!(body["bizAllocNo"], "AUTOPB");
    assert!(body.get("allocationNo").is_none(), "{body}");
}

/// A batch whose jobs each meet a channel timeout ends before the invocation's deadline: jobs
/// run two at a time, none starts when less than its budget is left, and each message is
/// reported on its own, so the finished ones are deleted and never run again while the
/// unstarted ones come back and run once.
#[tokio::test]
async fn a_slow_batch_ends_before_its_deadline_and_finished_jobs_are_not_run_again() {
    let mut jobs = fast_jobs();
    jobs.worker_concurrency = 2;
    jobs.job_budget_secs = 3;
    let (h, _) = ready_with(Kind::Wechat, jobs, Duration::from_secs(2)).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("WeChat harness")
    };
    let mut orders = Vec::new();
    for i in 0..9 {
        h.paid(&format!("Q{i}"), 10000).await;
        let d = h
            .ok(
                START,
                json!({"bizAllocationNo": format!("A{i}"), "orderNo": format!("Q{i}"),
                "receivers": [{"receiverNo": "r1", "amount": 100}]}),
            )
            .await;
        orders.push(text(&d["allocationNo"]));
    }
    for _ in 0..9 {
        sim.inject(wechat_sim::Op::QueryOrder, wechat_sim::Fault::Timeout);
    }
    let Some(queue) = &h.app.queue else {
        panic!("no queue")
    };
    let sqs = aws_sdk_sqs::Client::new(&crate::common::sdk().await);
    sqs.send_message()
        .queue_url(queue.url())
        .message_body("not a job")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    for no in &orders {
        let job = Job::Sync {
            allocation_no: no.clone(),
        };
        queue.send(&job, 0).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let queries = |no: &str| {
        sim.calls()
            .iter()
            .filter(|c| {
                c.op == Some(wechat_sim::Op::QueryOrder) && c.out_order_no.as_deref() == Some(no)
            })
            .count()
    };

    let started = tokio::time::Instant::now();
    let deadline = started + Duration::from_secs(8);
    let (handled, failed) = h.drain_once_until(Some(deadline)).await;
    assert!(
        tokio::time::Instant::now() < deadline,
        "the batch overran its deadline"
    );
    assert_eq!(handled, 10);
    let ran: Vec<&String> = orders.iter().filter(|no| queries(no) == 1).collect();
    assert!(
        (2..=6).contains(&ran.len()) && failed.len() == 10 - ran.len(),
        "{} jobs ran, {} reported failed",
        ran.len(),
        failed.len()
    );

    // the unstarted come back and run; the finished were deleted and never run again
    for _ in 0..60 {
        if orders.iter().all(|no| queries(no) >= 1) {
            break;
        }
        if h.drain_once().await == 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    for no in &orders {
        assert_eq!(queries(no), 1, "{no} was synced once");
    }
}

/// A job that outlives its budget is cut and reported failed, not left to hold the batch.
#[tokio::test]
async fn a_job_over_its_budget_is_cut_and_reported() {
    let mut jobs = fast_jobs();
    jobs.job_budget_secs = 1;
    let (h, _) = ready_with(Kind::Wechat, jobs, Duration::from_secs(5)).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("WeChat harness")
    };
    let no = start(&h, "").await;
    sim.inject(wechat_sim::Op::QueryOrder, wechat_sim::Fault::Timeout);
    let Some(queue) = &h.app.queue else {
        panic!("no queue")
    };
    let job = Job::Sync {
        allocation_no: no.clone(),
    };
    queue.send(&job, 0).await.unwrap_or_else(|e| panic!("{e}"));
    let started = tokio::time::Instant::now();
    let (handled, failed) = h.drain_once_until(None).await;
    assert_eq!((handled, failed.len()), (1, 1));
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cut after its 1 s budget, not after the 5 s channel timeout"
    );
}
