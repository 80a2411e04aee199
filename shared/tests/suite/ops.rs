//! The operations endpoints (SPEC §4.12) against the emulator: orders flagged for a human,
//! paged newest first through the sparse index, leaving it once settled; a sync of many orders
//! queues a job for each one still processing and says what it did with the others.

use crate::common::harness::{Harness, Kind, fast_jobs};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const FLAGGED: &str = "/unipay/query/flaggedAllocations";
const SYNC_MANY: &str = "/unipay/sync/allocations";
const LIMIT: Duration = Duration::from_secs(40);

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Three orders started, each of its own paid pay order, for one receiver: their numbers and
/// trades.
async fn start_three(h: &Harness) -> Vec<(String, String)> {
    let [(t1, a1), _] = h.accounts();
    h.receiver("r1", t1, a1).await;
    let mut orders = Vec::new();
    for i in 1..=3 {
        let trade = h.paid(&format!("P{i}"), 10000).await;
        let d = h
            .ok(
                "/unipay/allocation/start",
                json!({"bizAllocationNo": format!("B{i}"),
                "orderNo": format!("P{i}"), "receivers": [{"receiverNo": "r1", "amount": 100}]}),
            )
            .await;
        orders.push((text(&d["allocationNo"]), trade));
    }
    orders
}

/// Three started orders flagged as stuck at once (maximum age 0), and their trades.
async fn three_flagged() -> (Harness, Vec<(String, String)>) {
    let mut jobs = fast_jobs();
    jobs.sync_max_age_secs = 0;
    let mut h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    h.with_queue(jobs, 3).await;
    let orders = start_three(&h).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for (no, _) in &orders {
        h.run_until(LIMIT, || async { h.notices(no).await["flagged"] == true })
            .await;
    }
    (h, orders)
}

/// Every page of the flagged list, `size` at a time: the numbers, in the order listed.
async fn all_pages(h: &Harness, size: i64) -> Vec<String> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({"pageSize": size});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let d = h.ok(FLAGGED, body).await;
        let page = d["orders"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= size as usize, "{d}");
        for o in &page {
            assert_eq!(o["status"], "allocation_processing", "{o}");
            assert_eq!(o["channel"], "ali_pay", "{o}");
            assert!(
                o["createdAt"].as_i64().is_some_and(|t| t > 1_700_000_000),
                "{o}"
            );
            listed.push(text(&o["allocationNo"]));
        }
        match d.get("nextCursor") {
            Some(c) => cursor = Some(text(c)),
            None => return listed,
        }
    }
    panic!("the pages never ended: {listed:?}");
}

#[tokio::test]
async fn flagged_orders_are_paged_newest_first_and_leave_the_list_once_settled() {
    let (h, orders) = three_flagged().await;
    let numbers: BTreeSet<String> = orders.iter().map(|(no, _)| no.clone()).collect();
    let listed = all_pages(&h, 2).await;
    assert_eq!(listed.len(), 3, "each once: {listed:?}");
    assert_eq!(listed.iter().cloned().collect::<BTreeSet<_>>(), numbers);
    // newest first: createdAt never grows down the list
    let d = h.ok(FLAGGED, json!({})).await;
    let times: Vec<i64> = d["orders"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["createdAt"].as_i64()).collect())
        .unwrap_or_default();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{d}");

    // the channel settles the first; a sync of it takes it off the list
    let (first, trade) = &orders[0];
    h.settle(trade, first, &[]).await;
    h.sync(json!({"allocationNo": first})).await;
    let left = all_pages(&h, 100).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(first), "{left:?}");

    // a cursor this endpoint did not answer is refused, naming the field
    let env = h.post(FLAGGED, json!({"cursor": "not-a-cursor"})).await;
    assert_eq!(env["code"], 10006, "{env}");
    assert!(text(&env["msg"]).contains("cursor"), "{env}");
}

