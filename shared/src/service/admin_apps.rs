//! Administration of apps (SPEC §8.1, §8.3, §8.4): creating one (its sign secret made here
//! and shown once), enabling and disabling it, rotating its secret, its settings and its channel
//! accounts. Each change is read, decided and written whole, with its audit record, if nothing
//! changed the app meanwhile.

use super::admin::{
    AdminError, Caller, MAX_GRACE_SECS, RACES, app_id, invalid, mch_no, name, tenants,
};
use super::admin_accounts::{Account, AlipayKeys, WechatKeys, named, parse_account};
use crate::app::{Stack, Tenants};
use crate::domain::numbers::new_app_code;
use crate::domain::{AppId, Channel, TenantStatus};
use crate::infra::app_settings::AppSettings;
use crate::infra::config::{AlipaySettings, WechatSettings};
use crate::infra::keyring::Sealed;
use crate::infra::secrets::AppSecrets;
use crate::store::Scope;
use crate::store::apps::{AppConflict, AppRecord};
use serde_json::{Map, Value, json};

/// A fresh sign secret: 32 random bytes as 64 hex characters.
fn new_sign_secret() -> String {
    let mut bytes = [0u8; 32];
    // aws-lc's generator; it fails only if the system has no entropy source
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return crate::infra::crypto::random_alnum(64);
    }
    hex::encode(bytes)
}

/// What creating an app asks for.
#[derive(Debug, Default)]
pub struct NewApp<'a> {
    pub mch_no: &'a str,
    pub app_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub settings: Option<&'a Map<String, Value>>,
}

/// Creates an app under an enabled merchant; answers it with its sign secret (shown once).
pub async fn create_app(
    stack: &Stack,
    caller: &Caller,
    new: &NewApp<'_>,
) -> Result<(AppRecord, String), AdminError> {
    let t = tenants(stack)?;
    let mch = mch_no(new.mch_no)?;
    let id = match new.app_id {
        Some(id) => app_id(id)?,
        None => app_id(&format!(
            "app{}",
            crate::infra::crypto::random_alnum(13).to_lowercase()
        ))?,
    };
    if id == stack.default_app().tenant.app_id {
        return Err(AdminError::Conflict(format!("app id {id} is taken")));
    }
    let env = &t.env;
    let settings = AppSettings::default()
        .changed(new.settings.unwrap_or(&Map::new()), &|k| {
            env.get(k).cloned()
        })
        .map_err(|e| invalid(&e.field, e.rule))?;
    let secret = new_sign_secret();
    let secrets = AppSecrets {
        sign_secret: secret.clone(),
        ..AppSecrets::default()
    };
    let sealed = seal(t, &id, &secrets).await?;
    let mut record = AppRecord {
        app_id: id.clone(),
        mch_no: mch.clone(),
        name: name(new.name, "name")?,
        status: TenantStatus::Enabled,
        mch_status: TenantStatus::Enabled,
        code: new_app_code(),
        settings,
        alipay: None,
        wechat: None,
        sealed,
        secret_rotated_at: None,
        previous_until: None,
        created_at: caller.now,
        updated_at: caller.now,
        version: 1,
    };
    let audit = caller.audit(
        "app.create",
        format!("app:{id}"),
        json!({"mchNo": mch.as_str(), "name": record.name, "settings": record.settings.overrides()}),
    );
    for _ in 0..RACES {
        match t.registry.create_app(&record, &audit).await? {
            Ok(()) => {
                t.forget(id.as_str());
                return Ok((record, secret));
            }
            Err(AppConflict::CodeTaken) => record.code = new_app_code(),
            Err(AppConflict::AppIdTaken) => {
                return Err(AdminError::Conflict(format!("app id {id} is taken")));
            }
            Err(AppConflict::MerchantUnavailable) => {
                return Err(match t.registry.merchant(mch.as_str()).await? {
                    None => AdminError::NotFound(format!("no merchant {mch}")),
                    Some(_) => AdminError::Conflict(format!("merchant {mch} is disabled")),
                });
            }
        }
    }
    Err(AdminError::System(
        "no free app code after several draws".into(),
    ))
}

