//! The worker: runs queued jobs (SPEC §4.4, §4.6, §4.7, §6.3). Every job is idempotent. A
//! job that fails for a passing reason is reported failed and retried by SQS; a malformed
//! message fails every time and so ends in the dead-letter queue after a few receives; a job
//! whose subject no longer needs anything is acknowledged.

use crate::api::App;
use crate::channel::{alipay, wechat};
use crate::error::ApiError;
use crate::jobs::Job;
use crate::model::{AllocationStatus, Channel, NoticeAttempt};
use crate::params::StartParams;
use crate::request::{Common, Verified};
use crate::service::allocation::{finish_order, start, sync_order};
use tracing::Instrument;

/// Why a job did not complete.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (storage, queue or channel trouble).
    #[error("retryable: {0}")]
    Retry(String),
    /// The message can never succeed (malformed).
    #[error("poison: {0}")]
    Poison(String),
}

impl From<ApiError> for JobError {
    fn from(e: ApiError) -> Self {
        JobError::Retry(e.to_string())
    }
}

fn retry(e: impl std::fmt::Display) -> JobError {
    JobError::Retry(e.to_string())
}

/// How long a claimed notice attempt is leased (the attempt itself takes at most 5 s).
const NOTICE_LEASE_SECS: i64 = 60;

/// Runs an SQS batch and reports the messages that failed (`ReportBatchItemFailures`): the
/// others are deleted by Lambda, these come back after the visibility timeout.
pub async fn handle_batch(
    app: &App,
    event: aws_lambda_events::event::sqs::SqsEvent,
) -> aws_lambda_events::event::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .cloned()
            .unwrap_or_default();
        let outcome = run_message(app, record.body.as_deref().unwrap_or("")).await;
        if let Err(e) = outcome {
            match &e {
                JobError::Poison(_) => {
                    tracing::error!(messageId = %id, receives = %receives, error = %e, "poison message")
                }
                JobError::Retry(_) => {
                    tracing::warn!(messageId = %id, receives = %receives, error = %e, "job failed; SQS retries it")
                }
            }
            let mut failure = aws_lambda_events::event::sqs::BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Parses a message body and runs its job.
pub async fn run_message(app: &App, body: &str) -> Result<(), JobError> {
    let job: Job =
        serde_json::from_str(body).map_err(|e| JobError::Poison(format!("not a job: {e}")))?;
    let span = tracing::info_span!(
        "job",
        kind = job.kind(),
        subject = job.subject(),
        allocationNo = tracing::field::Empty,
        bizAllocationNo = tracing::field::Empty
    );
    run(app, &job).instrument(span).await
}

/// Runs one job.
pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    match job {
        Job::Sync { allocation_no } => {
            if let Some(stored) = app.store.allocation(allocation_no).await.map_err(retry)? {
                sync_order(app, stored, None).await?;
            }
            Ok(())
        }
        Job::Finish { allocation_no } => {
            match app.store.allocation(allocation_no).await.map_err(retry)? {
                Some(stored) if stored.order.status == AllocationStatus::End => {
                    let _ = finish_order(app, stored).await?;
                }
                _ => {}
            }
            Ok(())
        }
        Job::AutoAllocate { order_no } => auto_allocate(app, order_no).await,
        Job::Notify {
            allocation_no,
            status,
        } => notify(app, allocation_no, *status).await,
        Job::ChannelCallback {
            channel,
            body,
            headers,
            received_at,
        } => callback(app, *channel, body, headers, *received_at).await,
    }
}

/// Allocates a pay order with its channel's default group (SPEC §4.6), under the
/// bizAllocationNo `AUTO<orderNo>` so that a repeated job finds the same order.
async fn auto_allocate(app: &App, order_no: &str) -> Result<(), JobError> {
    let Some((pay, version)) = app.store.pay_order(order_no).await.map_err(retry)? else {
        return Ok(());
    };
    if !pay.wants_auto_allocation() {
        app.store
            .clear_pay_order_due(order_no, version)
            .await
            .map_err(retry)?;
        return Ok(());
    }
    let params = StartParams {
        biz_allocation_no: format!("AUTO{order_no}"),
        order_no: Some(order_no.to_owned()),
        biz_order_no: None,
        description: Some("自动分账".into()),
        group_no: None,
        receivers: None,
        notify_url: None,
        attach: None,
        not_notify: None,
    };
    let request = Verified {
        params,
        common: Common {
            client_ip: None,
            nonce_str: None,
            req_time: app.clock.now(),
            // no merchant request: its notices use the configured field names
            spelling: app.jobs.default_spelling,
        },
        raw: Default::default(),
    };
    match start(app.clone(), request).await? {
        crate::api::Outcome::Ok(data) => {
            tracing::info!(allocationNo = %data.get("allocationNo").and_then(|v| v.as_str()).unwrap_or(""), "auto allocation started");
        }
        crate::api::Outcome::Refused(reason) => {
            tracing::warn!(reason = %reason, "auto allocation not possible; recorded on the pay order");
            app.store
                .fail_auto_allocation(order_no, &reason)
                .await
                .map_err(retry)?;
        }
    }
    Ok(())
}

