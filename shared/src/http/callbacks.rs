//! `POST /callback/<channel>` (SPEC §6.3, §8.2): the channel's own client verifies the
//! notification; it is queued for the worker (which verifies it again as of its arrival), and
//! only then is the channel told it arrived, in the channel's own words.
//!
//! Which app it is for: the path's (`/app/{appId}/callback/<channel>`); else the apps whose
//! account the notification names (several apps may share one account: each gets it, and only
//! the one holding the order applies it); else the stack's default app. A disabled app's
//! notifications are still taken: they report money already at the channel.

use super::{Target, response, text};
use crate::app::{App, TenantError};
use crate::channel::{Inbound, Taken, notification_account};
use crate::infra::Job;
use lambda_http::{Body, Response};

/// The registry could not be read (logged): the channel should send it again.
struct Unreadable;

/// The apps a notification may be for.
async fn apps_of(at: &Target<'_>, name: &str, body: &[u8]) -> Result<Vec<App>, Unreadable> {
    let found = |r: Result<App, TenantError>| match r {
        Ok(app) => Ok(Some(app)),
        Err(TenantError::Disabled(app)) => Ok(Some(*app)),
        Err(TenantError::Unknown) => Ok(None),
        Err(TenantError::System(cause)) => {
            tracing::error!(cause = %cause, "tenant registry");
            Err(Unreadable)
        }
    };
    if at.app_id.is_some() {
        return Ok(found(at.stack.app(at.app_id).await)?.into_iter().collect());
    }
    if let (Some(tenants), Some((channel, account))) =
        (at.stack.tenants(), notification_account(name, body))
    {
        let ids = tenants
            .registry
            .apps_of_account(channel, &account)
            .await
            .map_err(|e| {
                tracing::error!(cause = %e, "account index");
                Unreadable
            })?;
        let mut apps = Vec::with_capacity(ids.len());
        for id in ids {
            apps.extend(found(at.stack.app(Some(&id)).await)?);
        }
        // the default app too: it may share the account (its own client checks that it does)
        apps.push(at.stack.default_app().clone());
        return Ok(apps);
    }
    Ok(vec![at.stack.default_app().clone()])
}

pub async fn take(
    at: &Target<'_>,
    name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let apps = match apps_of(at, name, body).await {
        Ok(apps) if !apps.is_empty() => apps,
        Ok(_) => {
            tracing::warn!(callback = %name, "notification for an unknown app");
            return text(404, "fail".into());
        }
        Err(Unreadable) => return text(500, "fail".into()),
    };
    take_by(&apps, name, headers, body).await
}

/// `POST /provider/{providerId}/callback/<channel>` (SPEC §6.5): a service provider's
/// notification, verified and opened with the provider's keys, goes to the apps of the
/// sub-merchant it names (each verifies it again with its own client, as on any route). One
/// naming no sub-merchant of ours is refused. Alipay's name their account in the clear: as on
/// the stack's route.
/// WeChat Pay's words for a notification not taken (as its client answers them).
fn wechat_fail(status: u16, message: &str) -> Response<Body> {
    let r = crate::channel::wechat::notice_failure(status, message);
    response(r.status, r.content_type, r.body)
}

