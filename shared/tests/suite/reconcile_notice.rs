//! The `reconcile_discrepancy` notice (SPEC §4.13, §4.7, §9): a day whose bill keeps rows made
//! elsewhere tells the app's notify URL, signed, on the notice schedule; a consistent day tells
//! nothing; a re-run tells again only when its figures changed; a job that stops after keeping
//! the statement leaves exactly one notice behind once it is retried.

use crate::common::harness::{Harness, Kind, MCHID, Sim, Sink, fast_jobs};
use crate::common::{assert_signed, now, sdk, unique};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Value, json};
use shared::domain::notice::statement_subject;
use shared::domain::{BillDay, Channel, Notice, StatementRecord, StatementStatus, Topic, Totals};
use shared::infra::archive::BillArchive;
use shared::infra::clock::Clock;
use shared::service::reconcile;
use shared::store::Store;
use std::time::Duration;

fn today() -> BillDay {
    BillDay::of(now()).unwrap_or_else(|| panic!("no day"))
}

/// A WeChat Pay app whose bills are kept in a bucket of its own and whose notices go to `sink`
/// (its notify URL setting) through a job queue, retried after 1 s.
async fn app_telling(sink: &Sink) -> Harness {
    let mut h = Harness::new(Kind::Wechat, Duration::from_secs(5)).await;
    let mut jobs = fast_jobs();
    jobs.default_notify_url = Some(sink.url.clone());
    h.with_queue(jobs, 5).await;
    let config = sdk().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true);
    let bucket = unique("bills").to_lowercase();
    let made = aws_sdk_s3::Client::from_conf(s3.build())
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await;
    if let Err(e) = made {
        panic!("bucket: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
    }
    h.app.archive = Some(BillArchive::new(config, &bucket));
    h
}

/// The bill of `day` gains a row made outside this service: a `split` or `return` of `fen`.
fn made_elsewhere(h: &Harness, day: BillDay, number: &str, kind: &str, fen: i64) {
    let Sim::Wechat(sim) = &h.sim else {
        panic!("a WeChat Pay harness")
    };
    let knob = json!({"knob": "add_foreign", "number": number, "receiver": "1900000999",
        "amount_fen": fen, "kind": kind});
    let knob = serde_json::from_value(knob).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = sim.corrupt_bill(MCHID, &day.text(), knob) {
        panic!("{e}");
    }
}

async fn reconcile_today(h: &Harness) -> StatementRecord {
    let kept = reconcile::reconcile_day(&h.app, Channel::WechatPay, today(), now()).await;
    kept.unwrap_or_else(|e| panic!("{e}"))
}

/// The `reconcile_discrepancy` notices the merchant received, every attempt.
fn told(sink: &Sink) -> Vec<Value> {
    let bodies = sink.bodies().into_iter();
    bodies
        .filter(|b| b["status"] == "reconcile_discrepancy")
        .collect()
}

