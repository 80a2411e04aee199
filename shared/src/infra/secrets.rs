//! Secret values (SPEC §7): the sign secret and the channel keys, from one JSON secret in AWS
//! Secrets Manager (`SECRETS_ID`), or locally from the environment. Never logged or shown.

use super::crypto::Secret;
use super::setting::ConfigError;

/// Where the sign secret comes from.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `SIGN_SECRET` (local runs and tests).
    Inline(Secret),
    /// `SECRETS_ID`: the id or ARN of a Secrets Manager secret.
    SecretsManager(String),
}

/// Secret values, from Secrets Manager (one JSON secret) or, locally, the environment.
#[derive(Clone)]
pub struct Secrets {
    pub sign_secret: Secret,
    pub alipay_private_key: Option<String>,
    pub alipay_public_key: Option<String>,
    /// Certificate mode (PEM): the app's public certificate, Alipay's public certificate and
    /// Alipay's root certificate bundle. Not secret, but kept with the keys they go with.
    pub alipay_app_cert: Option<String>,
    pub alipay_cert: Option<String>,
    pub alipay_root_cert: Option<String>,
    pub wechat_private_key: Option<String>,
    pub wechat_public_key: Option<String>,
    pub wechat_apiv3_key: Option<String>,
    /// Third-party mode: the token the merchant's authorisation granted (a common parameter of
    /// every Alipay call made for it).
    pub alipay_app_auth_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(***)")
    }
}

/// An app's secrets as they are sealed (SPEC §8.3): the sign secret (and the previous one
/// during a rotation) and its direct channel accounts' keys, as JSON with the members of the
/// stack's own secret. Shown to no one: no `Debug`, no `Display`.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppSecrets {
    pub sign_secret: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sign_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_app_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_root_cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat_api_v3_key: Option<String>,
    /// Alipay third-party mode: the merchant's `app_auth_token` and `app_refresh_token` (the
    /// provider's keys are the provider's, sealed with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_app_auth_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay_app_refresh_token: Option<String>,
    /// Accounts the app had before, with their keys: what was made under them is followed to
    /// its end with them (SPEC §6.5). The most recent few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<RetiredAccount>,
}

/// A channel account an app no longer uses for new payments.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetiredAccount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alipay: Option<super::config::AlipaySettings>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<super::config::WechatSettings>,
    /// Its keys (sign secrets empty).
    pub keys: AppSecrets,
    pub retired_at: i64,
}

/// How many retired accounts an app keeps.
pub const RETIRED_KEPT: usize = 4;

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppSecrets(***)")
    }
}

impl AppSecrets {
    /// The keys the channel clients are built from.
    pub fn channel_secrets(&self) -> Secrets {
        Secrets {
            sign_secret: Secret::new(self.sign_secret.clone()),
            alipay_private_key: self.alipay_private_key.clone(),
            alipay_public_key: self.alipay_public_key.clone(),
            alipay_app_cert: self.alipay_app_cert.clone(),
            alipay_cert: self.alipay_cert.clone(),
            alipay_root_cert: self.alipay_root_cert.clone(),
            wechat_private_key: self.wechat_private_key.clone(),
            wechat_public_key: self.wechat_public_key.clone(),
            wechat_apiv3_key: self.wechat_api_v3_key.clone(),
            alipay_app_auth_token: self.alipay_app_auth_token.clone(),
        }
    }
}

/// Loads the secrets from their source.
pub async fn load_secrets(
    source: &SecretSource,
    sdk: &aws_types::SdkConfig,
) -> Result<Secrets, ConfigError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let id = match source {
        SecretSource::Inline(secret) => {
            return Ok(Secrets {
                sign_secret: secret.clone(),
                alipay_private_key: env("ALIPAY_PRIVATE_KEY"),
                alipay_public_key: env("ALIPAY_PUBLIC_KEY"),
                alipay_app_cert: env("ALIPAY_APP_CERT"),
                alipay_cert: env("ALIPAY_CERT"),
                alipay_root_cert: env("ALIPAY_ROOT_CERT"),
                wechat_private_key: env("WECHAT_PRIVATE_KEY"),
                wechat_public_key: env("WECHAT_PUBLIC_KEY"),
                wechat_apiv3_key: env("WECHAT_APIV3_KEY"),
                alipay_app_auth_token: None,
            });
        }
        SecretSource::SecretsManager(id) => id,
    };
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| {
            ConfigError::new(
                "SECRETS_ID",
                format!(
                    "cannot read the secret: {}",
                    aws_sdk_secretsmanager::error::DisplayErrorContext(e)
                ),
            )
        })?;
    let text = out
        .secret_string()
        .ok_or_else(|| ConfigError::new("SECRETS_ID", "the secret has no string value"))?;
    secrets_from_json(text)
}

/// Reads the secret's JSON: `signSecret` (required), `alipayPrivateKey`, `alipayPublicKey` or
/// (certificate mode) `alipayAppCert` + `alipayCert` + `alipayRootCert`, and the WeChat keys.
pub fn secrets_from_json(text: &str) -> Result<Secrets, ConfigError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| ConfigError::new("SECRETS_ID", "the secret is not a JSON object"))?;
    let member = |name: &str| {
        value
            .get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    Ok(Secrets {
        sign_secret: secret_from_json(text)?,
        alipay_private_key: member("alipayPrivateKey"),
        alipay_public_key: member("alipayPublicKey"),
        alipay_app_cert: member("alipayAppCert"),
        alipay_cert: member("alipayCert"),
        alipay_root_cert: member("alipayRootCert"),
        wechat_private_key: member("wechatPrivateKey"),
        wechat_public_key: member("wechatPublicKey"),
        wechat_apiv3_key: member("wechatApiV3Key"),
        alipay_app_auth_token: None,
    })
}

/// The `signSecret` member of the secret's JSON text.
pub fn secret_from_json(text: &str) -> Result<Secret, ConfigError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|_| ConfigError::new("SECRETS_ID", "the secret is not a JSON object"))?;
    match value.get("signSecret") {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(Secret::new(s.clone())),
        _ => Err(ConfigError::new(
            "SECRETS_ID",
            "the secret's JSON has no non-empty `signSecret` member",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_json_errors_do_not_echo_the_value() {
        let e = secret_from_json("{\"other\":\"hunter2\"}")
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|m| m.contains("signSecret") && !m.contains("hunter2"))
        );
        assert!(
            secret_from_json("hunter2")
                .err()
                .is_some_and(|e| !e.to_string().contains("hunter2"))
        );
    }
}
