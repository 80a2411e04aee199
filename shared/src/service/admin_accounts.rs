//! An app's channel accounts as the admin API gives them (SPEC §6.5, §8.4): a direct account
//! (the settings that are not secret, kept on the app's record, and the keys, sealed with its
//! other secrets), or an account under a service provider (WeChat Pay: the sub-merchant;
//! Alipay: the merchant's authorisation of the provider's app and its tokens).

use super::admin::{AdminError, invalid};
use crate::domain::notice::check_http_url;
use crate::infra::config::{
    AlipaySettings, AppAuth, ConfigError, DEFAULT_ALIPAY_GATEWAY, DEFAULT_WECHAT_BASE_URL,
    WechatSettings,
};
use crate::infra::secrets::AppSecrets;
use serde_json::{Map, Value};

/// An account to set.
#[derive(Clone)]
pub enum Account {
    Alipay(AlipaySettings, AlipayKeys),
    Wechat(WechatSettings, WechatKeys),
    /// A WeChat Pay sub-merchant of provider `provider`.
    WechatPartner {
        provider: String,
        sub_mchid: String,
        sub_appid: Option<String>,
    },
    /// A merchant that authorised provider `provider`'s Alipay app, with its tokens.
    AlipayIsv {
        provider: String,
        auth: AppAuth,
        tokens: super::admin_provider_accounts::AuthTokens,
    },
}

/// An Alipay account's keys (public-key or certificate mode).
#[derive(Clone)]
pub struct AlipayKeys {
    private_key: String,
    public_key: Option<String>,
    certs: Option<(String, String, String)>,
}

/// A WeChat Pay account's keys.
#[derive(Clone)]
pub struct WechatKeys {
    private_key: String,
    public_key: String,
    api_v3_key: String,
}

impl AlipayKeys {
    pub fn apply(self, s: &mut AppSecrets) {
        s.alipay_private_key = Some(self.private_key);
        s.alipay_public_key = self.public_key;
        let (app, alipay, root) = self.certs.unzip3();
        s.alipay_app_cert = app;
        s.alipay_cert = alipay;
        s.alipay_root_cert = root;
    }

    pub fn clear(s: &mut AppSecrets) {
        s.alipay_app_auth_token = None;
        s.alipay_app_refresh_token = None;
        s.alipay_private_key = None;
        s.alipay_public_key = None;
        s.alipay_app_cert = None;
        s.alipay_cert = None;
        s.alipay_root_cert = None;
    }
}

impl WechatKeys {
    pub fn apply(self, s: &mut AppSecrets) {
        s.wechat_private_key = Some(self.private_key);
        s.wechat_public_key = Some(self.public_key);
        s.wechat_api_v3_key = Some(self.api_v3_key);
    }

    pub fn clear(s: &mut AppSecrets) {
        s.wechat_private_key = None;
        s.wechat_public_key = None;
        s.wechat_api_v3_key = None;
    }
}

trait Unzip3<A, B, C> {
    fn unzip3(self) -> (Option<A>, Option<B>, Option<C>);
}

impl<A, B, C> Unzip3<A, B, C> for Option<(A, B, C)> {
    fn unzip3(self) -> (Option<A>, Option<B>, Option<C>) {
        match self {
            Some((a, b, c)) => (Some(a), Some(b), Some(c)),
            None => (None, None, None),
        }
    }
}

/// The members an account of each channel may have.
const ALIPAY_FIELDS: &[&str] = &[
    "mode",
    "appId",
    "privateKey",
    "publicKey",
    "appCert",
    "alipayCert",
    "rootCert",
    "gatewayUrl",
    "notifyUrl",
    "timeoutMs",
];
const WECHAT_FIELDS: &[&str] = &[
    "mode",
    "mchid",
    "appid",
    "merchantSerial",
    "publicKeyId",
    "privateKey",
    "publicKey",
    "apiV3Key",
    "baseUrl",
    "timeoutMs",
];

pub(super) struct Body<'a>(pub(super) &'a Map<String, Value>);

