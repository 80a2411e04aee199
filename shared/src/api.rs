//! The api function's behaviour: routing, the envelope (SPEC §2.3), the merchant endpoints that
//! exist so far, and the pay-order feed. The Lambda binary only builds an [`App`] and calls
//! [`handle`].

use crate::channel::Channels;
use crate::channel::alipay::{AlipayClient, AlipayConfig};
use crate::config::{Config, ConfigError, Secrets, load_secrets};
use crate::crypto::{RsaSigner, RsaVerifier};
use crate::error::ApiError;
use crate::feed::{NoticeError, parse_pay_notice};
use crate::params::QueryPayOrderParams;
use crate::request::{MAX_FUTURE_SECS, Params, Verified, Verifier};
use crate::service::{allocation, receivers};
use crate::sign::Signer;
use crate::store::{FeedOutcome, Store, StoreError};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tracing::Instrument;

/// The route of the pay-order feed (DaxPay's signed payment notice).
pub const FEED_PATH: &str = "/feed/pay-order";
/// Alipay's application gateway (`alipay.trade.order.settle.notify`).
pub const ALIPAY_CALLBACK_PATH: &str = "/callback/alipay";
/// WeChat Pay notifications.
pub const WECHAT_CALLBACK_PATH: &str = "/callback/wechat";

/// Everything a request needs, built once per Lambda sandbox.
#[derive(Debug, Clone)]
pub struct App {
    pub verifier: Verifier,
    pub store: Store,
    pub clock: Clock,
    pub channels: Arc<Channels>,
    /// Prefix of new allocation numbers (`ALLOCATION_NO_PREFIX`).
    pub allocation_no_prefix: String,
    /// The job queue, when configured.
    pub queue: Option<crate::queue::Queue>,
    pub jobs: crate::config::JobSettings,
}

/// Where "now" comes from: the system clock, or a fixed instant in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(i64),
}

impl Clock {
    /// Epoch seconds.
    pub fn now(self) -> i64 {
        match self {
            Self::System => now_secs(),
            Self::Fixed(t) => t,
        }
    }
}

impl App {
    /// Start-up of a Lambda function: logging, then the App; a bad setting is logged (named,
    /// without secret values) and fails the init phase.
    pub async fn for_lambda() -> Result<Self, ConfigError> {
        crate::telemetry::init();
        let app = Self::from_env().await;
        if let Err(e) = &app {
            tracing::error!(error = %e, "configuration");
        }
        app
    }

    /// Reads the configuration and the secret, and builds the clients.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let secrets = load_secrets(&config.secret, &sdk).await?;
        let secret = secrets.sign_secret.clone();
        if secret.is_empty() {
            return Err(ConfigError {
                setting: "SIGN_SECRET",
                problem: "is empty".into(),
            });
        }
        if !config.require_sign {
            tracing::warn!("REQ_SIGN=false: merchant requests are accepted without a signature");
        }
        let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table_name);
        Ok(Self {
            verifier: Verifier {
                signer: Signer::new(config.sign_type, secret),
                require_sign: config.require_sign,
                req_timeout_secs: config.req_timeout_secs,
            },
            store,
            clock: Clock::System,
            channels: Arc::new(channels_from(&config, &secrets)?),
            allocation_no_prefix: config.allocation_no_prefix.clone(),
            queue: config
                .queue_url
                .as_ref()
                .map(|url| crate::queue::Queue::new(aws_sdk_sqs::Client::new(&sdk), url)),
            jobs: config.jobs.clone(),
        })
    }
}

