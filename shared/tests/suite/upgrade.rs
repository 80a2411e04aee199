//! A stack upgraded in place (SPEC §8.1, issue 21): the table a single-merchant stack wrote
//! before apps existed (`fixtures/single-merchant-table.json`, dumped from the last release
//! without them) is read through today's code as its default app's: orders, claims, pay orders,
//! receivers, groups and due work, under the routes without a prefix and under
//! `/app/default`, and by no other app. Its queued jobs, which name no app, run as the default
//! app's.

use crate::common::{all_items, envelope, sign};
use crate::tenancy::{new_app, platform, post, signed_with};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};
use shared::jobs::worker::{JobError, run_message};
use std::collections::HashMap;

const ALLOCATION_NO: &str = "TA26120719263067527231";

fn attribute(v: &Value) -> AttributeValue {
    let (kind, inner) = v
        .as_object()
        .and_then(|m| m.iter().next())
        .unwrap_or_else(|| panic!("{v}"));
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap_or_default().to_owned()),
        "N" => AttributeValue::N(inner.as_str().unwrap_or_default().to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap_or_default()),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .into_iter()
                .flatten()
                .map(attribute)
                .collect(),
        ),
        "M" => AttributeValue::M(
            inner
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), attribute(v)))
                .collect(),
        ),
        other => panic!("{other}"),
    }
}

fn now_body(mut v: Value) -> String {
    v["reqTime"] = json!(crate::common::now());
    sign(v).to_string()
}

#[tokio::test]
async fn a_single_merchant_table_reads_back_as_the_default_apps() {
    let stack = platform().await;
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/single-merchant-table.json"))
            .unwrap_or_else(|e| panic!("{e}"));
    let db = aws_sdk_dynamodb::Client::new(&crate::common::sdk().await);
    let table = stack.default_app().store.table().to_owned();
    for item in fixture["items"].as_array().into_iter().flatten() {
        let item: HashMap<String, AttributeValue> = item
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), attribute(v)))
            .collect();
        db.put_item()
            .table_name(&table)
            .set_item(Some(item))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let before = all_items(&stack.default_app().store).await.len();
    let secret = new_app(&stack, "M1", "shop-1").await;

    for prefix in ["", "/app/default"] {
        let q = |path: &str, body: Value| {
            let path = format!("{prefix}{path}");
            let stack = &stack;
            async move { envelope(&post(stack, &path, &now_body(body)).await)["data"].clone() }
        };
        let order = q(
            "/unipay/query/allocationOrder",
            json!({"allocationNo": ALLOCATION_NO}),
        )
        .await;
        assert_eq!(
            (order["code"].as_i64(), order["bizAllocationNo"].as_str()),
            (Some(0), Some("BA1")),
            "{order}"
        );
        assert_eq!(
            order["details"].as_array().map(Vec::len),
            Some(2),
            "{order}"
        );
        let by_biz = q(
            "/unipay/query/allocationOrder",
            json!({"bizAllocationNo": "BA1"}),
        )
        .await;
        assert_eq!(by_biz["allocationNo"], ALLOCATION_NO);
        let pay = q("/unipay/query/payOrder", json!({"bizOrderNo": "BP1"})).await;
        assert_eq!(
            (pay["orderNo"].as_str(), pay["allocStatus"].as_str()),
            (Some("P1"), Some("allocation")),
            "{pay}"
        );
        let receivers = q(
            "/unipay/query/allocationReceiver",
            json!({"channel": "ali_pay"}),
        )
        .await;
        assert_eq!(
            receivers["receivers"].as_array().map(Vec::len),
            Some(2),
            "{receivers}"
        );
        let group = q("/unipay/allocation/group/query", json!({"groupNo": "G1"})).await;
        assert_eq!(group["groups"][0]["defaultGroup"], true, "{group}");
        assert_eq!(group["groups"][0]["totalRate"], 3000, "{group}");
        // the same start again is still recognised by its stored digest
        let again = q("/unipay/allocation/start", json!({"bizAllocationNo": "BA1", "orderNo": "P1",
            "receivers": [{"receiverNo": "r1", "amount": 1000}, {"receiverNo": "r2", "amount": 2000}]})).await;
        assert_eq!(again["allocationNo"], ALLOCATION_NO, "{again}");
    }
    // another app sees none of it
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/allocationOrder",
        &signed_with(
            &secret,
            json!({"allocationNo": ALLOCATION_NO, "reqTime": crate::common::now()}),
        ),
    )
    .await;
    assert_eq!(envelope(&r)["data"]["code"], 1);
    let r = post(
        &stack,
        "/app/shop-1/unipay/query/payOrder",
        &signed_with(
            &secret,
            json!({"orderNo": "P1", "reqTime": crate::common::now()}),
        ),
    )
    .await;
    assert_eq!(envelope(&r)["data"]["code"], 1);

    // due work of the old table is found by the scheduler and queued as the default app's, and
    // a job queued before the upgrade (it names no app) runs as the default app's
    let due = stack
        .default_app()
        .store
        .due_page(
            shared::domain::DueKind::Sync,
            crate::common::now() + 3_600,
            10,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let job = due.0.iter().find_map(shared::service::due::job_for);
    assert_eq!(due.0.first().map(|d| d.scope.app_id()), Some(None));
    assert_eq!(
        job,
        Some(shared::infra::Job::Sync {
            allocation_no: ALLOCATION_NO.into()
        })
    );
    let old_message = format!(r#"{{"kind":"sync","allocationNo":"{ALLOCATION_NO}"}}"#);
    let ran = run_message(&stack, &old_message).await;
    assert!(
        !matches!(ran, Err(JobError::Poison(_))),
        "{:?}",
        ran.err().map(|e| e.to_string())
    );
    // reading changed nothing of the old items but the sync's bookkeeping
    assert!(all_items(&stack.default_app().store).await.len() >= before);
}
