//! WeChat Pay API v3 client (direct merchant) for profit sharing (SPEC §6.1).
//!
//! Requests carry `Authorization: WECHATPAY2-SHA256-RSA2048 ...`, a SHA256withRSA signature of
//! `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n` over exactly the bytes sent. Every 2xx answer
//! is verified with the WeChat Pay public key over `TIMESTAMP\nNONCE\nBODY\n` (timestamp within
//! 5 minutes, serial = our public key id) before anything in it is read; `WECHATPAY/SIGNTEST/`
//! probes fail that check like any other bad signature. A non-2xx answer is not signed-checked:
//! 429 and 5xx are unknown outcomes (retry with the same number), other 4xx are refusals.

use super::{Accepted, Account, ChannelError, Share, ShareResult, ShareState, transport};
use crate::crypto::{RsaSigner, RsaVerifier, aes256gcm_open};
use crate::model::{ReceiverType, RelationType};
use serde_json::{Value, json};
use std::fmt;
use std::time::Duration;

pub const DEFAULT_BASE_URL: &str = "https://api.mch.weixin.qq.com";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);
/// How far an answer's or notification's timestamp may be from our clock.
pub const MAX_SKEW_SECS: i64 = 300;
const USER_AGENT: &str = concat!("allocation-service/", env!("CARGO_PKG_VERSION"));

/// The APIv3 key (32 ASCII characters). `Debug` never shows it.
#[derive(Clone)]
pub struct ApiV3Key(String);

impl ApiV3Key {
    pub fn new(key: impl Into<String>) -> Result<Self, &'static str> {
        let key = key.into();
        if key.len() != 32 || !key.is_ascii() {
            return Err("must be the 32-character APIv3 key");
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

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
}

#[derive(Debug)]
pub struct WechatClient {
    config: WechatConfig,
    http: reqwest::Client,
}

/// The signature headers of an answer or notification.
#[derive(Debug, Clone, Default)]
pub struct SignatureHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignatureHeaders {
    /// Reads `Wechatpay-Timestamp/Nonce/Signature/Serial` (case-insensitive names).
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            timestamp: get("wechatpay-timestamp"),
            nonce: get("wechatpay-nonce"),
            signature: get("wechatpay-signature"),
            serial: get("wechatpay-serial"),
        }
    }
}

/// Verifies a signed answer or notification body. `Err` says why, without key material.
pub fn verify_signed(
    h: &SignatureHeaders,
    body: &[u8],
    key: &RsaVerifier,
    key_id: &str,
    now: i64,
) -> Result<(), String> {
    if h.serial != key_id {
        return Err(format!("signed with an unknown key `{}`", h.serial));
    }
    let ts: i64 = h
        .timestamp
        .parse()
        .map_err(|_| "no valid Wechatpay-Timestamp".to_owned())?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(format!(
            "timestamp {ts} is more than {MAX_SKEW_SECS} s from now"
        ));
    }
    let mut message = Vec::with_capacity(body.len() + 64);
    message.extend_from_slice(h.timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(h.nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    if !key.verify_base64(&message, &h.signature) {
        return Err("signature does not verify".into());
    }
    Ok(())
}

/// Verifies and decrypts a WeChat Pay notification (AEAD_AES_256_GCM resource).
pub fn open_notification(
    h: &SignatureHeaders,
    body: &[u8],
    key: &RsaVerifier,
    key_id: &str,
    apiv3_key: &ApiV3Key,
    now: i64,
) -> Result<Value, String> {
    verify_signed(h, body, key, key_id, now)?;
    let outer: Value = serde_json::from_slice(body).map_err(|_| "body is not JSON".to_owned())?;
    let r = &outer["resource"];
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    if s("algorithm") != Some("AEAD_AES_256_GCM") {
        return Err("resource is not AEAD_AES_256_GCM".into());
    }
    let plain = aes256gcm_open(
        apiv3_key.0.as_bytes(),
        s("nonce").unwrap_or_default(),
        s("associated_data").unwrap_or_default(),
        s("ciphertext").unwrap_or_default(),
    )
    .ok_or_else(|| "resource does not decrypt".to_owned())?;
    serde_json::from_slice(&plain).map_err(|_| "resource is not JSON".to_owned())
}

/// WeChat's name for a receiver type.
pub fn receiver_kind(t: ReceiverType) -> Option<&'static str> {
    match t {
        ReceiverType::WxPersonal => Some("PERSONAL_OPENID"),
        ReceiverType::WxMerchant => Some("MERCHANT_ID"),
        _ => None,
    }
}

