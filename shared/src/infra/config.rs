//! Configuration from environment variables (SPEC §7). A missing or malformed setting fails at
//! init with a message naming it. The sign secret comes from AWS Secrets Manager in AWS
//! (`SECRETS_ID`, a JSON secret with a `signSecret` member) and from `SIGN_SECRET` locally.
//! Secret values are never logged or shown.

use super::crypto::{Secret, SignType};
pub use super::job_settings::JobSettings;
pub use super::secrets::{
    SecretSource, Secrets, load_secrets, secret_from_json, secrets_from_json,
};
pub use super::setting::ConfigError;
use super::setting::{bool_setting, secs_setting, timeout_setting, url_setting};
use crate::domain::tenant::{DEFAULT_APP_ID, DEFAULT_MCH_NO};

/// Settings of the api function.
#[derive(Debug, Clone)]
pub struct Config {
    /// `TABLE_NAME`: the DynamoDB table.
    pub table_name: String,
    /// `SIGN_TYPE`: `HMAC_SHA256` (default) or `MD5`.
    pub sign_type: SignType,
    /// `REQ_SIGN`: `true` (default) or `false`; false accepts unsigned requests (DaxPay's reqSign).
    pub require_sign: bool,
    /// `REQ_TIMEOUT_SECS`: how old a `reqTime` may be (default 300, 1..=86400).
    pub req_timeout_secs: i64,
    pub secret: SecretSource,
    /// `ALLOCATION_NO_PREFIX`: optional environment prefix of allocation numbers (≤ 8 letters
    /// or digits, e.g. `DEV`).
    pub allocation_no_prefix: String,
    /// `ALIPAY_APP_ID`: enables Alipay. With it: `ALIPAY_GATEWAY_URL` (default Alipay's
    /// production gateway), `ALIPAY_TIMEOUT_MS` (default 8000), optional `ALIPAY_NOTIFY_URL`;
    /// keys `alipayPrivateKey` / `alipayPublicKey` from the secret (locally `ALIPAY_PRIVATE_KEY`
    /// / `ALIPAY_PUBLIC_KEY`), or for certificate mode `alipayAppCert`, `alipayCert` and
    /// `alipayRootCert` instead of the public key (locally `ALIPAY_APP_CERT`, `ALIPAY_CERT`,
    /// `ALIPAY_ROOT_CERT`).
    pub alipay: Option<AlipaySettings>,
    /// `WECHAT_MCHID`: enables WeChat Pay. With it: `WECHAT_APPID`, `WECHAT_MERCHANT_SERIAL`
    /// (the merchant API certificate serial), `WECHAT_PUBLIC_KEY_ID` (`PUB_KEY_ID_...`),
    /// `WECHAT_BASE_URL` (default WeChat's API host), `WECHAT_TIMEOUT_MS` (default 8000); keys
    /// `wechatPrivateKey`, `wechatPublicKey`, `wechatApiV3Key` from the secret (locally
    /// `WECHAT_PRIVATE_KEY`, `WECHAT_PUBLIC_KEY`, `WECHAT_APIV3_KEY`).
    pub wechat: Option<WechatSettings>,
    /// `QUEUE_URL`: the SQS job queue (required by the worker and scheduler; the api needs it
    /// for channel callbacks and to deliver notices at once).
    pub queue_url: Option<String>,
    /// `ORDER_LISTS`: `true` or `false` (default). True keeps every allocation order on the
    /// `byDay` index, so operators can list orders by status and day (SPEC §4.12); it costs one
    /// write unit more per start and two per status change. Every function that writes orders
    /// (all three) must have the same value.
    pub order_lists: bool,
    pub jobs: JobSettings,
    /// `DEFAULT_APP_ID` (default `default`): the app id of the stack's default app, the app of
    /// every route without an `/app/{appId}` prefix (SPEC §8.2); a 3.x request names it as its
    /// `appId`. No other app may take it.
    pub default_app_id: String,
    /// `DEFAULT_MCH_NO` (default `default`): the merchant number of the default app.
    pub default_mch_no: String,
    /// `KMS_KEY_ID`: the stack's KMS key (id, ARN or alias), under which every app other than
    /// the default keeps its secrets (SPEC §8.3). Without it the stack serves its default app
    /// only.
    pub kms_key_id: Option<String>,
    /// `APP_CACHE_SECS` (default 300, 0..=3600): how long a function keeps an app's settings
    /// and opened secrets; a rotation or a disabling takes effect within it.
    pub app_cache_secs: u64,
    /// `BILL_BUCKET`: the S3 bucket where reconciliation keeps the channels' raw bills (SPEC
    /// §4.13); without it no bill is fetched.
    pub bill_bucket: Option<String>,
}

