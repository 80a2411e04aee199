//! The worker function's adapter (SPEC §7): runs an SQS batch of jobs. Every job is
//! idempotent. A job that fails for a passing reason is reported failed and retried by SQS; a
//! malformed message fails every time and so ends in the dead-letter queue after a few
//! receives; a job whose subject no longer needs anything is acknowledged.

use crate::app::App;
use crate::channel::Inbound;
use crate::daxpay::ApiError;
use crate::domain::AllocationStatus;
use crate::infra::Job;
use crate::service::callbacks::{self, CallbackError};
use crate::service::{lifecycle, notices, start};
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
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

/// Runs an SQS batch and reports the messages that failed (`ReportBatchItemFailures`): the
/// others are deleted by Lambda, these come back after the visibility timeout.
pub async fn handle_batch(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let receives = record
            .attributes
            .get("ApproximateReceiveCount")
            .cloned()
            .unwrap_or_default();
        if let Err(e) = run_message(app, record.body.as_deref().unwrap_or("")).await {
            match &e {
                JobError::Poison(_) => {
                    tracing::error!(messageId = %id, receives = %receives, error = %e, "poison message")
                }
                JobError::Retry(_) => {
                    tracing::warn!(messageId = %id, receives = %receives, error = %e, "job failed; SQS retries it")
                }
            }
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
    }
    response
}

/// Parses a message body and runs its job, in a span of its own.
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
        Job::Notify {
            allocation_no,
            status,
        } => notices::deliver(app, allocation_no, *status).await?,
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
