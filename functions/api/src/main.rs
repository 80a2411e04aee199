//! API Gateway (HTTP API) entry point. All behaviour lives in `shared::http`.

use lambda_http::{Body, Error, IntoResponse, Request, RequestExt, Response, run, service_fn};

/// An answer handed to `lambda_http` as it is. Its own `Response<Body>` conversion decodes
/// every text body again by the charset of its content type, which links a decoder of every
/// legacy encoding (`encoding_rs`, 0.15 MB of the binary); ours are built as UTF-8 text or as
/// bytes already, so there is nothing to decode.
struct Answer(Response<Body>);

impl IntoResponse for Answer {
    fn into_response(self) -> std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let stack = shared::app::Stack::for_lambda().await?;
    let stack = &stack;
    run(service_fn(move |req: Request| async move {
        let deadline = req
            .lambda_context_ref()
            .map(|c| shared::jobs::deadline_of(c.deadline()));
        Ok::<_, Error>(Answer(
            shared::http::handle_until(stack, req, deadline).await,
        ))
    }))
    .await
}
