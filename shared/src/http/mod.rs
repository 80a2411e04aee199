//! The api function's adapter (SPEC §2): API Gateway requests in, answers out. The route
//! table names every endpoint once; paths match case-insensitively. A handler never fails:
//! every outcome is an answer.

pub mod admin;
mod callbacks;
mod feed;
mod merchant;
mod routes;
pub mod v3;

use crate::app::Stack;
use crate::daxpay::ApiError;
use crate::service::{
    groups, notices, ops, orders, pay_orders, receivers, reconcile_api, returns, start,
};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use merchant::merchant;
use tracing::Instrument;

use routes::{Endpoint, route, split_app};

/// The OpenAPI 3.1 document of every route, served at `GET /openapi.json`: `openapi.json`
/// without its layout whitespace, gzipped at build time (shared/build.rs).
static OPENAPI_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz"));

/// The OpenAPI document, inflated (about 1 ms; only `GET /openapi.json` asks).
pub fn openapi() -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::with_capacity(OPENAPI_GZ.len() * 6);
    flate2::read::GzDecoder::new(OPENAPI_GZ).read_to_string(&mut text)?;
    Ok(text)
}

/// The API Gateway request id, or a generated one.
fn trace_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    crate::infra::crypto::random_alnum(12)
}

fn request_path(req: &Request) -> String {
    let raw = req.raw_http_path();
    let path = if raw.is_empty() {
        req.uri().path()
    } else {
        raw
    };
    path.to_owned()
}

/// The largest body read (SPEC §9): the largest real request, a start with 50 receivers, is
/// about 5 KB; anything far beyond is refused before it is parsed.
pub const MAX_BODY: usize = 64 * 1024;

/// The answer to a body over [`MAX_BODY`], in the words of the route it was sent to.
fn too_large(endpoint: Option<Endpoint<'_>>, admin: bool, trace_id: &str) -> Response<Body> {
    let rule = format!("must be at most {MAX_BODY} bytes");
    match endpoint {
        _ if admin => response(
            413,
            "application/json; charset=utf-8",
            serde_json::json!({"code": "invalid", "message": format!("body: {rule}")}).to_string(),
        ),
        Some(Endpoint::PayOrderFeed | Endpoint::RefundFeed | Endpoint::Callback(_)) => {
            text(413, format!("FAIL: body {rule}"))
        }
        Some(Endpoint::Alloc(_)) => {
            v3::refused_unsigned(&ApiError::invalid("body", rule), trace_id)
        }
        _ => merchant::error(&ApiError::invalid("body", rule), trace_id),
    }
}

/// Time kept back before the invocation's deadline: the answer must still reach API Gateway.
const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(1500);

/// Handles one HTTP request within the invocation's `deadline` (SPEC §9): a request still
/// running `DEADLINE_MARGIN` before it is answered as a system error the merchant may send
/// again (`10001`; a feed or a channel's notification: HTTP 500, so its sender retries), never
/// left to the function's timeout and a gateway error. What it had done stays as a crash there
/// would leave it: every write is conditional, and an order left processing is synced.
pub async fn handle_until(
    stack: &Stack,
    req: Request,
    deadline: Option<tokio::time::Instant>,
) -> Response<Body> {
    let Some(deadline) = deadline else {
        return handle(stack, req).await;
    };
    let path = request_path(&req);
    let trace = trace_id(&req);
    let budget = deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline);
    match tokio::time::timeout_at(budget, handle(stack, req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::error!(traceId = %trace, path = %path, "request cut before the invocation's deadline");
            let (_, rest) = split_app(&path);
            let lower = rest.to_ascii_lowercase();
            if lower.starts_with("/feed/") || lower.starts_with(routes::CALLBACK_PREFIX) {
                text(500, "FAIL: try again".into())
            } else {
                merchant::error(
                    &ApiError::System("the invocation's time ran out".into()),
                    &trace,
                )
            }
        }
    }
}

