//! Service-provider calls, one by one (SPEC §6.5, issue 22 item 7): each profit-sharing call a
//! WeChat Pay partner client makes carries the sub-merchant's `sub_mchid`, and each call of an
//! Alipay third-party client carries the merchant's `app_auth_token`, or the simulator, which
//! enforces the partner rules as the channels do, refuses it. Each call has its own test: one
//! that dropped the field from that call alone fails there.

use alipay_sim::{AlipaySim, AppAccount, AppAuthorization};
use shared::channel::alipay::auth::{AppAuthToken, Token};
use shared::channel::alipay::{AlipayClient, AlipayConfig};
use shared::channel::wechat::{ApiV3Key, Partner, WechatClient, WechatConfig};
use shared::domain::{Account, ReceiverType, RelationType, Share};
use shared::infra::config::AppAuth;
use shared::infra::crypto::{RsaSigner, RsaVerifier, generate_rsa_keypair};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use wechat_sim::{ProviderAccount, SubMerchantAccount, WechatSim};

const SP_MCHID: &str = "1900000100";
const SP_APPID: &str = "wx1111111111111111";
const SP_SERIAL: &str = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
const SUB_MCHID: &str = "1900000201";
const SUB_APPID: &str = "wx2222222222222222";
const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000001";
const APIV3: &str = "0123456789abcdef0123456789abcdef";
const ISV_APP: &str = "2021000000000777";
const MERCHANT: &str = "2088000000000555";
const TOKEN: &str = "202612BB0123456789abcdef0123456789ab";
const TX: &str = "4200000000000000000000000001";
const MERCHANT_RECEIVER: &str = "1900000301";
const PERSON: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

fn keys() -> &'static ((String, String), (String, String)) {
    static KEYS: OnceLock<((String, String), (String, String))> = OnceLock::new();
    KEYS.get_or_init(|| match (generate_rsa_keypair(), generate_rsa_keypair()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => panic!("key generation"),
    })
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// A WeChat Pay simulator with a provider and its sub-merchant (and a direct merchant of its
/// own, the simulator's first), and the provider's client acting for the sub-merchant.
async fn partner() -> (WechatSim, WechatClient) {
    let ((_, sp_public), (wx_private, _)) = keys().clone();
    let sim = must(
        WechatSim::start(
            wechat_sim::SimConfig {
                mchid: "1900000999".into(),
                appid: "wx9999999999999999".into(),
                merchant_public_key: sp_public.clone(),
                merchant_serial: "DIRECT".into(),
                wechat_private_key: wx_private,
                wechat_public_key_id: KEY_ID.into(),
                apiv3_key: APIV3.into(),
            },
            loopback(),
        )
        .await,
    );
    must(sim.add_provider(ProviderAccount {
        sp_mchid: SP_MCHID.into(),
        sp_appid: SP_APPID.into(),
        sp_public_key: sp_public,
        sp_serial: SP_SERIAL.into(),
        apiv3_key: None,
    }));
    must(sim.add_sub_merchant(SubMerchantAccount {
        sp_mchid: SP_MCHID.into(),
        sub_mchid: SUB_MCHID.into(),
        sub_appid: Some(SUB_APPID.into()),
        max_ratio: 3000,
    }));
    must(sim.seed_partner_transaction(SP_MCHID, SUB_MCHID, TX, 10_000));
    let client = partner_client(&sim, Some(SUB_APPID));
    (sim, client)
}

/// The provider's client for the sub-merchant, knowing its appid or not.
fn partner_client(sim: &WechatSim, sub_appid: Option<&str>) -> WechatClient {
    let ((sp_private, _), (_, wx_public)) = keys().clone();
    WechatClient::new(WechatConfig {
        base_url: sim.base_url(),
        mchid: SP_MCHID.into(),
        appid: SP_APPID.into(),
        merchant_key: must(RsaSigner::from_pkcs8_base64("sp", &sp_private)),
        merchant_serial: SP_SERIAL.into(),
        wechat_key: must(RsaVerifier::from_spki_base64("wechat", &wx_public)),
        wechat_key_id: KEY_ID.into(),
        apiv3_key: must(ApiV3Key::new(APIV3)),
        timeout: Duration::from_secs(5),
        partner: Some(Partner {
            sub_mchid: SUB_MCHID.into(),
            sub_appid: sub_appid.map(str::to_owned),
        }),
    })
}

