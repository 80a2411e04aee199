//! Lambda's SQS event source mapping for one [`FunctionHost`], against a real or emulated queue.
//!
//! What is reproduced (AWS docs, "Using Lambda with Amazon SQS" and "Implementing partial batch
//! responses", with `ReportBatchItemFailures` on): the mapping long-polls the queue, hands each
//! batch to the function as one `aws:sqs` event, then deletes every message the function did not
//! list in `batchItemFailures`. Listed messages, and the whole batch when the function fails,
//! times out or answers an invalid batch response, are left alone: they become visible again
//! after the queue's visibility timeout, and the queue's redrive policy moves them to the
//! dead-letter queue after `maxReceiveCount` receives.
//!
//! Not reproduced: the batching window, scaling, and the backoff of failing batches (each poller
//! of the `sqs-worker` command has a sandbox of its own and runs one batch at a time). When the
//! function process dies Lambda would start a new sandbox; here the worker stops with an error
//! instead, leaving the batch on the queue, except when chaos killed it ([`crate::chaos`]): then
//! the batch is left for retry (it comes back after the visibility timeout) and a fresh sandbox
//! takes the next one, as on Lambda.
//!
//! With the function's chaos ([`FunctionHost::chaos`]), deliveries are also made duplicated and
//! out of order, as a standard queue may: a handled message's delete is skipped (`dupes_rate`:
//! delivered again after the visibility timeout), a received message is also put into the next
//! batch (`twin_rate`), held back for a later batch (`holdback_rate`), or its batch shuffled
//! (`reorder_rate`). Messages waiting for a later batch are shared by the worker's pollers (so a
//! twin is often handled by another sandbox at the same time) and are lost on stop: they come
//! back after the visibility timeout like any undeleted message.
//!
//! Field names follow `aws_lambda_events` 1.x `SqsEvent` / `SqsMessage` / `SqsMessageAttribute`;
//! the tests read the events back with that crate.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, Message, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value, json};

use crate::LocalError;
use crate::chaos::Chaos;
use crate::runtime::{ACCOUNT_ID, FunctionHost, HostError, Invocation, default_region};

/// The largest batch of a standard queue's event source mapping (and of one `ReceiveMessage`).
pub const MAX_BATCH: i32 = 10;
/// The long poll of each `ReceiveMessage`: short, so that a stop is answered within a second or so.
pub const WAIT_TIME_SECONDS: i32 = 1;
/// Consecutive failed `ReceiveMessage` calls after which the worker gives up.
const MAX_RECEIVE_FAILURES: u32 = 5;

const LOG: &str = "[sqs-worker]";

/// Runs the event source mapping until `stop` completes: receive a batch (at most `batch`
/// messages, 1 to 10), invoke the function with it, delete what succeeded, repeat. A stop while a
/// batch is in progress lets that batch finish (invocation and deletes) first. Logs one line per
/// batch to stderr. Always stops the function before returning.
///
/// Fails at once if `batch` is out of range or the queue cannot be read (`GetQueueAttributes`),
/// after 5 consecutive failed receives, or when the function process can no longer serve
/// invocations (exited, failed to initialise, shut down). A function error or timeout is not
/// fatal: the batch is retried, as on AWS.
pub async fn run_sqs_worker(
    host: Arc<FunctionHost>,
    client: Client,
    queue_url: String,
    batch: i32,
    stop: impl Future<Output = ()>,
) -> Result<(), LocalError> {
    let result = poll_queue(&host, &client, &queue_url, batch, pin!(stop)).await;
    host.stop().await;
    result
}

/// The ARN Lambda puts in `eventSourceARN`: `arn:aws:sqs:<region>:000000000000:<queue name>`, the
/// queue name being the last path segment of the queue URL and the account the local placeholder
/// [`ACCOUNT_ID`] (as in the function ARNs).
pub fn queue_arn(queue_url: &str, region: &str) -> Result<String, LocalError> {
    let path = queue_url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path);
    let name = path
        .and_then(|p| p.trim_end_matches('/').rsplit('/').next())
        .filter(|name| !name.is_empty());
    match name {
        Some(name) => Ok(format!("arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}")),
        None => Err(LocalError::Invalid(format!(
            "`{queue_url}` is not a queue URL (http(s)://host/account/queue-name)"
        ))),
    }
}

