//! API Gateway (HTTP API) entry point. All behaviour lives in `shared::http`.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let stack = shared::app::Stack::for_lambda().await?;
    let stack = &stack;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(shared::http::handle(stack, req).await)
    }))
    .await
}
