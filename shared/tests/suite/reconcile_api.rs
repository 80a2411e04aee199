//! Reading reconciliation (SPEC §4.13, issue 24): a day reconciled against the simulator's
//! bill is read through the signed merchant endpoints (its statement, a range of days, its
//! discrepancies a page at a time with accounts masked); another app's day and a day never
//! reconciled are answered alike; bad input is refused by field with nothing written; and the
//! admin route queues a day's re-run, refusing unsigned calls, days the channels do not serve
//! and channels the app has no account at.

use crate::common::harness::{APP_ID, Harness, Kind, MCHID, Sim, fast_jobs};
use crate::common::{admin_request, all_items, now, sdk, unique};
use crate::isolation::stack_around;
use crate::tenancy::{admin, new_app, post, signed_with};
use serde_json::{Value, json};
use shared::app::Stack;
use shared::domain::{BillDay, Channel, StatementRecord};
use shared::infra::archive::BillArchive;
use shared::service::reconcile;
use std::time::Duration;

const STATEMENT: &str = "/unipay/query/reconcileStatement";
const DISCREPANCIES: &str = "/unipay/query/reconcileDiscrepancies";

fn day(d: Option<BillDay>) -> BillDay {
    d.unwrap_or_else(|| panic!("no day"))
}

fn today() -> BillDay {
    day(BillDay::of(now()))
}

fn yesterday() -> BillDay {
    day(today().previous())
}

fn channel(h: &Harness) -> Channel {
    match h.sim {
        Sim::Alipay(_) => Channel::AliPay,
        Sim::Wechat(_) => Channel::WechatPay,
    }
}

/// A harness whose app keeps bills in a bucket of its own, with one split of 30.00 yuan to
/// `r1` made and succeeded today; the bill of today carries `foreign` splits made elsewhere
/// (WeChat Pay: to receivers `190000099<i>`; Alipay: whole trades).
async fn split_with_foreign(kind: Kind, foreign: usize) -> Harness {
    let mut h = Harness::new(kind, Duration::from_secs(5)).await;
    let config = sdk().await;
    let bucket = unique("recon-api").to_lowercase();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    if let Err(e) = s3.create_bucket().bucket(&bucket).send().await {
        panic!("{}", aws_sdk_s3::error::DisplayErrorContext(&e));
    }
    h.app.archive = Some(BillArchive::new(config, &bucket));
    let [(kind1, account1), _] = h.accounts();
    h.receiver("r1", kind1, account1).await;
    let trade = h.paid("P1", 5000).await;
    let started = h
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "A1", "orderNo": "P1",
                "receivers": [{"receiverNo": "r1", "amount": 3000}]}),
        )
        .await;
    let no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    h.settle(&trade, &no, &[]).await;
    let synced = h.sync(json!({"allocationNo": no})).await;
    assert_eq!(synced["status"], "allocation_end", "{synced}");
    for i in 1..=foreign {
        let knob = match &h.sim {
            Sim::Wechat(_) => json!({"knob": "add_foreign", "number": format!("X90{i}"),
                "receiver": format!("190000099{i}"), "amount_fen": 100 * i}),
            Sim::Alipay(_) => json!({"knob": "add_foreign", "out_trade_no": format!("MX{i}"),
                "trade_no": format!("2026X{i}"), "royalty_fen": 100 * i}),
        };
        let done = match &h.sim {
            Sim::Wechat(s) => serde_json::from_value(knob)
                .map_err(|e| e.to_string())
                .and_then(|k| {
                    s.corrupt_bill(MCHID, &today().text(), k)
                        .map_err(|e| e.to_string())
                }),
            Sim::Alipay(s) => serde_json::from_value(knob)
                .map_err(|e| e.to_string())
                .and_then(|k| {
                    s.corrupt_bill(APP_ID, &today().text(), k)
                        .map_err(|e| e.to_string())
                }),
        };
        done.unwrap_or_else(|e| panic!("{e}"));
    }
    h
}