/// Handles one HTTP request.
pub async fn handle(stack: &Stack, req: Request) -> Response<Body> {
    let trace_id = trace_id(&req);
    let path = request_path(&req);
    let method = req.method().as_str().to_owned();
    let (app_id, rest) = split_app(&path);
    let (app_id, rest) = (app_id.map(str::to_owned), rest.to_owned());
    let span = tracing::info_span!(
        "request",
        traceId = %trace_id,
        method = %method,
        path = %path,
        appId = tracing::field::Empty,
        allocationNo = tracing::field::Empty,
        bizAllocationNo = tracing::field::Empty
    );
    if let Some(id) = &app_id {
        span.record("appId", id.as_str());
    }
    async move {
        let body = req.body().as_ref();
        let t = trace_id.as_str();
        let at = Target {
            stack,
            app_id: app_id.as_deref(),
            trace_id: t,
        };
        if body.len() > MAX_BODY {
            let response = too_large(
                route(&method, &rest).or(routes::provider_callback(&method, &path)
                    .map(|(_, name)| Endpoint::Callback(name))),
                path.starts_with(admin::ADMIN_PREFIX),
                t,
            );
            tracing::info!(
                status = response.status().as_u16(),
                bytes = body.len(),
                "body over the cap refused"
            );
            return response;
        }
        if path.starts_with(admin::ADMIN_PREFIX) {
            // boxed: the admin and beta4 futures are large, and the merchant path pays for the
            // largest of the arms on every request otherwise
            let response = Box::pin(admin::handle(stack, &req, &method, &path)).await;
            tracing::info!(status = response.status().as_u16(), "answered");
            return response;
        }
        if let Some((provider, name)) = routes::provider_callback(&method, &path) {
            let response =
                callbacks::take_for_provider(&at, provider, name, req.headers(), body).await;
            tracing::info!(status = response.status().as_u16(), "answered");
            return response;
        }
        let response = match route(&method, &rest) {
            Some(Endpoint::OpenApi) => match openapi() {
                Ok(doc) => response(200, "application/json", doc),
                Err(e) => {
                    tracing::error!(cause = %e, "the embedded OpenAPI document");
                    text(500, "the OpenAPI document is unreadable".into())
                }
            },
            Some(Endpoint::PayOrderFeed) => feed::pay_order(&at, body).await,
            Some(Endpoint::RefundFeed) => feed::refund(&at, body).await,
            Some(Endpoint::Callback(name)) => callbacks::take(&at, name, req.headers(), body).await,
            Some(Endpoint::Start) => merchant(&at, body, start::start).await,
            Some(Endpoint::Finish) => merchant(&at, body, orders::finish).await,
            Some(Endpoint::Sync) => merchant(&at, body, orders::sync).await,
            Some(Endpoint::SyncMany) => merchant(&at, body, ops::sync_many).await,
            Some(Endpoint::QueryOrder) => merchant(&at, body, orders::query).await,
            Some(Endpoint::QueryNotices) => merchant(&at, body, notices::query_notices).await,
            Some(Endpoint::ResendNotice) => merchant(&at, body, notices::resend_notice).await,
            Some(Endpoint::QueryPayOrder) => merchant(&at, body, pay_orders::query).await,
            Some(Endpoint::Flagged) => merchant(&at, body, ops::flagged).await,
            Some(Endpoint::OrdersByDay) => merchant(&at, body, ops::by_day).await,
            Some(Endpoint::Statement) => merchant(&at, body, reconcile_api::statements).await,
            Some(Endpoint::Discrepancies) => {
                merchant(&at, body, reconcile_api::discrepancies).await
            }
            Some(Endpoint::Return) => merchant(&at, body, returns::create).await,
            Some(Endpoint::QueryReturn) => merchant(&at, body, returns::query).await,
            Some(Endpoint::Allocatable) => merchant(&at, body, pay_orders::allocatable).await,
            Some(Endpoint::ReceiverAdd) => merchant(&at, body, receivers::add).await,
            Some(Endpoint::ReceiverRemove) => merchant(&at, body, receivers::remove).await,
            Some(Endpoint::QueryReceivers) => merchant(&at, body, receivers::query).await,
            Some(Endpoint::GroupCreate) => merchant(&at, body, groups::create).await,
            Some(Endpoint::GroupUpdate) => merchant(&at, body, groups::update).await,
            Some(Endpoint::GroupDelete) => merchant(&at, body, groups::delete).await,
            Some(Endpoint::GroupBind) => merchant(&at, body, groups::bind).await,
            Some(Endpoint::GroupUnbind) => merchant(&at, body, groups::unbind).await,
            Some(Endpoint::GroupSetDefault) => merchant(&at, body, groups::set_default).await,
            Some(Endpoint::GroupClearDefault) => merchant(&at, body, groups::clear_default).await,
            Some(Endpoint::GroupQuery) => merchant(&at, body, groups::query).await,
            Some(Endpoint::Alloc(op)) => Box::pin(v3::alloc(&at, op, body)).await,
            None => {
                let mut shown = path.clone();
                shown.truncate(200);
                merchant::error(
                    &ApiError::UnknownPath {
                        method: method.clone(),
                        path: shown,
                    },
                    t,
                )
            }
        };
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// Where a request goes: the stack, the app its path names (`None`: no `/app/{appId}`
/// prefix), and its trace id.
#[derive(Clone, Copy)]
pub(crate) struct Target<'a> {
    pub stack: &'a Stack,
    pub app_id: Option<&'a str>,
    pub trace_id: &'a str,
}

/// An answer with a status, a content type and a body.
pub(crate) fn response(status: u16, content_type: &'static str, body: String) -> Response<Body> {
    let mut response = Response::new(if body.is_empty() {
        Body::Empty
    } else {
        Body::Text(body)
    });
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

/// A plain-text answer (the feed's and some callbacks').
pub(crate) fn text(status: u16, body: String) -> Response<Body> {
    response(status, "text/plain; charset=utf-8", body)
}
