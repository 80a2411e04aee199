//! EventBridge schedule entry point (every minute). All behaviour lives in `shared::scheduler`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::{Value, json};

/// How many items of each kind one run queues at most.
const MAX_PER_KIND: usize = 500;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::api::App::for_lambda().await?;
    let app = &app;
    run(service_fn(move |_event: LambdaEvent<Value>| async move {
        let now = app.clock.now();
        match shared::scheduler::tick(app, now, MAX_PER_KIND).await {
            Ok(t) => Ok(json!({"found": t.found, "queued": t.queued})),
            Err(e) => {
                tracing::error!(error = %e, "scheduler run failed");
                Err(Error::from(e))
            }
        }
    }))
    .await
}
