//! Test fixture for the `local` crate's integration tests (not a tool): a tiny `lambda_http`
//! function. `/boom` fails (an `Err`, posted to /error), `/exit` kills the process, `/sleep?ms=N` sleeps, `/raw` echoes the
//! body bytes as they came; any other path answers 201 with a JSON echo of the request (with
//! `requestContext.authorizer.iam` as `iam`, null when the route is not IAM-authorized).
//! With `ECHO_INIT_FAIL` set it reports an init error to the Runtime API and exits.
//!
//! Outgoing calls, for the chaos tests: `/aws?calls=N&table=T&key=K` puts the items `K#0` ..
//! `K#(N-1)` (hash key `pk`) into the DynamoDB table `T` at `$AWS_ENDPOINT_URL`, one call each,
//! in order; `/post?env=NAME` posts `hello` to the URL in the variable `NAME` and answers with
//! the status it got.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("ECHO_INIT_FAIL").is_some() {
        report_init_error()?;
        return Err("ECHO_INIT_FAIL is set".into());
    }
    run(service_fn(handle)).await
}

/// Invocations seen by this process, to check the order in which events are handed out.
static SEQ: AtomicU64 = AtomicU64::new(0);

async fn handle(req: Request) -> Result<Response<Body>, Error> {
    let seq = SEQ.fetch_add(1, Ordering::SeqCst);
    let query = req
        .query_string_parameters_ref()
        .cloned()
        .unwrap_or_default();
    match req.uri().path() {
        "/boom" => Err("boom requested".into()),
        "/exit" => std::process::exit(3),
        "/sleep" => {
            let ms = query
                .first("ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(Response::new(Body::from("slept")))
        }
        "/aws" => {
            let param = |name: &str| query.first(name).unwrap_or_default().to_owned();
            let calls: usize = param("calls").parse().unwrap_or(1);
            let (table, key) = (param("table"), param("key"));
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let client = aws_sdk_dynamodb::Client::new(&sdk);
            for i in 0..calls {
                let pk = aws_sdk_dynamodb::types::AttributeValue::S(format!("{key}#{i}"));
                client
                    .put_item()
                    .table_name(&table)
                    .item("pk", pk)
                    .send()
                    .await?;
            }
            Ok(Response::builder()
                .status(StatusCode::CREATED)
                .body(Body::from(format!(r#"{{"written":{calls}}}"#)))?)
        }
        "/post" => {
            let name = query.first("env").unwrap_or_default();
            let url = std::env::var(name)?;
            let status = post(&url, "hello").await?;
            Ok(Response::builder()
                .status(StatusCode::CREATED)
                .body(Body::from(format!(r#"{{"status":{status}}}"#)))?)
        }
        "/raw" => Ok(Response::builder()
            .header("content-type", "application/octet-stream")
            .body(Body::Binary(req.body().as_ref().to_vec()))?),
        path => {
            let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
            // The caller as an IAM-authorized route passes it, read as the service reads it.
            let iam = match req.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(context)) => context
                    .authorizer
                    .as_ref()
                    .and_then(|a| a.iam.as_ref())
                    .and_then(|iam| serde_json::to_value(iam).ok()),
                _ => None,
            };
            let echo = serde_json::json!({
                "seq": seq,
                "method": req.method().as_str(),
                "path": path,
                "query": req.uri().query(),
                "a": query.all("a"),
                "x_test": header("x-test"),
                "cookie": header("cookie"),
                "body": String::from_utf8_lossy(req.body().as_ref()),
                "iam": iam,
            });
            Ok(Response::builder()
                .status(StatusCode::CREATED)
                .header("content-type", "application/json")
                .header("x-echo", "local-echo")
                .header("set-cookie", "echo=1; Path=/")
                .body(Body::from(echo.to_string()))?)
        }
    }
}

/// POSTs `body` to an `http://host:port/path` URL over plain HTTP/1.1; the answer's status.
async fn post(url: &str, body: &str) -> Result<u16, Error> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or("not an http:// URL")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = tokio::net::TcpStream::connect(authority).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let head = String::from_utf8_lossy(&answer);
    let status = head.split(' ').nth(1).ok_or("no status line")?;
    Ok(status.parse()?)
}

/// What a runtime does when its init fails: POST /runtime/init/error (plain HTTP/1.1).
fn report_init_error() -> Result<(), Error> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    let body = r#"{"errorType":"EchoInitError","errorMessage":"ECHO_INIT_FAIL is set"}"#;
    let mut stream = std::net::TcpStream::connect(&api)?;
    write!(
        stream,
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\n\
         Lambda-Runtime-Function-Error-Type: EchoInitError\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(())
}