fn now() -> i64 {
    crate::common::now()
}

fn account(receiver_type: ReceiverType, account: &str) -> Account {
    Account {
        receiver_type,
        account: account.into(),
        name: Some("张三".into()),
    }
}

/// The last call the simulator received on `path_start`, with the sub_mchid it carried.
fn last_wechat(sim: &WechatSim, path_start: &str) -> wechat_sim::CallRecord {
    sim.calls()
        .into_iter()
        .rev()
        .find(|c| c.path.starts_with(path_start))
        .unwrap_or_else(|| panic!("no call on {path_start}"))
}

fn carried_sub_mchid(sim: &WechatSim, path_start: &str) {
    let call = last_wechat(sim, path_start);
    assert_eq!(call.sub_mchid.as_deref(), Some(SUB_MCHID), "{call:?}");
    assert_eq!(call.sp_mchid.as_deref(), Some(SP_MCHID), "{call:?}");
    assert_eq!(call.code, None, "answered without an error: {call:?}");
}

async fn bind(client: &WechatClient, t: ReceiverType, who: &str) {
    must(
        client
            .add_receiver(&account(t, who), RelationType::Partner, None, now())
            .await,
    );
}

async fn split(client: &WechatClient, order_no: &str, to: &[(ReceiverType, &str, i64)]) {
    let shares: Vec<Share> = to
        .iter()
        .map(|(t, a, amount)| Share {
            account: account(*t, a),
            amount: *amount,
            description: None,
        })
        .collect();
    must(client.create_order(TX, order_no, &shares, now()).await);
}

#[tokio::test]
async fn wechat_receivers_add_carries_sub_mchid_and_appids() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxMerchant, MERCHANT_RECEIVER).await;
    carried_sub_mchid(&sim, "/v3/profitsharing/receivers/add");
    assert!(sim.is_receiver_for(SUB_MCHID, "MERCHANT_ID", MERCHANT_RECEIVER));
    // an openid under the sub-merchant's own appid needs sub_appid, which the client sends
    bind(&client, ReceiverType::WxPersonalSub, PERSON).await;
    assert!(sim.is_receiver_for(SUB_MCHID, "PERSONAL_SUB_OPENID", PERSON));
}

#[tokio::test]
async fn wechat_receivers_delete_carries_sub_mchid() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxMerchant, MERCHANT_RECEIVER).await;
    must(
        client
            .delete_receiver(&account(ReceiverType::WxMerchant, MERCHANT_RECEIVER), now())
            .await,
    );
    carried_sub_mchid(&sim, "/v3/profitsharing/receivers/delete");
    assert!(!sim.is_receiver_for(SUB_MCHID, "MERCHANT_ID", MERCHANT_RECEIVER));
}

#[tokio::test]
async fn wechat_split_carries_sub_mchid() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxMerchant, MERCHANT_RECEIVER).await;
    split(
        &client,
        "A1",
        &[(ReceiverType::WxMerchant, MERCHANT_RECEIVER, 1000)],
    )
    .await;
    let call = last_wechat(&sim, "/v3/profitsharing/orders");
    assert_eq!(call.sub_mchid.as_deref(), Some(SUB_MCHID), "{call:?}");
    assert_eq!(sim.order_count(TX), 1);
}

#[tokio::test]
async fn wechat_split_to_a_sub_openid_carries_sub_appid() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxPersonalSub, PERSON).await;
    split(&client, "A1", &[(ReceiverType::WxPersonalSub, PERSON, 500)]).await;
    assert_eq!(sim.order_count(TX), 1);
}

#[tokio::test]
async fn wechat_order_query_carries_sub_mchid() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxMerchant, MERCHANT_RECEIVER).await;
    split(
        &client,
        "A1",
        &[(ReceiverType::WxMerchant, MERCHANT_RECEIVER, 1000)],
    )
    .await;
    let rows = must(client.query_order(TX, "A1", now()).await);
    assert_eq!(rows.map(|r| r.len()), Some(1));
    carried_sub_mchid(&sim, "/v3/profitsharing/orders/A1");
}