async fn seal(t: &Tenants, id: &AppId, secrets: &AppSecrets) -> Result<Sealed, AdminError> {
    let plain = serde_json::to_vec(secrets).map_err(|e| AdminError::System(e.to_string()))?;
    t.keyring
        .seal(id.as_str(), &plain)
        .await
        .map_err(|e| AdminError::System(e.to_string()))
}

/// A provider's record, read now (not as this sandbox keeps it), for an account put under it.
async fn provider_account(
    t: &Tenants,
    provider: &str,
) -> Result<crate::store::providers::ProviderRecord, AdminError> {
    t.providers.forget(provider);
    t.registry
        .provider_record(provider)
        .await?
        .ok_or_else(|| invalid("provider", format!("no provider {provider}")))
}

async fn open(t: &Tenants, record: &AppRecord) -> Result<AppSecrets, AdminError> {
    let plain = t
        .keyring
        .open(record.app_id.as_str(), &record.sealed)
        .await
        .map_err(|e| AdminError::System(e.to_string()))?;
    serde_json::from_slice(&plain).map_err(|e| AdminError::System(e.to_string()))
}

pub async fn app(stack: &Stack, id: &str) -> Result<AppRecord, AdminError> {
    let t = tenants(stack)?;
    t.registry
        .app_record(app_id(id)?.as_str())
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no app {id}")))
}

/// A change of an app: read it, let `change` decide the next record (and say what changed),
/// write it if nothing changed it meanwhile (else read again and decide again).
async fn change_app<F, Fut>(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    action: &str,
    mut change: F,
) -> Result<AppRecord, AdminError>
where
    F: FnMut(AppRecord) -> Fut,
    Fut: std::future::Future<Output = Result<(AppRecord, Value), AdminError>>,
{
    let t = tenants(stack)?;
    for _ in 0..RACES {
        let current = app(stack, id).await?;
        let version = current.version;
        let (mut next, detail) = change(current.clone()).await?;
        next.version = version + 1;
        next.updated_at = caller.now;
        let audit = caller.audit(action, format!("app:{id}"), detail);
        if t.registry.save_app(&next, &current, &audit).await? {
            t.forget(id);
            return Ok(next);
        }
    }
    Err(AdminError::Conflict(format!(
        "app {id} kept changing; try again"
    )))
}

pub async fn set_app_status(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    status: TenantStatus,
) -> Result<AppRecord, AdminError> {
    let action = if status == TenantStatus::Enabled {
        "app.enable"
    } else {
        "app.disable"
    };
    change_app(stack, caller, id, action, |mut r| async move {
        r.status = status;
        Ok((r, json!({"status": status.code()})))
    })
    .await
}

/// Gives an app a new sign secret; the previous one still verifies for `grace_secs`.
pub async fn rotate_secret(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    grace_secs: i64,
) -> Result<(AppRecord, String), AdminError> {
    if !(0..=MAX_GRACE_SECS).contains(&grace_secs) {
        return Err(invalid(
            "graceSecs",
            format!("must be whole seconds from 0 to {MAX_GRACE_SECS}"),
        ));
    }
    let t = tenants(stack)?;
    let secret = new_sign_secret();
    let fresh = secret.clone();
    let record = change_app(stack, caller, id, "app.rotate_secret", |mut r| {
        let fresh = fresh.clone();
        async move {
            let mut secrets = open(t, &r).await?;
            secrets.previous_sign_secret =
                (grace_secs > 0).then(|| std::mem::take(&mut secrets.sign_secret));
            secrets.sign_secret = fresh;
            r.sealed = seal(t, &r.app_id, &secrets).await?;
            r.secret_rotated_at = Some(caller.now);
            r.previous_until = (grace_secs > 0).then_some(caller.now + grace_secs);
            Ok((r, json!({"graceSecs": grace_secs})))
        }
    })
    .await?;
    Ok((record, secret))
}

pub async fn change_settings(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    patch: &Map<String, Value>,
) -> Result<AppRecord, AdminError> {
    let t = tenants(stack)?;
    let env = &t.env;
    change_app(stack, caller, id, "app.settings", |mut r| async move {
        r.settings = r
            .settings
            .changed(patch, &|k| env.get(k).cloned())
            .map_err(|e| invalid(&e.field, e.rule))?;
        Ok((r, json!({"settings": patch})))
    })
    .await
}

