//! The smallest useful `lambda_http` function: answers every request with `hello`. Built with
//! the same crate versions and release profile as the project's functions, it is the yardstick
//! their start-up is measured against (`scripts/bench-startup.sh`).

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn hello(_: Request) -> Result<Response<Body>, Error> {
    Ok(Response::new(Body::from("hello")))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(hello)).await
}