#[tokio::test]
async fn wechat_unfreeze_carries_sub_mchid() {
    let (sim, client) = partner().await;
    must(client.unfreeze(TX, "A1F", now()).await);
    carried_sub_mchid(&sim, "/v3/profitsharing/orders/unfreeze");
}

#[tokio::test]
async fn wechat_return_and_its_query_carry_sub_mchid() {
    let (sim, client) = partner().await;
    bind(&client, ReceiverType::WxMerchant, MERCHANT_RECEIVER).await;
    split(
        &client,
        "A1",
        &[(ReceiverType::WxMerchant, MERCHANT_RECEIVER, 1000)],
    )
    .await;
    must(sim.complete(TX, "A1", &[]));
    let receiver = account(ReceiverType::WxMerchant, MERCHANT_RECEIVER);
    must(
        client
            .create_return("A1", "R1", &receiver, 100, "", now())
            .await,
    );
    carried_sub_mchid(&sim, "/v3/profitsharing/return-orders");
    let answer = must(client.query_return("A1", "R1", now()).await);
    assert!(answer.is_some());
    carried_sub_mchid(&sim, "/v3/profitsharing/return-orders/R1");
}

#[tokio::test]
async fn wechat_amounts_carry_sub_mchid() {
    let (sim, client) = partner().await;
    assert_eq!(must(client.amounts(TX, now()).await), 10_000);
    carried_sub_mchid(&sim, "/v3/profitsharing/transactions/");
}

#[tokio::test]
async fn wechat_max_ratio_is_read_for_the_sub_merchant_and_kept() {
    let (sim, client) = partner().await;
    assert_eq!(must(client.max_ratio(now()).await), Some(3000));
    carried_sub_mchid(&sim, "/v3/profitsharing/merchant-configs/");
    let asked = sim.calls().len();
    must(sim.set_max_ratio(SP_MCHID, SUB_MCHID, 2000));
    assert_eq!(must(client.max_ratio(now() + 60).await), Some(3000));
    assert_eq!(
        sim.calls().len(),
        asked,
        "kept for 10 minutes, not asked again"
    );
}

/// A PERSONAL_SUB_OPENID receiver on an account without the sub-merchant's appid is refused
/// here, naming the fix; nothing reaches the channel.
#[tokio::test]
async fn a_sub_openid_without_sub_appid_is_refused_before_sending() {
    let (sim, _) = partner().await;
    let client = partner_client(&sim, None);
    let before = sim.calls().len();
    let e = client
        .add_receiver(
            &account(ReceiverType::WxPersonalSub, PERSON),
            RelationType::Partner,
            None,
            now(),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("sub_appid"), "{e}");
    assert_eq!(sim.calls().len(), before, "nothing sent");
}

/// An Alipay simulator with a provider's (ISV) app that a merchant authorised, and the ISV's
/// client acting for that merchant.
async fn isv() -> (AlipaySim, AlipayClient) {
    let ((isv_private, isv_public), (ali_private, ali_public)) = keys().clone();
    let sim = must(
        AlipaySim::start(
            alipay_sim::SimConfig {
                app_id: "2021000000000999".into(),
                app_public_key: isv_public.clone(),
                alipay_private_key: ali_private,
                notify_url: None,
                cert: None,
            },
            loopback(),
        )
        .await,
    );
    must(sim.add_app(AppAccount {
        app_id: ISV_APP.into(),
        app_public_key: isv_public,
        notify_url: None,
        cert: None,
    }));
    must(sim.authorize_merchant(AppAuthorization {
        isv_app_id: ISV_APP.into(),
        user_id: MERCHANT.into(),
        auth_app_id: None,
        app_auth_token: TOKEN.into(),
        app_refresh_token: "202612RR0123456789abcdef0123456789ab".into(),
        expires_in: alipay_sim::DEFAULT_EXPIRES_IN,
        re_expires_in: alipay_sim::DEFAULT_RE_EXPIRES_IN,
    }));
    must(sim.seed_merchant_trade(ISV_APP, MERCHANT, TX, 10_000));
    let grant = AppAuth {
        user_id: MERCHANT.into(),
        auth_app_id: MERCHANT.into(),
        expires_at: now() + 86_400,
        refresh_expires_at: now() + 2 * 86_400,
        refresh_failed_at: None,
        refresh_error: None,
    };
    let token = Token {
        value: TOKEN.into(),
        expires_at: grant.expires_at,
    };
    let client = AlipayClient::new(AlipayConfig {
        gateway_url: sim.base_url(),
        app_id: ISV_APP.into(),
        app_key: must(RsaSigner::from_pkcs8_base64("isv", &isv_private)),
        alipay_key: must(RsaVerifier::from_spki_base64("alipay", &ali_public)),
        notify_url: None,
        timeout: Duration::from_secs(5),
        cert: None,
        app_auth: Some((grant, AppAuthToken::new(token, None))),
    });
    (sim, client)
}