impl Body<'_> {
    pub(super) fn text(&self, field: &str) -> Result<Option<String>, AdminError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) if s.len() > 20_000 => {
                Err(invalid(field, "must be at most 20000 characters"))
            }
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(invalid(field, "must be a string")),
        }
    }

    pub(super) fn need(&self, field: &str) -> Result<String, AdminError> {
        self.text(field)?
            .ok_or_else(|| invalid(field, "is required"))
    }

    pub(super) fn short(&self, field: &str, max: usize) -> Result<String, AdminError> {
        let v = self.need(field)?;
        if v.len() > max || !v.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(
                field,
                format!("must be at most {max} printable ASCII characters"),
            ));
        }
        Ok(v)
    }

    pub(super) fn url(
        &self,
        field: &str,
        default: Option<&str>,
    ) -> Result<Option<String>, AdminError> {
        let v = self.text(field)?.or(default.map(str::to_owned));
        if let Some(url) = &v {
            check_http_url(url).map_err(|rule| invalid(field, rule))?;
        }
        Ok(v)
    }

    pub(super) fn timeout(&self) -> Result<u64, AdminError> {
        match self.0.get("timeoutMs") {
            None | Some(Value::Null) => Ok(8000),
            Some(v) => v
                .as_u64()
                .filter(|t| (100..=30_000).contains(t))
                .ok_or_else(|| invalid("timeoutMs", "must be milliseconds from 100 to 30000")),
        }
    }

    /// Epoch seconds, required.
    pub(super) fn epoch(&self, field: &str) -> Result<i64, AdminError> {
        self.0
            .get(field)
            .and_then(Value::as_i64)
            .filter(|t| *t > 0)
            .ok_or_else(|| invalid(field, "is required: epoch seconds"))
    }

    pub(super) fn only(&self, known: &[&str]) -> Result<(), AdminError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(invalid(k, "is not a member of this channel's account")),
            None => Ok(()),
        }
    }
}

/// Reads an account of `channel` from the admin API's body: `mode` `direct` (the app's own
/// account and keys) or `provider` (under a service provider).
pub fn parse_account(channel: &str, body: &Map<String, Value>) -> Result<Account, AdminError> {
    let b = Body(body);
    match b.text("mode")?.as_deref() {
        Some("direct") => {}
        Some("provider") => return super::admin_provider_accounts::parse(channel, body),
        Some(_) => return Err(invalid("mode", "must be direct or provider")),
        None => return Err(invalid("mode", "is required (direct or provider)")),
    }
    match channel {
        "ali_pay" => {
            b.only(ALIPAY_FIELDS)?;
            let certs = match (
                b.text("appCert")?,
                b.text("alipayCert")?,
                b.text("rootCert")?,
            ) {
                (None, None, None) => None,
                (Some(a), Some(c), Some(r)) => Some((a, c, r)),
                _ => {
                    return Err(invalid(
                        "appCert",
                        "certificate mode needs appCert, alipayCert and rootCert together",
                    ));
                }
            };
            let public_key = b.text("publicKey")?;
            if certs.is_none() == public_key.is_none() {
                return Err(invalid(
                    "publicKey",
                    "give publicKey (public-key mode) or appCert, alipayCert and rootCert (certificate mode), not both",
                ));
            }
            let settings = AlipaySettings {
                app_id: b.short("appId", 32)?,
                gateway_url: b
                    .url("gatewayUrl", Some(DEFAULT_ALIPAY_GATEWAY))?
                    .unwrap_or_default(),
                notify_url: b.url("notifyUrl", None)?,
                timeout_ms: b.timeout()?,
                app_auth: None,
                provider: None,
            };
            Ok(Account::Alipay(
                settings,
                AlipayKeys {
                    private_key: b.need("privateKey")?,
                    public_key,
                    certs,
                },
            ))
        }
        "wechat_pay" => {
            b.only(WECHAT_FIELDS)?;
            let settings = WechatSettings {
                mchid: b.short("mchid", 32)?,
                appid: b.short("appid", 32)?,
                merchant_serial: b.short("merchantSerial", 64)?,
                public_key_id: b.short("publicKeyId", 64)?,
                base_url: b
                    .url("baseUrl", Some(DEFAULT_WECHAT_BASE_URL))?
                    .unwrap_or_default(),
                timeout_ms: b.timeout()?,
                sub_mchid: None,
                sub_appid: None,
                provider: None,
            };
            Ok(Account::Wechat(
                settings,
                WechatKeys {
                    private_key: b.need("privateKey")?,
                    public_key: b.need("publicKey")?,
                    api_v3_key: b.need("apiV3Key")?,
                },
            ))
        }
        _ => Err(invalid("channel", "must be ali_pay or wechat_pay")),
    }
}

