//! Reconciliation of a day end to end (SPEC §4.13, issue 24): the channel's client fetches the
//! simulator's bill (built from its own ledger, and corrupted on request), the raw file is kept
//! in the emulator's S3, the bill is compared with the splits made through the service, each
//! discrepancy is confirmed with the channel's per-order query, and the statement is kept.

use crate::common::harness::{APP_ID, Harness, Kind, MCHID, SP_MCHID, SUB_MCHID, Sim};
use crate::common::{in_provider_mode, now, sdk, unique};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use serde_json::{Value, json};
use shared::domain::{BillDay, Channel, StatementRecord, StatementStatus};
use shared::infra::archive::BillArchive;
use shared::service::reconcile::{self, DayError};
use std::time::Duration;

const START: &str = "/unipay/allocation/start";

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn today() -> BillDay {
    BillDay::of(now()).unwrap_or_else(|| panic!("no day"))
}

/// A harness whose app keeps bills in a bucket of its own, with one split of 60.00 + 15.00
/// yuan on a paid order of 100.00 made and succeeded today: the trade and the allocationNo.
async fn split_today(kind: Kind) -> (Harness, String, String) {
    split(kind, true).await
}

/// [`split_today`], with our side synced after the channel settled (`synced`) or left
/// processing.
async fn split(kind: Kind, synced: bool) -> (Harness, String, String) {
    let mut h = Harness::new(kind, Duration::from_secs(5)).await;
    let sdk = sdk().await;
    let bucket = unique("bills").to_lowercase();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    if let Err(e) = s3.create_bucket().bucket(&bucket).send().await {
        panic!("bucket: {}", aws_sdk_s3::error::DisplayErrorContext(&e));
    }
    h.app.archive = Some(BillArchive::new(sdk, &bucket));
    let [(t1, a1), (t2, a2)] = h.accounts();
    h.receiver("r1", t1, a1).await;
    h.receiver("r2", t2, a2).await;
    let trade = h.paid("P1", 10000).await;
    let data = h
        .ok(
            START,
            json!({"bizAllocationNo": "A1", "orderNo": "P1", "receivers": [
            {"receiverNo": "r1", "amount": 6000}, {"receiverNo": "r2", "amount": 1500}]}),
        )
        .await;
    let no = text(&data["allocationNo"]);
    h.settle(&trade, &no, &[]).await;
    if synced {
        let synced = h.sync(json!({"allocationNo": no})).await;
        assert_eq!(synced["status"], "allocation_end", "{synced}");
    }
    (h, trade, no)
}

fn channel(h: &Harness) -> Channel {
    match h.sim {
        Sim::Alipay(_) => Channel::AliPay,
        Sim::Wechat(_) => Channel::WechatPay,
    }
}

async fn run_today(h: &Harness) -> Result<StatementRecord, DayError> {
    reconcile::reconcile_day(&h.app, channel(h), today(), now()).await
}

fn wechat(h: &Harness) -> &wechat_sim::WechatSim {
    match &h.sim {
        Sim::Wechat(s) => s,
        Sim::Alipay(_) => panic!("a WeChat Pay harness"),
    }
}

fn alipay(h: &Harness) -> &alipay_sim::AlipaySim {
    match &h.sim {
        Sim::Alipay(s) => s,
        Sim::Wechat(_) => panic!("an Alipay harness"),
    }
}

fn corrupt_wechat(h: &Harness, knob: Value) {
    let knob = serde_json::from_value(knob).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = wechat(h).corrupt_bill(MCHID, &today().text(), knob) {
        panic!("{e}");
    }
}

fn corrupt_alipay(h: &Harness, knob: Value) {
    let knob = serde_json::from_value(knob).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = alipay(h).corrupt_bill(APP_ID, &today().text(), knob) {
        panic!("{e}");
    }
}