/// How Alipay's answers are verified: its public key (public-key mode), or the key of its
/// certificate plus the SNs of certificate mode when the three certificates are given.
fn alipay_verification(
    secrets: &Secrets,
) -> Result<(RsaVerifier, Option<crate::channel::alipay_cert::CertSns>), ConfigError> {
    let certs = [
        ("ALIPAY_APP_CERT", &secrets.alipay_app_cert),
        ("ALIPAY_CERT", &secrets.alipay_cert),
        ("ALIPAY_ROOT_CERT", &secrets.alipay_root_cert),
    ];
    let (Some(app), Some(alipay), Some(root)) = (
        &secrets.alipay_app_cert,
        &secrets.alipay_cert,
        &secrets.alipay_root_cert,
    ) else {
        if let Some((given, _)) = certs.iter().find(|(_, v)| v.is_some()) {
            let (absent, _) = certs.iter().find(|(_, v)| v.is_none()).unwrap_or(&certs[0]);
            return Err(ConfigError {
                setting: absent,
                problem: format!("is required for certificate mode ({given} is set)"),
            });
        }
        let public = secrets
            .alipay_public_key
            .as_deref()
            .ok_or_else(|| ConfigError {
                setting: "ALIPAY_PUBLIC_KEY",
                problem: "is required when ALIPAY_APP_ID is set (or give the three ALIPAY_*_CERT for certificate mode)".into(),
            })?;
        let key = RsaVerifier::from_spki_base64("ALIPAY_PUBLIC_KEY", public).map_err(|e| {
            ConfigError {
                setting: "ALIPAY_PUBLIC_KEY",
                problem: e.to_string(),
            }
        })?;
        return Ok((key, None));
    };
    if secrets.alipay_public_key.is_some() {
        return Err(ConfigError {
            setting: "ALIPAY_PUBLIC_KEY",
            problem: "must not be set in certificate mode (the key comes from ALIPAY_CERT)".into(),
        });
    }
    let (sns, key) =
        crate::channel::alipay_cert::cert_mode(app, alipay, root).map_err(|e| ConfigError {
            setting: "ALIPAY_CERT",
            problem: e.to_string(),
        })?;
    Ok((key, Some(sns)))
}

/// Builds the configured channel clients; a key that cannot be read fails init, naming it.
pub fn channels_from(config: &Config, secrets: &Secrets) -> Result<Channels, ConfigError> {
    let mut channels = Channels::default();
    if let Some(a) = &config.alipay {
        let missing = |setting: &'static str| ConfigError {
            setting,
            problem: "is required when ALIPAY_APP_ID is set".into(),
        };
        let bad = |setting: &'static str, e: crate::crypto::CryptoError| ConfigError {
            setting,
            problem: e.to_string(),
        };
        let private = secrets
            .alipay_private_key
            .as_deref()
            .ok_or_else(|| missing("ALIPAY_PRIVATE_KEY"))?;
        let (alipay_key, cert) = alipay_verification(secrets)?;
        let client = AlipayClient::new(AlipayConfig {
            gateway_url: a.gateway_url.clone(),
            app_id: a.app_id.clone(),
            app_key: RsaSigner::from_pkcs8_base64("ALIPAY_PRIVATE_KEY", private)
                .map_err(|e| bad("ALIPAY_PRIVATE_KEY", e))?,
            alipay_key,
            notify_url: a.notify_url.clone(),
            timeout: std::time::Duration::from_millis(a.timeout_ms),
            cert,
        })
        .map_err(|e| ConfigError {
            setting: "ALIPAY_APP_ID",
            problem: e.to_string(),
        })?;
        channels.alipay = Some(client);
    }
    if let Some(w) = &config.wechat {
        use crate::channel::wechat::{ApiV3Key, WechatClient, WechatConfig};
        let missing = |setting: &'static str| ConfigError {
            setting,
            problem: "is required when WECHAT_MCHID is set".into(),
        };
        let bad = |setting: &'static str, problem: String| ConfigError { setting, problem };
        let private = secrets
            .wechat_private_key
            .as_deref()
            .ok_or_else(|| missing("WECHAT_PRIVATE_KEY"))?;
        let public = secrets
            .wechat_public_key
            .as_deref()
            .ok_or_else(|| missing("WECHAT_PUBLIC_KEY"))?;
        let apiv3 = secrets
            .wechat_apiv3_key
            .as_deref()
            .ok_or_else(|| missing("WECHAT_APIV3_KEY"))?;
        let client = WechatClient::new(WechatConfig {
            base_url: w.base_url.clone(),
            mchid: w.mchid.clone(),
            appid: w.appid.clone(),
            merchant_key: RsaSigner::from_pkcs8_base64("WECHAT_PRIVATE_KEY", private)
                .map_err(|e| bad("WECHAT_PRIVATE_KEY", e.to_string()))?,
            merchant_serial: w.merchant_serial.clone(),
            wechat_key: RsaVerifier::from_spki_base64("WECHAT_PUBLIC_KEY", public)
                .map_err(|e| bad("WECHAT_PUBLIC_KEY", e.to_string()))?,
            wechat_key_id: w.public_key_id.clone(),
            apiv3_key: ApiV3Key::new(apiv3).map_err(|e| bad("WECHAT_APIV3_KEY", e.into()))?,
            timeout: std::time::Duration::from_millis(w.timeout_ms),
        })
        .map_err(|e| bad("WECHAT_MCHID", e.to_string()))?;
        channels.wechat = Some(client);
    }
    Ok(channels)
}

