//! Every sample event in `events/` is fed to its handler, as Lambda would deliver it.
//! The samples are signed with the local run's secret (`local-dev-secret`).

mod common;
use common::*;
use shared::api::{App, Clock};
use shared::request::Verifier;
use shared::sign::{Secret, SignType, Signer};

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
        ["api-feed-pay-order.json", "api-query-pay-order.json"]
    );
}

#[tokio::test]
async fn api_events_reach_the_handler() {
    let app = App {
        verifier: Verifier {
            signer: Signer::new(SignType::HmacSha256, Secret::new("local-dev-secret")),
            require_sign: true,
            req_timeout_secs: 300,
        },
        store: fresh_store().await,
        // the query sample was signed at reqTime 1795320060
        clock: Clock::Fixed(1_795_320_061),
        channels: Default::default(),
        allocation_no_prefix: String::new(),
    };
    let r = shared::api::handle(&app, event("api-feed-pay-order.json")).await;
    assert_eq!(
        (r.status().as_u16(), body_text(&r)),
        (200, "SUCCESS".to_owned())
    );
    let r = shared::api::handle(&app, event("api-query-pay-order.json")).await;
    let env = envelope(&r);
    assert_eq!(env["traceId"], "queryReqId01");
    assert_eq!(env["data"]["orderNo"], "P-DEMO-1");
    assert_eq!(env["data"]["status"], "success");
    let data = env["data"].as_object().cloned().unwrap_or_default();
    assert!(app.verifier.signer.verify(&data));
}