async fn reconciled(h: &Harness, d: BillDay) -> StatementRecord {
    reconcile::reconcile_day(&h.app, channel(h), d, now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn list(v: &Value, member: &str) -> Vec<Value> {
    v[member].as_array().cloned().unwrap_or_default()
}

/// The envelope of `body` (signed now) sent to `path` as app `(id, secret)` of `stack`, under
/// its prefix.
async fn as_app(stack: &Stack, (id, secret): (&str, &str), path: &str, mut body: Value) -> Value {
    body["reqTime"] = json!(now());
    let r = post(
        stack,
        &format!("/app/{id}{path}"),
        &signed_with(secret, body),
    )
    .await;
    crate::common::envelope(&r)
}

/// The envelope of a request that must be refused before it runs (`10006`).
async fn invalid(h: &Harness, path: &str, body: Value) -> String {
    let env = h.post(path, body.clone()).await;
    assert_eq!(env["code"], 10006, "{path} {body} -> {env}");
    assert_eq!(env["data"], Value::Null, "{env}");
    env["msg"].as_str().unwrap_or_default().to_owned()
}

/// A day with three splits made elsewhere: its statement (the day's, under the app's prefix
/// too, and in a range with the day before, newest first) and its discrepancies over two
/// pages, accounts masked; a cursor of a run since replaced is refused.
#[tokio::test]
async fn a_days_statement_and_its_discrepancies_are_read_signed() {
    let h = split_with_foreign(Kind::Wechat, 3).await;
    let st = reconciled(&h, today()).await;
    let before = reconciled(&h, yesterday()).await;
    let asked = json!({"channel": "wechat_pay", "day": today().text()});
    let data = h.ok(STATEMENT, asked.clone()).await;
    let shown = list(&data, "statements");
    assert_eq!(shown.len(), 1, "{data}");
    let s = &shown[0];
    assert_eq!(
        (&s["channel"], &s["day"], &s["account"], &s["status"]),
        (
            &json!("wechat_pay"),
            &json!(today().text()),
            &json!(MCHID),
            &json!("discrepancies")
        ),
        "{s}"
    );
    let counts: Vec<i64> = [
        "oursSplits",
        "oursSplitAmount",
        "oursReturns",
        "oursReturnAmount",
        "channelSplits",
        "channelSplitAmount",
        "channelReturns",
        "channelReturnAmount",
        "discrepancies",
        "unresolved",
    ]
    .iter()
    .map(|m| s[*m].as_i64().unwrap_or(-1))
    .collect();
    assert_eq!(counts, [1, 3000, 0, 0, 4, 3600, 0, 0, 3, 3], "{s}");
    assert_eq!(s["reconciledAt"], json!(st.reconciled_at));
    assert_eq!(s["billSha1"], json!(st.bill_sha1));
    assert!(s.get("error").is_none(), "{s}");
    let prefixed = h.ok(&format!("/app/default{STATEMENT}"), asked).await;
    assert_eq!(prefixed["statements"], data["statements"]);

    let range = json!({"channel": "wechat_pay", "from": yesterday().text(), "to": today().text()});
    let days: Vec<Value> = list(&h.ok(STATEMENT, range).await, "statements")
        .iter()
        .map(|s| s["day"].clone())
        .collect();
    assert_eq!(days, [json!(st.day), json!(before.day)]);

    let first = h
        .ok(
            DISCREPANCIES,
            json!({"channel": "wechat_pay", "day": today().text(), "pageSize": 2}),
        )
        .await;
    let cursor = first["nextCursor"].as_str().unwrap_or_default().to_owned();
    assert!(cursor.starts_with(&st.run), "{first}");
    assert_eq!(first["total"], 3);
    let second = h
        .ok(
            DISCREPANCIES,
            json!({"channel": "wechat_pay", "day": today().text(), "pageSize": 2,
                "cursor": cursor}),
        )
        .await;
    assert!(
        second.get("nextCursor").is_none(),
        "the last page: {second}"
    );
    let mut rows = list(&first, "discrepancies");
    rows.extend(list(&second, "discrepancies"));
    let mut seen: Vec<(String, String, i64)> = rows
        .iter()
        .map(|d| {
            assert_eq!(
                (&d["kind"], &d["what"], &d["resolved"]),
                (&json!("missing_here"), &json!("split"), &json!(false)),
                "{d}"
            );
            let text = |m: &str| d[m].as_str().unwrap_or_default().to_owned();
            (
                text("number"),
                text("receiverAccount"),
                d["channelAmount"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("X901".to_owned(), "19****91".to_owned(), 100),
            ("X902".to_owned(), "19****92".to_owned(), 200),
            ("X903".to_owned(), "19****93".to_owned(), 300)
        ]
    );
    assert!(
        !rows.iter().any(|d| d.to_string().contains("1900000991")),
        "{rows:?}"
    );

    // the day reconciled again: a cursor of the run it replaced starts over
    reconciled(&h, today()).await;
    let stale = json!({"channel": "wechat_pay", "day": today().text(), "cursor": cursor});
    let said = invalid(&h, DISCREPANCIES, stale).await;
    assert!(said.contains("cursor: is of a run"), "{said}");
}

/// Alipay's royalty is per trade: a trade split elsewhere shows its account as `*`.
#[tokio::test]
async fn a_whole_trade_shows_a_star_for_its_account() {
    let h = split_with_foreign(Kind::Alipay, 1).await;
    let st = reconciled(&h, today()).await;
    assert_eq!(st.unresolved, 1, "{st:?}");
    let page = h
        .ok(
            DISCREPANCIES,
            json!({"channel": "ali_pay", "day": today().text()}),
        )
        .await;
    let rows = list(&page, "discrepancies");
    assert_eq!(rows.len(), 1, "{page}");
    assert_eq!(rows[0]["receiverAccount"], "*");
    assert_eq!(rows[0]["channelAmount"], 100);
    assert!(page.get("nextCursor").is_none());
}

/// A day the app never reconciled is refused as an unknown order is; another app asking for
/// this app's day (under its own prefix, with its own secret) gets the very same answer.
#[tokio::test]
async fn another_apps_day_is_a_day_never_reconciled() {
    let h = split_with_foreign(Kind::Wechat, 0).await;
    reconciled(&h, today()).await;
    let stack = stack_around(&h).await;
    let secret = new_app(&stack, "M2", "shop-b").await;
    let asked = json!({"channel": "wechat_pay", "day": today().text()});
    let expected = format!(
        "对账单不存在 (no statement of wechat_pay for {}: the day was not reconciled)",
        today()
    );
    for path in [STATEMENT, DISCREPANCIES] {
        let env = as_app(&stack, ("shop-b", &secret), path, asked.clone()).await;
        assert_eq!(
            (&env["code"], &env["data"]["code"], &env["data"]["msg"]),
            (&json!(0), &json!(1), &json!(expected)),
            "{env}"
        );
    }
    let never = h
        .refused(
            STATEMENT,
            json!({"channel": "wechat_pay", "day": yesterday().text()}),
        )
        .await;
    assert_eq!(
        never,
        expected.replace(&today().text(), &yesterday().text())
    );
    let range = json!({"channel": "ali_pay", "from": yesterday().text(), "to": today().text()});
    assert_eq!(h.ok(STATEMENT, range).await["statements"], json!([]));
}

/// Bad input is refused naming the field and the rule (10006), before anything is read or
/// written.
#[tokio::test]
async fn bad_input_is_refused_by_field_and_writes_nothing() {
    let h = split_with_foreign(Kind::Wechat, 1).await;
    reconciled(&h, today()).await;
    let items = all_items(&h.app.store).await.len();
    let d = today().text();
    for (path, body, says) in [
        (STATEMENT, json!({"channel": "paypal", "day": d}), "channel"),
        (
            STATEMENT,
            json!({"channel": "union_pay", "day": d}),
            "channel: 云闪付不支持分账",
        ),
        (
            STATEMENT,
            json!({"channel": "wechat_pay", "day": "2026-02-30"}),
            "day: must be a day written yyyy-MM-dd",
        ),
        (
            STATEMENT,
            json!({"channel": "wechat_pay", "from": "2026-10-01", "to": "2026-12-01"}),
            "to: must be at most 31 days from from",
        ),
        (
            STATEMENT,
            json!({"channel": "wechat_pay"}),
            "day: is required",
        ),
        (
            DISCREPANCIES,
            json!({"channel": "wechat_pay", "day": d, "pageSize": 101}),
            "pageSize: must be an integer from 1 to 100",
        ),
        (
            DISCREPANCIES,
            json!({"channel": "wechat_pay", "day": d, "cursor": "nonsense"}),
            "cursor: must be a nextCursor this endpoint answered",
        ),
        (
            DISCREPANCIES,
            json!({"channel": "wechat_pay", "day": d, "pageNo": 2}),
            "pageNo",
        ),
    ] {
        let said = invalid(&h, path, body.clone()).await;
        assert!(said.contains(says), "{body} -> {said}");
    }
    assert_eq!(all_items(&h.app.store).await.len(), items);
}

/// `POST /admin/apps/{appId}/reconcile`: refused without an IAM principal, for a day the
/// channels do not serve, a channel the app has no account at, an unknown app; otherwise the
/// job is queued (202), audited, and the worker keeps the day's statement, which the app reads
/// under its prefix. The default app is named by its id.
#[tokio::test]
async fn the_admin_route_queues_a_days_rerun() {
    let mut h = split_with_foreign(Kind::Wechat, 0).await;
    h.with_queue(fast_jobs(), 5).await;
    let stack = stack_around(&h).await;
    let secret = new_app(&stack, "M1", "shop-a").await;
    h.install_account(&stack, "shop-a").await;
    let path = "/admin/apps/shop-a/reconcile";
    let body = json!({"channel": "wechat_pay", "day": yesterday().text()});

    let unsigned =
        shared::http::handle(&stack, admin_request("POST", path, &body.to_string(), None)).await;
    assert_eq!(unsigned.status(), 403);
    let old = day(BillDay::parse("2020-01-01"));
    for (at, asked, status, says) in [
        (
            path,
            json!({"channel": "wechat_pay", "day": today().text()}),
            400,
            "day: must be a day before today",
        ),
        (
            path,
            json!({"channel": "wechat_pay", "day": old.text()}),
            400,
            "day: must be within the last 3 months",
        ),
        (
            path,
            json!({"channel": "ali_pay", "day": yesterday().text()}),
            400,
            "channel: app shop-a has no ali_pay account",
        ),
        (
            path,
            json!({"channel": "union_pay", "day": yesterday().text()}),
            400,
            "channel: must be ali_pay or wechat_pay",
        ),
        (
            path,
            json!({"channel": "wechat_pay", "day": yesterday().text(), "x": 1}),
            400,
            "x: is not a known field",
        ),
        (
            "/admin/apps/shop-z/reconcile",
            body.clone(),
            404,
            "no app shop-z",
        ),
    ] {
        let (got, answer) = admin(&stack, "POST", at, asked.clone()).await;
        assert_eq!(got, status, "{asked} -> {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{asked} -> {answer}");
    }
    assert_eq!(h.drain_for(&stack, None).await.0, 0, "nothing was queued");

    let (status, answer) = admin(&stack, "POST", path, body.clone()).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(
        answer,
        json!({"queued": {"job": "reconcile", "appId": "shop-a", "channel": "wechat_pay",
            "day": yesterday().text()}})
    );
    let (status, audit) = admin(&stack, "GET", "/admin/audit?target=app:shop-a", Value::Null).await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["records"][0]["action"], "app.reconcile", "{audit}");
    assert_eq!(audit["records"][0]["detail"], body);

    let (handled, failed) = h.drain_for(&stack, None).await;
    assert_eq!((handled, failed.len()), (1, 0));
    let env = as_app(&stack, ("shop-a", &secret), STATEMENT, body.clone()).await;
    assert_eq!(
        env["data"]["statements"][0]["status"], "consistent",
        "{env}"
    );
    assert_eq!(
        env["data"]["statements"][0]["day"],
        json!(yesterday().text())
    );
    assert!(
        h.app
            .store
            .statement(Channel::WechatPay, &yesterday().text())
            .await
            .ok()
            .flatten()
            .is_none(),
        "the default app's day is its own"
    );

    let (status, answer) = admin(&stack, "POST", "/admin/apps/default/reconcile", body).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(h.drain_for(&stack, None).await.0, 1);
    let kept = h
        .app
        .store
        .statement(Channel::WechatPay, &yesterday().text())
        .await;
    assert!(kept.ok().flatten().is_some(), "the default app's re-run");
    let (status, audit) = admin(
        &stack,
        "GET",
        "/admin/audit?target=app:default",
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(
        audit["records"][0]["action"], "app.reconcile",
        "the default app's re-run is audited too: {audit}"
    );
}