/// Current time in epoch seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The API Gateway request id, or a generated one.
fn trace_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = ctx.request_id.as_deref().filter(|id| !id.is_empty())
    {
        return id.to_owned();
    }
    crate::crypto::random_alnum(12)
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

/// Handles one HTTP request. Never fails: every outcome is an answer.
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
        let response = match (method.as_str(), route.trim_end_matches('/')) {
            ("POST", FEED_PATH) => feed(app, body).await,
            ("POST", ALIPAY_CALLBACK_PATH) => alipay_callback(app, body).await,
            ("POST", WECHAT_CALLBACK_PATH) => wechat_callback(app, req.headers(), body).await,
            ("POST", "/unipay/query/payorder") => {
                merchant(app, body, &trace_id, query_pay_order).await
            }
            ("POST", "/unipay/allocation/start") => {
                merchant(app, body, &trace_id, allocation::start).await
            }
            ("POST", "/unipay/allocation/finish") => {
                merchant(app, body, &trace_id, allocation::finish).await
            }
            ("POST", "/unipay/sync/allocation") => {
                merchant(app, body, &trace_id, allocation::sync).await
            }
            ("POST", "/unipay/query/allocationorder") => {
                merchant(app, body, &trace_id, allocation::query).await
            }
            ("POST", "/unipay/query/allocationnotice") => {
                merchant(app, body, &trace_id, allocation::query_notices).await
            }
            ("POST", "/unipay/allocation/notice/resend") => {
                merchant(app, body, &trace_id, allocation::resend_notice).await
            }
            ("POST", "/unipay/allocation/receiver/add") => {
                merchant(app, body, &trace_id, receivers::add).await
            }
            ("POST", "/unipay/allocation/receiver/remove") => {
                merchant(app, body, &trace_id, receivers::remove).await
            }
            ("POST", "/unipay/query/allocationreceiver") => {
                merchant(app, body, &trace_id, receivers::query_receivers).await
            }
            ("POST", "/unipay/allocation/group/create") => {
                merchant(app, body, &trace_id, receivers::group_create).await
            }
            ("POST", "/unipay/allocation/group/update") => {
                merchant(app, body, &trace_id, receivers::group_update).await
            }
            ("POST", "/unipay/allocation/group/delete") => {
                merchant(app, body, &trace_id, receivers::group_delete).await
            }
            ("POST", "/unipay/allocation/group/bind") => {
                merchant(app, body, &trace_id, receivers::group_bind).await
            }
            ("POST", "/unipay/allocation/group/unbind") => {
                merchant(app, body, &trace_id, receivers::group_unbind).await
            }
            ("POST", "/unipay/allocation/group/setdefault") => {
                merchant(app, body, &trace_id, receivers::group_set_default).await
            }
            ("POST", "/unipay/allocation/group/cleardefault") => {
                merchant(app, body, &trace_id, receivers::group_clear_default).await
            }
            ("POST", "/unipay/allocation/group/query") => {
                merchant(app, body, &trace_id, receivers::group_query).await
            }
            _ => {
                let mut shown = path.clone();
                shown.truncate(200);
                error_envelope(
                    &ApiError::UnknownPath {
                        method: method.clone(),
                        path: shown,
                    },
                    &trace_id,
                )
            }
        };
        tracing::info!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}

/// What a merchant endpoint's business logic decided.
pub enum Outcome {
    /// Accepted: the result fields of `data` (`code`, `resTime` and `sign` are added).
    Ok(Map<String, Value>),
    /// A business refusal after verification: `data.code = 1` with this message, signed.
    Refused(String),
}