/// One delivery attempt of a notice, on DaxPay's schedule (SPEC §4.7).
async fn notify(app: &App, allocation_no: &str, status: AllocationStatus) -> Result<(), JobError> {
    let now = app.clock.now();
    let Some(notice) = app
        .store
        .notice(allocation_no, status)
        .await
        .map_err(retry)?
    else {
        return Ok(());
    };
    let attempts = notice.attempts.len() as i64;
    if notice.delivered || attempts >= notice.max_attempts {
        return Ok(());
    }
    // Not due yet on the schedule (an early duplicate): the delayed message or the scheduler
    // brings it back in time.
    if notice.next_at.is_none_or(|t| t > now) {
        return Ok(());
    }
    if !app
        .store
        .claim_notice_attempt(
            allocation_no,
            status,
            attempts,
            now,
            now + NOTICE_LEASE_SECS,
        )
        .await
        .map_err(retry)?
    {
        return Ok(());
    }
    let number = attempts + 1;
    let delivery = crate::notify::deliver(
        &notice.url,
        &notice.body,
        app.jobs.allow_private_notify_urls,
    )
    .await;
    // the schedule stored on the notice, not today's setting
    let next = if delivery.delivered {
        None
    } else {
        notice.retry_at(number, now)
    };
    let attempt = NoticeAttempt {
        number,
        at: now,
        delivered: delivery.delivered,
        status: delivery.status,
        error: delivery.error.clone(),
    };
    app.store
        .record_notice_attempt(allocation_no, status, &attempt, next)
        .await
        .map_err(retry)?;
    match (delivery.delivered, next) {
        (true, _) => tracing::info!(attempt = number, "notice delivered"),
        (false, Some(at)) => {
            tracing::info!(attempt = number, error = ?delivery.error, next_in = at - now, "notice not delivered; will retry");
            if at - now <= crate::queue::MAX_DELAY_SECS
                && let Some(queue) = &app.queue
            {
                let job = Job::Notify {
                    allocation_no: allocation_no.to_owned(),
                    status,
                };
                if let Err(e) = queue.send(&job, at - now).await {
                    tracing::warn!(error = %e, "retry not queued; the scheduler will find it");
                }
            }
        }
        (false, None) => tracing::warn!(
            attempt = number,
            "notice not delivered; giving up after the last attempt"
        ),
    }
    Ok(())
}

/// A channel notification, verified again here as of its arrival, applied through the sync
/// transition.
async fn callback(
    app: &App,
    channel: Channel,
    body: &str,
    headers: &[(String, String)],
    received_at: i64,
) -> Result<(), JobError> {
    match channel {
        Channel::AliPay => {
            let Some(client) = app.channels.alipay.as_ref() else {
                return Err(JobError::Poison("Alipay is not configured".into()));
            };
            let pairs: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
                .into_owned()
                .collect();
            let biz = match alipay::verify_notification(
                &pairs,
                client.alipay_key(),
                client.app_id(),
                received_at,
            ) {
                Ok(biz) => biz,
                Err(why) => {
                    tracing::error!(reason = %why, "queued Alipay notification does not verify; dropped");
                    return Ok(());
                }
            };
            let request_no = biz
                .get("out_request_no")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let Some(stored) = app.store.allocation(request_no).await.map_err(retry)? else {
                // a finish (allocationNo + "F") or an order we do not know: nothing to apply
                tracing::info!(out_request_no = %request_no, "notification for no open allocation");
                return Ok(());
            };
            sync_order(app, stored, Some(alipay::royalty_details(&biz))).await?;
            Ok(())
        }
        Channel::WechatPay => {
            let Some(client) = app.channels.wechat.as_ref() else {
                return Err(JobError::Poison("WeChat Pay is not configured".into()));
            };
            let mut map = http::HeaderMap::new();
            for (k, v) in headers {
                if let (Ok(k), Ok(v)) = (
                    http::HeaderName::from_bytes(k.as_bytes()),
                    http::HeaderValue::from_str(v),
                ) {
                    map.insert(k, v);
                }
            }
            let c = client.config();
            let resource = match wechat::open_notification(
                &wechat::SignatureHeaders::from_headers(&map),
                body.as_bytes(),
                &c.wechat_key,
                &c.wechat_key_id,
                &c.apiv3_key,
                received_at,
            ) {
                Ok(r) => r,
                Err(why) => {
                    tracing::error!(reason = %why, "queued WeChat notification does not verify; dropped");
                    return Ok(());
                }
            };
            let out_order_no = resource
                .get("out_order_no")
                .and_then(|v| v.as_str())
                .unwrap_or("");
            if let Some(stored) = app.store.allocation(out_order_no).await.map_err(retry)? {
                // WeChat's notice speaks for one merchant receiver; the query gives them all.
                sync_order(app, stored, None).await?;
            }
            Ok(())
        }
        other => Err(JobError::Poison(format!("no callbacks from {other}"))),
    }
}
