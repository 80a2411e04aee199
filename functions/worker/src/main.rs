//! SQS entry point (batch failures reported). All behaviour lives in `shared::jobs::worker`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::jobs::deadline_of;
use shared::jobs::worker::handle_batch_until;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::app::App::for_lambda().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline_of(event.context.deadline());
        Ok::<SqsBatchResponse, Error>(handle_batch_until(app, event.payload, Some(deadline)).await)
    }))
    .await
}
