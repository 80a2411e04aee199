//! API Gateway (HTTP API) entry point. All behaviour lives in `shared::http`.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let app = shared::app::App::for_lambda().await?;
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(shared::http::handle(app, req).await)
    }))
    .await
}