/// Sets an app's account of `channel` (checked by building its client first: keys that do
/// not parse are refused, not stored), or removes it (`account: None`).
pub async fn set_channel(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    channel: &str,
    account: Option<&Map<String, Value>>,
) -> Result<AppRecord, AdminError> {
    let t = tenants(stack)?;
    let parsed = account.map(|a| parse_account(channel, a)).transpose()?;
    if account.is_none() && !matches!(channel, "ali_pay" | "wechat_pay") {
        return Err(invalid("channel", "must be ali_pay or wechat_pay"));
    }
    let action = if parsed.is_some() {
        "app.channel.set"
    } else {
        "app.channel.remove"
    };
    let reconciled = parsed
        .is_some()
        .then(|| Channel::from_code(channel))
        .flatten();
    let record = change_app(stack, caller, id, action, |mut r| {
        let parsed = parsed.clone();
        async move {
            let mut secrets = open(t, &r).await?;
            let (before, kept) = (r.clone(), secrets.clone());
            let detail = match parsed {
                Some(Account::Alipay(settings, keys)) => {
                    keys.apply(&mut secrets);
                    let detail = json!({"channel": channel, "account": settings});
                    r.alipay = Some(settings);
                    detail
                }
                Some(Account::Wechat(settings, keys)) => {
                    keys.apply(&mut secrets);
                    let detail = json!({"channel": channel, "account": settings});
                    r.wechat = Some(settings);
                    detail
                }
                Some(Account::WechatPartner {
                    provider,
                    sub_mchid,
                    sub_appid,
                }) => {
                    let sp = provider_account(t, &provider)
                        .await?
                        .wechat
                        .ok_or_else(|| {
                            invalid(
                                "provider",
                                format!("provider {provider} is no WeChat Pay service provider"),
                            )
                        })?;
                    WechatKeys::clear(&mut secrets);
                    let detail = json!({"channel": channel, "mode": "provider",
                        "provider": provider, "subMchid": sub_mchid, "subAppid": sub_appid});
                    r.wechat = Some(WechatSettings {
                        sub_mchid: Some(sub_mchid),
                        sub_appid,
                        provider: Some(provider),
                        ..sp
                    });
                    detail
                }
                Some(Account::AlipayIsv {
                    provider,
                    auth,
                    tokens,
                }) => {
                    let isv = provider_account(t, &provider)
                        .await?
                        .alipay
                        .ok_or_else(|| {
                            invalid("provider", format!("provider {provider} has no Alipay app"))
                        })?;
                    AlipayKeys::clear(&mut secrets);
                    tokens.apply(&mut secrets);
                    let detail = json!({"channel": channel, "mode": "provider",
                        "provider": provider, "userId": auth.user_id, "authAppId": auth.auth_app_id,
                        "expiresAt": auth.expires_at, "refreshExpiresAt": auth.refresh_expires_at});
                    r.alipay = Some(AlipaySettings {
                        app_auth: Some(auth),
                        provider: Some(provider),
                        ..isv
                    });
                    detail
                }
                None if channel == "ali_pay" => {
                    r.alipay = None;
                    AlipayKeys::clear(&mut secrets);
                    json!({"channel": channel})
                }
                None => {
                    r.wechat = None;
                    WechatKeys::clear(&mut secrets);
                    json!({"channel": channel})
                }
            };
            super::admin_provider_accounts::retire(&before, &kept, &r, &mut secrets, caller.now);
            // the app's clients must build from what would be stored
            t.app_of(&r, &secrets)
                .await
                .map_err(|e| named(channel, &e))?;
            r.sealed = seal(t, &r.app_id, &secrets).await?;
            Ok((r, detail))
        }
    })
    .await?;
    // its bills are reconciled from the day its account was set (SPEC §4.13)
    if let Some(channel) = reconciled {
        let store = stack.default_app().store.scoped(Scope::app(&record.app_id));
        crate::service::reconcile::start(&store, channel, caller.now).await?;
    }
    Ok(record)
}
