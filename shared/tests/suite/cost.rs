//! What a start costs in DynamoDB (on-demand capacity), counted from the requests the code
//! sends and the items they read and write (`common::meter`), on both channels at 2 and 50
//! receivers: a merchant's request with a nonce, explicit receivers, a pay order fed before.
//! Prices: us-east-1 on-demand, $0.625 per million write request units and $0.125 per million
//! read request units (README, "Measured").

use super::common::harness::{Harness, Kind};
use super::common::meter::{self, Units};
use super::common::{now, sdk};
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = "/unipay/allocation/start";
pub const WRITE_PRICE_PER_MILLION: f64 = 0.625;
pub const READ_PRICE_PER_MILLION: f64 = 0.125;

/// Dollars per million starts of `u`.
fn per_million(u: Units) -> f64 {
    u.write * WRITE_PRICE_PER_MILLION + u.read * READ_PRICE_PER_MILLION
}

fn account(kind: Kind, i: usize) -> (&'static str, String) {
    match kind {
        Kind::Alipay => ("ali_user_id", format!("2088{:012}", 100 + i)),
        Kind::Wechat => ("wx_personal", format!("oUpF8uMuAJO_M2pxb1Q9zNj{i:05}")),
    }
}

/// The units of one start with `receivers` receivers, and of the round trips it made.
async fn one_start(kind: Kind, receivers: usize, order_lists: bool) -> (Units, usize) {
    let mut h = Harness::new(kind, Duration::from_secs(5)).await;
    h.app.store = h.app.store.clone().with_order_lists(order_lists);
    for i in 0..receivers {
        let (t, a) = account(kind, i);
        h.receiver(&format!("RCV{i:05}"), t, &a).await;
    }
    h.paid("P1", 1_000_000).await;
    let plain = aws_sdk_dynamodb::Client::new(&sdk().await);
    let table = h.app.store.table().to_owned();
    let before = meter::snapshot(&plain, &table).await;
    h.meter.take();
    h.trips.take();
    let list: Vec<Value> = (0..receivers)
        .map(|i| json!({"receiverNo": format!("RCV{i:05}"), "amount": 100 + i}))
        .collect();
    let body = json!({
        "bizAllocationNo": "M20261201000123", "orderNo": "P1", "description": "split of order 123",
        "receivers": list, "notifyUrl": "https://merchant.example.com/notify/allocation",
        "attach": "{\"shop\":\"42\"}", "nonceStr": format!("n{}", now()),
    });
    let data = h.ok(START, body).await;
    assert_eq!(data["status"], "allocation_processing", "{data}");
    let calls = h.meter.take();
    let trips = h.trips.take();
    let after = meter::snapshot(&plain, &table).await;
    (meter::units(&calls, &before, &after), trips)
}

async fn start_cost_within_goal(kind: Kind) {
    let mut report = Vec::new();
    let mut within = true;
    for (receivers, goal) in [(2usize, 6.0), (50, 20.0)] {
        let (u, trips) = one_start(kind, receivers, false).await;
        let dollars = per_million(u);
        report.push(format!(
            "{kind:?} start, {receivers} receivers: {trips} round trips, {} write units ({} of them indexes), {} read units = ${dollars:.2} per million starts (goal ≤ ${goal})",
            u.write, u.index_write, u.read
        ));
        within &= dollars <= goal && trips <= 3;
        // With order lists (ORDER_LISTS=true) the order's byDay key names its status.
        let (listed, listed_trips) = one_start(kind, receivers, true).await;
        report.push(format!(
            "  with order lists: {} write units ({} of them indexes), {} read units = ${:.2} per million starts",
            listed.write,
            listed.index_write,
            listed.read,
            per_million(listed)
        ));
        // every order is on the byDay index (by day for reconciliation, by status and day
        // with order lists): lists cost no index unit more at the start; their longer key on
        // the order item may push the item's two writes (create, outcome) over a KB boundary
        let base = |x: &crate::common::meter::Units| x.write - x.index_write;
        within &= listed.index_write == u.index_write
            && base(&listed) <= base(&u) + 2.0
            && listed.read == u.read
            && listed_trips == trips;
    }
    let report = report.join("\n");
    println!("{report}");
    assert!(within, "{report}");
}

#[tokio::test]
async fn a_start_costs_at_most_the_goal_per_million_alipay() {
    start_cost_within_goal(Kind::Alipay).await;
}

#[tokio::test]
async fn a_start_costs_at_most_the_goal_per_million_wechat() {
    start_cost_within_goal(Kind::Wechat).await;
}