/// The event Lambda sends for a batch of received messages: one record per message, in order.
/// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, `SenderId`,
/// `ApproximateFirstReceiveTimestamp`, ...) are passed as received; message attributes carry
/// `stringValue` or `binaryValue` (base64), `stringListValues`, `binaryListValues` and `dataType`;
/// `md5OfMessageAttributes` is present only for messages with attributes.
pub fn sqs_event(messages: &[Message], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| record(m, queue_arn, region))
        .collect();
    json!({ "Records": records })
}

fn record(message: &Message, queue_arn: &str, region: &str) -> Value {
    let attributes: Map<String, Value> = message
        .attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_owned(), Value::String(value.clone())))
        .collect();
    let message_attributes: Map<String, Value> = message
        .message_attributes()
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.clone(), message_attribute(value)))
        .collect();
    let mut record = json!({
        "messageId": message.message_id(),
        "receiptHandle": message.receipt_handle(),
        "body": message.body(),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.md5_of_body(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    });
    if let Some(md5) = message.md5_of_message_attributes() {
        record["md5OfMessageAttributes"] = md5.into();
    }
    record
}

fn message_attribute(value: &MessageAttributeValue) -> Value {
    let binary_list: Vec<String> = value
        .binary_list_values()
        .iter()
        .map(|b| BASE64.encode(b.as_ref()))
        .collect();
    let mut attribute = json!({
        "stringListValues": value.string_list_values(),
        "binaryListValues": binary_list,
        "dataType": value.data_type(),
    });
    if let Some(s) = value.string_value() {
        attribute["stringValue"] = s.into();
    }
    if let Some(b) = value.binary_value() {
        attribute["binaryValue"] = BASE64.encode(b.as_ref()).into();
    }
    attribute
}

/// What the event source mapping does with a batch once the function has answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchVerdict {
    /// Delete every message except these message ids (the reported failures, deduplicated).
    DeleteExcept(Vec<String>),
    /// Delete nothing: the whole batch is retried. The reason, for the log.
    RetryAll(String),
}

/// Reads a function's response to a batch the way Lambda does with `ReportBatchItemFailures`
/// (AWS docs, "Implementing partial batch responses"). A complete success: an empty or `null`
/// response, `{}`, a missing or `null` `batchItemFailures`, or an empty list. A complete failure:
/// invalid JSON (here also any JSON that is not an object), an entry without `itemIdentifier` or
/// with a null, empty or unknown one. Otherwise the listed messages failed and the rest succeeded.
pub fn batch_verdict(response: &[u8], batch_ids: &[&str]) -> BatchVerdict {
    let retry = |why: String| BatchVerdict::RetryAll(format!("invalid batch response: {why}"));
    if response.trim_ascii().is_empty() {
        return BatchVerdict::DeleteExcept(Vec::new());
    }
    let value: Value = match serde_json::from_slice(response) {
        Ok(value) => value,
        Err(e) => return retry(format!("not JSON ({e})")),
    };
    let items = match &value {
        Value::Null => return BatchVerdict::DeleteExcept(Vec::new()),
        Value::Object(object) => match object.get("batchItemFailures") {
            None | Some(Value::Null) => return BatchVerdict::DeleteExcept(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(other) => return retry(format!("batchItemFailures is not a list: {other}")),
        },
        other => {
            return retry(format!(
                "not an object: {}",
                crate::one_line(other.to_string().as_bytes(), 200)
            ));
        }
    };
    let mut failed: Vec<String> = Vec::new();
    for item in items {
        let id = match item.get("itemIdentifier") {
            Some(Value::String(id)) if !id.is_empty() => id,
            Some(Value::String(_) | Value::Null) => {
                return retry("null or empty itemIdentifier".into());
            }
            Some(other) => return retry(format!("itemIdentifier is not a string: {other}")),
            None => return retry(format!("entry without itemIdentifier: {item}")),
        };
        if !batch_ids.contains(&id.as_str()) {
            return retry(format!(
                "itemIdentifier `{id}` is not a message of this batch"
            ));
        }
        if !failed.contains(id) {
            failed.push(id.clone());
        }
    }
    BatchVerdict::DeleteExcept(failed)
}

async fn poll_queue<F: Future<Output = ()>>(
    host: &FunctionHost,
    client: &Client,
    queue_url: &str,
    batch: i32,
    stop: Pin<&mut F>,
) -> Result<(), LocalError> {
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(LocalError::Invalid(format!(
            "batch size {batch} is not between 1 and {MAX_BATCH}"
        )));
    }
    let region = client
        .config()
        .region()
        .map_or_else(default_region, ToString::to_string);
    let arn = queue_arn(queue_url, &region)?;
    describe_queue(host, client, queue_url, &arn, batch).await?;

    let mut stop = Stop {
        fut: stop,
        fired: false,
    };
    let chaos = host.chaos().cloned();
    let mut receive_failures = 0;
    while !stop.fired().await {
        let late = match &chaos {
            Some(chaos) => chaos.take_held(queue_url, usize::try_from(batch).unwrap_or(1)),
            None => Vec::new(),
        };
        let room = batch.saturating_sub(i32::try_from(late.len()).unwrap_or(batch));
        // Messages held for a later batch do not wait for a long poll.
        let wait = if late.is_empty() {
            WAIT_TIME_SECONDS
        } else {
            0
        };
        let received = match room {
            0 => Ok(Vec::new()),
            room => stop.alongside(receive(client, queue_url, room, wait)).await,
        };
        let fresh = match received {
            Ok(messages) => {
                receive_failures = 0;
                messages
            }
            Err(e) => {
                if let Some(chaos) = &chaos {
                    chaos.hold_again(queue_url, late);
                }
                receive_failures += 1;
                if receive_failures >= MAX_RECEIVE_FAILURES {
                    return Err(e);
                }
                let pause = Duration::from_secs(1 << receive_failures);
                eprintln!("{LOG} {e}; retrying in {pause:?}");
                stop.sleep(pause).await;
                continue;
            }
        };
        let (messages, notes) = match &chaos {
            Some(chaos) => disorder(chaos, queue_url, fresh, late),
            None => (fresh, String::new()),
        };
        if messages.is_empty() {
            continue;
        }
        let outcome = stop.alongside(process_batch(
            host,
            client,
            queue_url,
            (&arn, &region),
            &messages,
            chaos.as_deref(),
            &notes,
        ));
        let (line, fatal) = outcome.await;
        eprintln!("{LOG} {line}");
        if let Some(fatal) = fatal {
            return Err(fatal.into());
        }
    }
    eprintln!("{LOG} stopped");
    Ok(())
}

