//! The api function's adapter (SPEC §2): API Gateway requests in, answers out. The route
//! table names every endpoint once; paths match case-insensitively. A handler never fails:
//! every outcome is an answer.

mod callbacks;
mod feed;
mod merchant;
mod routes;

use crate::app::App;
use crate::daxpay::ApiError;
use crate::service::{groups, notices, ops, orders, pay_orders, receivers, returns, start};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use merchant::merchant;
use tracing::Instrument;

use routes::{Endpoint, route};

/// The OpenAPI 3.1 document of every route, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

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

/// Handles one HTTP request.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let trace_id = trace_id(&req);
    let path = request_path(&req);
    let method = req.method().as_str().to_owned();
    let span = tracing::info_span!(
        "request",
        traceId = %trace_id,
        method = %method,
        path = %path,
        allocationNo = tracing::field::Empty,
        bizAllocationNo = tracing::field::Empty
    );
    async move {
        let body = req.body().as_ref();
        let t = trace_id.as_str();
        let response = match route(&method, &path) {
            Some(Endpoint::OpenApi) => response(200, "application/json", OPENAPI.to_owned()),
            Some(Endpoint::PayOrderFeed) => feed::pay_order(app, body).await,
            Some(Endpoint::RefundFeed) => feed::refund(app, body).await,
            Some(Endpoint::Callback(name)) => callbacks::take(app, name, req.headers(), body).await,
            Some(Endpoint::Start) => merchant(app, body, t, start::start).await,
            Some(Endpoint::Finish) => merchant(app, body, t, orders::finish).await,
            Some(Endpoint::Sync) => merchant(app, body, t, orders::sync).await,
            Some(Endpoint::SyncMany) => merchant(app, body, t, ops::sync_many).await,
            Some(Endpoint::QueryOrder) => merchant(app, body, t, orders::query).await,
            Some(Endpoint::QueryNotices) => merchant(app, body, t, notices::query_notices).await,
            Some(Endpoint::ResendNotice) => merchant(app, body, t, notices::resend_notice).await,
            Some(Endpoint::QueryPayOrder) => merchant(app, body, t, pay_orders::query).await,
            Some(Endpoint::Flagged) => merchant(app, body, t, ops::flagged).await,
            Some(Endpoint::OrdersByDay) => merchant(app, body, t, ops::by_day).await,
            Some(Endpoint::Return) => merchant(app, body, t, returns::create).await,
            Some(Endpoint::QueryReturn) => merchant(app, body, t, returns::query).await,
            Some(Endpoint::Allocatable) => merchant(app, body, t, pay_orders::allocatable).await,
            Some(Endpoint::ReceiverAdd) => merchant(app, body, t, receivers::add).await,
            Some(Endpoint::ReceiverRemove) => merchant(app, body, t, receivers::remove).await,
            Some(Endpoint::QueryReceivers) => merchant(app, body, t, receivers::query).await,
            Some(Endpoint::GroupCreate) => merchant(app, body, t, groups::create).await,
            Some(Endpoint::GroupUpdate) => merchant(app, body, t, groups::update).await,
            Some(Endpoint::GroupDelete) => merchant(app, body, t, groups::delete).await,
            Some(Endpoint::GroupBind) => merchant(app, body, t, groups::bind).await,
            Some(Endpoint::GroupUnbind) => merchant(app, body, t, groups::unbind).await,
            Some(Endpoint::GroupSetDefault) => merchant(app, body, t, groups::set_default).await,
            Some(Endpoint::GroupClearDefault) => {
                merchant(app, body, t, groups::clear_default).await
            }
            Some(Endpoint::GroupQuery) => merchant(app, body, t, groups::query).await,
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