pub async fn take_for_provider(
    at: &Target<'_>,
    provider: &str,
    name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Response<Body> {
    if !name.eq_ignore_ascii_case("wechat") {
        return take(at, name, headers, body).await;
    }
    let Some(tenants) = at.stack.tenants() else {
        return wechat_fail(404, "unknown provider");
    };
    let client = match tenants.providers.get(provider).await.and_then(|p| {
        let settings = p.record.wechat.clone().ok_or_else(|| {
            crate::infra::config::ConfigError::new("provider", "no WeChat Pay account")
        })?;
        crate::channel::wechat::WechatClient::from_settings(&settings, &p.keys.channel_secrets())
    }) {
        Ok(client) => client,
        Err(e) => {
            tracing::warn!(provider, error = %e, "notification for an unknown provider");
            return wechat_fail(404, "unknown provider");
        }
    };
    let kept = kept_headers(&crate::channel::wechat::notify::SIGNATURE_HEADERS, headers);
    let inbound = Inbound {
        body,
        headers: &kept,
    };
    let account = match client.partner_account_of(&inbound, at.stack.default_app().clock.now()) {
        Ok(account) => account,
        Err(why) => {
            tracing::warn!(provider, reason = %why, "provider notification refused");
            return wechat_fail(401, "verification failed");
        }
    };
    let ids = match tenants
        .registry
        .apps_of_account(crate::domain::Channel::WechatPay, &account)
        .await
    {
        Ok(ids) => ids,
        Err(e) => {
            tracing::error!(cause = %e, "account index");
            return wechat_fail(500, "not queued");
        }
    };
    let mut apps = Vec::new();
    for id in ids {
        match at.stack.app(Some(&id)).await {
            Ok(app) => apps.push(app),
            Err(TenantError::Disabled(app)) => apps.push(*app),
            Err(TenantError::Unknown) => {}
            Err(TenantError::System(cause)) => {
                tracing::error!(cause = %cause, "tenant registry");
                return wechat_fail(500, "not queued");
            }
        }
    }
    if apps.is_empty() {
        tracing::warn!(provider, account = %account, "provider notification for a sub-merchant of no app");
        return wechat_fail(404, "unknown sub-merchant");
    }
    take_by(&apps, name, headers, body).await
}

/// Offers a notification to each app it may be for; answers the channel with the best news.
async fn take_by(
    apps: &[App],
    name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Response<Body> {
    let mut reply = None;
    for app in apps {
        let Some(channel) = app.channels.by_callback_name(name) else {
            continue;
        };
        let taken = take_for(app, channel, headers, body).await;
        // the best news any app had: queued, else not queued (retry), else refused
        let rank = |t: Taken| match t {
            Taken::Queued => 2,
            Taken::NotQueued => 1,
            Taken::Refused => 0,
        };
        if reply
            .as_ref()
            .is_none_or(|(best, _): &(Taken, _)| rank(taken) > rank(*best))
        {
            reply = Some((taken, channel.reply(taken)));
        }
    }
    match reply {
        Some((_, r)) => response(r.status, r.content_type, r.body),
        None => {
            tracing::warn!(callback = %name, "notification for a channel that is not configured");
            text(404, "fail".into())
        }
    }
}

/// The headers of a notification its verification needs, by name.
fn kept_headers(names: &[&str], headers: &http::HeaderMap) -> Vec<(String, String)> {
    names
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), headers.get(*k)?.to_str().ok()?.to_owned())))
        .collect()
}

/// Verifies a notification with one app's client and queues it for that app.
async fn take_for(
    app: &App,
    channel: &dyn crate::channel::SharingChannel,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Taken {
    let kept = kept_headers(channel.signed_headers(), headers);
    let inbound = Inbound {
        body,
        headers: &kept,
    };
    let now = app.clock.now();
    match channel.verify_notification(&inbound, now) {
        Err(why) => {
            tracing::warn!(channel = %channel.channel(), app = %app.tenant.app_id, reason = %why, "notification refused");
            Taken::Refused
        }
        Ok(_) => {
            let job = Job::ChannelCallback {
                channel: channel.channel(),
                body: String::from_utf8_lossy(body).into_owned(),
                headers: kept.clone(),
                received_at: now,
            };
            match &app.queue {
                Some(queue) => match queue.send(&job, 0).await {
                    Ok(()) => {
                        tracing::info!(channel = %channel.channel(), app = %app.tenant.app_id, "notification queued");
                        Taken::Queued
                    }
                    Err(e) => {
                        tracing::error!(cause = %e, "notification not queued");
                        Taken::NotQueued
                    }
                },
                None => {
                    tracing::error!("notification not queued: no job queue configured");
                    Taken::NotQueued
                }
            }
        }
    }
}
