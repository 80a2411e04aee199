//! An end-to-end harness: the api handler with DynamoDB on the emulator (every round trip
//! counted) and one channel on its simulator, with fresh keys for every harness. The channel
//! differences (accounts, faults, how the simulator settles) live here, so every scenario runs
//! unchanged on both channels.

use super::*;
use alipay_sim::AlipaySim;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shared::app::App;
use shared::channel::Channels;
use shared::channel::alipay::{AlipayClient, AlipayConfig};
use shared::channel::wechat::{ApiV3Key, WechatClient, WechatConfig};
use shared::infra::Clock;
use shared::infra::crypto::{RsaSigner, RsaVerifier, generate_rsa_keypair};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;
use wechat_sim::WechatSim;

/// Counts DynamoDB requests actually sent (each attempt).
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(pub Arc<AtomicUsize>);

impl RoundTrips {
    pub fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

impl Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }
    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// Which channel a harness runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Alipay,
    Wechat,
}

/// The channel simulator of a harness.
pub enum Sim {
    Alipay(AlipaySim),
    Wechat(WechatSim),
}

/// A channel-neutral fault for the next split request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request never lands and is never answered.
    Timeout,
    /// The request is carried out, the answer lost.
    TimeoutAfterApply,
    /// A definite business refusal (nothing done).
    Refusal,
    /// A success answer whose signature does not verify.
    BadSignature,
    /// A busy / 5xx answer (unknown outcome).
    Busy,
    /// A refusal that only says the trade is still being processed (订单处理中): no verdict.
    StillSettling,
}

pub struct Harness {
    pub kind: Kind,
    pub app: App,
    pub sim: Sim,
    pub trips: RoundTrips,
    /// Every DynamoDB call with its answer, for capacity units.
    pub meter: super::meter::Meter,
    /// WeChat Pay's public key (WeChat harnesses), to open its notifications in tests.
    pub wechat_key: Option<RsaVerifier>,
    /// The channel account of this harness's app as the admin API sets one (keys included),
    /// so an app of a many-app stack can use the same simulator account (`Null`: not given).
    pub account: Value,
    /// Provider mode: the provider's own account (as `PUT /admin/providers/{id}/channels/..`
    /// takes it); `account` is then the app's account under it.
    pub provider_account: Value,
    /// Whether the app acts through a service provider (see `common::in_provider_mode`).
    pub provider: bool,
    /// Whose trades and receivers these are at the simulator: the direct account, or the
    /// sub-merchant (WeChat Pay) / the authorising merchant's user id (Alipay).
    pub owner: String,
}

pub const APP_ID: &str = "2021000000000001";
pub const MCHID: &str = "1900000109";
pub const WX_APPID: &str = "wx8888888888888888";
pub const WX_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const WX_KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
pub const APIV3_KEY: &str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
const SETTLE: &str = "alipay.trade.order.settle";
/// Provider mode (WeChat Pay): the provider and the sub-merchant the app is.
pub const SP_MCHID: &str = "1900000100";
pub const SP_APPID: &str = "wx1111111111111111";
pub const SP_SERIAL: &str = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
pub const SUB_MCHID: &str = "1900000201";
pub const SUB_APPID: &str = "wx2222222222222222";
/// Provider mode (Alipay): the ISV app and the merchant that authorised it.
pub const ISV_APP_ID: &str = "2021000000000777";
pub const MERCHANT_USER_ID: &str = "2088000000000555";
pub const APP_AUTH_TOKEN: &str = "202612BB0123456789abcdef0123456789ab";
pub const APP_REFRESH_TOKEN: &str = "202612RR0123456789abcdef0123456789ab";
/// The provider's id in a many-app stack (`install_account`).
pub const PROVIDER_ID: &str = "sp-1";

fn keys() -> ((String, String), (String, String)) {
    match (generate_rsa_keypair(), generate_rsa_keypair()) {
        (Ok(a), Ok(b)) => (a, b),
        _ => panic!("key generation"),
    }
}