/// Checks that the queue can be read and logs what the worker is about to do.
async fn describe_queue(
    host: &FunctionHost,
    client: &Client,
    queue_url: &str,
    arn: &str,
    batch: i32,
) -> Result<(), LocalError> {
    let output = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .map_err(|e| sqs_error("GetQueueAttributes", e))?;
    let attributes = output.attributes();
    let get = |name: QueueAttributeName| attributes.and_then(|a| a.get(&name)).cloned();
    let visibility: Option<u64> =
        get(QueueAttributeName::VisibilityTimeout).and_then(|v| v.parse().ok());
    let policy =
        get(QueueAttributeName::RedrivePolicy).and_then(|p| serde_json::from_str::<Value>(&p).ok());
    let redrive = match policy {
        Some(policy) => {
            let count = match &policy["maxReceiveCount"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let target = policy["deadLetterTargetArn"].as_str().unwrap_or("?");
            format!("to the dead-letter queue {target} after {count} receives")
        }
        None => "no redrive policy: failing messages are retried until they expire".into(),
    };
    let shown = visibility.map_or_else(|| "?".into(), |v| format!("{v} s"));
    eprintln!(
        "{LOG} function `{}` polls {arn} (batch {batch}, visibility timeout {shown}, {redrive})",
        host.name()
    );
    if let Some(v) = visibility.filter(|v| Duration::from_secs(*v) < host.timeout()) {
        eprintln!(
            "{LOG} warning: the visibility timeout ({v} s) is shorter than the function timeout \
             ({:?}): a slow batch can be received again while it runs (AWS refuses such a mapping)",
            host.timeout()
        );
    }
    Ok(())
}

/// The batch chaos makes of freshly received messages and those held from earlier ones (which
/// come last: after messages received after them), and what it did, for the log line.
fn disorder(
    chaos: &Chaos,
    queue_url: &str,
    fresh: Vec<Message>,
    late: Vec<Message>,
) -> (Vec<Message>, String) {
    let (mut messages, twins, held) = chaos.scatter(queue_url, fresh);
    let late_count = late.len();
    messages.extend(late);
    let shuffled = chaos.shuffle(queue_url, &mut messages);
    let mut notes = Vec::new();
    if late_count > 0 {
        notes.push(format!("{late_count} delivered late"));
    }
    if twins > 0 {
        notes.push(format!("{twins} also put into the next batch"));
    }
    if held > 0 {
        notes.push(format!("{held} held back"));
    }
    if shuffled {
        notes.push("shuffled".to_owned());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" (chaos: {})", notes.join(", "))
    };
    (messages, notes)
}

