//! The SQS queue of jobs. Messages stay within AWS limits: ≤ 256 KB each, ≤ 10 per batch,
//! a delay of at most 15 minutes.

use super::aws::SdkClient;
use super::job::{Job, Message};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures_util::stream::{self, StreamExt};

/// SQS's largest message delay.
pub const MAX_DELAY_SECS: i64 = 900;
const MAX_BATCH: usize = 10;
/// SendMessageBatch requests in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("sqs: {0}")]
    Sqs(String),
    #[error("job too large for one message ({0} bytes)")]
    TooLarge(usize),
}

/// The job queue, as one app sees it: every job it sends names that app. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Queue {
    sqs: SdkClient<Client>,
    url: String,
    /// The app the jobs sent through this handle are for (`None`: the default app).
    app: Option<String>,
}

impl Queue {
    pub fn new(sqs: Client, url: impl Into<String>) -> Self {
        Self {
            sqs: SdkClient::made(sqs),
            url: url.into(),
            app: None,
        }
    }

    /// The queue at `url`, its client made from `sdk` when the first job is sent (a sandbox
    /// that never queues a job, such as one answering queries, never makes it).
    pub fn on_first_send(sdk: &aws_types::SdkConfig, url: impl Into<String>) -> Self {
        Self {
            sqs: SdkClient::on_first_use(sdk),
            url: url.into(),
            app: None,
        }
    }

    /// The same queue, for the jobs of `app` (`None`: the default app).
    pub fn for_app(&self, app: Option<String>) -> Self {
        Self {
            app,
            ..self.clone()
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// A job of this handle's app, as a message.
    pub fn message(&self, job: Job) -> Message {
        Message {
            app: self.app.clone(),
            job,
        }
    }

    fn body(message: &Message) -> Result<String, QueueError> {
        let body = serde_json::to_string(message).map_err(|e| QueueError::Sqs(e.to_string()))?;
        if body.len() > MAX_MESSAGE_BYTES {
            return Err(QueueError::TooLarge(body.len()));
        }
        Ok(body)
    }

    /// Sends one job, visible after `delay_secs` (clamped to 0..=900).
    pub async fn send(&self, job: &Job, delay_secs: i64) -> Result<(), QueueError> {
        let delay = i32::try_from(delay_secs.clamp(0, MAX_DELAY_SECS)).unwrap_or(0);
        self.sqs
            .get(Client::new)
            .send_message()
            .queue_url(&self.url)
            .message_body(Self::body(&self.message(job.clone()))?)
            .delay_seconds(delay)
            .send()
            .await
            .map_err(|e| QueueError::Sqs(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }

    /// Sends many messages (each names its own app), ten per request, a few requests at once.
    /// Returns how many were sent; the rest failed (logged).
    pub async fn send_all(&self, jobs: &[Message]) -> Result<usize, QueueError> {
        // The requests are made before they are streamed: a stream that maps chunks to futures
        // makes its caller's future unprovably `Send` (a closure over a borrowed chunk).
        let requests: Vec<_> = jobs
            .chunks(MAX_BATCH)
            .map(|chunk| self.send_batch(chunk))
            .collect();
        let batches: Vec<Result<usize, QueueError>> = stream::iter(requests)
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        let mut sent = 0;
        for batch in batches {
            sent += batch?;
        }
        Ok(sent)
    }

    async fn send_batch(&self, chunk: &[Message]) -> Result<usize, QueueError> {
        let mut req = self
            .sqs
            .get(Client::new)
            .send_message_batch()
            .queue_url(&self.url);
        for (i, job) in chunk.iter().enumerate() {
            let entry = SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(Self::body(job)?)
                .build()
                .map_err(|e| QueueError::Sqs(e.to_string()))?;
            req = req.entries(entry);
        }
        let out = req
            .send()
            .await
            .map_err(|e| QueueError::Sqs(DisplayErrorContext(e).to_string()))?;
        for failed in out.failed() {
            tracing::warn!(code = failed.code(), "a job was not enqueued");
        }
        Ok(out.successful().len())
    }
}
