//! The worker function's adapter (SPEC §7): runs an SQS batch of jobs. Every job is
//! idempotent. A job that fails for a passing reason is reported failed and retried by SQS; a
//! malformed message fails every time and so ends in the dead-letter queue after a few
//! receives; a job whose subject no longer needs anything is acknowledged.

use crate::app::{App, Stack, TenantError};
use crate::channel::Inbound;
use crate::daxpay::ApiError;
use crate::domain::AllocationStatus;
use crate::infra::{Job, Message};
use crate::service::callbacks::{self, CallbackError};
use crate::service::{deadline, lifecycle, notices, return_life, start};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;
use tokio::time::Instant;
use tracing::Instrument;

/// Why a job did not complete.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again later (storage, queue or channel trouble).
    #[error("retryable: {0}")]
    Retry(String),
    /// The message can never succeed (malformed, or for a channel not configured here).
    #[error("poison: {0}")]
    Poison(String),
}

impl From<ApiError> for JobError {
    fn from(e: ApiError) -> Self {
        let cause = match e {
            ApiError::System(cause) => cause,
            other => other.to_string(),
        };
        JobError::Retry(cause)
    }
}

impl From<crate::store::StoreError> for JobError {
    fn from(e: crate::store::StoreError) -> Self {
        JobError::Retry(e.to_string())
    }
}

/// Time kept back at the end of an invocation: answering Lambda and its deleting the finished
/// messages must still fit.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// Runs an SQS batch with no deadline (tests, local tools). See [`handle_batch_until`].
pub async fn handle_batch(stack: &Stack, event: SqsEvent) -> SqsBatchResponse {
    handle_batch_until(stack, event, None).await
}

/// Runs an SQS batch and reports the messages that failed (`ReportBatchItemFailures`): the
/// others are deleted by Lambda, these come back after the visibility timeout. Up to
/// `WORKER_CONCURRENCY` jobs run at once, each in its own span and cut after `JOB_BUDGET_SECS`;
/// a job is not started when less than its budget is left before `deadline` (the invocation's),
/// and is reported failed instead, so the batch always ends in time and one slow channel
/// cannot make SQS deliver the finished jobs again.
pub async fn handle_batch_until(
    stack: &Stack,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let settings = &stack.default_app().jobs;
    let budget = Duration::from_secs(u64::try_from(settings.job_budget_secs).unwrap_or(1));
    let failed: Vec<String> = stream::iter(event.records)
        .map(|record| async move {
            let id = record.message_id.clone().unwrap_or_default();
            let receives = record
                .attributes
                .get("ApproximateReceiveCount")
                .cloned()
                .unwrap_or_default();
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let outcome = if left.is_some_and(|left| left < budget + DEADLINE_MARGIN) {
                Err(JobError::Retry("not started: the invocation's time is nearly up".into()))
            } else {
                let body = record.body.as_deref().unwrap_or("");
                match tokio::time::timeout(budget, run_message(stack, body)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(JobError::Retry(format!(
                        "cut after its budget of {} s",
                        budget.as_secs()
                    ))),
                }
            };
            match &outcome {
                Ok(()) => None,
                Err(e @ JobError::Poison(_)) => {
                    tracing::error!(messageId = %id, receives = %receives, error = %e, "poison message");
                    Some(id)
                }
                Err(e @ JobError::Retry(_)) => {
                    tracing::warn!(messageId = %id, receives = %receives, error = %e, "job failed; SQS retries it");
                    Some(id)
                }
            }
        })
        .buffer_unordered(settings.worker_concurrency.max(1))
        .filter_map(|failed| async move { failed })
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for id in failed {
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// Parses a message body and runs its job as the app it names, in a span of its own.
pub async fn run_message(stack: &Stack, body: &str) -> Result<(), JobError> {
    let Message { app, job } =
        serde_json::from_str(body).map_err(|e| JobError::Poison(format!("not a job: {e}")))?;
    // a stack job: the app it is about is in the job
    if let Job::RefreshAppAuth { app_id } = &job {
        let span = tracing::info_span!("job", kind = job.kind(), appId = app_id.as_str());
        return crate::service::app_auth::refresh(stack, app_id)
            .instrument(span)
            .await
            .map_err(|e| JobError::Retry(e.0));
    }
    let span = tracing::info_span!(
        "job",
        kind = job.kind(),
        appId = app.as_deref().unwrap_or_default(),
        subject = job.subject(),
        allocationNo = tracing::field::Empty,
        bizAllocationNo = tracing::field::Empty
    );
    async {
        let app = match stack.app_for_job(app.as_deref()).await {
            Ok(app) => app,
            Err(TenantError::Unknown) => {
                return Err(JobError::Poison(
                    "a job of an app that does not exist".into(),
                ));
            }
            Err(TenantError::Disabled(app)) => {
                // New splits of a disabled app wait: its auto allocation or freeze-deadline
                // job is acknowledged and done nothing, its due item stays due (leased, it
                // comes back after the lease), so it runs once the app is enabled again.
                if matches!(job, Job::AutoAllocate { .. } | Job::Deadline { .. }) {
                    tracing::info!("app disabled: its new splits wait");
                    return Ok(());
                }
                *app
            }
            Err(TenantError::System(cause)) => return Err(JobError::Retry(cause)),
        };
        run(&app, &job).await
    }
    .instrument(span)
    .await
}

/// Runs one job.
pub async fn run(app: &App, job: &Job) -> Result<(), JobError> {
    match job {
        Job::Sync { allocation_no } => {
            if let Some(stored) = app.store.allocation(allocation_no).await? {
                lifecycle::sync_order(app, stored, None).await?;
            }
        }
        Job::Finish { allocation_no } => {
            if let Some(stored) = app
                .store
                .allocation(allocation_no)
                .await?
                .filter(|s| s.order().status == AllocationStatus::End)
            {
                // a refusal means someone else finished it meanwhile: nothing to do
                let _ = lifecycle::finish_order(app, stored).await?;
            }
        }
        Job::AutoAllocate { order_no } => start::auto_allocate(app, order_no).await?,
        Job::SyncReturn {
            allocation_no,
            return_no,
        } => return_life::sync(app, allocation_no, return_no).await?,
        Job::Deadline { order_no } => deadline::watch(app, order_no).await?,
        Job::Notify { .. } => match job.notice() {
            Some((subject, topic)) => notices::deliver(app, subject, &topic).await?,
            None => return Err(JobError::Poison("a notice job naming no notice".into())),
        },
        Job::RefreshAppAuth { .. } => {
            return Err(JobError::Poison("a stack job run as an app's".into()));
        }
        Job::Reconcile { channel, day } => {
            crate::service::reconcile::run(app, *channel, day.as_deref())
                .await
                .map_err(JobError::Retry)?;
        }
        Job::ChannelCallback {
            channel,
            body,
            headers,
            received_at,
        } => {
            let inbound = Inbound {
                body: body.as_bytes(),
                headers,
            };
            match callbacks::apply(app, *channel, &inbound, *received_at).await {
                Ok(()) => {}
                Err(CallbackError::NotConfigured(c)) => {
                    return Err(JobError::Poison(format!("{c} is not configured")));
                }
                Err(CallbackError::Failed(e)) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