async fn discrepancies(
    h: &Harness,
    st: &StatementRecord,
) -> Vec<shared::domain::DiscrepancyRecord> {
    h.app
        .store
        .discrepancies(st, 0, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn ok(r: Result<StatementRecord, DayError>) -> StatementRecord {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// The case DaxPay 3.0.0-beta4 got wrong: identical sides give zero discrepancies. The raw
/// bill is kept under the app, channel and day, and the statement is what the store shows.
async fn identical_sides_are_consistent(kind: Kind) {
    let (h, _, _) = split_today(kind).await;
    let st = ok(run_today(&h).await);
    assert_eq!(st.status, StatementStatus::Consistent, "{st:?}");
    assert_eq!((st.discrepancies, st.unresolved), (0, 0));
    assert_eq!(st.ours, st.theirs);
    assert_eq!(st.ours.split_fen, 7500);
    let key = st.bill_key.clone().unwrap_or_default();
    assert!(
        key.starts_with(&format!(
            "bills/default/{}/{}/",
            channel(&h).code(),
            today()
        )),
        "{key}"
    );
    // the raw bill, with its SHA-1, read back as an auditor would
    let bucket = h.app.archive.as_ref().map(|a| a.bucket().to_owned());
    let sdk = sdk().await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    let object = s3
        .get_object()
        .bucket(bucket.unwrap_or_default())
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the raw bill is kept: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        });
    let sha1 = object.metadata().and_then(|m| m.get("sha1")).cloned();
    assert_eq!(sha1, st.bill_sha1, "kept with its hash");
    // the CRC-32 the S3 client sent with the bill (S3 refuses a wrong one) is zlib's
    let sent_crc = object.checksum_crc32().map(str::to_owned);
    let body = object.body.collect().await.map(|b| b.into_bytes());
    let body = body.unwrap_or_else(|e| panic!("the raw bill reads back: {e}"));
    assert!(!body.is_empty(), "the raw bill is kept whole");
    let crc = crc32fast::hash(&body).to_be_bytes();
    assert_eq!(sent_crc, Some(BASE64_STANDARD.encode(crc)), "its checksum");
    let shown = h.app.store.statement(channel(&h), &today().text()).await;
    assert_eq!(shown.ok().flatten(), Some(st));
}

#[tokio::test]
async fn identical_sides_are_consistent_wechat() {
    identical_sides_are_consistent(Kind::Wechat).await;
}

#[tokio::test]
async fn identical_sides_are_consistent_alipay() {
    identical_sides_are_consistent(Kind::Alipay).await;
}

#[tokio::test]
async fn identical_sides_are_consistent_wechat_partner() {
    in_provider_mode(identical_sides_are_consistent(Kind::Wechat)).await;
}

#[tokio::test]
async fn identical_sides_are_consistent_alipay_isv() {
    in_provider_mode(identical_sides_are_consistent(Kind::Alipay)).await;
}

/// In partner mode each app asks for its sub-merchant's bill (`sub_mchid`): a split of another
/// sub-merchant of the same provider that day is in the provider's bill, never in this app's
/// statement.
#[tokio::test]
async fn partner_bills_are_the_sub_merchants_own() {
    in_provider_mode(async {
        let (h, _, _) = split_today(Kind::Wechat).await;
        let other = wechat_sim::SubMerchantAccount {
            sp_mchid: SP_MCHID.into(),
            sub_mchid: "1900000202".into(),
            sub_appid: None,
            max_ratio: 3000,
        };
        if let Err(e) = wechat(&h).add_sub_merchant(other) {
            panic!("{e}");
        }
        let knob = json!({"knob": "add_foreign", "number": "OTHER1", "receiver": "1900000999", "amount_fen": 100});
        let knob = serde_json::from_value(knob).unwrap_or_else(|e| panic!("{e}"));
        if let Err(e) = wechat(&h).corrupt_bill("1900000202", &today().text(), knob) {
            panic!("{e}");
        }
        let st = ok(run_today(&h).await);
        assert_eq!(st.status, StatementStatus::Consistent, "{st:?}");
        assert_eq!((st.theirs.splits, st.theirs.split_fen), (2, 7500));
        assert_eq!(st.account, format!("{SP_MCHID}/{SUB_MCHID}"));
        let asked: Vec<Option<String>> = wechat(&h)
            .calls()
            .into_iter()
            .filter(|c| c.path.starts_with("/v3/profitsharing/bills"))
            .map(|c| c.sub_mchid)
            .collect();
        assert_eq!(asked, vec![Some(SUB_MCHID.to_owned())]);
    })
    .await;
}

/// Our side of a day is read in batches, never a round trip per row: the day's `byDay`
/// partitions (keys only), then 100 items per batched read. Prints the read units per 1,000
/// bill rows (two receivers per order).
#[tokio::test]
async fn our_side_of_a_day_is_read_in_batches() {
    let (h, _, _) = split_today(Kind::Wechat).await;
    let orders = 120;
    for i in 0..orders {
        let order = format!("PB{i:04}");
        h.paid(&order, 1000).await;
        h.ok(
            START,
            json!({"bizAllocationNo": format!("B{i:04}"), "orderNo": order, "receivers": [
            {"receiverNo": "r1", "amount": 100}, {"receiverNo": "r2", "amount": 50}]}),
        )
        .await;
    }
    let plain = aws_sdk_dynamodb::Client::new(&sdk().await);
    let table = h.app.store.table().to_owned();
    let before = crate::common::meter::snapshot(&plain, &table).await;
    h.meter.take();
    let day = h.app.store.day_records(&today().text()).await;
    let day = day.unwrap_or_else(|e| panic!("{e}"));
    let calls = h.meter.take();
    let after = crate::common::meter::snapshot(&plain, &table).await;
    let units = crate::common::meter::units(&calls, &before, &after);
    assert_eq!(day.orders.len(), orders + 1);
    // 7 partitions (by day alone, and each status for order lists), 2 batched reads
    assert_eq!(
        calls.len(),
        9,
        "{:?}",
        calls.iter().map(|c| &c.operation).collect::<Vec<_>>()
    );
    let rows = 2.0 * (orders + 1) as f64;
    println!(
        "our side of a day: {} orders, {rows} rows in {} round trips, {} read units = {:.0} read units per 1,000 rows",
        orders + 1,
        calls.len(),
        units.read,
        units.read * 1000.0 / rows
    );
}

/// A row the bill dropped is missing at the channel, but the order query says the split
/// succeeded with our amount: kept as resolved, with that evidence. An amount the bill
/// changed is a mismatch the query resolves the same way.
#[tokio::test]
async fn transient_discrepancies_are_found_typed_and_resolved_by_the_order_query() {
    let (h, _, no) = split_today(Kind::Wechat).await;
    let [(_, a1), (_, a2)] = h.accounts();
    corrupt_wechat(
        &h,
        json!({"knob": "drop_row", "number": no, "receiver": a1}),
    );
    corrupt_wechat(
        &h,
        json!({"knob": "change_amount", "number": no, "receiver": a2, "amount_fen": 1499}),
    );
    let st = ok(run_today(&h).await);
    assert_eq!((st.discrepancies, st.unresolved), (2, 0), "{st:?}");
    assert_eq!(st.status, StatementStatus::Consistent);
    assert_eq!(st.theirs.split_fen, 1499);
    let found = discrepancies(&h, &st).await;
    let kinds: Vec<(&str, &str, bool)> = found
        .iter()
        .map(|d| (d.kind.as_str(), d.receiver.as_str(), d.resolved))
        .collect();
    assert!(
        kinds.contains(&("missing_at_channel", a1, true)),
        "{found:?}"
    );
    assert!(kinds.contains(&("amount_mismatch", a2, true)), "{found:?}");
    assert!(
        found.iter().all(|d| d.evidence.contains("SUCCESS")),
        "{found:?}"
    );
}

/// A split the channel finished that our records still show processing (its sync has not run)
/// is a status mismatch; the order query agrees with the bill, so it stands.
#[tokio::test]
async fn a_split_still_processing_here_is_a_status_mismatch() {
    let (h, _, _) = split(Kind::Wechat, false).await;
    // no sync: ours still says processing
    let st = ok(run_today(&h).await);
    let found = discrepancies(&h, &st).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().all(|d| d.kind == "status_mismatch"
            && d.ours_status.as_deref() == Some("processing")
            && d.channel_status.as_deref() == Some("success")
            && !d.resolved
            && d.evidence.contains("SUCCESS")),
        "{found:?}"
    );
    assert_eq!(st.status, StatementStatus::Discrepancies);
}

