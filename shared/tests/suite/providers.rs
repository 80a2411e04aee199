//! Service providers in a many-app stack (SPEC §6.5, issue 22): providers stored once with
//! their keys never shown, apps whose accounts are under them, and each bad input (an unknown
//! provider, a missing sub-merchant or token, a start over the authorised ratio, an expired
//! authorisation, a notification for a sub-merchant of no app) refused with its cause and fix,
//! nothing written, nothing sent. The Alipay authorisation is renewed by its job, and later
//! calls carry the new token.

use crate::common::harness::{
    APP_AUTH_TOKEN, Harness, ISV_APP_ID, Kind, MERCHANT_USER_ID, PROVIDER_ID, SP_APPID, SP_MCHID,
    SP_SERIAL, SUB_MCHID, Sim, fast_jobs,
};
use crate::common::{all_items, in_provider_mode, now};
use crate::isolation::stack_around;
use crate::tenancy::{admin, new_app, post, signed_with};
use serde_json::{Value, json};
use shared::app::Stack;
use std::time::Duration;

async fn provider_harness(kind: Kind) -> Harness {
    in_provider_mode(Harness::new(kind, Duration::from_secs(5))).await
}

/// A stack around a provider-mode harness with app `shop-a` under the provider; its secret.
async fn stack_with_app(h: &Harness) -> (Stack, String) {
    let stack = stack_around(h).await;
    let secret = new_app(&stack, "M1", "shop-a").await;
    h.install_account(&stack, "shop-a").await;
    (stack, secret)
}

/// `data` of shop-a's signed request, or its refusal message.
async fn shop_a(stack: &Stack, secret: &str, path: &str, mut body: Value) -> Value {
    body["reqTime"] = json!(now());
    let r = post(
        stack,
        &format!("/app/shop-a{path}"),
        &signed_with(secret, body),
    )
    .await;
    crate::common::envelope(&r)["data"].clone()
}

/// Feeds a paid pay order of shop-a (its trade seeded under the sub-merchant / merchant) and
/// adds receiver r1 of the harness's channel (a merchant: WeChat Pay notifies those).
async fn paid_with_receiver(h: &Harness, stack: &Stack, secret: &str, order_no: &str) {
    let trade = format!("2026{order_no}");
    h.seed(&trade, 10000);
    let notice = json!({"orderNo": order_no, "bizOrderNo": format!("B{order_no}"),
        "outOrderNo": trade, "title": "测试", "channel": h.channel(), "amount": 10000,
        "status": "success", "allocation": true, "autoAllocation": false, "payTime": now()});
    let fed = post(
        stack,
        "/app/shop-a/feed/pay-order",
        &signed_with(secret, notice),
    )
    .await;
    assert_eq!(crate::common::body_text(&fed), "SUCCESS");
    let [_, (t1, a1)] = h.accounts();
    let added = shop_a(
        stack,
        secret,
        "/unipay/allocation/receiver/add",
        json!({"receiverNo": "r1",
        "channel": h.channel(), "receiverType": t1, "receiverAccount": a1, "receiverName": "张三",
        "relationType": "PARTNER"}),
    )
    .await;
    assert_eq!(added["code"], 0, "{added}");
}

fn start(order_no: &str, amount: i64) -> Value {
    json!({"bizAllocationNo": format!("A{order_no}"), "orderNo": order_no,
        "receivers": [{"receiverNo": "r1", "amount": amount}]})
}

const START: &str = "/unipay/allocation/start";

