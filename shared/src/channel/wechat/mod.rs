//! WeChat Pay API v3 client for profit sharing, as a direct merchant (SPEC §6.1) or as a
//! service provider for one sub-merchant (partner mode, SPEC §6.5: the provider signs, and
//! `sub_mchid` goes in every call where the partner API wants it).
//!
//! Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 ...`, a SHA256withRSA signature of
//! `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` over exactly the bytes sent. Every 2xx answer
//! is verified with the WeChat Pay public key ([`notify::verify_signed`]) before anything in it
//! is read; `WECHATPAY/SIGNTEST/` probes fail that check like any other bad signature. A
//! non-2xx answer is not signed-checked: 429 and 5xx are unknown outcomes (retry with the same
//! number), other 4xx are refusals.

mod after_split;
mod bills;
pub mod notify;
mod partner;
mod sharing;
pub(crate) use sharing::failure as notice_failure;
pub mod wire;

pub use notify::{ApiV3Key, SignatureHeaders, open_notification, verify_signed};

use crate::domain::{Accepted, Account, ChannelError, RelationType, Share, ShareResult};
use crate::infra::config::{ConfigError, Secrets, WechatSettings};
use crate::infra::crypto::{RsaSigner, RsaVerifier};
use crate::infra::http::{HttpClient, request};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;
use wire::{
    AddReceiver, CreateOrder, DeleteReceiver, ErrorBody, OrderEntity, OrderReceiverRow, Unfreeze,
    receiver_kind,
};

const USER_AGENT: &str = concat!("allocation-service/", env!("CARGO_PKG_VERSION"));
const ORDERS: &str = "/v3/profitsharing/orders";
const UNFREEZE: &str = "/v3/profitsharing/orders/unfreeze";
const ADD_RECEIVER: &str = "/v3/profitsharing/receivers/add";
const DELETE_RECEIVER: &str = "/v3/profitsharing/receivers/delete";
const MERCHANT_CONFIGS: &str = "/v3/profitsharing/merchant-configs";

/// The WeChat Pay merchant of this deployment.
#[derive(Debug)]
pub struct WechatConfig {
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The merchant API private key (signs requests) and its certificate serial.
    pub merchant_key: RsaSigner,
    pub merchant_serial: String,
    /// The WeChat Pay public key (verifies answers, encrypts names) and its id.
    pub wechat_key: RsaVerifier,
    pub wechat_key_id: String,
    pub apiv3_key: ApiV3Key,
    pub timeout: Duration,
    /// Partner mode: the sub-merchant this client acts for (`mchid`, `appid` and the keys are
    /// then the provider's).
    pub partner: Option<Partner>,
}

/// A provider's sub-merchant (特约商户).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub sub_mchid: String,
    /// The sub-merchant's own appid: needed for `PERSONAL_SUB_OPENID` receivers.
    pub sub_appid: Option<String>,
}

/// How long the authorised maximum ratio of a sub-merchant is kept (SPEC §6.5).
const MAX_RATIO_TTL_SECS: i64 = 600;

#[derive(Debug)]
pub struct WechatClient {
    config: WechatConfig,
    /// The sub-merchant's authorised maximum ratio and when it was read.
    max_ratio: std::sync::Mutex<Option<(i64, i64)>>,
}

/// What a 2xx answer holds.
enum Answer {
    Empty,
    Body(Vec<u8>),
}

impl Answer {
    fn parse<T: DeserializeOwned>(self, what: &str) -> Result<T, ChannelError> {
        match self {
            Answer::Body(bytes) => serde_json::from_slice(&bytes).map_err(|_| {
                ChannelError::Ambiguous(format!("{what}: answer of an unexpected shape"))
            }),
            Answer::Empty => Err(ChannelError::Ambiguous(format!("{what}: empty answer"))),
        }
    }
}

/// A call as logs and errors name it: the method and the path, never the query.
fn what(method: &http::Method, path_and_query: &str) -> String {
    format!(
        "{method} {}",
        path_and_query.split('?').next().unwrap_or("")
    )
}

impl WechatClient {
    pub fn new(config: WechatConfig) -> Self {
        Self {
            config,
            max_ratio: std::sync::Mutex::new(None),
        }
    }