fn receiver_type_of(kind: &str) -> Option<ReceiverType> {
    match kind {
        "PERSONAL_OPENID" => Some(ReceiverType::WxPersonal),
        "MERCHANT_ID" => Some(ReceiverType::WxMerchant),
        _ => None,
    }
}

fn not_wechat(t: ReceiverType) -> ChannelError {
    ChannelError::Rejected {
        code: "RECEIVER_TYPE".into(),
        msg: format!("{t} is not a WeChat Pay receiver type"),
    }
}

fn rfc3339(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// The receivers of an order entity, as our detail states.
pub fn order_receivers(order: &Value) -> Vec<ShareResult> {
    order
        .get("receivers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let s = |k: &str| r.get(k).and_then(Value::as_str);
            let finish_time = s("finish_time").and_then(rfc3339);
            let state = match s("result")? {
                "SUCCESS" => ShareState::Success { finish_time },
                "CLOSED" => ShareState::Fail {
                    code: s("fail_reason").unwrap_or("CLOSED").to_owned(),
                    msg: s("fail_reason")
                        .map(fail_reason_text)
                        .unwrap_or("分账已关闭")
                        .to_owned(),
                    finish_time,
                },
                _ => ShareState::Pending,
            };
            Some(ShareResult {
                receiver_type: receiver_type_of(s("type")?)?,
                account: s("account")?.to_owned(),
                state,
            })
        })
        .collect()
}

fn fail_reason_text(reason: &str) -> &'static str {
    match reason {
        "ACCOUNT_ABNORMAL" => "分账接收账户异常",
        "NO_RELATION" => "分账关系已解除",
        "RECEIVER_HIGH_RISK" => "高风险接收方",
        "RECEIVER_REAL_NAME_NOT_VERIFIED" => "接收方未实名",
        "NO_AUTH" => "分账权限已解除",
        _ => "分账失败",
    }
}

impl WechatClient {
    pub fn new(config: WechatConfig) -> Result<Self, ChannelError> {
        let http = super::http_client(config.timeout)?;
        Ok(Self { config, http })
    }

    pub fn config(&self) -> &WechatConfig {
        &self.config
    }

