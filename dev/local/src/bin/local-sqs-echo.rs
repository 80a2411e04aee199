//! Test fixture for the `local` crate's `sqs-worker` tests (not a tool): a tiny SQS-triggered
//! `lambda_runtime` function with partial batch responses. It answers `batchItemFailures` listing
//! every message whose body contains "fail"; a body containing "boom" fails the whole invocation
//! (an `Err`, posted to /error) and one containing "exit" kills the process. With
//! `SQS_ECHO_LOG=path` it appends each event it receives to that file, one JSON line per event.

use std::io::Write;

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(handle)).await
}

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let event = event.payload;
    if let Some(path) = std::env::var_os("SQS_ECHO_LOG") {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        // one write of the whole line: a reader never sees half of it
        log.write_all(format!("{event}\n").as_bytes())?;
    }
    let records = event["Records"]
        .as_array()
        .ok_or("not an SQS event: no Records")?;
    let mut failures = Vec::new();
    for record in records {
        let body = record["body"].as_str().unwrap_or("");
        if body.contains("exit") {
            std::process::exit(3);
        }
        if body.contains("boom") {
            return Err("boom requested".into());
        }
        if body.contains("fail") {
            failures.push(json!({ "itemIdentifier": record["messageId"] }));
        }
    }
    Ok(json!({ "batchItemFailures": failures }))
}
