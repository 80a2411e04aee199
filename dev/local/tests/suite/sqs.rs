//! `run_sqs_worker` end to end: the local AWS emulator (moto, found through `AWS_ENDPOINT_URL`;
//! `scripts/test.sh` starts it) → the worker → the `local-sqs-echo` function, on queues created
//! for each test.

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use local::LocalError;
use local::chaos::Chaos;
use local::runtime::{FunctionHost, FunctionSpec, HostError};
use local::sqs::run_sqs_worker;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound for any single wait in these tests.
const LIMIT: Duration = Duration::from_secs(30);

pub(crate) async fn bounded<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, fut)
        .await
        .expect("test step timed out")
}

/// Polls `check` every 200 ms until it holds; fails the test after `LIMIT`.
pub(crate) async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1:") || endpoint.starts_with("http://localhost:"),
        "AWS_ENDPOINT_URL must point at the local AWS emulator (got `{endpoint}`): run \
         scripts/test.sh, which starts it and exports AWS_ENDPOINT_URL and dummy credentials"
    );
    endpoint
}

pub(crate) async fn client() -> Client {
    endpoint();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Client::new(&sdk)
}

pub(crate) fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

pub(crate) struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
}

pub(crate) async fn create_queue(
    client: &Client,
    prefix: &str,
    attributes: &[(QueueAttributeName, String)],
) -> Queue {
    let name = unique(prefix);
    let mut create = client.create_queue().queue_name(&name);
    for (key, value) in attributes {
        create = create.attributes(key.clone(), value);
    }
    let url = bounded(create.send())
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("queue URL");
    let attributes = bounded(
        client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send(),
    )
    .await
    .expect("GetQueueAttributes");
    let arn = attributes
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .expect("QueueArn")
        .clone();
    Queue { name, url, arn }
}

pub(crate) async fn send(client: &Client, queue: &Queue, body: &str) {
    let kind = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("sync")
        .build()
        .expect("attribute");
    bounded(
        client
            .send_message()
            .queue_url(&queue.url)
            .message_body(body)
            .message_attributes("kind", kind)
            .send(),
    )
    .await
    .expect("SendMessage");
}

/// (visible, in flight) messages of a queue.
pub(crate) async fn counts(client: &Client, queue: &Queue) -> (u64, u64) {
    let output = bounded(
        client
            .get_queue_attributes()
            .queue_url(&queue.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send(),
    )
    .await
    .expect("GetQueueAttributes");
    let get = |name: QueueAttributeName| {
        output
            .attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse().ok())
            .expect("a count")
    };
    (
        get(QueueAttributeName::ApproximateNumberOfMessages),
        get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
    )
}

/// A ready `local-sqs-echo` that logs every event it receives to `log`.
async fn echo_host(log: &Path) -> Arc<FunctionHost> {
    echo_host_with(log, None).await
}

/// [`echo_host`] running with `chaos`.
pub(crate) async fn echo_host_with(log: &Path, chaos: Option<Arc<Chaos>>) -> Arc<FunctionHost> {
    let mut spec = FunctionSpec::new("worker", env!("CARGO_BIN_EXE_local-sqs-echo"));
    spec.chaos = chaos;
    spec.timeout = Duration::from_secs(10);
    spec.quiet = true;
    spec.env
        .push(("SQS_ECHO_LOG".into(), log.display().to_string()));
    let host = FunctionHost::start(spec).await.expect("host starts");
    bounded(host.wait_ready(LIMIT))
        .await
        .expect("function ready");
    Arc::new(host)
}

pub(crate) fn log_path() -> PathBuf {
    std::env::temp_dir().join(format!("{}.jsonl", unique("local-sqs-echo")))
}

/// The events the function received, in order, read back with `aws_lambda_events`.
pub(crate) fn logged_events(log: &Path) -> Vec<SqsEvent> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    // only whole lines: the function may be writing the next one
    text.split_inclusive('\n')
        .filter(|line| line.ends_with('\n'))
        .map(|line| serde_json::from_str(line).expect("the function logged an SqsEvent"))
        .collect()
}

pub(crate) struct Worker {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), LocalError>>,
}

pub(crate) fn start_worker(
    host: &Arc<FunctionHost>,
    client: &Client,
    queue: &Queue,
    batch: i32,
) -> Worker {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(run_sqs_worker(
        Arc::clone(host),
        client.clone(),
        queue.url.clone(),
        batch,
        async move {
            let _ = stopped.await;
        },
    ));
    Worker { stop, task }
}

impl Worker {
    pub(crate) async fn stop(self) -> Result<(), LocalError> {
        let _ = self.stop.send(());
        bounded(self.task).await.expect("worker task")
    }
}

