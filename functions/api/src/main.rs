//! API Gateway (HTTP API) entry point. All behaviour lives in `shared::api`.

use lambda_http::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    let app = match shared::api::App::from_env().await {
        Ok(app) => app,
        Err(e) => {
            // Fails the init phase with the setting's name; no secret value is in the message.
            tracing::error!(error = %e, "configuration");
            return Err(e.into());
        }
    };
    let app = &app;
    run(service_fn(move |req: Request| async move {
        Ok::<_, Error>(shared::api::handle(app, req).await)
    }))
    .await
}