#[tokio::test]
async fn a_sync_of_many_queues_each_order_still_processing_and_says_why_not_for_the_rest() {
    let (h, orders) = three_flagged().await;
    let (settled, trade) = &orders[0];
    h.settle(trade, settled, &[]).await;
    h.sync(json!({"allocationNo": settled})).await;
    let waiting = &orders[1].0;
    // nothing else is left in the queue
    for _ in 0..20 {
        if h.round().await == 0 {
            break;
        }
    }
    let d = h
        .ok(
            SYNC_MANY,
            json!({"allocNos": [waiting, settled, "DEVA0000"]}),
        )
        .await;
    let lines = d["orders"].as_array().cloned().unwrap_or_default();
    // answered in the request's (2.0.8) names, in the request's order
    let got: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| (text(&l["allocNo"]), text(&l["outcome"]), text(&l["status"])))
        .collect();
    assert_eq!(
        got,
        [
            (waiting.clone(), "queued".into(), String::new()),
            (
                settled.clone(),
                "not_processing".into(),
                "allocation_end".into()
            ),
            ("DEVA0000".into(), "not_found".into(), String::new()),
        ],
        "{d}"
    );
    // the queued job asks the channel about the waiting order
    let calls = h.call_count();
    let handled = h.drain_once().await;
    assert!(handled >= 1, "nothing was queued");
    assert!(h.call_count() > calls, "the channel was not asked");
}

const BY_DAY: &str = "/unipay/query/allocationOrders";

/// Every page of the orders of `status` created on `day`, two at a time.
async fn day_pages(h: &Harness, status: &str, day: &str) -> Vec<Value> {
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({"status": status, "day": day, "pageSize": 2});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let d = h.ok(BY_DAY, body).await;
        let page = d["orders"].as_array().cloned().unwrap_or_default();
        assert!(page.len() <= 2, "{d}");
        listed.extend(page);
        match d.get("nextCursor") {
            Some(c) => cursor = Some(text(c)),
            None => return listed,
        }
    }
    panic!("the pages never ended: {listed:?}");
}

/// The numbers listed for `status` on either Beijing day a test ran in (it may cross midnight).
async fn listed_on(h: &Harness, status: &str, days: &BTreeSet<String>) -> Vec<String> {
    let mut numbers = Vec::new();
    for day in days {
        for o in day_pages(h, status, day).await {
            assert_eq!(text(&o["status"]), status, "{o}");
            numbers.push(text(&o["allocationNo"]));
        }
    }
    numbers
}

#[tokio::test]
async fn orders_are_listed_by_status_and_day_newest_first_and_move_with_their_status() {
    let mut h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    // Without order lists (the default) the list is refused, saying how to enable it.
    let refused = h
        .refused(
            BY_DAY,
            json!({"status": "allocation_processing", "day": "2026-12-01"}),
        )
        .await;
    assert!(refused.contains("OrderLists"), "{refused}");

    h.app.store = h.app.store.clone().with_order_lists(true);
    let mut days = BTreeSet::new();
    days.insert(shared::domain::numbers::beijing_day(crate::common::now()));
    let orders = start_three(&h).await;
    days.insert(shared::domain::numbers::beijing_day(crate::common::now()));

    let processing = listed_on(&h, "allocation_processing", &days).await;
    let numbers: BTreeSet<String> = orders.iter().map(|(no, _)| no.clone()).collect();
    assert_eq!(processing.len(), 3, "each once: {processing:?}");
    assert_eq!(processing.iter().cloned().collect::<BTreeSet<_>>(), numbers);
    let day = days.iter().next().cloned().unwrap_or_default();
    let d = h
        .ok(
            BY_DAY,
            json!({"status": "allocation_processing", "day": day}),
        )
        .await;
    let times: Vec<i64> = d["orders"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["createdAt"].as_i64()).collect())
        .unwrap_or_default();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {d}");
    // another day lists none of them
    let other = h
        .ok(
            BY_DAY,
            json!({"status": "allocation_processing", "day": "2020-01-01"}),
        )
        .await;
    assert_eq!(other["orders"], json!([]), "{other}");

    // the channel settles the first: it leaves the processing list for the ended one
    let (first, trade) = &orders[0];
    h.settle(trade, first, &[]).await;
    h.sync(json!({"allocationNo": first})).await;
    let processing = listed_on(&h, "allocation_processing", &days).await;
    assert_eq!(processing.len(), 2, "{processing:?}");
    assert!(!processing.contains(first), "{processing:?}");
    assert_eq!(
        listed_on(&h, "allocation_end", &days).await,
        std::slice::from_ref(first)
    );

    // a bad day or cursor is refused, naming the field
    let env = h
        .post(
            BY_DAY,
            json!({"status": "allocation_end", "day": "2026-13-01"}),
        )
        .await;
    assert_eq!(env["code"], 10006, "{env}");
    assert!(text(&env["msg"]).contains("day"), "{env}");
    let env = h
        .post(
            BY_DAY,
            json!({"status": "allocation_end", "day": day, "cursor": "x"}),
        )
        .await;
    assert!(text(&env["msg"]).contains("cursor"), "{env}");
}
