//! An end-to-end harness: the api handler with DynamoDB on the emulator (every round trip
//! counted) and the channel on its simulator, with fresh keys for every harness.

use super::*;
use alipay_sim::{AlipaySim, SimConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use shared::api::{App, Clock};
use shared::channel::Channels;
use shared::channel::alipay::{AlipayClient, AlipayConfig};
use shared::crypto::{RsaSigner, RsaVerifier, generate_rsa_keypair};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

/// Counts DynamoDB requests actually sent (each attempt).
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(Arc<AtomicUsize>);

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

pub struct Harness {
    pub app: App,
    pub sim: AlipaySim,
    pub trips: RoundTrips,
}

pub const APP_ID: &str = "2021000000000001";

impl Harness {
    /// Alipay on its simulator; `timeout` is the client's per-call timeout.
    pub async fn alipay(timeout: Duration) -> Harness {
        let (Ok((app_private, app_public)), Ok((ali_private, ali_public))) =
            (generate_rsa_keypair(), generate_rsa_keypair())
        else {
            panic!("key generation");
        };
        let sim = AlipaySim::start(
            SimConfig {
                app_id: APP_ID.into(),
                app_public_key: app_public,
                alipay_private_key: ali_private,
                notify_url: None,
            },
            "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("simulator: {e}"));
        let client = AlipayClient::new(AlipayConfig {
            gateway_url: sim.base_url(),
            app_id: APP_ID.into(),
            app_key: RsaSigner::from_pkcs8_base64("app", &app_private)
                .unwrap_or_else(|e| panic!("{e}")),
            alipay_key: RsaVerifier::from_spki_base64("alipay", &ali_public)
                .unwrap_or_else(|e| panic!("{e}")),
            notify_url: None,
            timeout,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let trips = RoundTrips::default();
        let sdk = sdk().await;
        let table = unique("e2e");
        let plain = aws_sdk_dynamodb::Client::new(&sdk);
        shared::schema::create_table(&plain, &table)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let counted = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(trips.clone())
                .build(),
        );
        let app = App {
            verifier: shared::request::Verifier {
                signer: signer(),
                require_sign: true,
                req_timeout_secs: 300,
            },
            store: shared::store::Store::new(counted, table),
            clock: Clock::System,
            channels: Arc::new(Channels {
                alipay: Some(client),
            }),
            allocation_no_prefix: "T".into(),
        };
        Harness { app, sim, trips }
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

    /// Feeds a paid pay order (allocation on) and seeds the trade at the simulator.
    pub async fn paid(&self, order_no: &str, amount: i64) -> String {
        self.pay_notice(order_no, amount, "ali_pay", "success", true)
            .await
    }

    pub async fn pay_notice(
        &self,
        order_no: &str,
        amount: i64,
        channel: &str,
        status: &str,
        allocation: bool,
    ) -> String {
        let trade_no = format!("2026{order_no}");
        self.sim.seed_trade(&trade_no, amount);
        let notice = sign(json!({
            "orderNo": order_no, "bizOrderNo": format!("B{order_no}"), "outOrderNo": trade_no,
            "title": "测试", "channel": channel, "amount": amount, "status": status,
            "allocation": allocation, "autoAllocation": false, "payTime": now()
        }));
        let r = call(&self.app, "/feed/pay-order", &notice.to_string()).await;
        assert_eq!(body_text(&r), "SUCCESS");
        trade_no
    }

    pub async fn receiver(&self, no: &str, receiver_type: &str, account: &str) {
        let body = json!({"receiverNo": no, "channel": "ali_pay", "receiverType": receiver_type,
            "receiverAccount": account, "receiverName": "张三", "relationType": "PARTNER"});
        self.ok("/unipay/allocation/receiver/add", body).await;
    }

    pub async fn query(&self, allocation_no: &str) -> Value {
        self.ok(
            "/unipay/query/allocationOrder",
            json!({"allocationNo": allocation_no}),
        )
        .await
    }

    /// Every item of the table, for "nothing was written" checks.
    pub async fn items(&self) -> usize {
        all_items(&self.app.store).await.len()
    }
}