/// Verifies a merchant request (parse, validate, sign, reqTime, nonce replay), runs `logic`
/// on it and wraps the outcome in the signed envelope.
async fn merchant<T, F, Fut>(app: &App, body: &[u8], trace_id: &str, logic: F) -> Response<Body>
where
    T: Params,
    F: FnOnce(App, Verified<T>) -> Fut,
    Fut: std::future::Future<Output = Result<Outcome, ApiError>>,
{
    let now = app.clock.now();
    let verified = match verify(app, body, now).await {
        Ok(v) => v,
        Err(e) => return error_envelope(&e, trace_id),
    };
    match logic(app.clone(), verified).await {
        Ok(Outcome::Ok(data)) => success_envelope(app, data, 0, trace_id),
        Ok(Outcome::Refused(msg)) => {
            tracing::info!(reason = %msg, "refused");
            let mut data = Map::new();
            data.insert("msg".into(), Value::String(msg));
            success_envelope(app, data, 1, trace_id)
        }
        Err(e) => error_envelope(&e, trace_id),
    }
}

/// The verification every merchant endpoint shares. Writes nothing unless the request passed
/// every other check (the nonce claim is the last step).
pub async fn verify<T: Params>(app: &App, body: &[u8], now: i64) -> Result<Verified<T>, ApiError> {
    let verified: Verified<T> = app.verifier.verify(body, now)?;
    if let Some(nonce) = verified
        .common
        .nonce_str
        .as_deref()
        .filter(|n| !n.is_empty())
    {
        let expires_at = verified.common.req_time + app.verifier.req_timeout_secs + MAX_FUTURE_SECS;
        let fresh = app
            .store
            .claim_nonce(nonce, verified.common.req_time, expires_at)
            .await
            .map_err(store_error)?;
        if !fresh {
            return Err(ApiError::invalid(
                "nonceStr",
                "重复请求 (this nonceStr was already used with this reqTime)",
            ));
        }
    }
    Ok(verified)
}

fn json_response(value: &Value) -> Response<Body> {
    let mut response = Response::new(Body::Text(value.to_string()));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    response
}

fn success_envelope(
    app: &App,
    mut data: Map<String, Value>,
    code: i32,
    trace_id: &str,
) -> Response<Body> {
    data.insert("code".into(), json!(code));
    data.insert("resTime".into(), json!(app.clock.now()));
    app.verifier.signer.sign_in_place(&mut data);
    json_response(&json!({"code": 0, "msg": "success", "data": data, "traceId": trace_id}))
}

fn error_envelope(e: &ApiError, trace_id: &str) -> Response<Body> {
    match e {
        ApiError::System(cause) => tracing::error!(cause = %cause, "system error"),
        other => tracing::info!(code = other.code(), error = %other, "request not verified"),
    }
    json_response(
        &json!({"code": e.code(), "msg": e.to_string(), "data": Value::Null, "traceId": trace_id}),
    )
}

pub(crate) fn store_error(e: StoreError) -> ApiError {
    ApiError::System(e.to_string())
}

/// `POST /unipay/query/payOrder`: the pay order as the feed stored it.
async fn query_pay_order(
    app: App,
    req: Verified<QueryPayOrderParams>,
) -> Result<Outcome, ApiError> {
    let found = match req.params.order_no.as_deref().filter(|s| !s.is_empty()) {
        Some(order_no) => app.store.pay_order(order_no).await,
        None => match req.params.biz_order_no.as_deref() {
            Some(biz) => app.store.pay_order_by_biz(biz).await,
            None => Ok(None),
        },
    }
    .map_err(store_error)?;
    Ok(match found {
        Some((order, _)) => Outcome::Ok(crate::daxpay::views::data(
            &crate::daxpay::views::PayOrderView::from(&order),
            req.common.spelling,
        )),
        None => Outcome::Refused("支付订单不存在".into()),
    })
}

