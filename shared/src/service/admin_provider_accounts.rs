//! Accounts under a service provider as the admin API gives them (SPEC §6.5): a WeChat Pay
//! sub-merchant (`subMchid`, `subAppid`), or a merchant's authorisation of the provider's
//! Alipay app (its user and app ids, tokens and their expiry); and the accounts an app had
//! before, kept with their keys when another replaces them, so what was made under them is
//! followed to its end with them.

use super::admin::{AdminError, invalid};
use super::admin_accounts::{Account, Body};
use crate::infra::config::{AlipaySettings, AppAuth, WechatSettings};
use crate::infra::secrets::{AppSecrets, RETIRED_KEPT, RetiredAccount};
use crate::store::apps::AppRecord;
use serde_json::{Map, Value};

/// A merchant's `app_auth_token` and `app_refresh_token` (secret).
#[derive(Clone)]
pub struct AuthTokens {
    token: String,
    refresh_token: String,
}

impl AuthTokens {
    pub fn apply(self, s: &mut AppSecrets) {
        s.alipay_app_auth_token = Some(self.token);
        s.alipay_app_refresh_token = Some(self.refresh_token);
    }
}

const WECHAT_PARTNER_FIELDS: &[&str] = &["mode", "provider", "subMchid", "subAppid"];
const ALIPAY_ISV_FIELDS: &[&str] = &[
    "mode",
    "provider",
    "userId",
    "authAppId",
    "appAuthToken",
    "appRefreshToken",
    "expiresAt",
    "refreshExpiresAt",
];

/// An account under a service provider (SPEC §6.5).
pub(super) fn parse(channel: &str, body: &Map<String, Value>) -> Result<Account, AdminError> {
    let b = Body(body);
    let provider = super::admin_providers::provider_id(&b.need("provider")?)
        .map_err(|_| invalid("provider", "must be a provider id"))?;
    match channel {
        "wechat_pay" => {
            b.only(WECHAT_PARTNER_FIELDS)?;
            let sub_appid = match b.text("subAppid")? {
                Some(_) => Some(b.short("subAppid", 32)?),
                None => None,
            };
            Ok(Account::WechatPartner {
                provider,
                sub_mchid: b.short("subMchid", 32)?,
                sub_appid,
            })
        }
        "ali_pay" => {
            b.only(ALIPAY_ISV_FIELDS)?;
            let user_id = b.short("userId", 32)?;
            let auth_app_id = match b.text("authAppId")? {
                Some(_) => b.short("authAppId", 32)?,
                None => user_id.clone(),
            };
            let token = b.short("appAuthToken", 64)?;
            let refresh_token = b.short("appRefreshToken", 64)?;
            let expires_at = b.epoch("expiresAt")?;
            let refresh_expires_at = b.epoch("refreshExpiresAt")?;
            Ok(Account::AlipayIsv {
                provider,
                auth: AppAuth {
                    user_id,
                    auth_app_id,
                    expires_at,
                    refresh_expires_at,
                    refresh_failed_at: None,
                    refresh_error: None,
                },
                tokens: AuthTokens {
                    token,
                    refresh_token,
                },
            })
        }
        _ => Err(invalid("channel", "must be ali_pay or wechat_pay")),
    }
}

/// Keeps the account an app had at a channel, with its keys, when another replaces it (or it
/// is removed): what was made under it is still followed with it (SPEC §6.5).
pub(super) fn retire(
    before: &AppRecord,
    kept: &AppSecrets,
    after: &AppRecord,
    secrets: &mut AppSecrets,
    now: i64,
) {
    let mut retired = Vec::new();
    if let Some(old) = &before.alipay
        && after.alipay.as_ref().map(AlipaySettings::account_key) != Some(old.account_key())
    {
        retired.push(RetiredAccount {
            alipay: Some(old.clone()),
            wechat: None,
            keys: AppSecrets {
                alipay_private_key: kept.alipay_private_key.clone(),
                alipay_public_key: kept.alipay_public_key.clone(),
                alipay_app_cert: kept.alipay_app_cert.clone(),
                alipay_cert: kept.alipay_cert.clone(),
                alipay_root_cert: kept.alipay_root_cert.clone(),
                alipay_app_auth_token: kept.alipay_app_auth_token.clone(),
                ..AppSecrets::default()
            },
            retired_at: now,
        });
    }
    if let Some(old) = &before.wechat
        && after.wechat.as_ref().map(WechatSettings::account_key) != Some(old.account_key())
    {
        retired.push(RetiredAccount {
            alipay: None,
            wechat: Some(old.clone()),
            keys: AppSecrets {
                wechat_private_key: kept.wechat_private_key.clone(),
                wechat_public_key: kept.wechat_public_key.clone(),
                wechat_api_v3_key: kept.wechat_api_v3_key.clone(),
                ..AppSecrets::default()
            },
            retired_at: now,
        });
    }
    let key_of = |r: &RetiredAccount| {
        r.alipay
            .as_ref()
            .map(|a| ("ali_pay", a.account_key()))
            .or_else(|| r.wechat.as_ref().map(|w| ("wechat_pay", w.account_key())))
    };
    for account in retired {
        // the same account retired again replaces its older copy
        let key = key_of(&account);
        secrets.retired.retain(|r| key_of(r) != key);
        secrets.retired.insert(0, account);
    }
    // an account in use again is no longer retired
    let current = [
        after.alipay.as_ref().map(|a| ("ali_pay", a.account_key())),
        after
            .wechat
            .as_ref()
            .map(|w| ("wechat_pay", w.account_key())),
    ];
    secrets
        .retired
        .retain(|r| key_of(r).is_none_or(|k| !current.contains(&Some(k))));
    secrets.retired.truncate(RETIRED_KEPT);
}
