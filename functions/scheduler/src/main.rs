//! EventBridge schedule entry point (every minute). All behaviour lives in `shared::jobs::schedule`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use shared::jobs::deadline_of;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::app::App::for_scheduler().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_of(event.context.deadline());
        shared::jobs::schedule::handle(app, Some(deadline))
            .await
            .map_err(Error::from)
    }))
    .await
}