/// A split made outside this service stands after the query: the day has discrepancies.
#[tokio::test]
async fn a_split_made_elsewhere_is_confirmed() {
    let (h, _, _) = split_today(Kind::Wechat).await;
    corrupt_wechat(
        &h,
        json!({"knob": "add_foreign", "number": "X900", "receiver": "1900000999", "amount_fen": 100}),
    );
    let st = ok(run_today(&h).await);
    assert_eq!(st.status, StatementStatus::Discrepancies, "{st:?}");
    assert_eq!((st.discrepancies, st.unresolved), (1, 1));
    let found = discrepancies(&h, &st).await;
    assert_eq!(found[0].kind, "missing_here");
    assert_eq!(found[0].number, "X900");
    assert_eq!(found[0].channel_fen, Some(100));
    assert!(!found[0].resolved);
}

/// A bill whose SHA-1 does not match is refused (to be fetched again); the next fetch is good.
#[tokio::test]
async fn a_bad_hash_is_refused_and_the_next_fetch_taken() {
    let (h, _, _) = split_today(Kind::Wechat).await;
    corrupt_wechat(&h, json!({"knob": "break_hash", "times": 1}));
    match run_today(&h).await {
        Err(DayError::Retry(why)) => assert!(why.contains("SHA-1"), "{why}"),
        other => panic!("{other:?}"),
    }
    let none = h
        .app
        .store
        .statement(Channel::WechatPay, &today().text())
        .await;
    assert_eq!(none.ok().flatten(), None, "nothing kept of a refused bill");
    let st = ok(run_today(&h).await);
    assert_eq!(st.status, StatementStatus::Consistent);
}

