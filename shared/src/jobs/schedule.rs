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
    let report = due::tick_until(app, now, MAX_PER_KIND, deadline)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scheduler run failed");
            e
        })?;
    Ok(json!({"found": report.found, "queued": report.queued}))
}