    /// Sends one signed request and returns the verified JSON of a 2xx answer (`Null` for an
    /// empty body).
    async fn request(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        body: Option<&Value>,
        now: i64,
    ) -> Result<Value, ChannelError> {
        let what = format!(
            "{method} {}",
            path_and_query.split('?').next().unwrap_or("")
        );
        let body_text = body.map(Value::to_string).unwrap_or_default();
        let nonce = crate::crypto::random_alnum(32);
        let message = format!("{method}\n{path_and_query}\n{now}\n{nonce}\n{body_text}\n");
        let signature = self
            .config
            .merchant_key
            .sign_base64(message.as_bytes())
            .map_err(|e| ChannelError::Ambiguous(format!("{what}: {e}")))?;
        let authorization = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{now}\",serial_no=\"{}\",signature=\"{signature}\"",
            self.config.mchid, self.config.merchant_serial
        );
        let url = format!(
            "{}{path_and_query}",
            self.config.base_url.trim_end_matches('/')
        );
        let mut req = self
            .http
            .request(method, url)
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .header("Wechatpay-Serial", &self.config.wechat_key_id);
        if body.is_some() {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body_text);
        }
        let response = req
            .send()
            .await
            .map_err(|e| ChannelError::Ambiguous(format!("{what}: {}", transport(&e))))?;
        let status = response.status();
        let headers = SignatureHeaders::from_headers(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ChannelError::Ambiguous(format!("{what}: {}", transport(&e))))?;
        if !status.is_success() {
            let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            let code = error["code"].as_str().unwrap_or("").to_owned();
            let msg = error["message"].as_str().unwrap_or("").to_owned();
            if status.as_u16() == 429 || status.is_server_error() || code.is_empty() {
                return Err(ChannelError::Ambiguous(format!(
                    "{what}: HTTP {status} {code}"
                )));
            }
            return Err(ChannelError::Rejected { code, msg });
        }
        verify_signed(
            &headers,
            &bytes,
            &self.config.wechat_key,
            &self.config.wechat_key_id,
            now,
        )
        .map_err(|why| ChannelError::Ambiguous(format!("{what}: answer {why}")))?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes)
            .map_err(|_| ChannelError::Ambiguous(format!("{what}: answer is not JSON")))
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
            let kind = receiver_kind(share.account.receiver_type)
                .ok_or_else(|| not_wechat(share.account.receiver_type))?;
            let description: String = share
                .description
                .as_deref()
                .unwrap_or("分账")
                .chars()
                .take(80)
                .collect();
            receivers.push(json!({"type": kind, "account": share.account.account,
                "amount": share.amount, "description": description}));
        }
        let body = json!({
            "appid": self.config.appid,
            "transaction_id": transaction_id,
            "out_order_no": out_order_no,
            "receivers": receivers,
            "unfreeze_unsplit": false,
        });
        let order = self
            .request(
                reqwest::Method::POST,
                "/v3/profitsharing/orders",
                Some(&body),
                now,
            )
            .await?;
        Ok(Accepted {
            out_allocation_no: order["order_id"].as_str().map(str::to_owned),
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
        let path = format!(
            "/v3/profitsharing/orders/{}?transaction_id={}",
            form_urlencoded::byte_serialize(out_order_no.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(transaction_id.as_bytes()).collect::<String>()
        );
        match self.request(reqwest::Method::GET, &path, None, now).await {
            Ok(order) => Ok(Some(order_receivers(&order))),
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
        let body = json!({"transaction_id": transaction_id, "out_order_no": out_order_no,
            "description": "分账已完成"});
        self.request(
            reqwest::Method::POST,
            "/v3/profitsharing/orders/unfreeze",
            Some(&body),
            now,
        )
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
        let kind = receiver_kind(account.receiver_type)
            .ok_or_else(|| not_wechat(account.receiver_type))?;
        let mut body = json!({"appid": self.config.appid, "type": kind, "account": account.account,
            "relation_type": relation.code()});
        if let Some(name) = &account.name {
            let encrypted = self
                .config
                .wechat_key
                .oaep_sha1_encrypt_base64(name.as_bytes())
                .map_err(|e| ChannelError::Ambiguous(format!("encrypting the name: {e}")))?;
            body["name"] = json!(encrypted);
        }
        if relation == RelationType::Custom {
            body["custom_relation"] = json!(custom_relation.unwrap_or_default());
        }
        self.request(
            reqwest::Method::POST,
            "/v3/profitsharing/receivers/add",
            Some(&body),
            now,
        )
        .await
        .map(|_| ())
    }

    /// `POST /v3/profitsharing/receivers/delete`.
    pub async fn delete_receiver(&self, account: &Account, now: i64) -> Result<(), ChannelError> {
        let kind = receiver_kind(account.receiver_type)
            .ok_or_else(|| not_wechat(account.receiver_type))?;
        let body = json!({"appid": self.config.appid, "type": kind, "account": account.account});
        self.request(
            reqwest::Method::POST,
            "/v3/profitsharing/receivers/delete",
            Some(&body),
            now,
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_receivers_map_results_and_reasons() {
        let order = json!({"receivers": [
            {"type":"PERSONAL_OPENID","account":"o1","amount":1,"result":"SUCCESS","finish_time":"2024-06-27T16:00:00+08:00"},
            {"type":"MERCHANT_ID","account":"190","amount":1,"result":"CLOSED","fail_reason":"NO_RELATION"},
            {"type":"MERCHANT_ID","account":"191","amount":1,"result":"PENDING"}
        ]});
        let rows = order_receivers(&order);
        assert_eq!(
            rows[0].state,
            ShareState::Success {
                finish_time: Some(1_719_475_200)
            }
        );
        assert_eq!(rows[1].receiver_type, ReceiverType::WxMerchant);
        assert!(
            matches!(&rows[1].state, ShareState::Fail { code, msg, .. } if code == "NO_RELATION" && msg == "分账关系已解除")
        );
        assert_eq!(rows[2].state, ShareState::Pending);
    }

    #[test]
    fn apiv3_key_must_be_32_ascii() {
        assert!(ApiV3Key::new("x".repeat(31)).is_err());
        assert!(ApiV3Key::new("x".repeat(32)).is_ok_and(|k| !format!("{k:?}").contains('x')));
    }
}