/// WeChat Pay settings that are not secret (an app's account keeps them as this JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WechatSettings {
    pub mchid: String,
    pub appid: String,
    pub merchant_serial: String,
    pub public_key_id: String,
    pub base_url: String,
    pub timeout_ms: u64,
    /// Partner mode (SPEC §6.5): the sub-merchant the provider (whose `mchid`, `appid` and keys
    /// these then are) acts for, and its own appid when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_mchid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
    /// The provider whose account (and keys) this is, for an app's account under a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl WechatSettings {
    /// The account these settings act as: `mchid`, or `sp_mchid/sub_mchid` under a provider.
    pub fn account_key(&self) -> String {
        match &self.sub_mchid {
            Some(sub) => format!("{}/{sub}", self.mchid),
            None => self.mchid.clone(),
        }
    }
}

impl AlipaySettings {
    /// The account these settings act as: the app id, or `app_id/auth_app_id` for a merchant
    /// that authorised it.
    pub fn account_key(&self) -> String {
        match &self.app_auth {
            Some(auth) => format!("{}/{}", self.app_id, auth.auth_app_id),
            None => self.app_id.clone(),
        }
    }
}

/// Alipay settings that are not secret (an app's account keeps them as this JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlipaySettings {
    pub app_id: String,
    pub gateway_url: String,
    pub notify_url: Option<String>,
    pub timeout_ms: u64,
    /// Third-party mode (SPEC §6.5): the merchant that authorised this (the provider's) app to
    /// act for it; its `app_auth_token` is a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_auth: Option<AppAuth>,
    /// The provider whose app (and keys) this is, for an app's account under a provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

/// A merchant's authorisation of a third-party app (`alipay.open.auth.token.app`): who, and
/// until when its token and refresh token hold (epoch seconds).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppAuth {
    pub user_id: String,
    pub auth_app_id: String,
    pub expires_at: i64,
    pub refresh_expires_at: i64,
    /// When a refresh was last refused (the refresh token no longer holds: the merchant must
    /// authorise the app again), and why; the next attempt waits a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_failed_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_error: Option<String>,
}

/// How long before its token expires a merchant's authorisation is refreshed.
pub const APP_AUTH_REFRESH_BEFORE_SECS: i64 = 30 * 86_400;

impl AppAuth {
    /// When the token is refreshed next: 30 days before it expires (at once if that has
    /// passed), or a day after a refused refresh.
    pub fn refresh_at(&self) -> i64 {
        match self.refresh_failed_at {
            Some(failed) => failed + 86_400,
            None => self.expires_at - APP_AUTH_REFRESH_BEFORE_SECS,
        }
    }
}

pub const DEFAULT_REQ_TIMEOUT_SECS: i64 = 300;

/// How an app's requests are verified (SPEC §3, §8.1): `SIGN_TYPE`, `REQ_SIGN`,
/// `REQ_TIMEOUT_SECS` for the default app, and the defaults of every other app's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    pub sign_type: SignType,
    pub require_sign: bool,
    pub req_timeout_secs: i64,
}

