//! Adapters for the asynchronous triggers: SQS batches for the worker, the EventBridge schedule
//! for the scheduler. They decode the event, call the services and report.

pub mod schedule;
pub mod worker;

/// The invocation's deadline (Lambda gives it as a wall-clock time) on the monotonic clock.
pub fn deadline_of(at: std::time::SystemTime) -> tokio::time::Instant {
    let left = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::Instant::now() + left
}