/// A bill without a needed column fails the day, naming the column; nothing is compared.
#[tokio::test]
async fn a_missing_column_fails_the_day_clearly() {
    let (h, _, _) = split_today(Kind::Wechat).await;
    corrupt_wechat(&h, json!({"knob": "drop_column", "column": "金额"}));
    match run_today(&h).await {
        Err(DayError::Failed(why)) => assert!(why.contains("金额"), "{why}"),
        other => panic!("{other:?}"),
    }
}

/// Alipay's per-trade royalty: a changed 分润 is a mismatch the settle query resolves; a trade
/// with royalty not made here stands.
#[tokio::test]
async fn alipay_royalty_per_trade() {
    let (h, trade, _) = split_today(Kind::Alipay).await;
    corrupt_alipay(
        &h,
        json!({"knob": "change_amount", "out_trade_no": format!("M{trade}"), "royalty_fen": 7000}),
    );
    corrupt_alipay(
        &h,
        json!({"knob": "add_foreign", "out_trade_no": "MX1", "trade_no": "2026X1", "royalty_fen": 300}),
    );
    let st = ok(run_today(&h).await);
    let found = discrepancies(&h, &st).await;
    let kinds: Vec<(&str, bool)> = found
        .iter()
        .map(|d| (d.kind.as_str(), d.resolved))
        .collect();
    assert!(kinds.contains(&("amount_mismatch", true)), "{found:?}");
    assert!(kinds.contains(&("missing_here", false)), "{found:?}");
    assert_eq!((st.discrepancies, st.unresolved), (2, 1));
    assert_eq!(st.status, StatementStatus::Discrepancies);
}

/// The job: the cursor names the day before yesterday (its bill ready whatever the hour); its
/// bill (empty) is reconciled and the cursor moves to the next day, due at 10:00 the day after
/// it. A day whose bill is not ready yet is not asked for, nor a re-run of a day older than 3
/// months.
#[tokio::test]
async fn the_daily_job_moves_the_cursor_and_respects_the_window() {
    let (h, _, _) = split_today(Kind::Wechat).await;
    let day = |d: Option<BillDay>| d.unwrap_or_else(|| panic!("a day"));
    let yesterday = day(today().previous());
    let before = day(yesterday.previous());
    let store = &h.app.store;
    let started = store
        .start_reconciling(Channel::WechatPay, &before.text(), before.ready_at())
        .await;
    assert_eq!(started.ok(), Some(true));
    if let Err(e) = reconcile::run(&h.app, Channel::WechatPay, None).await {
        panic!("{e}");
    }
    let st = store.statement(Channel::WechatPay, &before.text()).await;
    let st = st
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the day's statement"));
    assert_eq!(st.status, StatementStatus::Consistent);
    assert_eq!(
        st.ours.splits + st.theirs.splits,
        0,
        "today's split is not that day's"
    );
    let cursor = store
        .reconcile_cursor(Channel::WechatPay)
        .await
        .ok()
        .flatten();
    assert_eq!(cursor.map(|c| c.day), Some(yesterday.text()));
    // today's bill is never ready today: nothing is asked
    let moved = store
        .move_cursor(
            Channel::WechatPay,
            &yesterday.text(),
            &today().text(),
            0,
            0,
            None,
        )
        .await;
    assert_eq!(moved.ok(), Some(true));
    let calls = wechat(&h).calls().len();
    if let Err(e) = reconcile::run(&h.app, Channel::WechatPay, None).await {
        panic!("{e}");
    }
    assert_eq!(
        wechat(&h).calls().len(),
        calls,
        "today's bill is not asked for today"
    );
    assert_eq!(
        store
            .statement(Channel::WechatPay, &today().text())
            .await
            .ok()
            .flatten(),
        None
    );
    // a day the channels no longer serve is not asked for either
    let old = day(BillDay::parse("2020-01-01"));
    if let Err(e) = reconcile::run(&h.app, Channel::WechatPay, Some(&old.text())).await {
        panic!("{e}");
    }
    assert_eq!(wechat(&h).calls().len(), calls);
    let none = store.statement(Channel::WechatPay, &old.text()).await;
    assert_eq!(none.ok().flatten(), None);
}