#[tokio::test]
async fn partial_failures_stay_and_are_redriven_to_the_dlq() {
    let client = client().await;
    let region = client.config().region().expect("a region").to_string();
    let dlq = create_queue(&client, "local-dlq", &[]).await;
    let redrive = json!({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2}).to_string();
    let queue = create_queue(
        &client,
        "local-jobs",
        &[
            (QueueAttributeName::VisibilityTimeout, "2".into()),
            (QueueAttributeName::RedrivePolicy, redrive),
        ],
    )
    .await;
    let good_1 = r#"{"kind":"sync","allocationNo":"A1"}"#;
    let good_2 = r#"{"kind":"sync","allocationNo":"A2"}"#;
    let failing = r#"{"kind":"sync","allocationNo":"please fail"}"#;
    for body in [good_1, good_2, failing] {
        send(&client, &queue, body).await;
    }

    let log = log_path();
    let host = echo_host(&log).await;
    let worker = start_worker(&host, &client, &queue, 10);
    eventually(
        "the failing message is in the DLQ and the queue is empty",
        || async {
            counts(&client, &dlq).await == (1, 0) && counts(&client, &queue).await == (0, 0)
        },
    )
    .await;
    worker.stop().await.expect("the worker stops cleanly");
    let after = bounded(host.invoke(json!({}))).await;
    assert!(
        matches!(after, Err(HostError::ShutDown { .. })),
        "the function is stopped with the worker: {after:?}"
    );

    let in_dlq = bounded(
        client
            .receive_message()
            .queue_url(&dlq.url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send(),
    )
    .await
    .expect("ReceiveMessage");
    let bodies: Vec<&str> = in_dlq.messages().iter().filter_map(|m| m.body()).collect();
    assert_eq!(bodies, [failing]);

    // What the function saw: the good messages once each (deleted after the first batch), the
    // failing one twice (receive counts 1 and 2), every record a complete `aws:sqs` record.
    let events = logged_events(&log);
    let _ = std::fs::remove_file(&log);
    let mut receive_counts: HashMap<String, Vec<String>> = HashMap::new();
    for record in events.iter().flat_map(|e| &e.records) {
        assert_eq!(record.event_source.as_deref(), Some("aws:sqs"));
        let arn = format!("arn:aws:sqs:{region}:000000000000:{}", queue.name);
        assert_eq!(record.event_source_arn.as_deref(), Some(arn.as_str()));
        assert_eq!(record.aws_region.as_deref(), Some(region.as_str()));
        assert!(
            record
                .message_id
                .as_deref()
                .is_some_and(|id| !id.is_empty())
        );
        assert!(
            record
                .receipt_handle
                .as_deref()
                .is_some_and(|h| !h.is_empty())
        );
        assert!(record.md5_of_body.as_deref().is_some_and(|m| m.len() == 32));
        for name in [
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
        ] {
            assert!(
                record.attributes.contains_key(name),
                "{name} missing: {record:?}"
            );
        }
        let kind = &record.message_attributes["kind"];
        assert_eq!(kind.string_value.as_deref(), Some("sync"));
        assert_eq!(kind.data_type.as_deref(), Some("String"));
        let body = record.body.clone().expect("body");
        let count = record.attributes["ApproximateReceiveCount"].clone();
        receive_counts.entry(body).or_default().push(count);
    }
    assert_eq!(receive_counts[good_1], ["1"]);
    assert_eq!(receive_counts[good_2], ["1"]);
    assert_eq!(receive_counts[failing], ["1", "2"]);
}

#[tokio::test]
async fn a_function_error_leaves_the_whole_batch_for_retry() {
    let client = client().await;
    let queue = create_queue(
        &client,
        "local-boom",
        &[(QueueAttributeName::VisibilityTimeout, "1".into())],
    )
    .await;
    send(&client, &queue, "boom").await;
    send(&client, &queue, "fine").await;

    let log = log_path();
    let host = echo_host(&log).await;
    let worker = start_worker(&host, &client, &queue, 10);
    eventually("both messages were received twice", || async {
        let events = logged_events(&log);
        let seen = |body: &str| {
            let records = events.iter().flat_map(|e| &e.records);
            records.filter(|r| r.body.as_deref() == Some(body)).count()
        };
        seen("boom") >= 2 && seen("fine") >= 2
    })
    .await;
    worker
        .stop()
        .await
        .expect("a function error does not stop the worker");
    let _ = std::fs::remove_file(&log);

    // Nothing was deleted: both come back once their visibility timeout is over.
    eventually("both messages are visible again", || async {
        counts(&client, &queue).await == (2, 0)
    })
    .await;
}

#[tokio::test]
async fn a_dead_function_stops_the_worker_and_keeps_the_batch() {
    let client = client().await;
    let queue = create_queue(
        &client,
        "local-exit",
        &[(QueueAttributeName::VisibilityTimeout, "1".into())],
    )
    .await;
    send(&client, &queue, "exit").await;

    let log = log_path();
    let host = echo_host(&log).await;
    let (_stop, stopped) = oneshot::channel::<()>();
    let outcome = bounded(run_sqs_worker(
        host,
        client.clone(),
        queue.url.clone(),
        10,
        async move {
            let _ = stopped.await;
        },
    ))
    .await;
    let _ = std::fs::remove_file(&log);
    assert!(
        matches!(outcome, Err(LocalError::Host(HostError::Exited { .. }))),
        "{outcome:?}"
    );
    eventually("the message is visible again", || async {
        counts(&client, &queue).await == (1, 0)
    })
    .await;
}

#[tokio::test]
async fn bad_batch_sizes_and_missing_queues_fail_fast() {
    let client = client().await;
    let queue = create_queue(&client, "local-args", &[]).await;
    let log = log_path();
    for batch in [0, 11] {
        let host = echo_host(&log).await;
        let outcome = bounded(run_sqs_worker(
            host,
            client.clone(),
            queue.url.clone(),
            batch,
            std::future::pending(),
        ))
        .await;
        assert!(
            matches!(outcome, Err(LocalError::Invalid(_))),
            "{outcome:?}"
        );
    }
    let missing = format!("{}/123456789012/{}", endpoint(), unique("local-missing"));
    let host = echo_host(&log).await;
    let outcome = bounded(run_sqs_worker(
        host,
        client.clone(),
        missing,
        10,
        std::future::pending(),
    ))
    .await;
    assert!(
        matches!(
            outcome,
            Err(LocalError::Sqs {
                operation: "GetQueueAttributes",
                ..
            })
        ),
        "{outcome:?}"
    );
    assert!(logged_events(&log).is_empty(), "nothing was invoked");
}