fn loopback() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Harness {
    /// `timeout` is the channel client's per-call timeout.
    pub async fn new(kind: Kind, timeout: Duration) -> Harness {
        super::capture_logs();
        match kind {
            Kind::Alipay => Self::alipay(timeout).await,
            Kind::Wechat => Self::wechat(timeout).await,
        }
    }

    async fn alipay(timeout: Duration) -> Harness {
        let ((app_private, app_public), (ali_private, ali_public)) = keys();
        let alipay_key =
            RsaVerifier::from_spki_base64("alipay", &ali_public).unwrap_or_else(|e| panic!("{e}"));
        let mut h = Self::alipay_with(
            timeout,
            (app_private.clone(), app_public, ali_private),
            alipay_key,
            None,
        )
        .await;
        if let Sim::Alipay(sim) = &h.sim {
            let app_id = if h.provider { ISV_APP_ID } else { APP_ID };
            h.account = json!({"mode": "direct", "appId": app_id, "privateKey": app_private,
                "publicKey": ali_public, "gatewayUrl": sim.base_url(), "timeoutMs": timeout.as_millis() as u64});
        }
        if h.provider {
            h.under_provider(json!({"mode": "provider", "provider": PROVIDER_ID,
                "userId": MERCHANT_USER_ID, "appAuthToken": APP_AUTH_TOKEN,
                "appRefreshToken": APP_REFRESH_TOKEN, "expiresAt": now() + 86_400,
                "refreshExpiresAt": now() + 2 * 86_400}));
        }
        h
    }

    /// Alipay in certificate mode over the TEST-ONLY certificates of
    /// `fixtures/alipay-cert`. The simulator demands their SNs and names `answer_cert_sn` as
    /// the certificate that signed each answer (the configured one unless a rotation is
    /// played).
    pub async fn alipay_cert_mode(timeout: Duration, answer_cert_sn: Option<&str>) -> Harness {
        const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/alipay-cert/");
        let read = |name: &str| {
            std::fs::read_to_string(format!("{DIR}{name}"))
                .unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        let b64 =
            |pem: String| -> String { pem.lines().filter(|l| !l.starts_with("-----")).collect() };
        let (sns, alipay_key) = shared::channel::alipay::cert::cert_mode(
            &read("app-cert.TEST-ONLY.pem"),
            &read("alipay-cert.TEST-ONLY.pem"),
            &read("root-bundle.TEST-ONLY.pem"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let sim_cert = alipay_sim::SimCert {
            app_cert_sn: sns.app_cert_sn.clone(),
            alipay_root_cert_sn: sns.root_cert_sn.clone(),
            alipay_cert_sn: answer_cert_sn.unwrap_or(&sns.alipay_cert_sn).to_owned(),
        };
        let keys = (
            b64(read("app-private.TEST-ONLY.pem")),
            b64(read("app-public.TEST-ONLY.pem")),
            b64(read("alipay-private.TEST-ONLY.pem")),
        );
        Self::alipay_with(timeout, keys, alipay_key, Some((sim_cert, sns))).await
    }

    /// `keys`: the app's private and public key and the simulator's (Alipay's) private key.
    async fn alipay_with(
        timeout: Duration,
        (app_private, app_public, ali_private): (String, String, String),
        alipay_key: RsaVerifier,
        cert: Option<(alipay_sim::SimCert, shared::channel::alipay::cert::CertSns)>,
    ) -> Harness {
        let (sim_cert, client_cert) = cert.unzip();
        let sim = AlipaySim::start(
            alipay_sim::SimConfig {
                app_id: APP_ID.into(),
                app_public_key: app_public.clone(),
                alipay_private_key: ali_private,
                notify_url: None,
                cert: sim_cert,
            },
            loopback(),
        )
        .await
        .unwrap_or_else(|e| panic!("simulator: {e}"));
        let provider = client_cert.is_none() && super::provider_mode();
        let (app_id, app_auth, owner) = if provider {
            (
                ISV_APP_ID,
                Some(Self::authorised(&sim, app_public)),
                MERCHANT_USER_ID,
            )
        } else {
            (APP_ID, None, APP_ID)
        };
        let client = AlipayClient::new(AlipayConfig {
            gateway_url: sim.base_url(),
            app_id: app_id.into(),
            app_key: RsaSigner::from_pkcs8_base64("app", &app_private)
                .unwrap_or_else(|e| panic!("{e}")),
            alipay_key,
            notify_url: None,
            timeout,
            cert: client_cert,
            app_auth,
        });
        let channels = Channels::new(vec![Box::new(client)]);
        let mut h = Self::around(Kind::Alipay, Sim::Alipay(sim), channels).await;
        h.provider = provider;
        h.owner = owner.into();
        h
    }

    /// Provider mode: the ISV app (the same key pair as the direct app) and the merchant that
    /// authorised it, with the grant the client holds.
    fn authorised(
        sim: &AlipaySim,
        isv_public: String,
    ) -> (
        shared::infra::config::AppAuth,
        shared::channel::alipay::auth::AppAuthToken,
    ) {
        let done = sim
            .add_app(alipay_sim::AppAccount {
                app_id: ISV_APP_ID.into(),
                app_public_key: isv_public,
                notify_url: None,
                cert: None,
            })
            .and_then(|()| {
                sim.authorize_merchant(alipay_sim::AppAuthorization {
                    isv_app_id: ISV_APP_ID.into(),
                    user_id: MERCHANT_USER_ID.into(),
                    auth_app_id: None,
                    app_auth_token: APP_AUTH_TOKEN.into(),
                    app_refresh_token: APP_REFRESH_TOKEN.into(),
                    expires_in: alipay_sim::DEFAULT_EXPIRES_IN,
                    re_expires_in: alipay_sim::DEFAULT_RE_EXPIRES_IN,
                })
            });
        if let Err(e) = done {
            panic!("simulator: {e}");
        }
        let grant = shared::infra::config::AppAuth {
            user_id: MERCHANT_USER_ID.into(),
            auth_app_id: MERCHANT_USER_ID.into(),
            expires_at: now() + 86_400,
            refresh_expires_at: now() + 2 * 86_400,
            refresh_failed_at: None,
            refresh_error: None,
        };
        let token = shared::channel::alipay::auth::Token {
            value: APP_AUTH_TOKEN.into(),
            expires_at: grant.expires_at,
        };
        (
            grant,
            shared::channel::alipay::auth::AppAuthToken::new(token, None),
        )
    }

    async fn wechat(timeout: Duration) -> Harness {
        let ((merchant_private, merchant_public), (wx_private, wx_public)) = keys();
        let sim = WechatSim::start(
            wechat_sim::SimConfig {
                mchid: MCHID.into(),
                appid: WX_APPID.into(),
                merchant_public_key: merchant_public.clone(),
                merchant_serial: WX_SERIAL.into(),
                wechat_private_key: wx_private,
                wechat_public_key_id: WX_KEY_ID.into(),
                apiv3_key: APIV3_KEY.into(),
            },
            loopback(),
        )
        .await
        .unwrap_or_else(|e| panic!("simulator: {e}"));
        let provider = super::provider_mode();
        let (mchid, appid, serial, partner, owner) = if provider {
            Self::partner(&sim, merchant_public);
            let partner = shared::channel::wechat::Partner {
                sub_mchid: SUB_MCHID.into(),
                sub_appid: Some(SUB_APPID.into()),
            };
            (SP_MCHID, SP_APPID, SP_SERIAL, Some(partner), SUB_MCHID)
        } else {
            (MCHID, WX_APPID, WX_SERIAL, None, MCHID)
        };
        let client = WechatClient::new(WechatConfig {
            base_url: sim.base_url(),
            mchid: mchid.into(),
            appid: appid.into(),
            merchant_key: RsaSigner::from_pkcs8_base64("merchant", &merchant_private)
                .unwrap_or_else(|e| panic!("{e}")),
            merchant_serial: serial.into(),
            wechat_key: RsaVerifier::from_spki_base64("wechat", &wx_public)
                .unwrap_or_else(|e| panic!("{e}")),
            wechat_key_id: WX_KEY_ID.into(),
            apiv3_key: ApiV3Key::new(APIV3_KEY).unwrap_or_else(|e| panic!("{e}")),
            timeout,
            partner,
        });
        let channels = Channels::new(vec![Box::new(client)]);
        let base_url = sim.base_url();
        let mut h = Self::around(Kind::Wechat, Sim::Wechat(sim), channels).await;
        h.provider = provider;
        h.owner = owner.into();
        h.wechat_key = RsaVerifier::from_spki_base64("wechat", &wx_public).ok();
        h.account = json!({"mode": "direct", "mchid": mchid, "appid": appid,
            "merchantSerial": serial, "publicKeyId": WX_KEY_ID, "privateKey": merchant_private,
            "publicKey": wx_public, "apiV3Key": APIV3_KEY, "baseUrl": base_url,
            "timeoutMs": timeout.as_millis() as u64});
        if provider {
            h.under_provider(json!({"mode": "provider", "provider": PROVIDER_ID,
                "subMchid": SUB_MCHID, "subAppid": SUB_APPID}));
        }
        h
    }

    /// Provider mode: the provider (the same key pair as the direct merchant) and its
    /// sub-merchant, which lets it split all it is paid (the ratio check has tests of its own).
    fn partner(sim: &WechatSim, sp_public: String) {
        let done = sim
            .add_provider(wechat_sim::ProviderAccount {
                sp_mchid: SP_MCHID.into(),
                sp_appid: SP_APPID.into(),
                sp_public_key: sp_public,
                sp_serial: SP_SERIAL.into(),
                apiv3_key: None,
            })
            .and_then(|()| {
                sim.add_sub_merchant(wechat_sim::SubMerchantAccount {
                    sp_mchid: SP_MCHID.into(),
                    sub_mchid: SUB_MCHID.into(),
                    sub_appid: Some(SUB_APPID.into()),
                    max_ratio: 10_000,
                })
            });
        if let Err(e) = done {
            panic!("simulator: {e}");
        }
    }

    /// Provider mode: `account` (so far the direct account the provider's own calls use) becomes
    /// the provider's, and the app's is `app_account`, under it.
    fn under_provider(&mut self, app_account: Value) {
        let mut own = std::mem::replace(&mut self.account, app_account);
        if let Some(m) = own.as_object_mut() {
            m.remove("mode");
        }
        self.provider_account = own;
    }

    /// The app `app_id` of a many-app stack gets this harness's account through the admin
    /// routes (in provider mode, the provider `PROVIDER_ID` first, with the provider's own).
    pub async fn install_account(&self, stack: &shared::app::Stack, app_id: &str) {
        if self.provider {
            let path = format!("/admin/providers/{PROVIDER_ID}/channels/{}", self.channel());
            let _ = crate::tenancy::admin(
                stack,
                "POST",
                "/admin/providers",
                json!({"providerId": PROVIDER_ID, "name": "服务商"}),
            )
            .await;
            let (status, body) =
                crate::tenancy::admin(stack, "PUT", &path, self.provider_account.clone()).await;
            assert_eq!(status, 200, "{body}");
        }
        let path = format!("/admin/apps/{app_id}/channels/{}", self.channel());
        let (status, body) = crate::tenancy::admin(stack, "PUT", &path, self.account.clone()).await;
        assert_eq!(status, 200, "{body}");
    }

    /// The app, a fresh table and the round-trip counter around the given channels.
    async fn around(kind: Kind, sim: Sim, channels: Channels) -> Harness {
        let trips = RoundTrips::default();
        let meter = super::meter::Meter::default();
        let sdk = sdk().await;
        let table = unique("e2e");
        let plain = aws_sdk_dynamodb::Client::new(&sdk);
        shared::store::schema::create_table(&plain, &table)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let counted = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(trips.clone())
                .interceptor(meter.clone())
                .build(),
        );
        let app = App {
            tenant: shared::domain::Tenant::default_app(),
            verifier: shared::daxpay::request::Verifier {
                signer: signer(),
                require_sign: true,
                req_timeout_secs: 300,
                previous: None,
            },
            store: shared::store::Store::new(counted, table),
            clock: Clock::System,
            channels: Arc::new(channels),
            allocation_no_prefix: "T".into(),
            queue: None,
            archive: None,
            jobs: shared::infra::config::JobSettings {
                auto_finish: false,
                ..Default::default()
            },
        };
        Harness {
            kind,
            app,
            sim,
            trips,
            meter,
            wechat_key: None,
            account: Value::Null,
            provider_account: Value::Null,
            provider: false,
            owner: String::new(),
        }
    }

    /// The channel code of this harness.
    pub fn channel(&self) -> &'static str {
        match self.kind {
            Kind::Alipay => "ali_pay",
            Kind::Wechat => "wechat_pay",
        }
    }

    /// Two receiver (type, account) pairs of this channel, of different types.
    pub fn accounts(&self) -> [(&'static str, &'static str); 2] {
        match self.kind {
            Kind::Alipay => [
                ("ali_user_id", "2088000000000011"),
                ("ali_login_name", "shop@example.com"),
            ],
            Kind::Wechat => [
                ("wx_personal", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
                ("wx_merchant", "1900000110"),
            ],
        }
    }

    /// The masked form of the first account, as answers show it.
    pub fn masked_first(&self) -> &'static str {
        match self.kind {
            Kind::Alipay => "2088****0011",
            Kind::Wechat => "oUpF****eS6o",
        }
    }

    /// A signed merchant request (reqTime now, no nonce); returns the envelope.
    pub async fn post(&self, path: &str, mut body: Value) -> Value {
        body["reqTime"] = json!(now());
        let r = call(&self.app, path, &sign(body).to_string()).await;
        envelope(&r)
    }

    /// `data` of an accepted request (asserts it was accepted and signed).
    pub async fn ok(&self, path: &str, body: Value) -> Value {
        let env = self.post(path, body.clone()).await;
        assert_eq!(env["code"], 0, "{path} {body} -> {env}");
        assert_eq!(env["data"]["code"], 0, "{path} {body} -> {env}");
        assert_signed(&env["data"]);
        env["data"].clone()
    }

    /// The refusal message of a request that must be refused.
    pub async fn refused(&self, path: &str, body: Value) -> String {
        let env = self.post(path, body.clone()).await;
        assert_eq!(env["code"], 0, "{path} {body} -> {env}");
        assert_eq!(env["data"]["code"], 1, "{path} {body} -> {env}");
        assert_signed(&env["data"]);
        env["data"]["msg"].as_str().unwrap_or_default().to_owned()
    }

    /// Feeds a paid pay order (allocation on) of this channel, seeded at the simulator.
    pub async fn paid(&self, order_no: &str, amount: i64) -> String {
        self.pay_notice(order_no, amount, self.channel(), "success", true)
            .await
    }

    /// Feeds a pay notice and seeds its trade at the simulator; returns the trade number.
    pub async fn pay_notice(
        &self,
        order_no: &str,
        amount: i64,
        channel: &str,
        status: &str,
        allocation: bool,
    ) -> String {
        let trade_no = format!("2026{order_no}");
        self.seed(&trade_no, amount);
        let notice = sign(json!({
            "orderNo": order_no, "bizOrderNo": format!("B{order_no}"), "outOrderNo": trade_no,
            "title": "测试", "channel": channel, "amount": amount, "status": status,
            "allocation": allocation, "autoAllocation": false, "payTime": now()
        }));
        let r = call(&self.app, "/feed/pay-order", &notice.to_string()).await;
        assert_eq!(body_text(&r), "SUCCESS");
        trade_no
    }

    /// Feeds a paid pay order of this channel that asks for auto allocation.
    pub async fn pay_notice_auto(&self, order_no: &str, amount: i64) -> String {
        let trade_no = format!("2026{order_no}");
        self.seed(&trade_no, amount);
        let notice = sign(json!({
            "orderNo": order_no, "bizOrderNo": format!("B{order_no}"), "outOrderNo": trade_no,
            "title": "自动", "channel": self.channel(), "amount": amount, "status": "success",
            "allocation": true, "autoAllocation": true, "payTime": now()
        }));
        let r = call(&self.app, "/feed/pay-order", &notice.to_string()).await;
        assert_eq!(body_text(&r), "SUCCESS");
        trade_no
    }

    /// Adds a receiver of this channel (bound at the channel first).
    pub async fn receiver(&self, no: &str, receiver_type: &str, account: &str) {
        let body = json!({"receiverNo": no, "channel": self.channel(), "receiverType": receiver_type,
            "receiverAccount": account, "receiverName": "张三", "relationType": "PARTNER"});
        self.ok("/unipay/allocation/receiver/add", body).await;
    }

    /// Creates group `group_no` of this channel with `members` and makes it the default one.
    pub async fn default_group(&self, group_no: &str, members: Value) {
        for (path, body) in [
            (
                "/unipay/allocation/group/create",
                json!({"groupNo": group_no, "name": "n", "channel": self.channel()}),
            ),
            (
                "/unipay/allocation/group/bind",
                json!({"groupNo": group_no, "receivers": members}),
            ),
            (
                "/unipay/allocation/group/setDefault",
                json!({"groupNo": group_no}),
            ),
        ] {
            self.ok(path, body).await;
        }
    }

    pub async fn query(&self, allocation_no: &str) -> Value {
        self.ok(
            "/unipay/query/allocationOrder",
            json!({"allocationNo": allocation_no}),
        )
        .await
    }

    /// Syncs the order `body` names and returns the query of it afterwards: the sync's own
    /// answer (`AllocSyncModel`) carries the common members only, as seed 000 shows.
    pub async fn sync(&self, body: Value) -> Value {
        let d = self.ok("/unipay/sync/allocation", body.clone()).await;
        let mut members: Vec<&str> = d
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        members.sort_unstable();
        assert_eq!(members, ["code", "resTime", "sign"], "sync answer: {d}");
        self.ok("/unipay/query/allocationOrder", body).await
    }

    /// Our notice endpoint: the order's notices with their attempts, and its flag.
    pub async fn notices(&self, allocation_no: &str) -> Value {
        self.ok(
            "/unipay/query/allocationNotice",
            json!({"allocationNo": allocation_no}),
        )
        .await
    }

    /// How many items the table holds, for "nothing was written" checks.
    pub async fn items(&self) -> usize {
        all_items(&self.app.store).await.len()
    }

    pub fn seed(&self, trade_no: &str, amount: i64) {
        let done = match &self.sim {
            Sim::Alipay(s) if self.provider => s
                .seed_merchant_trade(ISV_APP_ID, MERCHANT_USER_ID, trade_no, amount)
                .map_err(|e| e.to_string()),
            Sim::Alipay(s) => {
                s.seed_trade(trade_no, amount);
                Ok(())
            }
            Sim::Wechat(s) if self.provider => s
                .seed_partner_transaction(SP_MCHID, SUB_MCHID, trade_no, amount)
                .map_err(|e| e.to_string()),
            Sim::Wechat(s) => {
                s.seed_transaction(trade_no, amount);
                Ok(())
            }
        };
        if let Err(e) = done {
            panic!("seed at the simulator: {e}");
        }
    }

    /// The payment gateway refunds `fen` of a trade at the channel (taken from the frozen
    /// funds), as it does before DaxPay sends its refund notice.
    pub fn refund_at_channel(&self, trade_no: &str, refund_no: &str, fen: i64) {
        let done = match &self.sim {
            Sim::Alipay(s) => s
                .refund(trade_no, refund_no, fen, &[])
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
            Sim::Wechat(s) => s
                .refund(trade_no, refund_no, fen)
                .map(|_| ())
                .map_err(|e| format!("{e:?}")),
        };
        if let Err(e) = done {
            panic!("refund at the channel: {e}");
        }
    }

    /// The channel answers "still settling" to questions about the trade while `on`.
    pub fn settling(&self, trade_no: &str, on: bool) {
        let done = match &self.sim {
            Sim::Alipay(s) => s.set_settling(trade_no, on).map_err(|e| e.to_string()),
            Sim::Wechat(s) => s.set_settling(trade_no, on).map_err(|e| e.to_string()),
        };
        if let Err(e) = done {
            panic!("settling: {e}");
        }
    }

    /// What is still frozen (unsettled / unsplit) on a trade.
    pub fn frozen(&self, trade_no: &str) -> Option<i64> {
        match &self.sim {
            Sim::Alipay(s) => s.unsettled_fen(trade_no),
            Sim::Wechat(s) => s.unsplit_fen(trade_no),
        }
    }

    /// Whether the channel has the receiver `(our type, account)` bound.
    pub fn bound(&self, receiver_type: &str, account: &str) -> bool {
        let kind = match receiver_type {
            "ali_user_id" => "userId",
            "ali_login_name" => "loginName",
            "ali_open_id" => "openId",
            "wx_personal" => "PERSONAL_OPENID",
            _ => "MERCHANT_ID",
        };
        match &self.sim {
            Sim::Alipay(s) => s.is_bound_for(&self.owner, kind, account),
            Sim::Wechat(s) => s.is_receiver_for(&self.owner, kind, account),
        }
    }

    /// The channel settles a pending split: the listed accounts fail, the others succeed.
    pub async fn settle(&self, trade_no: &str, request_no: &str, failing: &[&str]) {
        let result = match &self.sim {
            Sim::Alipay(s) => {
                let outcomes: Vec<(String, alipay_sim::Outcome)> = failing
                    .iter()
                    .map(|a| {
                        let fail = alipay_sim::Outcome::Fail {
                            code: "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH".into(),
                            desc: "分账余额不足".into(),
                        };
                        ((*a).to_owned(), fail)
                    })
                    .collect();
                s.complete(trade_no, request_no, &outcomes)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Sim::Wechat(s) => {
                let outcomes: Vec<(String, wechat_sim::Outcome)> = failing
                    .iter()
                    .map(|a| {
                        let closed = wechat_sim::Outcome::Closed {
                            fail_reason: "ACCOUNT_ABNORMAL".into(),
                        };
                        ((*a).to_owned(), closed)
                    })
                    .collect();
                s.complete(trade_no, request_no, &outcomes)
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result {
            panic!("settle at the simulator: {e}");
        }
    }

    /// The error code and message a receiver failed by `settle` carries.
    pub fn failure(&self) -> (&'static str, &'static str) {
        match self.kind {
            Kind::Alipay => ("TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH", "分账余额不足"),
            Kind::Wechat => ("ACCOUNT_ABNORMAL", "分账接收账户异常"),
        }
    }

    /// The channel processes a finish (Alipay's settle is asynchronous; WeChat's unfreeze is not).
    pub async fn settle_finish(&self, trade_no: &str, allocation_no: &str) {
        if let Sim::Alipay(s) = &self.sim {
            let done = s
                .complete(trade_no, &format!("{allocation_no}F"), &[])
                .await;
            assert!(done.is_ok(), "{done:?}");
        }
    }

    /// Split (or finish) requests the simulator received under `request_no`, answered or not.
    pub fn split_calls(&self, request_no: &str) -> usize {
        match &self.sim {
            Sim::Alipay(s) => s
                .calls()
                .iter()
                .filter(|c| c.method == SETTLE && c.out_request_no.as_deref() == Some(request_no))
                .count(),
            Sim::Wechat(s) => s
                .calls()
                .iter()
                .filter(|c| {
                    matches!(
                        c.op,
                        Some(wechat_sim::Op::CreateOrder) | Some(wechat_sim::Op::Unfreeze)
                    ) && c.out_order_no.as_deref() == Some(request_no)
                })
                .count(),
        }
    }

    /// All split requests received, whatever their number.
    pub fn all_split_calls(&self) -> usize {
        match &self.sim {
            Sim::Alipay(s) => s.calls().iter().filter(|c| c.method == SETTLE).count(),
            Sim::Wechat(s) => s
                .calls()
                .iter()
                .filter(|c| matches!(c.op, Some(wechat_sim::Op::CreateOrder)))
                .count(),
        }
    }

    /// Every call the simulator received acted as this harness's account: in provider mode
    /// each carried the provider and the sub-merchant (WeChat Pay) or the merchant's token
    /// (Alipay), directly none did. Returns how many calls were looked at.
    pub fn every_call_acted_as_the_account(&self) -> usize {
        match &self.sim {
            Sim::Alipay(s) => {
                let calls = s.calls();
                for c in &calls {
                    let token = self.provider.then_some(APP_AUTH_TOKEN);
                    assert_eq!(c.app_auth_token.as_deref(), token, "{c:?}");
                    assert_eq!(c.merchant.as_deref(), Some(self.owner.as_str()), "{c:?}");
                }
                calls.len()
            }
            Sim::Wechat(s) => {
                let calls = s.calls();
                for c in &calls {
                    if self.provider {
                        assert_eq!(c.sp_mchid.as_deref(), Some(SP_MCHID), "{c:?}");
                        assert_eq!(c.sub_mchid.as_deref(), Some(SUB_MCHID), "{c:?}");
                    } else {
                        assert_eq!(c.mchid.as_deref(), Some(MCHID), "{c:?}");
                        assert_eq!(c.sub_mchid, None, "{c:?}");
                    }
                }
                calls.len()
            }
        }
    }

    /// Calls of any kind the simulator received.
    pub fn call_count(&self) -> usize {
        match &self.sim {
            Sim::Alipay(s) => s.calls().len(),
            Sim::Wechat(s) => s.calls().len(),
        }
    }

    /// Splits the channel actually carried out on a trade.
    pub fn executed(&self, trade_no: &str) -> usize {
        match &self.sim {
            Sim::Alipay(s) => s.settle_count(trade_no),
            Sim::Wechat(s) => s.order_count(trade_no),
        }
    }

    /// The channel answers the next query of a split as if it had no such split, whether or
    /// not it has (the first request still on its way when asked, landing just after).
    pub fn forget_next_query(&self) {
        match &self.sim {
            Sim::Alipay(s) => s.inject(
                "alipay.trade.order.settle.query",
                alipay_sim::Fault::Business {
                    sub_code: "ACQ.TRADE_NOT_EXIST".into(),
                    sub_msg: "交易不存在".into(),
                },
            ),
            Sim::Wechat(s) => s.inject(
                wechat_sim::Op::QueryOrder,
                wechat_sim::Fault::Status {
                    status: 404,
                    code: "RESOURCE_NOT_EXISTS".into(),
                    message: "记录不存在".into(),
                },
            ),
        }
    }

    /// The channel refuses the next query of a split for a reason of its own (permissions, a
    /// request it judges badly signed), not because the split is unknown.
    pub fn refuse_next_query(&self) {
        match &self.sim {
            Sim::Alipay(s) => s.inject(
                "alipay.trade.order.settle.query",
                alipay_sim::Fault::Business {
                    sub_code: "isv.insufficient-isv-permissions".into(),
                    sub_msg: "ISV权限不足".into(),
                },
            ),
            Sim::Wechat(s) => s.inject(
                wechat_sim::Op::QueryOrder,
                wechat_sim::Fault::Status {
                    status: 403,
                    code: "NO_AUTH".into(),
                    message: "无分账权限".into(),
                },
            ),
        }
    }

    /// Injects `fault` into the next split request; returns the (code, message) a refusal
    /// leaves on the order.
    pub fn inject(&self, fault: Fault) -> (&'static str, &'static str) {
        match &self.sim {
            Sim::Alipay(s) => {
                let f = match fault {
                    Fault::Timeout => alipay_sim::Fault::Timeout,
                    Fault::TimeoutAfterApply => alipay_sim::Fault::TimeoutAfterApply,
                    Fault::Refusal => alipay_sim::Fault::Business {
                        sub_code: "ACQ.TRADE_NOT_EXIST".into(),
                        sub_msg: "交易不存在".into(),
                    },
                    Fault::BadSignature => alipay_sim::Fault::BadSignature,
                    Fault::Busy => alipay_sim::Fault::Unsigned20000,
                    Fault::StillSettling => alipay_sim::Fault::Business {
                        sub_code: "ACQ.SYSTEM_ERROR".into(),
                        sub_msg: "订单处理中".into(),
                    },
                };
                s.inject(SETTLE, f);
                ("ACQ.TRADE_NOT_EXIST", "交易不存在")
            }
            Sim::Wechat(s) => {
                let f = match fault {
                    Fault::Timeout => wechat_sim::Fault::Timeout,
                    Fault::TimeoutAfterApply => wechat_sim::Fault::TimeoutAfterApply,
                    Fault::Refusal => wechat_sim::Fault::Status {
                        status: 400,
                        code: "INVALID_REQUEST".into(),
                        message: "分账接收方不存在".into(),
                    },
                    Fault::BadSignature => wechat_sim::Fault::BadSignature,
                    Fault::Busy => wechat_sim::Fault::Status {
                        status: 500,
                        code: "SYSTEM_ERROR".into(),
                        message: "系统错误".into(),
                    },
                    Fault::StillSettling => wechat_sim::Fault::Status {
                        status: 400,
                        code: "INVALID_REQUEST".into(),
                        message: "订单处理中，请稍后再试".into(),
                    },
                };
                s.inject(wechat_sim::Op::CreateOrder, f);
                ("INVALID_REQUEST", "分账接收方不存在")
            }
        }
    }
}

/// A stand-in merchant endpoint: answers `FAIL` to the first `fail_first` notices, then
/// `SUCCESS`; keeps every body it received.
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    pub received: Arc<std::sync::Mutex<Vec<Value>>>,
}

impl Sink {
    pub async fn start(fail_first: usize) -> Sink {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let url = format!(
            "http://{}/notify",
            listener.local_addr().unwrap_or_else(|e| panic!("{e}"))
        );
        let received: Arc<std::sync::Mutex<Vec<Value>>> = Arc::default();
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // read headers, then Content-Length bytes of body
                    let (head_end, length) = loop {
                        let Ok(n) = socket.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..pos]).to_lowercase();
                            let length = head
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length:"))
                                .and_then(|v| v.trim().parse::<usize>().ok())
                                .unwrap_or(0);
                            break (pos + 4, length);
                        }
                    };
                    while buf.len() < head_end + length {
                        let Ok(n) = socket.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            break;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body: Value =
                        serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
                    let count = {
                        let mut r = store.lock().unwrap_or_else(|p| p.into_inner());
                        r.push(body);
                        r.len()
                    };
                    let answer = if count <= fail_first {
                        "FAIL"
                    } else {
                        "SUCCESS"
                    };
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                        answer.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        Sink { url, received }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Harness {
    /// Gives the app a fresh job queue (with a dead-letter queue after `max_receives`) and
    /// these job settings. Returns the DLQ url.
    pub async fn with_queue(
        &mut self,
        jobs: shared::infra::config::JobSettings,
        max_receives: u32,
    ) -> String {
        let sqs = aws_sdk_sqs::Client::new(&sdk().await);
        let name = unique("q");
        let dlq = sqs
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let dlq_url = dlq.queue_url().unwrap_or_default().to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let dlq_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        let redrive =
            json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives.to_string()});
        let q = sqs
            .create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                "1",
            )
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                redrive.to_string(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        // as the functions make it: its client on the first job sent
        self.app.queue = Some(shared::infra::queue::Queue::on_first_send(
            &sdk().await,
            q.queue_url().unwrap_or_default(),
        ));
        self.app.jobs = jobs;
        dlq_url
    }

    /// Plays Lambda's SQS event source once: receives what is visible, hands it to the worker
    /// as an SQS event, deletes what did not fail. Returns how many messages were handled.
    pub async fn drain_once(&self) -> usize {
        self.drain_once_until(None).await.0
    }

    /// One drain with an invocation deadline; also returns the ids reported failed.
    pub async fn drain_once_until(
        &self,
        deadline: Option<tokio::time::Instant>,
    ) -> (usize, Vec<String>) {
        let stack = shared::app::Stack::single(self.app.clone());
        self.drain_for(&stack, deadline).await
    }

    /// One drain of this harness's queue by a worker serving `stack` (many apps).
    pub async fn drain_for(
        &self,
        stack: &shared::app::Stack,
        deadline: Option<tokio::time::Instant>,
    ) -> (usize, Vec<String>) {
        let Some(queue) = &self.app.queue else {
            panic!("no queue")
        };
        let sqs = aws_sdk_sqs::Client::new(&sdk().await);
        let out = sqs
            .receive_message()
            .queue_url(queue.url())
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return (0, Vec::new());
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                       "body": m.body(), "attributes": attributes, "messageAttributes": {},
                       "eventSource": "aws:sqs", "awsRegion": "us-east-1"})
            })
            .collect();
        let event: aws_lambda_events::event::sqs::SqsEvent =
            serde_json::from_value(json!({"Records": records})).unwrap_or_else(|e| panic!("{e}"));
        let response = shared::jobs::worker::handle_batch_until(stack, event, deadline).await;
        let failed: Vec<String> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        for m in &messages {
            if !failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                let _ = sqs
                    .delete_message()
                    .queue_url(queue.url())
                    .set_receipt_handle(m.receipt_handle().map(str::to_owned))
                    .send()
                    .await;
            }
        }
        (messages.len(), failed)
    }

    /// Drains until `done()` holds, running the scheduler every round; fails after `limit`.
    pub async fn run_until<F, Fut>(&self, limit: Duration, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if done().await {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "condition not reached within {limit:?}"
            );
            if self.round().await == 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// One round of the asynchronous side: a scheduler tick, then one drain of the queue.
    /// Returns how many messages were handled.
    pub async fn round(&self) -> usize {
        let tick = shared::service::due::tick(&self.app, now(), 100).await;
        assert!(tick.is_ok(), "{tick:?}");
        self.drain_once().await
    }
}

/// Job settings for tests: everything immediate, notices to loopback allowed, 1 s retries.
pub fn fast_jobs() -> shared::infra::config::JobSettings {
    shared::infra::config::JobSettings {
        auto_finish: false,
        auto_finish_delay_secs: 0,
        auto_allocation_delay_secs: 0,
        sync_first_delay_secs: 0,
        sync_max_interval_secs: 1,
        sync_max_age_secs: 86_400,
        default_notify_url: None,
        allow_private_notify_urls: true,
        notify_delays_secs: vec![1; 15],
        ..Default::default()
    }
}
