//! Administration of service providers (SPEC §6.5, §8.4): a provider's channel accounts (a
//! WeChat Pay service provider: `sp_mchid`, `sp_appid`, its key, certificate serial, WeChat
//! Pay public key and APIv3 key; an Alipay third-party app: its app id and keys), stored once
//! and used by every app whose account is under it. Keys are sealed under the stack's KMS key
//! and never read back out; each change is checked by building the client it makes.

use super::admin::{AdminError, Caller, RACES, invalid, name, tenants};
use super::admin_accounts::{Account, AlipayKeys, WechatKeys, named, parse_account};
use crate::app::providers::provider_context;
use crate::app::{Stack, Tenants, channels_for};
use crate::domain::AppId;
use crate::infra::keyring::Sealed;
use crate::infra::secrets::AppSecrets;
use crate::store::providers::ProviderRecord;
use serde_json::{Map, Value, json};

/// A provider id: the rules of an app id (they never meet: their keys differ).
pub(crate) fn provider_id(text: &str) -> Result<String, AdminError> {
    AppId::parse(text)
        .map(|id| id.as_str().to_owned())
        .map_err(|e| invalid("providerId", e.to_string()))
}

async fn seal(t: &Tenants, id: &str, keys: &AppSecrets) -> Result<Sealed, AdminError> {
    let plain = serde_json::to_vec(keys).map_err(|e| AdminError::System(e.to_string()))?;
    t.keyring
        .seal(&provider_context(id), &plain)
        .await
        .map_err(|e| AdminError::System(e.to_string()))
}

async fn open(t: &Tenants, p: &ProviderRecord) -> Result<AppSecrets, AdminError> {
    let plain = t
        .keyring
        .open(&provider_context(&p.provider_id), &p.sealed)
        .await
        .map_err(|e| AdminError::System(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| AdminError::System(e.to_string()))
}

/// Creates a provider with no account yet.
pub async fn create_provider(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    display_name: Option<&str>,
) -> Result<ProviderRecord, AdminError> {
    let t = tenants(stack)?;
    let id = provider_id(id)?;
    let record = ProviderRecord {
        provider_id: id.clone(),
        name: name(display_name, "name")?,
        alipay: None,
        wechat: None,
        sealed: seal(t, &id, &AppSecrets::default()).await?,
        created_at: caller.now,
        updated_at: caller.now,
        version: 1,
    };
    let audit = caller.audit(
        "provider.create",
        format!("provider:{id}"),
        json!({"name": record.name}),
    );
    if !t.registry.create_provider(&record, &audit).await? {
        return Err(AdminError::Conflict(format!("provider {id} exists")));
    }
    Ok(record)
}

pub async fn provider(stack: &Stack, id: &str) -> Result<ProviderRecord, AdminError> {
    let t = tenants(stack)?;
    t.registry
        .provider_record(&provider_id(id)?)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no provider {id}")))
}

/// Sets a provider's account of `channel` (the members of a direct account; checked by
/// building its client first), or removes it (`account: None`).
pub async fn set_provider_channel(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    channel: &str,
    account: Option<&Map<String, Value>>,
) -> Result<ProviderRecord, AdminError> {
    let t = tenants(stack)?;
    let parsed = match account {
        Some(a) => {
            if a.get("mode").is_some_and(|m| m != "direct") {
                return Err(invalid(
                    "mode",
                    "a provider's account is its own (direct): omit mode",
                ));
            }
            let mut direct = a.clone();
            direct.insert("mode".into(), Value::from("direct"));
            Some(parse_account(channel, &direct)?)
        }
        None if matches!(channel, "ali_pay" | "wechat_pay") => None,
        None => return Err(invalid("channel", "must be ali_pay or wechat_pay")),
    };
    for _ in 0..RACES {
        let current = provider(stack, id).await?;
        let mut next = current.clone();
        let mut keys = open(t, &current).await?;
        let detail = match parsed.clone() {
            Some(Account::Alipay(settings, k)) => {
                k.apply(&mut keys);
                next.alipay = Some(settings.clone());
                json!({"channel": channel, "account": settings})
            }
            Some(Account::Wechat(settings, k)) => {
                k.apply(&mut keys);
                next.wechat = Some(settings.clone());
                json!({"channel": channel, "account": settings})
            }
            Some(_) => return Err(invalid("mode", "a provider's account is its own")),
            None if channel == "ali_pay" => {
                next.alipay = None;
                AlipayKeys::clear(&mut keys);
                json!({"channel": channel})
            }
            None => {
                next.wechat = None;
                WechatKeys::clear(&mut keys);
                json!({"channel": channel})
            }
        };
        // the provider's clients must build from what would be stored
        channels_for(
            next.alipay.as_ref(),
            next.wechat.as_ref(),
            &keys.channel_secrets(),
            None,
        )
        .map_err(|e| named(channel, &e))?;
        next.sealed = seal(t, &next.provider_id, &keys).await?;
        next.version = current.version + 1;
        next.updated_at = caller.now;
        let action = if account.is_some() {
            "provider.channel.set"
        } else {
            "provider.channel.remove"
        };
        let audit = caller.audit(action, format!("provider:{}", next.provider_id), detail);
        if t.registry.save_provider(&next, &audit).await? {
            t.providers.forget(&next.provider_id);
            return Ok(next);
        }
    }
    Err(AdminError::Conflict(format!(
        "provider {id} kept changing; try again"
    )))
}