async fn receive(
    client: &Client,
    queue_url: &str,
    batch: i32,
    wait_seconds: i32,
) -> Result<Vec<Message>, LocalError> {
    let output = client
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(batch)
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|e| sqs_error("ReceiveMessage", e))?;
    Ok(output.messages.unwrap_or_default())
}

/// Invokes the function with one batch and deletes what succeeded (but the deletes chaos loses).
/// Returns the log line, and the host error when the function can serve no more invocations.
async fn process_batch(
    host: &FunctionHost,
    client: &Client,
    queue_url: &str,
    (arn, region): (&str, &str),
    messages: &[Message],
    chaos: Option<&Chaos>,
    notes: &str,
) -> (String, Option<HostError>) {
    let started = Instant::now();
    let ids: Vec<&str> = messages.iter().filter_map(Message::message_id).collect();
    let mut fatal = None;
    let verdict = match host.invoke(sqs_event(messages, arn, region)).await {
        Ok(Invocation::Response(body)) => batch_verdict(&body, &ids),
        Ok(Invocation::Error { error_type, body }) => BatchVerdict::RetryAll(format!(
            "function error ({error_type}): {}",
            crate::error_message(&body)
        )),
        Err(e) => {
            let why = e.to_string();
            // A killed sandbox is replaced for the next batch (see `FunctionHost::invoke`).
            if !matches!(e, HostError::Timeout { .. } | HostError::Killed { .. }) {
                fatal = Some(e);
            }
            BatchVerdict::RetryAll(why)
        }
    };
    let mut line = format!("batch of {}{notes}", messages.len());
    let receives = messages
        .iter()
        .filter_map(|m| {
            m.attributes()?
                .get(&MessageSystemAttributeName::ApproximateReceiveCount)
        })
        .filter_map(|count| count.parse::<u64>().ok())
        .max()
        .unwrap_or(1);
    if receives > 1 {
        line.push_str(&format!(" (redelivered, up to receive #{receives})"));
    }
    match verdict {
        BatchVerdict::RetryAll(why) => {
            line.push_str(&format!(
                ": {why}; nothing deleted, the whole batch will be retried"
            ));
        }
        BatchVerdict::DeleteExcept(failed) => {
            let succeeded = messages.iter().filter(|m| {
                !m.message_id()
                    .is_some_and(|id| failed.iter().any(|f| f == id))
            });
            let (succeeded, lost): (Vec<&Message>, Vec<&Message>) =
                succeeded.partition(|_| !chaos.is_some_and(|c| c.lose_delete(queue_url)));
            let (deleted, problem) = delete(client, queue_url, &succeeded).await;
            line.push_str(&format!(": {deleted} deleted, {} failed", failed.len()));
            if !lost.is_empty() {
                line.push_str(&format!(
                    ", {} deletes lost (chaos: delivered again after the visibility timeout)",
                    lost.len()
                ));
            }
            if !failed.is_empty() {
                line.push_str(&format!(" (left for retry: {})", failed.join(", ")));
            }
            if let Some(problem) = problem {
                line.push_str(&format!("; {problem}"));
            }
        }
    }
    line.push_str(&format!(" [{} ms]", started.elapsed().as_millis()));
    (line, fatal)
}

/// Deletes `messages` in one `DeleteMessageBatch` call. Returns how many were deleted and what
/// went wrong, if anything (undeleted messages simply come back after the visibility timeout).
async fn delete(
    client: &Client,
    queue_url: &str,
    messages: &[&Message],
) -> (usize, Option<String>) {
    if messages.is_empty() {
        return (0, None);
    }
    let entries: Vec<DeleteMessageBatchRequestEntry> = messages
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .receipt_handle(m.receipt_handle()?)
                .build()
                .ok()
        })
        .collect();
    let sent = client
        .delete_message_batch()
        .queue_url(queue_url)
        .set_entries(Some(entries))
        .send()
        .await;
    match sent {
        Ok(output) if output.failed().is_empty() => (output.successful().len(), None),
        Ok(output) => {
            let errors: Vec<String> = output
                .failed()
                .iter()
                .map(|f| format!("{}: {}", f.code(), f.message().unwrap_or("")))
                .collect();
            let problem = format!("{} not deleted ({})", errors.len(), errors.join("; "));
            (output.successful().len(), Some(problem))
        }
        Err(e) => (0, Some(sqs_error("DeleteMessageBatch", e).to_string())),
    }
}

