//! SQS entry point (batch failures reported). All behaviour lives in `shared::jobs::worker`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use shared::jobs::deadline_of;
use shared::jobs::worker::handle_batch_until;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let stack = shared::app::Stack::for_lambda().await?;
    let stack = &stack;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline_of(event.context.deadline());
        Ok::<SqsBatchResponse, Error>(
            handle_batch_until(stack, event.payload, Some(deadline)).await,
        )
    }))
    .await
}