fn text_response(status: u16, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `POST /feed/pay-order`: answers `SUCCESS` once the notice is stored (or was already);
/// anything else makes the sender retry.
async fn feed(app: &App, body: &[u8]) -> Response<Body> {
    let order = match parse_pay_notice(body, &app.verifier.signer, app.verifier.require_sign) {
        Ok(order) => order,
        Err(e) => {
            tracing::warn!(error = %e, "pay notice refused");
            let status = if e == NoticeError::BadSignature {
                401
            } else {
                400
            };
            return text_response(status, format!("FAIL: {e}"));
        }
    };
    let span = tracing::info_span!("pay_notice", orderNo = %order.order_no, bizOrderNo = %order.biz_order_no);
    async {
        match app
            .store
            .apply_pay_notice(&order, app.clock.now(), app.jobs.auto_allocation_delay_secs)
            .await
        {
            Ok(outcome) => {
                let outcome = match outcome {
                    FeedOutcome::Created => "created",
                    FeedOutcome::Updated => "updated",
                    FeedOutcome::Unchanged => "unchanged",
                };
                tracing::info!(outcome, status = %order.status, "pay notice applied");
                text_response(200, "SUCCESS".into())
            }
            Err(StoreError::Conflict(why)) => {
                tracing::warn!(reason = %why, "pay notice conflicts with the stored order");
                text_response(409, format!("FAIL: {why}"))
            }
            Err(e) => {
                tracing::error!(cause = %e, "pay notice not stored");
                text_response(500, "FAIL: system error".into())
            }
        }
    }
    .instrument(span)
    .await
}

/// Queues a verified notification; only then may the channel be told it arrived.
async fn enqueue_callback(app: &App, job: &crate::jobs::Job) -> Result<(), String> {
    let queue = app.queue.as_ref().ok_or("no job queue configured")?;
    queue.send(job, 0).await.map_err(|e| e.to_string())
}

/// `POST /callback/alipay`: answers `success` only for a verified notification of our app that
/// was queued; anything else gets `fail` (and Alipay tries again later).
async fn alipay_callback(app: &App, body: &[u8]) -> Response<Body> {
    let Some(client) = app.channels.alipay.as_ref() else {
        tracing::warn!("Alipay notification, but Alipay is not configured");
        return text_response(200, "fail".into());
    };
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let now = app.clock.now();
    if let Err(why) = crate::channel::alipay::verify_notification(
        &pairs,
        client.alipay_key(),
        client.app_id(),
        now,
    ) {
        tracing::warn!(reason = %why, "Alipay notification refused");
        return text_response(200, "fail".into());
    }
    let job = crate::jobs::Job::ChannelCallback {
        channel: crate::model::Channel::AliPay,
        body: String::from_utf8_lossy(body).into_owned(),
        headers: Vec::new(),
        received_at: now,
    };
    match enqueue_callback(app, &job).await {
        Ok(()) => {
            tracing::info!("Alipay notification queued");
            text_response(200, "success".into())
        }
        Err(e) => {
            tracing::error!(cause = %e, "Alipay notification not queued");
            text_response(200, "fail".into())
        }
    }
}

/// `POST /callback/wechat`: 204 once a verified, decryptable notification is queued; a JSON
/// failure (4xx/5xx) otherwise, so WeChat Pay retries.
async fn wechat_callback(app: &App, headers: &http::HeaderMap, body: &[u8]) -> Response<Body> {
    let fail = |status: u16, message: &str| {
        let mut r = json_response(&json!({"code": "FAIL", "message": message}));
        *r.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
        r
    };
    let Some(client) = app.channels.wechat.as_ref() else {
        return fail(404, "WeChat Pay is not configured");
    };
    let c = client.config();
    let sig = crate::channel::wechat::SignatureHeaders::from_headers(headers);
    let now = app.clock.now();
    if let Err(why) = crate::channel::wechat::open_notification(
        &sig,
        body,
        &c.wechat_key,
        &c.wechat_key_id,
        &c.apiv3_key,
        now,
    ) {
        tracing::warn!(reason = %why, "WeChat Pay notification refused");
        return fail(401, "verification failed");
    }
    let kept = [
        "wechatpay-timestamp",
        "wechatpay-nonce",
        "wechatpay-signature",
        "wechatpay-serial",
    ];
    let job = crate::jobs::Job::ChannelCallback {
        channel: crate::model::Channel::WechatPay,
        body: String::from_utf8_lossy(body).into_owned(),
        headers: kept
            .iter()
            .filter_map(|k| Some(((*k).to_owned(), headers.get(*k)?.to_str().ok()?.to_owned())))
            .collect(),
        received_at: now,
    };
    match enqueue_callback(app, &job).await {
        Ok(()) => {
            let mut r = Response::new(Body::Empty);
            *r.status_mut() = http::StatusCode::NO_CONTENT;
            r
        }
        Err(e) => {
            tracing::error!(cause = %e, "WeChat Pay notification not queued");
            fail(500, "not queued")
        }
    }
}