    /// The client the settings and secrets describe; a key that cannot be read fails init,
    /// naming its setting.
    pub fn from_settings(w: &WechatSettings, secrets: &Secrets) -> Result<Self, ConfigError> {
        let need = |setting: &'static str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| ConfigError::new(setting, "is required when WECHAT_MCHID is set"))
        };
        let bad = |setting: &'static str| move |e: String| ConfigError::new(setting, e);
        let private = need("WECHAT_PRIVATE_KEY", &secrets.wechat_private_key)?;
        let public = need("WECHAT_PUBLIC_KEY", &secrets.wechat_public_key)?;
        let apiv3 = need("WECHAT_APIV3_KEY", &secrets.wechat_apiv3_key)?;
        Ok(Self::new(WechatConfig {
            base_url: w.base_url.clone(),
            mchid: w.mchid.clone(),
            appid: w.appid.clone(),
            merchant_key: RsaSigner::from_pkcs8_base64("WECHAT_PRIVATE_KEY", &private)
                .map_err(|e| bad("WECHAT_PRIVATE_KEY")(e.to_string()))?,
            merchant_serial: w.merchant_serial.clone(),
            wechat_key: RsaVerifier::from_spki_base64("WECHAT_PUBLIC_KEY", &public)
                .map_err(|e| bad("WECHAT_PUBLIC_KEY")(e.to_string()))?,
            wechat_key_id: w.public_key_id.clone(),
            apiv3_key: ApiV3Key::new(apiv3).map_err(|e| bad("WECHAT_APIV3_KEY")(e.into()))?,
            timeout: Duration::from_millis(w.timeout_ms),
            partner: w.sub_mchid.clone().map(|sub_mchid| Partner {
                sub_mchid,
                sub_appid: w.sub_appid.clone(),
            }),
        }))
    }

    pub fn config(&self) -> &WechatConfig {
        &self.config
    }

    /// Sends one signed request and returns the verified body of a 2xx answer.
    async fn request<B: Serialize>(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&B>,
        now: i64,
    ) -> Result<Answer, ChannelError> {
        let what = what(&method, path_and_query);
        let body_text = match body {
            Some(b) => serde_json::to_string(b).map_err(|e| ChannelError::Unsent {
                code: "LOCAL_ENCODE_FAILED".into(),
                msg: format!("{what}: {e}; nothing was sent"),
            })?,
            None => String::new(),
        };
        let url = format!(
            "{}{path_and_query}",
            self.config.base_url.trim_end_matches('/')
        );
        let json = body.is_some();
        let answer = self
            .send_signed(method, &url, path_and_query, body_text, json, now, None)
            .await?;
        let headers = SignatureHeaders::from_headers(&answer.headers);
        let bytes = answer.body;
        verify_signed(
            &headers,
            &bytes,
            &self.config.wechat_key,
            &self.config.wechat_key_id,
            now,
        )
        .map_err(|why| ChannelError::Ambiguous(format!("{what}: answer {why}")))?;
        Ok(if bytes.is_empty() {
            Answer::Empty
        } else {
            Answer::Body(bytes.to_vec())
        })
    }

    /// Signs and sends one request to `url` (whose path and query are `path_and_query`) and
    /// answers a 2xx answer as it came, unverified; anything else is a refusal or an unknown
    /// outcome. `max_bytes`: the largest answer read (`None`: the client's usual limit).
    #[allow(clippy::too_many_arguments)]
    async fn send_signed(
        &self,
        method: http::Method,
        url: &str,
        path_and_query: &str,
        body_text: String,
        json_body: bool,
        now: i64,
        max_bytes: Option<usize>,
    ) -> Result<crate::infra::http::Answer, ChannelError> {
        let what = what(&method, path_and_query);
        let nonce = crate::infra::crypto::random_alnum(32);
        let message = format!("{method}\n{path_and_query}\n{now}\n{nonce}\n{body_text}\n");
        let signature = self
            .config
            .merchant_key
            .sign_base64(message.as_bytes())
            .map_err(|e| ChannelError::unsigned(&what, &e))?;
        let authorization = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{now}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.config.mchid, self.config.merchant_serial
        );
        let unanswered =
            |e: crate::infra::http::Failure| ChannelError::Ambiguous(format!("{what}: {e}"));
        let mut headers = vec![
            (http::header::AUTHORIZATION, authorization.as_str()),
            (http::header::ACCEPT, "application/json"),
            (http::header::USER_AGENT, USER_AGENT),
            (
                http::header::HeaderName::from_static("wechatpay-serial"),
                self.config.wechat_key_id.as_str(),
            ),
        ];
        if json_body {
            headers.push((http::header::CONTENT_TYPE, "application/json"));
        }
        let request = request(method, url, &headers, body_text).map_err(unanswered)?;
        let client = HttpClient::shared();
        let answer = match max_bytes {
            Some(max) => client.send_up_to(request, self.config.timeout, max).await,
            None => client.send(request, self.config.timeout).await,
        }
        .map_err(unanswered)?;
        let status = answer.status;
        if !status.is_success() {
            let error: ErrorBody = serde_json::from_slice(&answer.body).unwrap_or_default();
            if status.as_u16() == 429 || status.is_server_error() || error.code.is_empty() {
                return Err(ChannelError::Ambiguous(format!(
                    "{what}: HTTP {status} {}",
                    error.code
                )));
            }
            // a definite refusal, unless it says the trade or the request is still in hand
            return Err(ChannelError::refusal(error.code, error.message));
        }
        Ok(answer)
    }

    /// `POST /v3/profitsharing/orders` with `unfreeze_unsplit=false`; `out_order_no` is our
    /// allocationNo, so a retry is idempotent.
    pub async fn create_order(
        &self,
        transaction_id: &str,
        out_order_no: &str,
        shares: &[Share],
        now: i64,
    ) -> Result<Accepted, ChannelError> {
        let mut receivers = Vec::new();
        for share in shares.iter().filter(|s| s.amount > 0) {
            let kind = receiver_kind(share.account.receiver_type)?;
            self.check_kind(kind)?;
            receivers.push(OrderReceiverRow {
                kind,
                account: &share.account.account,
                amount: share.amount,
                // WeChat requires a description of at most 80 characters
                description: share
                    .description
                    .as_deref()
                    .unwrap_or("分账")
                    .chars()
                    .take(80)
                    .collect(),
            });
        }
        let sub_appid = receivers
            .iter()
            .any(|r| r.kind == "PERSONAL_SUB_OPENID")
            .then(|| self.sub_appid())
            .flatten();
        let body = CreateOrder {
            sub_mchid: self.sub_mchid(),
            appid: &self.config.appid,
            sub_appid,
            transaction_id,
            out_order_no,
            receivers,
            unfreeze_unsplit: false,
        };
        let order: OrderEntity = self
            .request(http::Method::POST, ORDERS, Some(&body), now)
            .await?
            .parse(ORDERS)?;
        Ok(Accepted {
            out_allocation_no: order.order_id,
        })
    }

    /// `GET /v3/profitsharing/orders/{out_order_no}?transaction_id=`; `None` when WeChat has no
    /// such order (404 `RESOURCE_NOT_EXISTS`).
    pub async fn query_order(
        &self,
        transaction_id: &str,
        out_order_no: &str,
        now: i64,
    ) -> Result<Option<Vec<ShareResult>>, ChannelError> {
        let mut path = format!(
            "{ORDERS}/{}?",
            form_urlencoded::byte_serialize(out_order_no.as_bytes()).collect::<String>()
        );
        if let Some(sub) = self.sub_mchid() {
            path.push_str("sub_mchid=");
            path.extend(form_urlencoded::byte_serialize(sub.as_bytes()));
            path.push('&');
        }
        path.push_str("transaction_id=");
        path.extend(form_urlencoded::byte_serialize(transaction_id.as_bytes()));
        match self
            .request::<()>(http::Method::GET, &path, None, now)
            .await
        {
            Ok(answer) => Ok(Some(answer.parse::<OrderEntity>(ORDERS)?.results())),
            Err(ChannelError::Rejected { code, .. })
                if code == "RESOURCE_NOT_EXISTS" || code == "ORDER_NOT_EXIST" =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `POST /v3/profitsharing/orders/unfreeze` under its own number (`allocationNo + "F"`).
    pub async fn unfreeze(
        &self,
        transaction_id: &str,
        out_order_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let body = Unfreeze {
            sub_mchid: self.sub_mchid(),
            transaction_id,
            out_order_no,
            description: "分账已完成",
        };
        self.request(http::Method::POST, UNFREEZE, Some(&body), now)
            .await
            .map(|_| ())
    }

    /// `POST /v3/profitsharing/receivers/add`; the name is RSA-OAEP encrypted with the WeChat
    /// Pay public key (whose id goes in `Wechatpay-Serial`).
    pub async fn add_receiver(
        &self,
        account: &Account,
        relation: RelationType,
        custom_relation: Option<&str>,
        now: i64,
    ) -> Result<(), ChannelError> {
        let name = match &account.name {
            Some(name) => Some(
                self.config
                    .wechat_key
                    .oaep_sha1_encrypt_base64(name.as_bytes())
                    .map_err(|e| ChannelError::Unsent {
                        code: "LOCAL_ENCRYPT_FAILED".into(),
                        msg: format!("encrypting the name: {e}; nothing was sent"),
                    })?,
            ),
            None => None,
        };
        let kind = receiver_kind(account.receiver_type)?;
        self.check_kind(kind)?;
        let body = AddReceiver {
            sub_mchid: self.sub_mchid(),
            appid: &self.config.appid,
            sub_appid: self.sub_appid(),
            kind,
            account: &account.account,
            name,
            relation_type: relation.code(),
            custom_relation: (relation == RelationType::Custom)
                .then(|| custom_relation.unwrap_or_default()),
        };
        self.request(http::Method::POST, ADD_RECEIVER, Some(&body), now)
            .await
            .map(|_| ())
    }

    /// `POST /v3/profitsharing/receivers/delete`.
    pub async fn delete_receiver(&self, account: &Account, now: i64) -> Result<(), ChannelError> {
        let kind = receiver_kind(account.receiver_type)?;
        self.check_kind(kind)?;
        let body = DeleteReceiver {
            sub_mchid: self.sub_mchid(),
            appid: &self.config.appid,
            sub_appid: self.sub_appid(),
            kind,
            account: &account.account,
        };
        self.request(http::Method::POST, DELETE_RECEIVER, Some(&body), now)
            .await
            .map(|_| ())
    }
}