/// The day's notice as kept.
async fn notice_of(h: &Harness, day: BillDay) -> Option<Notice> {
    let subject = statement_subject(Channel::WechatPay, &day.text());
    let kept = h
        .app
        .store
        .notice(&subject, &Topic::ReconcileDiscrepancy)
        .await;
    kept.unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the scheduler and the worker until the day's notice is delivered, then a few rounds
/// more (in which nothing else may be sent).
async fn until_delivered(h: &Harness, day: BillDay) {
    h.run_until(Duration::from_secs(30), || async move {
        notice_of(h, day).await.is_some_and(|n| n.delivered)
    })
    .await;
    for _ in 0..3 {
        h.round().await;
    }
}

/// A split and a return made elsewhere stand after the order query: the merchant is told once,
/// signed with the app's secret, with the day's counts and the sums of both sides in fen; the
/// kept notice records its one attempt and keeps its members in the documented order.
#[tokio::test]
async fn a_day_with_rows_made_elsewhere_tells_the_merchant_signed() {
    let sink = Sink::start(0).await;
    let h = app_telling(&sink).await;
    made_elsewhere(&h, today(), "X900", "split", 100);
    made_elsewhere(&h, today(), "X901", "return", 30);
    let st = reconcile_today(&h).await;
    assert_eq!(st.status, StatementStatus::Discrepancies, "{st:?}");
    assert_eq!((st.discrepancies, st.unresolved), (2, 2));
    until_delivered(&h, today()).await;
    let told = told(&sink);
    assert_eq!(told.len(), 1, "{told:?}");
    let n = &told[0];
    assert_signed(n);
    let expected = json!({"status": "reconcile_discrepancy", "channel": "wechat_pay",
        "day": today().text(), "statementStatus": "discrepancies", "discrepancies": 2,
        "unresolved": 2, "oursSplitAmount": 0, "channelSplitAmount": 100, "oursReturnAmount": 0,
        "channelReturnAmount": 30, "reconciledAt": st.reconciled_at, "code": 0});
    let Some(expected) = expected.as_object() else {
        panic!("an object")
    };
    for (member, value) in expected {
        assert_eq!(&n[member], value, "{member}: {n}");
    }
    assert!(n["resTime"].as_i64().is_some_and(|t| t > 0), "{n}");
    let kept = notice_of(&h, today()).await;
    let kept = kept.unwrap_or_else(|| panic!("the notice is kept"));
    assert_eq!(kept.url, sink.url);
    let attempts: Vec<bool> = kept.attempts.iter().map(|a| a.delivered).collect();
    assert_eq!(attempts, [true]);
    let at = |member: &str| kept.body.find(&format!("\"{member}\":"));
    let members = [
        "status",
        "channel",
        "day",
        "statementStatus",
        "discrepancies",
        "unresolved",
        "oursSplitAmount",
        "channelSplitAmount",
        "oursReturnAmount",
        "channelReturnAmount",
        "reconciledAt",
        "code",
        "resTime",
        "sign",
    ];
    let places: Option<Vec<usize>> = members.iter().map(|m| at(m)).collect();
    assert!(
        places.is_some_and(|p| p.is_sorted()),
        "members missing or out of order: {}",
        kept.body
    );
}

/// Both sides agree: no notice is written or sent.
#[tokio::test]
async fn a_consistent_day_tells_nothing() {
    let sink = Sink::start(0).await;
    let h = app_telling(&sink).await;
    let st = reconcile_today(&h).await;
    assert_eq!(st.status, StatementStatus::Consistent, "{st:?}");
    for _ in 0..3 {
        h.round().await;
    }
    assert_eq!(notice_of(&h, today()).await, None);
    assert_eq!(told(&sink), Vec::<Value>::new());
}

/// The merchant's endpoint refuses the first attempt: the same signed body is sent again on the
/// schedule, and both attempts are recorded.
#[tokio::test]
async fn a_refused_notice_is_sent_again() {
    let sink = Sink::start(1).await;
    let h = app_telling(&sink).await;
    made_elsewhere(&h, today(), "X900", "split", 100);
    reconcile_today(&h).await;
    until_delivered(&h, today()).await;
    let told = told(&sink);
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0], told[1], "every attempt sends the body written");
    assert_signed(&told[1]);
    let kept = notice_of(&h, today()).await;
    let attempts: Vec<(i64, bool)> = kept
        .iter()
        .flat_map(|n| &n.attempts)
        .map(|a| (a.number, a.delivered))
        .collect();
    assert_eq!(attempts, [(1, false), (2, true)]);
}

/// Re-runs of the day (before the notice went out, and after) with the same figures send it
/// once; a re-run that finds another row made elsewhere tells the new figures.
#[tokio::test]
async fn a_rerun_tells_again_only_when_the_figures_changed() {
    let sink = Sink::start(0).await;
    let h = app_telling(&sink).await;
    made_elsewhere(&h, today(), "X900", "split", 100);
    let first = reconcile_today(&h).await;
    let second = reconcile_today(&h).await;
    assert_ne!(first.run, second.run, "two runs");
    until_delivered(&h, today()).await;
    let third = reconcile_today(&h).await;
    assert_eq!(third.unresolved, 1);
    for _ in 0..3 {
        h.round().await;
    }
    assert_eq!(told(&sink).len(), 1, "{:?}", told(&sink));
    made_elsewhere(&h, today(), "X902", "split", 250);
    let changed = reconcile_today(&h).await;
    assert_eq!((changed.discrepancies, changed.unresolved), (2, 2));
    h.run_until(Duration::from_secs(30), || async { told(&sink).len() >= 2 })
        .await;
    let told = told(&sink);
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(
        (&told[1]["unresolved"], &told[1]["channelSplitAmount"]),
        (&json!(2), &json!(350))
    );
    assert_signed(&told[1]);
    let kept = notice_of(&h, today()).await;
    assert!(kept.is_some_and(|n| n.delivered && n.attempts.len() == 1));
}

