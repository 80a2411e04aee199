//! EventBridge schedule entry point (every minute). All behaviour lives in `shared::jobs::schedule`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::app::App::for_lambda().await?;
    let app = &app;
    run(service_fn(move |_event: LambdaEvent<Value>| async move {
        shared::jobs::schedule::handle(app)
            .await
            .map_err(Error::from)
    }))
    .await
}
