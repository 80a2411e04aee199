//! Isolation between apps (SPEC §8.1): every number one app holds (allocationNo,
//! bizAllocationNo, orderNo, bizOrderNo, receiverNo, groupNo, returnNo, bizReturnNo, a notice)
//! sent by another app is answered exactly as a number nobody holds, and changes nothing. Run on
//! both channels, with apps of a many-app stack made through the admin routes and using the
//! harness's simulator account.

use crate::common::harness::{Harness, Kind};
use crate::common::on_every_account;
use crate::common::{all_items, envelope, now};
use crate::tenancy::{admin, new_app, post, signed_with};
use serde_json::{Value, json};
use shared::app::Stack;
use shared::infra::keyring::Keyring;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// One app's voice: its prefix and its secret.
struct Speaker<'a> {
    stack: &'a Stack,
    app: &'a str,
    secret: String,
}

impl Speaker<'_> {
    async fn post(&self, path: &str, mut body: Value) -> Value {
        body["reqTime"] = json!(now());
        let r = post(
            self.stack,
            &format!("/app/{}{path}", self.app),
            &signed_with(&self.secret, body),
        )
        .await;
        envelope(&r)
    }

    async fn ok(&self, path: &str, body: Value) -> Value {
        let env = self.post(path, body.clone()).await;
        assert_eq!(
            (env["code"].as_i64(), env["data"]["code"].as_i64()),
            (Some(0), Some(0)),
            "{path} {body} -> {env}"
        );
        env["data"].clone()
    }

    /// What an answer says, without its time and signature.
    /// What an answer says: the envelope's code and message and its data, without the data's
    /// time and signature, and with the numbers the request named written `<no>`.
    async fn says(&self, path: &str, body: Value) -> (Value, Value, String) {
        let env = self.post(path, body.clone()).await;
        let mut data = env["data"].clone();
        if let Some(m) = data.as_object_mut() {
            m.remove("resTime");
            m.remove("sign");
        }
        let mut text = data.to_string();
        for v in body.as_object().into_iter().flat_map(|m| m.values()) {
            if let Some(no) = v.as_str().filter(|n| n.len() > 1) {
                text = text.replace(no, "<no>");
            }
        }
        (env["code"].clone(), env["msg"].clone(), text)
    }
}

pub(crate) async fn stack_around(h: &Harness) -> Stack {
    let kms = aws_sdk_kms::Client::new(&crate::common::sdk().await);
    let key = kms
        .create_key()
        .send()
        .await
        .ok()
        .and_then(|o| o.key_metadata)
        .map(|m| m.key_id);
    Stack::with_tenants(
        h.app.clone(),
        Keyring::new(kms, key.unwrap_or_else(|| panic!("KMS key"))),
        Arc::new(HashMap::new()),
        Duration::ZERO,
    )
}

on_every_account!(another_apps_numbers_are_unknown_numbers);

/// A settle notification posted to the stack's own route (no `/app/{appId}` prefix) names the
/// Alipay app it is for: it reaches the app using that account, and is applied there.
#[tokio::test]
async fn a_notification_at_the_stacks_route_reaches_the_app_of_its_account() {
    let mut h = Harness::new(Kind::Alipay, Duration::from_secs(5)).await;
    h.with_queue(crate::common::harness::fast_jobs(), 5).await;
    let stack = stack_around(&h).await;
    let a = Speaker {
        stack: &stack,
        app: "shop-a",
        secret: new_app(&stack, "M1", "shop-a").await,
    };
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-a/channels/ali_pay",
        h.account.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let trade = "2026P7";
    h.seed(trade, 10000);
    let notice = json!({"orderNo": "P7", "bizOrderNo": "BP7", "outOrderNo": trade, "title": "测试",
        "channel": "ali_pay", "amount": 10000, "status": "success", "allocation": true,
        "autoAllocation": false, "payTime": now()});
    let fed = post(
        &stack,
        "/app/shop-a/feed/pay-order",
        &signed_with(&a.secret, notice),
    )
    .await;
    assert_eq!(crate::common::body_text(&fed), "SUCCESS");
    let [(t1, a1), _] = h.accounts();
    a.ok("/unipay/allocation/receiver/add", json!({"receiverNo": "r1", "channel": "ali_pay",
        "receiverType": t1, "receiverAccount": a1, "receiverName": "张三", "relationType": "PARTNER"})).await;
    let started = a
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "BA7", "orderNo": "P7",
        "receivers": [{"receiverNo": "r1", "amount": 1000}]}),
        )
        .await;
    let no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let crate::common::harness::Sim::Alipay(sim) = &h.sim else {
        panic!("alipay")
    };
    assert!(sim.complete(trade, &no, &[]).await.is_ok());
    let form = sim
        .signed_settle_notify(trade, &no)
        .unwrap_or_else(|e| panic!("{e}"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter())
        .finish();
    let mut req = crate::common::apigw_request("POST", "/callback/alipay", &body);
    req.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    let r = shared::http::handle(&stack, req).await;
    assert_eq!(crate::common::body_text(&r), "success");
    for _ in 0..20 {
        if h.drain_for(&stack, None).await.0 == 0 {
            break;
        }
    }
    let q = a
        .ok("/unipay/query/allocationOrder", json!({"allocationNo": no}))
        .await;
    assert_eq!(q["status"], "allocation_end", "{q}");
}

