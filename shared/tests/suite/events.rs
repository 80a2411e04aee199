//! Every sample event in `events/` is fed to its handler, as Lambda would deliver it.
//! The samples are signed with the local run's secret (`local-dev-secret`).

use crate::common::*;
use shared::app::App;
use shared::daxpay::request::Verifier;
use shared::daxpay::sign::{Secret, SignType, Signer};
use shared::infra::Clock;

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    match lambda_http::request::from_str(&text) {
        Ok(r) => r,
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn every_event_file_is_covered() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../events");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    assert_eq!(
        names,
        [
            "api-callback-alipay.json",
            "api-feed-pay-order.json",
            "api-query-pay-order.json",
            "schedule.json",
            "sqs-auto-allocate.json",
            "sqs-channel-callback.json",
            "sqs-deadline.json",
            "sqs-finish.json",
            "sqs-notify.json",
            "sqs-poison.json",
            "sqs-sync-return.json",
            "sqs-sync.json",
        ]
    );
}

#[tokio::test]
async fn api_events_reach_the_handler() {
    let app = App {
        tenant: shared::domain::Tenant::default_app(),
        verifier: Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("local-dev-secret")),
            require_sign: true,
            req_timeout_secs: 300,
            previous: None,
        },
        store: fresh_store().await,
        // the query sample was signed at reqTime 1795320060
        clock: Clock::Fixed(1_795_320_061),
        channels: Default::default(),
        allocation_no_prefix: String::new(),
        queue: None,
        archive: None,
        jobs: Default::default(),
    };
    let r = shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        event("api-feed-pay-order.json"),
    )
    .await;
    assert_eq!(
        (r.status().as_u16(), body_text(&r)),
        (200, "SUCCESS".to_owned())
    );
    let r = shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        event("api-query-pay-order.json"),
    )
    .await;
    let env = envelope(&r);
    assert_eq!(env["traceId"], "queryReqId01");
    assert_eq!(env["data"]["orderNo"], "P-DEMO-1");
    assert_eq!(env["data"]["status"], "success");
    let data = env["data"].as_object().cloned().unwrap_or_default();
    assert!(app.verifier.signer.verify(&data));
}

fn json_event(name: &str) -> serde_json::Value {
    let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn app_with_queue() -> App {
    let mut h = crate::common::harness::Harness::new(
        crate::common::harness::Kind::Alipay,
        std::time::Duration::from_secs(2),
    )
    .await;
    h.with_queue(crate::common::harness::fast_jobs(), 3).await;
    h.app
}

#[tokio::test]
async fn sqs_events_reach_the_worker() {
    let app = app_with_queue().await;
    // jobs about orders that do not exist are done (nothing to do); a callback that does not
    // verify is dropped, never applied
    for name in [
        "sqs-sync.json",
        "sqs-finish.json",
        "sqs-notify.json",
        "sqs-auto-allocate.json",
        "sqs-channel-callback.json",
        "sqs-sync-return.json",
        "sqs-deadline.json",
    ] {
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(json_event(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.records.len(), 1, "{name}");
        let r = shared::jobs::worker::handle_batch(&shared::app::Stack::single(app.clone()), event)
            .await;
        assert!(r.batch_item_failures.is_empty(), "{name}: {r:?}");
    }
    assert!(
        all_items(&app.store).await.is_empty(),
        "nothing was written"
    );
    // a malformed message fails alone
    let event: aws_lambda_events::event::sqs::SqsEvent =
        serde_json::from_value(json_event("sqs-poison.json")).unwrap_or_else(|e| panic!("{e}"));
    let poison_id = event.records[0].message_id.clone().unwrap_or_default();
    let r =
        shared::jobs::worker::handle_batch(&shared::app::Stack::single(app.clone()), event).await;
    let failed: Vec<String> = r
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, vec![poison_id]);
}

#[tokio::test]
async fn the_schedule_event_runs_a_scheduler_tick() {
    let app = app_with_queue().await;
    let event = json_event("schedule.json");
    assert_eq!(event["detail-type"], "Scheduled Event");
    // the scheduler ignores the event's content; a run over an empty table finds nothing
    let tick = shared::service::due::tick(&app, crate::common::now(), 100).await;
    assert_eq!(tick, Ok(shared::service::due::Tick::default()));
}

#[tokio::test]
async fn a_callback_event_that_does_not_verify_is_refused() {
    let app = app_with_queue().await;
    let r = shared::http::handle(
        &shared::app::Stack::single(app.clone()),
        event("api-callback-alipay.json"),
    )
    .await;
    assert_eq!(body_text(&r), "fail");
}
