//! The api function's adapter (SPEC §2): API Gateway requests in, answers out. The route
//! table names every endpoint once; paths match case-insensitively. A handler never fails:
//! every outcome is an answer.

mod callbacks;
mod feed;
mod merchant;

use crate::app::App;
use crate::daxpay::ApiError;
use crate::service::{groups, notices, ops, orders, pay_orders, receivers, returns, start};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use merchant::merchant;
use tracing::Instrument;

/// The route of the pay-order feed (DaxPay's signed payment notice).
pub const FEED_PATH: &str = "/feed/pay-order";
/// The route of the refund feed (DaxPay's signed refund notice).
pub const REFUND_FEED_PATH: &str = "/feed/refund";
/// Channel notifications arrive at `/callback/<channel>` (`alipay`, `wechat`).
pub const CALLBACK_PREFIX: &str = "/callback/";

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
        let route = path.to_ascii_lowercase();
        let t = trace_id.as_str();
        let response = match (method.as_str(), route.trim_end_matches('/')) {
            ("POST", FEED_PATH) => feed::pay_order(app, body).await,
            ("POST", REFUND_FEED_PATH) => feed::refund(app, body).await,
            ("POST", p) if p.starts_with(CALLBACK_PREFIX) => {
                callbacks::take(app, &p[CALLBACK_PREFIX.len()..], req.headers(), body).await
            }
            ("POST", "/unipay/allocation/start") => merchant(app, body, t, start::start).await,
            ("POST", "/unipay/allocation/finish") => merchant(app, body, t, orders::finish).await,
            ("POST", "/unipay/sync/allocation") => merchant(app, body, t, orders::sync).await,
            ("POST", "/unipay/query/allocationorder") => {
                merchant(app, body, t, orders::query).await
            }
            ("POST", "/unipay/query/allocationnotice") => {
                merchant(app, body, t, notices::query_notices).await
            }
            ("POST", "/unipay/allocation/notice/resend") => {
                merchant(app, body, t, notices::resend_notice).await
            }
            ("POST", "/unipay/query/payorder") => merchant(app, body, t, pay_orders::query).await,
            ("POST", "/unipay/query/flaggedallocations") => {
                merchant(app, body, t, ops::flagged).await
            }
            ("POST", "/unipay/sync/allocations") => merchant(app, body, t, ops::sync_many).await,
            ("POST", "/unipay/allocation/return") => merchant(app, body, t, returns::create).await,
            ("POST", "/unipay/query/allocationreturn") => {
                merchant(app, body, t, returns::query).await
            }
            ("POST", "/unipay/query/allocatable") => {
                merchant(app, body, t, pay_orders::allocatable).await
            }
            ("POST", "/unipay/allocation/receiver/add") => {
                merchant(app, body, t, receivers::add).await
            }
            ("POST", "/unipay/allocation/receiver/remove") => {
                merchant(app, body, t, receivers::remove).await
            }
            ("POST", "/unipay/query/allocationreceiver") => {
                merchant(app, body, t, receivers::query).await
            }
            ("POST", "/unipay/allocation/group/create") => {
                merchant(app, body, t, groups::create).await
            }
            ("POST", "/unipay/allocation/group/update") => {
                merchant(app, body, t, groups::update).await
            }
            ("POST", "/unipay/allocation/group/delete") => {
                merchant(app, body, t, groups::delete).await
            }
            ("POST", "/unipay/allocation/group/bind") => merchant(app, body, t, groups::bind).await,
            ("POST", "/unipay/allocation/group/unbind") => {
                merchant(app, body, t, groups::unbind).await
            }
            ("POST", "/unipay/allocation/group/setdefault") => {
                merchant(app, body, t, groups::set_default).await
            }
            ("POST", "/unipay/allocation/group/cleardefault") => {
                merchant(app, body, t, groups::clear_default).await
            }
            ("POST", "/unipay/allocation/group/query") => {
                merchant(app, body, t, groups::query).await
            }
            _ => {
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