impl Verification {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let sign_type = match get("SIGN_TYPE") {
            None => SignType::HmacSha256,
            Some(v) => v
                .trim()
                .parse()
                .map_err(|e: String| ConfigError::new("SIGN_TYPE", e))?,
        };
        let req_timeout_secs = match get("REQ_TIMEOUT_SECS") {
            None => DEFAULT_REQ_TIMEOUT_SECS,
            Some(v) => v
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|t| (1..=86_400).contains(t))
                .ok_or_else(|| {
                    ConfigError::new("REQ_TIMEOUT_SECS", "must be whole seconds from 1 to 86400")
                })?,
        };
        Ok(Self {
            sign_type,
            require_sign: bool_setting(get, "REQ_SIGN", true)?,
            req_timeout_secs,
        })
    }
}
/// Alipay's production gateway.
pub const DEFAULT_ALIPAY_GATEWAY: &str = "https://openapi.alipay.com/gateway.do";
/// WeChat Pay's API host.
pub const DEFAULT_WECHAT_BASE_URL: &str = "https://api.mch.weixin.qq.com";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let table_name = get("TABLE_NAME")
            .ok_or_else(|| ConfigError::new("TABLE_NAME", "is required (the DynamoDB table)"))?;
        if !(3..=255).contains(&table_name.len())
            || !table_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(ConfigError::new(
                "TABLE_NAME",
                "must be 3-255 characters of A-Z a-z 0-9 _ . -",
            ));
        }
        let Verification {
            sign_type,
            require_sign,
            req_timeout_secs,
        } = Verification::from_lookup(&get)?;
        let order_lists = bool_setting(&get, "ORDER_LISTS", false)?;
        let secret = match (get("SECRETS_ID"), get("SIGN_SECRET")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "SIGN_SECRET",
                    "must not be set together with SECRETS_ID (choose one source)",
                ));
            }
            (Some(id), None) => SecretSource::SecretsManager(id),
            (None, Some(value)) => SecretSource::Inline(Secret::new(value)),
            (None, None) => {
                return Err(ConfigError::new(
                    "SECRETS_ID",
                    "is required (or SIGN_SECRET for local runs)",
                ));
            }
        };
        let allocation_no_prefix = get("ALLOCATION_NO_PREFIX").unwrap_or_default();
        if allocation_no_prefix.len() > 8
            || !allocation_no_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric())
        {
            return Err(ConfigError::new(
                "ALLOCATION_NO_PREFIX",
                "must be at most 8 letters or digits",
            ));
        }
        let alipay = match get("ALIPAY_APP_ID") {
            None => None,
            Some(app_id) => {
                let gateway_url =
                    get("ALIPAY_GATEWAY_URL").unwrap_or_else(|| DEFAULT_ALIPAY_GATEWAY.to_owned());
                url_setting("ALIPAY_GATEWAY_URL", &gateway_url)?;
                Some(AlipaySettings {
                    app_id,
                    gateway_url,
                    notify_url: get("ALIPAY_NOTIFY_URL"),
                    timeout_ms: timeout_setting(&get, "ALIPAY_TIMEOUT_MS")?,
                    app_auth: None,
                    provider: None,
                })
            }
        };
        let wechat = match get("WECHAT_MCHID") {
            None => None,
            Some(mchid) => {
                let need = |name: &'static str| {
                    get(name).ok_or_else(|| {
                        ConfigError::new(name, "is required when WECHAT_MCHID is set")
                    })
                };
                let base_url =
                    get("WECHAT_BASE_URL").unwrap_or_else(|| DEFAULT_WECHAT_BASE_URL.to_owned());
                url_setting("WECHAT_BASE_URL", &base_url)?;
                Some(WechatSettings {
                    mchid,
                    appid: need("WECHAT_APPID")?,
                    merchant_serial: need("WECHAT_MERCHANT_SERIAL")?,
                    public_key_id: need("WECHAT_PUBLIC_KEY_ID")?,
                    base_url,
                    timeout_ms: timeout_setting(&get, "WECHAT_TIMEOUT_MS")?,
                    sub_mchid: None,
                    sub_appid: None,
                    provider: None,
                })
            }
        };
        Ok(Self {
            table_name,
            sign_type,
            require_sign,
            req_timeout_secs,
            secret,
            allocation_no_prefix,
            alipay,
            wechat,
            queue_url: get("QUEUE_URL"),
            order_lists,
            jobs: JobSettings::from_lookup(&get)?,
            default_app_id: id_setting(&get, "DEFAULT_APP_ID", DEFAULT_APP_ID)?,
            default_mch_no: id_setting(&get, "DEFAULT_MCH_NO", DEFAULT_MCH_NO)?,
            kms_key_id: get("KMS_KEY_ID"),
            app_cache_secs: u64::try_from(secs_setting(&get, "APP_CACHE_SECS", 300, 3600)?)
                .unwrap_or(300),
            bill_bucket: get("BILL_BUCKET"),
        })
    }
}