/// The message of a start that must be refused before anything is written or any split sent.
async fn refused_start(h: &Harness, stack: &Stack, secret: &str, body: Value) -> String {
    let items = all_items(&h.app.store).await.len();
    let splits = h.all_split_calls();
    let refused = shop_a(stack, secret, START, body).await;
    assert_eq!(refused["code"], 1, "{refused}");
    assert_eq!(
        all_items(&h.app.store).await.len(),
        items,
        "nothing written"
    );
    assert_eq!(h.all_split_calls(), splits, "nothing sent");
    refused["msg"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_provider_is_kept_once_and_its_keys_are_never_shown() {
    let h = provider_harness(Kind::Wechat).await;
    let (stack, _) = stack_with_app(&h).await;
    let (status, body) = admin(
        &stack,
        "POST",
        "/admin/providers",
        json!({"providerId": PROVIDER_ID, "name": "again"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, shown) = admin(
        &stack,
        "GET",
        &format!("/admin/providers/{PROVIDER_ID}"),
        Value::Null,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["provider"]["providerId"], PROVIDER_ID, "{shown}");
    let (_, app) = admin(&stack, "GET", "/admin/apps/shop-a", Value::Null).await;
    let text = format!("{shown}{app}");
    for secret in ["privateKey", "apiV3Key"] {
        let value = h.provider_account[secret].as_str().unwrap_or("absent");
        assert!(!text.contains(value), "{secret} shown: {text}");
    }
    assert!(
        text.contains(SP_MCHID) && text.contains(SUB_MCHID),
        "{text}"
    );
    assert!(app.to_string().contains("\"provider\""), "{app}");
    let (_, audit) = admin(
        &stack,
        "GET",
        &format!("/admin/audit?target=provider:{PROVIDER_ID}"),
        Value::Null,
    )
    .await;
    let actions: Vec<&str> = audit["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"provider.create") && actions.contains(&"provider.channel.set"),
        "{audit}"
    );
}

/// Each bad provider-mode account is refused naming its field, and the app keeps what it had.
#[tokio::test]
async fn bad_provider_accounts_are_refused_naming_the_field() {
    for kind in [Kind::Wechat, Kind::Alipay] {
        let h = provider_harness(kind).await;
        let (stack, _) = stack_with_app(&h).await;
        let path = format!("/admin/apps/shop-a/channels/{}", h.channel());
        let (_, before) = admin(&stack, "GET", "/admin/apps/shop-a", Value::Null).await;
        let items = all_items(&h.app.store).await.len();
        let mut cases = vec![
            ("provider", json!({"provider": "sp-nobody"})),
            ("mode", json!({"mode": "partner"})),
        ];
        match kind {
            Kind::Wechat => cases.push(("subMchid", json!({"subMchid": null}))),
            Kind::Alipay => {
                cases.push(("appAuthToken", json!({"appAuthToken": null})));
                cases.push(("expiresAt", json!({"expiresAt": "soon"})));
            }
        }
        for (field, change) in cases {
            let mut account = h.account.clone();
            if let (Some(m), Some(c)) = (account.as_object_mut(), change.as_object()) {
                for (k, v) in c {
                    if v.is_null() {
                        m.remove(k);
                    } else {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
            let (status, body) = admin(&stack, "PUT", &path, account).await;
            assert_eq!(status, 400, "{field}: {body}");
            assert!(body.to_string().contains(field), "{field}: {body}");
        }
        // the provider's own account is direct: a provider mode there is refused
        let mut own = h.provider_account.clone();
        own["mode"] = json!("provider");
        let own_path = format!("/admin/providers/{PROVIDER_ID}/channels/{}", h.channel());
        let (status, body) = admin(&stack, "PUT", &own_path, own).await;
        assert_eq!(status, 400, "{body}");
        let (_, after) = admin(&stack, "GET", "/admin/apps/shop-a", Value::Null).await;
        assert_eq!(before["app"], after["app"], "the app is unchanged");
        assert_eq!(
            all_items(&h.app.store).await.len(),
            items,
            "nothing written"
        );
    }
}

/// A start splitting more than the sub-merchant authorised is refused naming the ratio and
/// where the sub-merchant raises it: nothing written, nothing sent. Within it, it splits.
#[tokio::test]
async fn a_start_over_the_authorised_ratio_is_refused_before_anything_is_written() {
    let h = provider_harness(Kind::Wechat).await;
    let (stack, secret) = stack_with_app(&h).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat")
    };
    assert!(sim.set_max_ratio(SP_MCHID, SUB_MCHID, 3000).is_ok());
    paid_with_receiver(&h, &stack, &secret, "P1").await;
    let msg = refused_start(&h, &stack, &secret, start("P1", 3001)).await;
    assert!(msg.contains("30.00%") && msg.contains("分账授权"), "{msg}");
    let ok = shop_a(&stack, &secret, START, start("P1", 3000)).await;
    assert_eq!(ok["code"], 0, "{ok}");
    assert_eq!(h.all_split_calls(), 1);
}

/// An authorisation that expired is refused before anything is written, naming the fix; the
/// pay order stays free for a start after the merchant authorised the app again.
#[tokio::test]
async fn an_expired_authorisation_is_refused_before_anything_is_written() {
    let mut h = provider_harness(Kind::Alipay).await;
    h.account["expiresAt"] = json!(now() - 60);
    let (stack, secret) = stack_with_app(&h).await;
    paid_with_receiver(&h, &stack, &secret, "P1").await;
    let calls = h.call_count();
    let msg = refused_start(&h, &stack, &secret, start("P1", 1000)).await;
    assert_eq!(h.call_count(), calls, "no call at all on an expired token");
    assert!(
        msg.contains("app_auth_token") && msg.contains("authorise"),
        "{msg}"
    );
    // authorised again (a fresh expiry), the same pay order splits
    h.account["expiresAt"] = json!(now() + 86_400);
    h.install_account(&stack, "shop-a").await;
    let ok = shop_a(&stack, &secret, START, start("P1", 1000)).await;
    assert_eq!(ok["code"], 0, "{ok}");
}

/// The refresh job renews an authorisation due for it: Alipay's new token is sealed, the
/// expiry recorded, and the next call carries the new token (the old one no longer works).
/// Run twice, it renews once.
#[tokio::test]
async fn the_refresh_job_renews_the_authorisation_and_later_calls_carry_the_new_token() {
    let mut h = provider_harness(Kind::Alipay).await;
    let soon = now() + 10 * 86_400;
    h.account["expiresAt"] = json!(soon);
    let (stack, secret) = stack_with_app(&h).await;
    // shop-a is known to the stack before the refresh (its clients cached with the old token)
    paid_with_receiver(&h, &stack, &secret, "P1").await;
    let Sim::Alipay(sim) = &h.sim else {
        panic!("alipay")
    };
    let job = json!({"kind": "refresh_app_auth", "appId": "shop-a"}).to_string();
    let ran = shared::jobs::worker::run_message(&stack, &job).await;
    assert!(ran.is_ok(), "{:?}", ran.err().map(|e| e.to_string()));
    let renewed = sim.app_auth_token(ISV_APP_ID, MERCHANT_USER_ID);
    assert!(
        renewed.as_deref().is_some_and(|t| t != APP_AUTH_TOKEN),
        "{renewed:?}"
    );
    let (_, app) = admin(&stack, "GET", "/admin/apps/shop-a", Value::Null).await;
    let expires = app["app"]["channels"]["ali_pay"]["appAuth"]["expiresAt"]
        .as_i64()
        .unwrap_or(0);
    assert!(expires > soon, "{app}");
    assert!(
        !app.to_string().contains(renewed.as_deref().unwrap_or("-")),
        "token shown: {app}"
    );
    // a second run of the same job finds it done
    assert!(
        shared::jobs::worker::run_message(&stack, &job)
            .await
            .is_ok()
    );
    assert_eq!(sim.app_auth_token(ISV_APP_ID, MERCHANT_USER_ID), renewed);
    let ok = shop_a(&stack, &secret, START, start("P1", 1000)).await;
    assert_eq!(ok["code"], 0, "{ok}");
    let last = sim
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == "alipay.trade.order.settle")
        .and_then(|c| c.app_auth_token);
    assert_eq!(last, renewed);
}

/// A provider's notification reaches the app of the sub-merchant it names; one naming a
/// sub-merchant of no app, or sent to a provider nobody has, is refused and changes nothing.
#[tokio::test]
async fn provider_notifications_reach_the_app_of_their_sub_merchant_only() {
    let mut h = provider_harness(Kind::Wechat).await;
    h.with_queue(fast_jobs(), 5).await;
    let (stack, secret) = stack_with_app(&h).await;
    paid_with_receiver(&h, &stack, &secret, "P1").await;
    let started = shop_a(&stack, &secret, START, start("P1", 1000)).await;
    let no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    h.settle("2026P1", &no, &[]).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat")
    };
    let [_, (_, account)] = h.accounts();
    let known = sim
        .notification("2026P1", &no, account)
        .unwrap_or_else(|e| panic!("{e}"));

    // another sub-merchant of the same provider, of no app here
    let other = other_sub_merchant_split(&h, sim).await;
    let items = all_items(&h.app.store).await.len();
    let to = format!("/provider/{PROVIDER_ID}/callback/wechat");
    assert_eq!(notify(&stack, &to, &other).await, 404);
    assert_eq!(
        notify(&stack, "/provider/sp-nobody/callback/wechat", &known).await,
        404
    );
    assert_eq!(
        all_items(&h.app.store).await.len(),
        items,
        "nothing written"
    );

    assert_eq!(notify(&stack, &to, &known).await, 204);
    for _ in 0..20 {
        if h.drain_for(&stack, None).await.0 == 0 {
            break;
        }
    }
    let q = shop_a(
        &stack,
        &secret,
        "/unipay/query/allocationOrder",
        json!({"allocationNo": no}),
    )
    .await;
    assert_eq!(q["status"], "allocation_end", "{q}");
}

/// The status of a notification's answer; one not taken is answered in WeChat Pay's words.
async fn notify(stack: &Stack, path: &str, n: &wechat_sim::Notification) -> u16 {
    let mut req = crate::common::apigw_request("POST", path, &n.body);
    for (k, v) in &n.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            req.headers_mut().insert(k, v);
        }
    }
    let r = shared::http::handle(stack, req).await;
    let status = r.status().as_u16();
    if status >= 400 {
        let body: Value = serde_json::from_slice(r.body().as_ref()).unwrap_or(Value::Null);
        assert_eq!(body["code"], "FAIL", "{status} {body}");
    }
    status
}

/// A split the provider made for a second sub-merchant, straight at the simulator, and its
/// notification.
async fn other_sub_merchant_split(
    h: &Harness,
    sim: &wechat_sim::WechatSim,
) -> wechat_sim::Notification {
    use shared::channel::wechat::{ApiV3Key, Partner, WechatClient, WechatConfig};
    use shared::domain::{Account, ReceiverType, RelationType, Share};
    use shared::infra::crypto::{RsaSigner, RsaVerifier};
    const OTHER: &str = "1900000202";
    let added = sim.add_sub_merchant(wechat_sim::SubMerchantAccount {
        sp_mchid: SP_MCHID.into(),
        sub_mchid: OTHER.into(),
        sub_appid: None,
        max_ratio: 3000,
    });
    assert!(added.is_ok(), "{added:?}");
    assert!(
        sim.seed_partner_transaction(SP_MCHID, OTHER, "2026Q1", 10000)
            .is_ok()
    );
    let own = &h.provider_account;
    let text = |k: &str| own[k].as_str().unwrap_or_default().to_owned();
    let client = WechatClient::new(WechatConfig {
        base_url: sim.base_url(),
        mchid: SP_MCHID.into(),
        appid: SP_APPID.into(),
        merchant_key: RsaSigner::from_pkcs8_base64("sp", &text("privateKey"))
            .unwrap_or_else(|e| panic!("{e}")),
        merchant_serial: SP_SERIAL.into(),
        wechat_key: RsaVerifier::from_spki_base64("wechat", &text("publicKey"))
            .unwrap_or_else(|e| panic!("{e}")),
        wechat_key_id: text("publicKeyId"),
        apiv3_key: ApiV3Key::new(text("apiV3Key")).unwrap_or_else(|e| panic!("{e}")),
        timeout: Duration::from_secs(5),
        partner: Some(Partner {
            sub_mchid: OTHER.into(),
            sub_appid: None,
        }),
    });
    let to = Account {
        receiver_type: ReceiverType::WxMerchant,
        account: "1900000301".into(),
        name: Some("张三".into()),
    };
    let bound = client
        .add_receiver(&to, RelationType::Partner, None, now())
        .await;
    assert!(bound.is_ok(), "{bound:?}");
    let share = Share {
        account: to,
        amount: 1000,
        description: None,
    };
    let split = client.create_order("2026Q1", "Q1", &[share], now()).await;
    assert!(split.is_ok(), "{split:?}");
    assert!(sim.complete("2026Q1", "Q1", &[]).is_ok());
    sim.notification("2026Q1", "Q1", "1900000301")
        .unwrap_or_else(|e| panic!("{e}"))
}

/// An order made before the app's account changed is finished with the account it was made
/// under (stamped on it, the old account kept with its keys): the channel knows the trade
/// only there.
#[tokio::test]
async fn an_order_is_finished_with_the_account_it_was_made_under() {
    use crate::common::harness::{MCHID, WX_APPID, WX_SERIAL};
    let mut h = provider_harness(Kind::Wechat).await;
    let stack = stack_around(&h).await;
    let secret = new_app(&stack, "M1", "shop-a").await;
    let mut direct = h.provider_account.clone();
    for (k, v) in [
        ("mode", "direct"),
        ("mchid", MCHID),
        ("appid", WX_APPID),
        ("merchantSerial", WX_SERIAL),
    ] {
        direct[k] = json!(v);
    }
    let (status, body) = admin(
        &stack,
        "PUT",
        "/admin/apps/shop-a/channels/wechat_pay",
        direct,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat")
    };
    // paid to the direct merchant, split under it
    h.provider = false;
    paid_with_receiver(&h, &stack, &secret, "P1").await;
    h.provider = true;
    assert_eq!(sim.transaction_mchid("2026P1").as_deref(), Some(MCHID));
    let started = shop_a(&stack, &secret, START, start("P1", 1000)).await;
    let no = started["allocationNo"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    h.settle("2026P1", &no, &[]).await;
    let synced = shop_a(
        &stack,
        &secret,
        "/unipay/sync/allocation",
        json!({"allocationNo": no}),
    )
    .await;
    assert_eq!(synced["code"], 0, "{synced}");

    // the app moves under the provider; the old order still finishes as the direct merchant
    h.install_account(&stack, "shop-a").await;
    let finished = shop_a(
        &stack,
        &secret,
        "/unipay/allocation/finish",
        json!({"allocationNo": no}),
    )
    .await;
    assert_eq!(finished["code"], 0, "{finished}");
    let unfreeze = sim
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.path.starts_with("/v3/profitsharing/orders/unfreeze"));
    let unfreeze = unfreeze.unwrap_or_else(|| panic!("no unfreeze"));
    assert_eq!(
        (unfreeze.mchid.as_deref(), unfreeze.sub_mchid.as_deref()),
        (Some(MCHID), None),
        "{unfreeze:?}"
    );
    assert_eq!(h.frozen("2026P1"), Some(0));
}
