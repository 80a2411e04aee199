//! Service providers as their apps use them (SPEC §6.5): a provider's record and opened keys,
//! kept in this sandbox like an app's; the settings and keys an app's account under a provider
//! builds its client from (the provider's, with the app's sub-merchant or the merchant's
//! authorisation); and where an Alipay client reads a merchant's current token again.

use crate::channel::alipay::auth::{Token, TokenSource};
use crate::infra::config::{AlipaySettings, ConfigError, Secrets, WechatSettings};
use crate::infra::keyring::Keyring;
use crate::infra::secrets::AppSecrets;
use crate::store::Store;
use crate::store::providers::ProviderRecord;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The encryption context of a provider's keys (an app's is its app id; the two never meet:
/// app ids have no colon).
pub fn provider_context(provider_id: &str) -> String {
    format!("provider:{provider_id}")
}

/// A provider's record and its opened keys.
#[derive(Debug)]
pub struct ProviderKeys {
    pub record: ProviderRecord,
    pub keys: AppSecrets,
}

/// The providers this sandbox has opened, for a bounded time.
#[derive(Debug)]
pub struct Providers {
    registry: Store,
    keyring: Keyring,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Arc<ProviderKeys>)>>,
}

impl Providers {
    pub fn new(registry: Store, keyring: Keyring, ttl: Duration) -> Self {
        Self {
            registry,
            keyring,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Provider `id`, opened (one GetItem and one Decrypt when not kept).
    pub async fn get(&self, id: &str) -> Result<Arc<ProviderKeys>, ConfigError> {
        let kept = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(id).cloned())
            .filter(|(at, _)| at.elapsed() < self.ttl);
        if let Some((_, p)) = kept {
            return Ok(p);
        }
        let failed = |e: &dyn std::fmt::Display| ConfigError::new("provider", format!("{id}: {e}"));
        let record = self
            .registry
            .provider_record(id)
            .await
            .map_err(|e| failed(&e))?
            .ok_or_else(|| ConfigError::new("provider", format!("no provider {id}")))?;
        let plain = self
            .keyring
            .open(&provider_context(id), &record.sealed)
            .await
            .map_err(|e| failed(&e))?;
        let keys: AppSecrets = serde_json::from_slice(&plain).map_err(|e| failed(&e))?;
        let opened = Arc::new(ProviderKeys { record, keys });
        if let Ok(mut c) = self.cache.lock() {
            c.insert(id.to_owned(), (Instant::now(), opened.clone()));
        }
        Ok(opened)
    }

    /// Forgets provider `id` (after an administrative change made here).
    pub fn forget(&self, id: &str) {
        if let Ok(mut c) = self.cache.lock() {
            c.remove(id);
        }
    }
}

/// What an app's channel clients are built from: its own accounts and keys, and for an account
/// under a provider, the provider's account and keys with the app's `sub_mchid` / `sub_appid`
/// or the merchant's authorisation and token.
pub struct ClientInputs {
    pub alipay: Option<AlipaySettings>,
    pub wechat: Option<WechatSettings>,
    pub secrets: Secrets,
}

pub async fn client_inputs(
    providers: &Providers,
    alipay: Option<&AlipaySettings>,
    wechat: Option<&WechatSettings>,
    secrets: &AppSecrets,
) -> Result<ClientInputs, ConfigError> {
    let mut keys = secrets.channel_secrets();
    let alipay = match alipay {
        Some(
            a @ AlipaySettings {
                provider: Some(id), ..
            },
        ) => {
            let p = providers.get(id).await?;
            let isv = p.record.alipay.clone().ok_or_else(|| {
                ConfigError::new("provider", format!("provider {id} has no Alipay app"))
            })?;
            let from = p.keys.channel_secrets();
            keys.alipay_private_key = from.alipay_private_key;
            keys.alipay_public_key = from.alipay_public_key;
            keys.alipay_app_cert = from.alipay_app_cert;
            keys.alipay_cert = from.alipay_cert;
            keys.alipay_root_cert = from.alipay_root_cert;
            Some(AlipaySettings {
                app_auth: a.app_auth.clone(),
                provider: a.provider.clone(),
                ..isv
            })
        }
        other => other.cloned(),
    };
    let wechat = match wechat {
        Some(
            w @ WechatSettings {
                provider: Some(id), ..
            },
        ) => {
            let p = providers.get(id).await?;
            let sp = p.record.wechat.clone().ok_or_else(|| {
                ConfigError::new(
                    "provider",
                    format!("provider {id} is no WeChat Pay service provider"),
                )
            })?;
            let from = p.keys.channel_secrets();
            keys.wechat_private_key = from.wechat_private_key;
            keys.wechat_public_key = from.wechat_public_key;
            keys.wechat_apiv3_key = from.wechat_apiv3_key;
            Some(WechatSettings {
                sub_mchid: w.sub_mchid.clone(),
                sub_appid: w.sub_appid.clone(),
                provider: w.provider.clone(),
                ..sp
            })
        }
        other => other.cloned(),
    };
    Ok(ClientInputs {
        alipay,
        wechat,
        secrets: keys,
    })
}

/// Reads an app's current `app_auth_token` again (its record and sealed secrets, bypassing
/// what this sandbox keeps): after another function refreshed it.
#[derive(Debug)]
pub struct AppTokenSource {
    pub registry: Store,
    pub keyring: Keyring,
    pub app_id: String,
}

impl TokenSource for AppTokenSource {
    fn current(&self) -> Pin<Box<dyn Future<Output = Option<Token>> + Send + '_>> {
        Box::pin(async move {
            let record = self.registry.app_record(&self.app_id).await.ok()??;
            let expires_at = record.alipay.as_ref()?.app_auth.as_ref()?.expires_at;
            let plain = self.keyring.open(&self.app_id, &record.sealed).await.ok()?;
            let secrets: AppSecrets = serde_json::from_slice(&plain).ok()?;
            Some(Token {
                value: secrets.alipay_app_auth_token?,
                expires_at,
            })
        })
    }
}