async fn another_apps_numbers_are_unknown_numbers(kind: Kind) {
    let h = Harness::new(kind, Duration::from_secs(5)).await;
    let stack = stack_around(&h).await;
    let a = Speaker {
        stack: &stack,
        app: "shop-a",
        secret: new_app(&stack, "M1", "shop-a").await,
    };
    let b = Speaker {
        stack: &stack,
        app: "shop-b",
        secret: new_app(&stack, "M2", "shop-b").await,
    };
    h.install_account(&stack, "shop-a").await;

    // app A's data: a pay order, receivers, a group, a settled order, a return
    let trade = "2026P1";
    h.seed(trade, 10000);
    let notice = json!({"orderNo": "P1", "bizOrderNo": "BP1", "outOrderNo": trade, "title": "测试",
        "channel": h.channel(), "amount": 10000, "status": "success", "allocation": true,
        "autoAllocation": false, "payTime": now()});
    let fed = post(
        &stack,
        "/app/shop-a/feed/pay-order",
        &signed_with(&a.secret, notice),
    )
    .await;
    assert_eq!(crate::common::body_text(&fed), "SUCCESS");
    let [(t1, a1), (t2, a2)] = h.accounts();
    for (no, t, acct) in [("r1", t1, a1), ("r2", t2, a2)] {
        a.ok("/unipay/allocation/receiver/add", json!({"receiverNo": no, "channel": h.channel(),
            "receiverType": t, "receiverAccount": acct, "receiverName": "张三", "relationType": "PARTNER"})).await;
    }
    a.ok(
        "/unipay/allocation/group/create",
        json!({"groupNo": "G1", "name": "g", "channel": h.channel()}),
    )
    .await;
    a.ok(
        "/unipay/allocation/group/bind",
        json!({"groupNo": "G1", "receivers": [{"receiverNo": "r1", "rate": 100}]}),
    )
    .await;
    let started = a
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "BA1", "orderNo": "P1",
        "receivers": [{"receiverNo": "r1", "amount": 1000}, {"receiverNo": "r2", "amount": 6000}]}),
        )
        .await;
    let allocation_no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        allocation_no.len() > 27,
        "a non-default app's numbers carry its code: {allocation_no}"
    );
    h.settle(trade, &allocation_no, &[]).await;
    let synced = a
        .ok(
            "/unipay/sync/allocation",
            json!({"allocationNo": allocation_no}),
        )
        .await;
    assert_eq!(synced["code"], 0);
    let returned = a
        .ok(
            "/unipay/allocation/return",
            json!({"bizReturnNo": "BR1", "allocationNo": allocation_no,
        "receiverNo": "r2", "amount": 100, "description": "退款"}),
        )
        .await;
    let return_no = returned["returnNo"].as_str().unwrap_or_default().to_owned();
    assert!(!return_no.is_empty(), "{returned}");
    let before = all_items(&h.app.store).await;

    // B asks about A's numbers and about numbers nobody holds: the same answers
    let unknown_allocation = format!("{}9", &allocation_no[..allocation_no.len() - 1]);
    let pairs: Vec<(&str, Value, Value)> = vec![
        (
            "/unipay/query/allocationOrder",
            json!({"allocationNo": allocation_no}),
            json!({"allocationNo": unknown_allocation}),
        ),
        (
            "/unipay/query/allocationOrder",
            json!({"bizAllocationNo": "BA1"}),
            json!({"bizAllocationNo": "BA9"}),
        ),
        (
            "/unipay/sync/allocation",
            json!({"allocationNo": allocation_no}),
            json!({"allocationNo": unknown_allocation}),
        ),
        (
            "/unipay/allocation/finish",
            json!({"allocationNo": allocation_no}),
            json!({"allocationNo": unknown_allocation}),
        ),
        (
            "/unipay/query/allocationNotice",
            json!({"allocationNo": allocation_no}),
            json!({"allocationNo": unknown_allocation}),
        ),
        (
            "/unipay/allocation/notice/resend",
            json!({"allocationNo": allocation_no}),
            json!({"allocationNo": unknown_allocation}),
        ),
        (
            "/unipay/query/payOrder",
            json!({"orderNo": "P1"}),
            json!({"orderNo": "P9"}),
        ),
        (
            "/unipay/query/payOrder",
            json!({"bizOrderNo": "BP1"}),
            json!({"bizOrderNo": "BP9"}),
        ),
        (
            "/unipay/query/allocatable",
            json!({"orderNo": "P1"}),
            json!({"orderNo": "P9"}),
        ),
        (
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "BA1", "orderNo": "P1", "groupNo": "G1"}),
            json!({"bizAllocationNo": "BA9", "orderNo": "P9", "groupNo": "G9"}),
        ),
        (
            "/unipay/query/allocationReceiver",
            json!({"receiverNo": "r1"}),
            json!({"receiverNo": "r9"}),
        ),
        (
            "/unipay/allocation/receiver/remove",
            json!({"receiverNo": "r1"}),
            json!({"receiverNo": "r9"}),
        ),
        (
            "/unipay/allocation/group/query",
            json!({"groupNo": "G1"}),
            json!({"groupNo": "G9"}),
        ),
        (
            "/unipay/allocation/group/delete",
            json!({"groupNo": "G1"}),
            json!({"groupNo": "G9"}),
        ),
        (
            "/unipay/allocation/group/unbind",
            json!({"groupNo": "G1", "receiverNos": ["r1"]}),
            json!({"groupNo": "G9", "receiverNos": ["r9"]}),
        ),
        (
            "/unipay/query/allocationReturn",
            json!({"returnNo": return_no}),
            json!({"returnNo": format!("{return_no}9")}),
        ),
        (
            "/unipay/query/allocationReturn",
            json!({"bizReturnNo": "BR1"}),
            json!({"bizReturnNo": "BR9"}),
        ),
        (
            "/unipay/allocation/return",
            json!({"bizReturnNo": "BR1", "allocationNo": allocation_no, "receiverNo": "r2", "amount": 100, "description": "x"}),
            json!({"bizReturnNo": "BR9", "allocationNo": unknown_allocation, "receiverNo": "r9", "amount": 100, "description": "x"}),
        ),
    ];
    for (path, theirs, nobodys) in pairs {
        let got = b.says(path, theirs.clone()).await;
        let expected = b.says(path, nobodys).await;
        assert_eq!(got, expected, "{path} {theirs}");
    }
    // A's group list and receivers list are A's alone
    let listed = b
        .ok(
            "/unipay/query/allocationReceiver",
            json!({"channel": h.channel()}),
        )
        .await;
    assert_eq!(listed["receivers"], json!([]), "{listed}");
    let after = all_items(&h.app.store).await;
    assert_eq!(before.len(), after.len(), "B changed nothing");
    assert!(
        before.iter().all(|i| after.contains(i)),
        "B changed nothing"
    );
    // and A still sees all of it
    let q = a
        .ok(
            "/unipay/query/allocationOrder",
            json!({"allocationNo": allocation_no}),
        )
        .await;
    assert_eq!(q["bizAllocationNo"], "BA1");
}
