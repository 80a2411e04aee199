//! The scheduler function's adapter (SPEC §7): every minute, queue the work that is due.

use crate::app::Stack;
use crate::service::due;
use serde_json::{Value, json};
use tokio::time::Instant;

/// How many items of each kind one run takes up at most (the deadline usually ends it first).
pub const MAX_PER_KIND: usize = 20_000;

/// One scheduled run, until shortly before `deadline` (the invocation's); the event's content
/// does not matter. Answers what it found and queued.
pub async fn handle(stack: &Stack, deadline: Option<Instant>) -> Result<Value, String> {
    // The due index is the stack's: the default app's store and queue read it and queue each
    // item's job for its own app.
    let app = stack.default_app();
    let now = app.clock.now();
    start_reconciling(stack, now).await;
    let report = due::tick_until(app, now, MAX_PER_KIND, deadline)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scheduler run failed");
            e
        })?;
    Ok(json!({"found": report.found, "queued": report.queued}))
}

/// Once per sandbox: the default app's channels are reconciled from today on, unless they
/// already are (a conditional write each; the app registry's are started when their accounts
/// are set).
async fn start_reconciling(stack: &Stack, now: i64) {
    if stack.reconciling_started(false) {
        return;
    }
    let store = &stack.default_app().store;
    let mut all = true;
    for channel in stack.reconciled_channels() {
        if let Err(e) = crate::service::reconcile::start(store, *channel, now).await {
            tracing::warn!(error = %e, channel = channel.code(), "reconciliation not started; the next run tries again");
            all = false;
        }
    }
    if all {
        stack.reconciling_started(true);
    }
}