/// The last call of `method`: it carried the merchant's token and acted for the merchant.
fn carried_token(sim: &AlipaySim, method: &str) {
    let call = sim
        .calls()
        .into_iter()
        .rev()
        .find(|c| c.method == method)
        .unwrap_or_else(|| panic!("no {method} call"));
    assert_eq!(call.app_auth_token.as_deref(), Some(TOKEN), "{call:?}");
    assert_eq!(call.merchant.as_deref(), Some(MERCHANT), "{call:?}");
}

fn ali(account_no: &str) -> Account {
    Account {
        receiver_type: ReceiverType::AliUserId,
        account: account_no.into(),
        name: None,
    }
}

const RECEIVER: &str = "2088000000000601";

async fn ali_bind(client: &AlipayClient) {
    must(client.bind(&ali(RECEIVER), "B1", now()).await);
}

#[tokio::test]
async fn alipay_relation_bind_carries_the_token() {
    let (sim, client) = isv().await;
    ali_bind(&client).await;
    carried_token(&sim, "alipay.trade.royalty.relation.bind");
    assert!(sim.is_bound_for(MERCHANT, "userId", RECEIVER));
}

#[tokio::test]
async fn alipay_relation_unbind_carries_the_token() {
    let (sim, client) = isv().await;
    ali_bind(&client).await;
    must(client.unbind(&ali(RECEIVER), "U1", now()).await);
    carried_token(&sim, "alipay.trade.royalty.relation.unbind");
    assert!(!sim.is_bound_for(MERCHANT, "userId", RECEIVER));
}

async fn ali_settle(client: &AlipayClient) {
    ali_bind(client).await;
    let share = Share {
        account: ali(RECEIVER),
        amount: 1000,
        description: None,
    };
    must(client.settle(TX, "A1", &[share], now()).await);
}

#[tokio::test]
async fn alipay_settle_carries_the_token() {
    let (sim, client) = isv().await;
    ali_settle(&client).await;
    carried_token(&sim, "alipay.trade.order.settle");
    assert_eq!(sim.settle_count(TX), 1);
}

#[tokio::test]
async fn alipay_settle_query_carries_the_token() {
    let (sim, client) = isv().await;
    ali_settle(&client).await;
    let rows = must(client.settle_query(TX, "A1", now()).await);
    assert!(rows.is_some());
    carried_token(&sim, "alipay.trade.order.settle.query");
}

#[tokio::test]
async fn alipay_onsettle_query_carries_the_token() {
    let (sim, client) = isv().await;
    assert_eq!(must(client.onsettle_query(TX, now()).await), 10_000);
    carried_token(&sim, "alipay.trade.order.onsettle.query");
}

#[tokio::test]
async fn alipay_finish_carries_the_token() {
    let (sim, client) = isv().await;
    ali_settle(&client).await;
    must(sim.complete(TX, "A1", &[]).await);
    must(client.finish(TX, "A1F", now()).await);
    carried_token(&sim, "alipay.trade.order.settle");
    must(sim.complete(TX, "A1F", &[]).await);
    assert_eq!(
        sim.unsettled_fen(TX),
        Some(0),
        "the merchant's trade was finished"
    );
}
