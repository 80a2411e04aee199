//! What the admin API answers and what it is sent (contract: `/work/notes/admin-api.md`,
//! "Views" and "Routes"). Views are read leniently where the contract allows `null` or leaves
//! a member out; no view carries a secret, except the sign secret of a created or rotated app,
//! which is shown once.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A merchant (`{"mchNo","name","status","createdAt","updatedAt"}`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Merchant {
    pub mch_no: String,
    #[serde(default)]
    pub name: String,
    /// `enabled` or `disabled`.
    pub status: String,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

/// An app of a merchant, with the effective value of every setting and its channel accounts
/// (never their keys).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub app_id: String,
    pub mch_no: String,
    #[serde(default)]
    pub name: Option<String>,
    pub status: String,
    #[serde(default)]
    pub sign_type: Option<String>,
    #[serde(default)]
    pub req_sign: Option<bool>,
    #[serde(default)]
    pub secret_rotated_at: Option<i64>,
    #[serde(default)]
    pub previous_secret_valid_until: Option<i64>,
    /// The effective value of every app setting.
    #[serde(default)]
    pub settings: Map<String, Value>,
    /// Only the settings set on this app.
    #[serde(default)]
    pub overrides: Map<String, Value>,
    /// `ali_pay` / `wechat_pay` → the account's public members.
    #[serde(default)]
    pub channels: Map<String, Value>,
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
}

/// An app and its sign secret, as `POST /admin/apps` and `.../rotate-secret` answer: the only
/// time the secret is ever shown. (`Debug` leaves the secret out.)
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSecret {
    pub app: App,
    pub sign_secret: String,
}

impl std::fmt::Debug for AppSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecret")
            .field("app", &self.app)
            .field("sign_secret", &"***")
            .finish()
    }
}

/// A page of merchants; `next` is the cursor of the following page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MerchantPage {
    pub merchants: Vec<Merchant>,
    #[serde(default)]
    pub next: Option<String>,
}

/// One audit record: who did what to which merchant or app.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditRecord {
    pub at: i64,
    #[serde(default)]
    pub principal: String,
    pub action: String,
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub detail: Value,
}

/// A page of audit records, newest first.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    #[serde(default)]
    pub next: Option<String>,
}

/// What `POST /admin/apps/{appId}/reconcile` queued: the re-run of one day's reconciliation
/// of the app's account at a channel.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueuedJob {
    /// `reconcile`.
    pub job: String,
    pub app_id: String,
    pub channel: String,
    pub day: String,
}

/// `POST /admin/apps`: an app of merchant `mch_no`; the service makes up the id when none is
/// given.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApp {
    pub mch_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `HMAC_SHA256` or `MD5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Map<String, Value>>,
}

/// A page request: at most `limit` items (the service allows 1 to 100, default 50) after
/// `cursor` (the `next` of the previous page).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// `GET /admin/audit`: a page of records, of one target (`merchant:M1`, `app:X`) or all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub page: Page,
    pub target: Option<String>,
}

/// A direct Alipay account (`PUT /admin/apps/{appId}/channels/ali_pay`): the app's private key
/// and either Alipay's public key or the three certificates. (`Debug` leaves the private key
/// out.)
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlipayAccount {
    /// Alipay's app id (`2021…`).
    pub app_id: String,
    /// Base64 PKCS#8 DER.
    pub private_key: String,
    /// Base64 SPKI DER (public-key mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// PEM texts (certificate mode: all three).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alipay_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_cert: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// A direct WeChat Pay merchant account (`PUT /admin/apps/{appId}/channels/wechat_pay`), API v3
/// in public-key mode. (`Debug` leaves the private key and the APIv3 key out.)
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WechatAccount {
    pub mchid: String,
    pub appid: String,
    /// The merchant API certificate's serial.
    pub merchant_serial: String,
    /// `PUB_KEY_ID_…`.
    pub public_key_id: String,
    /// Base64 PKCS#8 DER.
    pub private_key: String,
    /// WeChat Pay's public key, base64 SPKI DER.
    pub public_key: String,
    /// The 32-character APIv3 key.
    pub api_v3_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl std::fmt::Debug for AlipayAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlipayAccount")
            .field("app_id", &self.app_id)
            .field("private_key", &"***")
            .field("public_key", &self.public_key)
            .field("cert_mode", &self.app_cert.is_some())
            .field("gateway_url", &self.gateway_url)
            .field("notify_url", &self.notify_url)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl std::fmt::Debug for WechatAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatAccount")
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("merchant_serial", &self.merchant_serial)
            .field("public_key_id", &self.public_key_id)
            .field("private_key", &"***")
            .field("api_v3_key", &"***")
            .field("base_url", &self.base_url)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// A channel account of an app: direct (its own, with its keys) or under a service provider
/// (SPEC §6.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelAccount {
    Alipay(AlipayAccount),
    Wechat(WechatAccount),
    /// A merchant's authorisation of a provider's Alipay app.
    AlipayProvider(super::AlipayAuthorization),
    /// A sub-merchant of a WeChat Pay service provider.
    WechatProvider(super::WechatSubMerchant),
}

impl ChannelAccount {
    /// The `{channel}` of its route: `ali_pay` or `wechat_pay`.
    pub fn channel(&self) -> &'static str {
        match self {
            ChannelAccount::Alipay(_) | ChannelAccount::AlipayProvider(_) => "ali_pay",
            ChannelAccount::Wechat(_) | ChannelAccount::WechatProvider(_) => "wechat_pay",
        }
    }

    /// The body sent: the account's members with its `mode`, `direct` or `provider`.
    pub(crate) fn body(&self) -> Result<Value, serde_json::Error> {
        let (mut body, mode) = match self {
            ChannelAccount::Alipay(a) => (serde_json::to_value(a)?, "direct"),
            ChannelAccount::Wechat(w) => (serde_json::to_value(w)?, "direct"),
            ChannelAccount::AlipayProvider(a) => (serde_json::to_value(a)?, "provider"),
            ChannelAccount::WechatProvider(w) => (serde_json::to_value(w)?, "provider"),
        };
        if let Value::Object(members) = &mut body {
            members.insert("mode".into(), Value::String(mode.into()));
        }
        Ok(body)
    }
}
