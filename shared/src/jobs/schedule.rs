//! The scheduler function's adapter (SPEC §7): every minute, queue the work that is due.

use crate::app::App;
use crate::service::due;
use serde_json::{Value, json};

/// How many items of each kind one run queues at most.
pub const MAX_PER_KIND: usize = 500;

/// One scheduled run; the event's content does not matter. Answers what it found and queued.
pub async fn handle(app: &App) -> Result<Value, String> {
    let report = due::tick(app, app.clock.now(), MAX_PER_KIND)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "scheduler run failed");
            e
        })?;
    Ok(json!({"found": report.found, "queued": report.queued}))
}
