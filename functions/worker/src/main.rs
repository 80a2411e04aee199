//! SQS entry point (batch failures reported). All behaviour lives in `shared::worker`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = match shared::api::App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "configuration");
            return Err(e.into());
        }
    };
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<SqsBatchResponse, Error>(shared::worker::handle_batch(app, event.payload).await)
    }))
    .await
}