/// A service error as its code and message; anything else (no connection, ...) with the SDK's
/// error context.
fn sqs_error(
    operation: &'static str,
    e: impl std::error::Error + ProvideErrorMetadata,
) -> LocalError {
    let message = match e.code() {
        Some(code) => format!("{code}: {}", e.message().unwrap_or("(no message)")),
        None => DisplayErrorContext(e).to_string(),
    };
    LocalError::Sqs { operation, message }
}

/// The caller's stop future, watched alongside work that must not be cancelled halfway.
struct Stop<'a, F> {
    fut: Pin<&'a mut F>,
    fired: bool,
}

impl<F: Future<Output = ()>> Stop<'_, F> {
    /// Whether the stop has completed (polled once, never again once it has).
    async fn fired(&mut self) -> bool {
        if !self.fired {
            let fut = &mut self.fut;
            self.fired =
                std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx).is_ready())).await;
        }
        self.fired
    }

    /// Runs `work` to completion; a stop meanwhile is noted and announced, not acted upon.
    async fn alongside<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = pin!(work);
        if !self.fired {
            tokio::select! {
                biased;
                out = &mut work => return out,
                () = self.fut.as_mut() => {
                    self.fired = true;
                    eprintln!("{LOG} stop requested: finishing what is in progress");
                }
            }
        }
        work.await
    }

    /// Sleeps for `pause`, or less if the stop completes first.
    async fn sleep(&mut self, pause: Duration) {
        if !self.fired {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = self.fut.as_mut() => self.fired = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["m1", "m2", "m3"];

    fn verdict(response: &str) -> BatchVerdict {
        batch_verdict(response.as_bytes(), IDS)
    }

    fn retried(response: &str) -> bool {
        matches!(verdict(response), BatchVerdict::RetryAll(_))
    }

    #[test]
    fn complete_success() {
        for response in [
            "",
            " \n",
            "null",
            "{}",
            r#"{"batchItemFailures":null}"#,
            r#"{"batchItemFailures":[]}"#,
        ] {
            assert_eq!(
                verdict(response),
                BatchVerdict::DeleteExcept(vec![]),
                "{response:?}"
            );
        }
    }

    #[test]
    fn partial_failure_lists_each_id_once() {
        let response = r#"{"batchItemFailures":[{"itemIdentifier":"m3"},{"itemIdentifier":"m1"},{"itemIdentifier":"m3"}]}"#;
        assert_eq!(
            verdict(response),
            BatchVerdict::DeleteExcept(vec!["m3".into(), "m1".into()])
        );
    }

    #[test]
    fn complete_failure() {
        assert!(retried("{not json"));
        assert!(retried(r#""ok""#));
        assert!(retried("[]"));
        assert!(retried(r#"{"batchItemFailures":{}}"#));
        assert!(retried(r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#));
        assert!(retried(
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#
        ));
        assert!(retried(r#"{"batchItemFailures":[{"itemIdentifier":7}]}"#));
        assert!(retried(r#"{"batchItemFailures":[{"messageId":"m1"}]}"#));
        assert!(retried(
            r#"{"batchItemFailures":[{"itemIdentifier":"m1"},{"itemIdentifier":"zz"}]}"#
        ));
    }

    #[test]
    fn queue_arn_from_url() {
        let url = "http://127.0.0.1:5000/123456789012/jobs";
        assert_eq!(
            queue_arn(url, "eu-west-1").ok().as_deref(),
            Some("arn:aws:sqs:eu-west-1:000000000000:jobs")
        );
        let url = "https://sqs.us-east-1.amazonaws.com/123456789012/jobs-dlq/";
        assert_eq!(
            queue_arn(url, "us-east-1").ok().as_deref(),
            Some("arn:aws:sqs:us-east-1:000000000000:jobs-dlq")
        );
        assert!(queue_arn("http://127.0.0.1:5000", "us-east-1").is_err());
        assert!(queue_arn("http://127.0.0.1:5000/", "us-east-1").is_err());
        assert!(queue_arn("jobs", "us-east-1").is_err());
    }
}