/// An app id or merchant number setting (SPEC §8.1's alphabet), `default` when unset.
fn id_setting(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    crate::domain::AppId::parse(value.trim())
        .map(|id| id.as_str().to_owned())
        .map_err(|e| ConfigError::new(name, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    fn setting_of(r: Result<Config, ConfigError>) -> &'static str {
        match r {
            Ok(_) => "accepted",
            Err(e) => e.setting,
        }
    }

    #[test]
    fn defaults_and_required_settings() {
        let c = cfg(&[("TABLE_NAME", "allocation"), ("SIGN_SECRET", "123456")]);
        let c = match c {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(c.sign_type, SignType::HmacSha256);
        assert!(c.require_sign);
        assert_eq!(c.req_timeout_secs, 300);
        assert_eq!(setting_of(cfg(&[("SIGN_SECRET", "1")])), "TABLE_NAME");
        assert_eq!(setting_of(cfg(&[("TABLE_NAME", "tbl")])), "SECRETS_ID");
    }

    #[test]
    fn malformed_settings_are_named() {
        let base = [("TABLE_NAME", "tbl"), ("SIGN_SECRET", "s")];
        let with = |k: &'static str, v: &'static str| {
            let mut v2 = base.to_vec();
            v2.push((k, v));
            setting_of(cfg(&v2))
        };
        assert_eq!(with("SIGN_TYPE", "SHA1"), "SIGN_TYPE");
        assert_eq!(with("REQ_SIGN", "yes"), "REQ_SIGN");
        assert_eq!(with("ORDER_LISTS", "on"), "ORDER_LISTS");
        assert_eq!(with("ORDER_LISTS", "true"), "accepted");
        assert_eq!(with("REQ_TIMEOUT_SECS", "0"), "REQ_TIMEOUT_SECS");
        assert_eq!(with("REQ_TIMEOUT_SECS", "ten"), "REQ_TIMEOUT_SECS");
        assert_eq!(with("SECRETS_ID", "arn:x"), "SIGN_SECRET");
        assert_eq!(with("SIGN_TYPE", "MD5"), "accepted");
        assert_eq!(with("AUTO_FINISH", "yes"), "AUTO_FINISH");
        assert_eq!(with("NOTIFY_DELAYS_SECS", "1,2,3"), "NOTIFY_DELAYS_SECS");
        assert_eq!(with("SYNC_MAX_AGE_SECS", "-1"), "SYNC_MAX_AGE_SECS");
        assert_eq!(with("DEFAULT_NOTIFY_URL", "ftp://x"), "DEFAULT_NOTIFY_URL");
        assert_eq!(with("DEFAULT_FIELD_NAMES", "2.0.9"), "DEFAULT_FIELD_NAMES");
        assert_eq!(with("DEFAULT_FIELD_NAMES", "2.0.8"), "accepted");
        assert_eq!(with("DEFAULT_APP_ID", "shop 1"), "DEFAULT_APP_ID");
        assert_eq!(with("DEFAULT_APP_ID", "shop-1"), "accepted");
        assert_eq!(
            with("DEFAULT_MCH_NO", "m123456789012345678901234567890123"),
            "DEFAULT_MCH_NO"
        );
        assert_eq!(
            with("NOTIFY_DELAYS_SECS", "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1"),
            "accepted"
        );
        assert_eq!(
            setting_of(cfg(&[("TABLE_NAME", "a b"), ("SIGN_SECRET", "s")])),
            "TABLE_NAME"
        );
    }
}
