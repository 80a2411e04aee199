//! EventBridge schedule entry point (every minute). All behaviour lives in `shared::jobs::schedule`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use shared::jobs::deadline_of;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let stack = shared::app::Stack::for_scheduler().await?;
    let stack = &stack;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_of(event.context.deadline());
        shared::jobs::schedule::handle(stack, Some(deadline))
            .await
            .map_err(Error::from)
    }))
    .await
}