/// Stops the caller of every TransactWriteItems once DynamoDB has applied it, as if the
/// function died right after the write (SPEC §9).
#[derive(Debug)]
struct StopsAfterTransactions;

impl Intercept for StopsAfterTransactions {
    fn name(&self) -> &'static str {
        "StopsAfterTransactions"
    }

    fn read_before_deserialization(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        match cfg.load::<Metadata>() {
            Some(m) if m.name() == "TransactWriteItems" => Err("stopped after the write".into()),
            _ => Ok(()),
        }
    }
}

/// The job asked for a day with a split made elsewhere keeps its statement and stops before it
/// queues the notice (the job fails, to be retried): the notice was written with the statement,
/// so the scheduler finds it; the retried job re-runs the day and writes no second one.
/// Exactly one notice arrives.
#[tokio::test]
async fn a_job_stopped_after_keeping_the_statement_leaves_exactly_one_notice() {
    let sink = Sink::start(0).await;
    let h = app_telling(&sink).await;
    let day = today().previous().and_then(BillDay::previous);
    let day = day.unwrap_or_else(|| panic!("a day"));
    made_elsewhere(&h, day, "X900", "split", 100);
    let client = aws_sdk_dynamodb::config::Builder::from(&sdk().await)
        .interceptor(StopsAfterTransactions)
        .build();
    let store = &h.app.store;
    let mut stopping = h.app.clone();
    stopping.store = Store::new(aws_sdk_dynamodb::Client::from_conf(client), store.table());
    let stopped = reconcile::run(&stopping, Channel::WechatPay, Some(&day.text())).await;
    assert!(stopped.is_err(), "the job fails, to be retried");
    let shown = store.statement(Channel::WechatPay, &day.text()).await;
    let shown = shown.ok().flatten().map(|s| (s.status, s.unresolved));
    assert_eq!(shown, Some((StatementStatus::Discrepancies, 1)));
    let written = notice_of(&h, day).await;
    let written = written.unwrap_or_else(|| panic!("the notice is kept with its statement"));
    assert!(
        !written.delivered && written.attempts.is_empty(),
        "{written:?}"
    );
    // retried a minute later: a notice it wrote would say so
    let mut later = h.app.clone();
    later.clock = Clock::Fixed(now() + 60);
    let retried = reconcile::run(&later, Channel::WechatPay, Some(&day.text())).await;
    assert_eq!(retried, Ok(()));
    until_delivered(&h, day).await;
    assert_eq!(told(&sink).len(), 1, "{:?}", told(&sink));
    let kept = notice_of(&h, day).await;
    let kept = kept.unwrap_or_else(|| panic!("the notice"));
    assert_eq!(
        kept.body, written.body,
        "the retried job wrote none of its own"
    );
    assert_eq!(kept.attempts.len(), 1);
}

/// A statement kept without the notice it calls for (by a run of a version before the notice)
/// gets it from the next run of the day, once.
#[tokio::test]
async fn a_statement_kept_without_its_notice_gets_it_from_the_next_run() {
    let sink = Sink::start(0).await;
    let h = app_telling(&sink).await;
    made_elsewhere(&h, today(), "X900", "split", 100);
    let bare = StatementRecord {
        channel: Channel::WechatPay,
        day: today().text(),
        account: MCHID.into(),
        status: StatementStatus::Discrepancies,
        ours: Totals::default(),
        theirs: Totals::default(),
        theirs_other: 0,
        discrepancies: 1,
        unresolved: 1,
        bill_key: None,
        bill_sha1: None,
        error: None,
        run: "00000000001bare".into(),
        reconciled_at: now(),
    };
    let store = &h.app.store;
    let kept = store.save_statement(&bare, &[], None, None).await;
    assert_eq!(kept.ok(), Some(true));
    assert_eq!(notice_of(&h, today()).await, None);
    let st = reconcile_today(&h).await;
    assert_eq!(st.unresolved, 1);
    until_delivered(&h, today()).await;
    reconcile_today(&h).await;
    for _ in 0..3 {
        h.round().await;
    }
    assert_eq!(told(&sink).len(), 1, "{:?}", told(&sink));
}

/// The job that delivers a day's notice names it, and names it back.
#[test]
fn the_notify_job_names_the_days_notice() {
    let subject = statement_subject(Channel::AliPay, "2026-12-01");
    let job = shared::infra::Job::notify(&subject, &Topic::ReconcileDiscrepancy);
    assert_eq!(
        job.notice(),
        Some((subject.as_str(), Topic::ReconcileDiscrepancy))
    );
}