/// A client that would not build from an account, named by the admin API's fields.
pub fn named(channel: &str, e: &ConfigError) -> AdminError {
    let field = match e.setting {
        "ALIPAY_PRIVATE_KEY" | "WECHAT_PRIVATE_KEY" => "privateKey",
        "ALIPAY_PUBLIC_KEY" | "WECHAT_PUBLIC_KEY" => "publicKey",
        "ALIPAY_APP_CERT" => "appCert",
        "ALIPAY_CERT" => "alipayCert",
        "ALIPAY_ROOT_CERT" => "rootCert",
        "WECHAT_APIV3_KEY" => "apiV3Key",
        _ => channel,
    };
    invalid(field, e.problem.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(channel: &str, v: Value) -> String {
        match parse_account(channel, v.as_object().unwrap_or(&Map::new())) {
            Ok(_) => "accepted".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn an_account_names_what_it_lacks() {
        assert_eq!(
            err("ali_pay", json!({})),
            "mode: is required (direct or provider)"
        );
        assert!(err("ali_pay", json!({"mode": "isv"})).starts_with("mode: must be direct"));
        // under a provider: the provider, and what the channel needs of the app
        assert_eq!(
            err("ali_pay", json!({"mode": "provider"})),
            "provider: is required"
        );
        assert_eq!(
            err(
                "wechat_pay",
                json!({"mode": "provider", "provider": "sp-1"})
            ),
            "subMchid: is required"
        );
        assert_eq!(
            err(
                "wechat_pay",
                json!({"mode": "provider", "provider": "sp-1", "subMchid": "1900000109", "mchid": "x"})
            ),
            "mchid: is not a member of this channel's account"
        );
        assert_eq!(
            err(
                "ali_pay",
                json!({"mode": "provider", "provider": "isv-1", "userId": "2088000000000001",
                    "appAuthToken": "T", "appRefreshToken": "R", "refreshExpiresAt": 2})
            ),
            "expiresAt: is required: epoch seconds"
        );
        assert_eq!(
            err(
                "ali_pay",
                json!({"mode": "direct", "privateKey": "k", "publicKey": "p"})
            ),
            "appId: is required"
        );
        assert!(
            err(
                "ali_pay",
                json!({"mode": "direct", "appId": "2021", "privateKey": "k"})
            )
            .starts_with("publicKey: give publicKey")
        );
        assert_eq!(
            err(
                "ali_pay",
                json!({"mode": "direct", "appId": "2021", "privateKey": "k",
                "publicKey": "p", "gatewayUrl": "ftp://x"})
            )
            .split(':')
            .next(),
            Some("gatewayUrl")
        );
        assert_eq!(
            err(
                "ali_pay",
                json!({"mode": "direct", "appId": "2021", "privateKey": "k",
                "publicKey": "p"})
            ),
            "accepted"
        );
        assert_eq!(
            err(
                "wechat_pay",
                json!({"mode": "direct", "mchid": "1900", "appid": "wx1",
                "merchantSerial": "5157", "publicKeyId": "PUB", "privateKey": "k",
                "publicKey": "p", "apiV3Key": "a", "pin": 1})
            ),
            "pin: is not a member of this channel's account"
        );
        assert_eq!(
            err("union_pay", json!({"mode": "direct"})),
            "channel: must be ali_pay or wechat_pay"
        );
        assert_eq!(
            err(
                "wechat_pay",
                json!({"mode": "direct", "mchid": "1900", "appid": "wx1",
                "merchantSerial": "5157", "publicKeyId": "PUB", "privateKey": "k",
                "publicKey": "p", "apiV3Key": "a", "timeoutMs": 5})
            ),
            "timeoutMs: must be milliseconds from 100 to 30000"
        );
    }
}
