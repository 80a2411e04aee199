//! `POST /callback/<channel>` (SPEC §6.3): the channel's own client verifies the notification;
//! it is queued for the worker (which verifies it again as of its arrival), and only then is
//! the channel told it arrived, in the channel's own words.

use super::{response, text};
use crate::app::App;
use crate::channel::{Inbound, Taken};
use crate::infra::Job;
use lambda_http::{Body, Response};

pub async fn take(app: &App, name: &str, headers: &http::HeaderMap, body: &[u8]) -> Response<Body> {
    let Some(channel) = app.channels.by_callback_name(name) else {
        tracing::warn!(callback = %name, "notification for a channel that is not configured");
        return text(404, "fail".into());
    };
    let kept: Vec<(String, String)> = channel
        .signed_headers()
        .iter()
        .filter_map(|k| Some(((*k).to_owned(), headers.get(*k)?.to_str().ok()?.to_owned())))
        .collect();
    let inbound = Inbound {
        body,
        headers: &kept,
    };
    let now = app.clock.now();
    let taken = match channel.verify_notification(&inbound, now) {
        Err(why) => {
            tracing::warn!(channel = %channel.channel(), reason = %why, "notification refused");
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
                        tracing::info!(channel = %channel.channel(), "notification queued");
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
    };
    let reply = channel.reply(taken);
    response(reply.status, reply.content_type, reply.body)
}
