//! API Gateway (HTTP API) entry point. All behaviour lives in `shared::http`.

use lambda_http::{Error, Request, RequestExt, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let stack = shared::app::Stack::for_lambda().await?;
    let stack = &stack;
    run(service_fn(move |req: Request| async move {
        let deadline = req
            .lambda_context_ref()
            .map(|c| shared::jobs::deadline_of(c.deadline()));
        Ok::<_, Error>(shared::http::handle_until(stack, req, deadline).await)
    }))
    .await
}
