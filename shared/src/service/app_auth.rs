//! Refreshing a merchant's authorisation of a provider's Alipay app (SPEC §6.5): 30 days
//! before its `app_auth_token` runs out, a scheduled job asks Alipay for a new one with the
//! refresh token (`alipay.open.auth.token.app`, `grant_type=refresh_token`) and seals it with
//! the app's other secrets. The old token stops working at once at our simulator (Alipay keeps
//! it for 10 minutes); a function still holding it reads the new one when Alipay refuses it. A
//! refused refresh (the merchant revoked the authorisation, or its refresh token ran out)
//! raises an alert and is tried again a day later.

use super::admin::Caller;
use crate::app::Stack;
use crate::app::providers::client_inputs;
use crate::channel::alipay::AlipayClient;
use crate::channel::alipay::auth::Grant;
use crate::domain::ChannelError;
use crate::infra::secrets::AppSecrets;
use crate::store::apps::AppRecord;
use serde_json::json;

/// How often a save that lost a race is tried again (the grant must not be lost).
const RACES: usize = 8;
const PRINCIPAL: &str = "system:app-auth-refresh";

/// Why a refresh did not finish now (it is tried again by the job's retry or its due item).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RefreshError(pub String);

fn failed(e: impl std::fmt::Display) -> RefreshError {
    RefreshError(e.to_string())
}

async fn open(stack: &Stack, record: &AppRecord) -> Result<AppSecrets, RefreshError> {
    let t = stack.tenants().ok_or_else(|| failed("no registry"))?;
    let plain = t
        .keyring
        .open(record.app_id.as_str(), &record.sealed)
        .await
        .map_err(failed)?;
    serde_json::from_slice(&plain).map_err(failed)
}

/// Refreshes the authorisation of `app_id` if it is due (a duplicate job finds it done).
pub async fn refresh(stack: &Stack, app_id: &str) -> Result<(), RefreshError> {
    let Some(t) = stack.tenants() else {
        return Ok(());
    };
    let now = stack.default_app().clock.now();
    let Some(record) = t.registry.app_record(app_id).await.map_err(failed)? else {
        return Ok(());
    };
    let Some(auth) = record.alipay.as_ref().and_then(|a| a.app_auth.clone()) else {
        return Ok(());
    };
    if auth.refresh_at() > now {
        return Ok(());
    }
    let secrets = open(stack, &record).await?;
    let Some(refresh_token) = secrets.alipay_app_refresh_token.clone() else {
        return refused(stack, app_id, "no refresh token is kept for this app", now).await;
    };
    // the provider's app, acting for itself: no app_auth_token on this call
    let inputs = client_inputs(
        &t.providers,
        record.alipay.as_ref(),
        record.wechat.as_ref(),
        &secrets,
    )
    .await
    .map_err(failed)?;
    let Some(mut settings) = inputs.alipay else {
        return Ok(());
    };
    settings.app_auth = None;
    let client = AlipayClient::from_settings(&settings, &inputs.secrets).map_err(failed)?;
    match client.refresh_app_auth(&refresh_token, now).await {
        Ok(grant) => keep(stack, app_id, &grant, now).await,
        Err(ChannelError::Rejected { code, msg }) => {
            refused(stack, app_id, &format!("{code} {msg}"), now).await
        }
        Err(e) => Err(failed(e)),
    }
}

/// Seals the new tokens with the app's secrets and moves its next refresh on.
async fn keep(stack: &Stack, app_id: &str, grant: &Grant, now: i64) -> Result<(), RefreshError> {
    let t = stack.tenants().ok_or_else(|| failed("no registry"))?;
    let caller = Caller {
        principal: PRINCIPAL.into(),
        now,
    };
    for _ in 0..RACES {
        let Some(current) = t.registry.app_record(app_id).await.map_err(failed)? else {
            return Ok(());
        };
        let mut next = current.clone();
        let Some(auth) = next.alipay.as_mut().and_then(|a| a.app_auth.as_mut()) else {
            return Ok(());
        };
        auth.expires_at = grant.token.expires_at;
        auth.refresh_expires_at = grant.refresh_expires_at;
        auth.refresh_failed_at = None;
        auth.refresh_error = None;
        let mut secrets = open(stack, &current).await?;
        secrets.alipay_app_auth_token = Some(grant.token.value.clone());
        secrets.alipay_app_refresh_token = Some(grant.refresh_token.clone());
        let plain = serde_json::to_vec(&secrets).map_err(failed)?;
        next.sealed = t.keyring.seal(app_id, &plain).await.map_err(failed)?;
        next.version = current.version + 1;
        next.updated_at = now;
        let audit = caller.audit(
            "app.alipay.app_auth.refresh",
            format!("app:{app_id}"),
            json!({"expiresAt": grant.token.expires_at, "refreshExpiresAt": grant.refresh_expires_at}),
        );
        if t.registry
            .save_app(&next, &current, &audit)
            .await
            .map_err(failed)?
        {
            t.forget(app_id);
            tracing::info!(
                appId = app_id,
                expires_at = grant.token.expires_at,
                "merchant's app_auth_token refreshed"
            );
            return Ok(());
        }
    }
    Err(failed(
        "the app kept changing while its new token was saved",
    ))
}

/// Records a refused refresh (an alert: the merchant must authorise the app again).
async fn refused(stack: &Stack, app_id: &str, why: &str, now: i64) -> Result<(), RefreshError> {
    tracing::error!(
        alert = "alipay_app_auth",
        appId = app_id,
        reason = why,
        "the merchant's authorisation could not be refreshed; it must authorise the app again"
    );
    let t = stack.tenants().ok_or_else(|| failed("no registry"))?;
    let Some(current) = t.registry.app_record(app_id).await.map_err(failed)? else {
        return Ok(());
    };
    let mut next = current.clone();
    let Some(auth) = next.alipay.as_mut().and_then(|a| a.app_auth.as_mut()) else {
        return Ok(());
    };
    if auth.refresh_at() > now {
        // refreshed meanwhile (a duplicate job won): nothing to record
        return Ok(());
    }
    auth.refresh_failed_at = Some(now);
    auth.refresh_error = Some(why.chars().take(200).collect());
    next.version = current.version + 1;
    next.updated_at = now;
    let caller = Caller {
        principal: PRINCIPAL.into(),
        now,
    };
    let audit = caller.audit(
        "app.alipay.app_auth.refresh_refused",
        format!("app:{app_id}"),
        json!({"reason": why}),
    );
    // lost to a change meanwhile: that change decides (its due item brings this back)
    t.registry
        .save_app(&next, &current, &audit)
        .await
        .map_err(failed)?;
    t.forget(app_id);
    Ok(())
}
