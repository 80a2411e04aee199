//! `/admin/...` (SPEC §8.4): the administration routes. API Gateway lets through only callers
//! AWS IAM allowed (`AWS_IAM` authorization, SigV4), and names the caller's principal in the
//! request context; a request that reaches this function without one is refused here too, so a
//! template that lost its authorizer does not open the door. JSON in, JSON out; no secret is
//! ever in an answer except a sign secret just made, shown once.

use super::response;
use crate::app::Stack;
use crate::domain::TenantStatus;
use crate::infra::app_settings::effective_view;
use crate::service::admin::{self, AdminError, Caller, DEFAULT_GRACE_SECS, NewApp};
use crate::service::admin_providers as providers;
use crate::store::apps::AppRecord;
use crate::store::providers::ProviderRecord;
use crate::store::tenants::{AuditRecord, Merchant};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::{Map, Value, json};

/// The path prefix of every admin route.
pub const ADMIN_PREFIX: &str = "/admin/";

/// The IAM principal API Gateway verified, if any.
fn principal(req: &Request) -> Option<String> {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()?
            .iam
            .as_ref()?
            .user_arn
            .clone()
            .filter(|arn| !arn.is_empty()),
        _ => None,
    }
}

fn answer(status: u16, body: &Value) -> Response<Body> {
    response(status, "application/json; charset=utf-8", body.to_string())
}

fn failed(e: &AdminError) -> Response<Body> {
    let (status, code) = match e {
        AdminError::Invalid { .. } => (400, "invalid"),
        AdminError::NotFound(_) => (404, "not_found"),
        AdminError::Conflict(_) => (409, "conflict"),
        AdminError::Unavailable(_) => (501, "unavailable"),
        AdminError::System(cause) => {
            tracing::error!(cause = %cause, "admin call failed");
            (500, "system")
        }
    };
    answer(status, &json!({"code": code, "message": e.to_string()}))
}

fn merchant_view(m: &Merchant) -> Value {
    json!({"mchNo": m.mch_no.as_str(), "name": m.name, "status": m.status.code(),
        "createdAt": m.created_at, "updatedAt": m.updated_at})
}

fn app_view(stack: &Stack, a: &AppRecord) -> Value {
    let settings = stack.tenants().and_then(|t| {
        let env = &t.env;
        a.settings.effective(&|k| env.get(k).cloned()).ok()
    });
    let mut channels = Map::new();
    if let Some(alipay) = &a.alipay {
        let mode = if alipay.provider.is_some() {
            "provider"
        } else {
            "direct"
        };
        let mut v = json!({"mode": mode});
        if let (Value::Object(m), Ok(Value::Object(s))) = (&mut v, serde_json::to_value(alipay)) {
            m.extend(s);
        }
        channels.insert("ali_pay".into(), v);
    }
    if let Some(wechat) = &a.wechat {
        let mode = if wechat.provider.is_some() {
            "provider"
        } else {
            "direct"
        };
        let mut v = json!({"mode": mode});
        if let (Value::Object(m), Ok(Value::Object(s))) = (&mut v, serde_json::to_value(wechat)) {
            m.extend(s);
        }
        channels.insert("wechat_pay".into(), v);
    }
    json!({
        "appId": a.app_id.as_str(),
        "mchNo": a.mch_no.as_str(),
        "name": a.name,
        "status": a.status.code(),
        "merchantStatus": a.mch_status.code(),
        "secretRotatedAt": a.secret_rotated_at,
        "previousSecretValidUntil": a.previous_until,
        "settings": settings.as_ref().map(effective_view),
        "overrides": a.settings.overrides(),
        "channels": channels,
        "createdAt": a.created_at,
        "updatedAt": a.updated_at,
    })
}

fn provider_view(p: &ProviderRecord) -> Value {
    let mut channels = Map::new();
    if let Some(alipay) = &p.alipay {
        channels.insert("ali_pay".into(), json!(alipay));
    }
    if let Some(wechat) = &p.wechat {
        channels.insert("wechat_pay".into(), json!(wechat));
    }
    json!({"providerId": p.provider_id, "name": p.name, "channels": channels,
        "createdAt": p.created_at, "updatedAt": p.updated_at})
}

fn audit_view(r: &AuditRecord) -> Value {
    json!({"at": r.at, "principal": r.principal, "action": r.action, "target": r.target,
        "detail": serde_json::from_str::<Value>(&r.detail).unwrap_or(Value::Null)})
}

/// The JSON object of a body (an empty body is an empty object).
fn object(body: &[u8]) -> Result<Map<String, Value>, AdminError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(admin::invalid("body", "must be a JSON object")),
        Err(e) => Err(admin::invalid("body", format!("is not JSON: {e}"))),
    }
}

fn text<'b>(body: &'b Map<String, Value>, field: &str) -> Result<Option<&'b str>, AdminError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(admin::invalid(field, "must be a string")),
    }
}

fn only(body: &Map<String, Value>, known: &[&str]) -> Result<(), AdminError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(admin::invalid(k, "is not a known field")),
        None => Ok(()),
    }
}

fn limit(req: &Request) -> Result<i32, AdminError> {
    match req
        .query_string_parameters_ref()
        .and_then(|q| q.first("limit"))
    {
        None => Ok(50),
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| admin::invalid("limit", "must be a whole number from 1 to 100")),
    }
}

fn query<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .filter(|v| !v.is_empty())
}

/// Handles a request whose path starts with [`ADMIN_PREFIX`].
pub async fn handle(stack: &Stack, req: &Request, method: &str, path: &str) -> Response<Body> {
    let Some(principal) = principal(req) else {
        tracing::warn!("admin call without an IAM principal refused");
        return answer(403, &json!({"message": "Forbidden"}));
    };
    let caller = Caller {
        principal,
        now: stack.default_app().clock.now(),
    };
    let rest = path.get(ADMIN_PREFIX.len()..).unwrap_or_default();
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let result = route(stack, req, &caller, method, &segments).await;
    match result {
        Ok(Some((status, body))) => {
            tracing::info!(principal = %caller.principal, method, path, "admin call");
            answer(status, &body)
        }
        Ok(None) => answer(
            404,
            &json!({"code": "not_found", "message": format!("no admin route {method} {path}")}),
        ),
        Err(e) => failed(&e),
    }
}

type Routed = Result<Option<(u16, Value)>, AdminError>;

async fn route(
    stack: &Stack,
    req: &Request,
    caller: &Caller,
    method: &str,
    seg: &[&str],
) -> Routed {
    let body = || object(req.body().as_ref());
    let app = |a: &AppRecord| app_view(stack, a);
    let ok = |v: Value| Ok(Some((200, v)));
    match (method, seg) {
        ("POST", ["merchants"]) => {
            let b = body()?;
            only(&b, &["mchNo", "name"])?;
            let mch = text(&b, "mchNo")?.ok_or_else(|| admin::invalid("mchNo", "is required"))?;
            let m = admin::create_merchant(stack, caller, mch, text(&b, "name")?).await?;
            ok(json!({"merchant": merchant_view(&m)}))
        }
        ("GET", ["merchants"]) => {
            let (list, next) = admin::merchants(stack, limit(req)?, query(req, "cursor")).await?;
            ok(
                json!({"merchants": list.iter().map(merchant_view).collect::<Vec<_>>(), "next": next}),
            )
        }
        ("GET", ["merchants", mch]) => {
            ok(json!({"merchant": merchant_view(&admin::merchant(stack, mch).await?)}))
        }
        ("POST", ["merchants", mch, action @ ("enable" | "disable")]) => {
            let status = status_of(action);
            let m = admin::set_merchant_status(stack, caller, mch, status).await?;
            ok(json!({"merchant": merchant_view(&m)}))
        }
        ("GET", ["merchants", mch, "apps"]) => {
            let apps = admin::merchant_apps(stack, mch).await?;
            ok(json!({"apps": apps.iter().map(app).collect::<Vec<_>>()}))
        }
        ("POST", ["apps"]) => {
            let b = body()?;
            only(&b, &["mchNo", "appId", "name", "signType", "settings"])?;
            let mut settings = match b.get("settings") {
                None | Some(Value::Null) => Map::new(),
                Some(Value::Object(s)) => s.clone(),
                Some(_) => return Err(admin::invalid("settings", "must be an object")),
            };
            if let Some(t) = text(&b, "signType")? {
                settings.insert("signType".into(), Value::from(t));
            }
            let new = NewApp {
                mch_no: text(&b, "mchNo")?.ok_or_else(|| admin::invalid("mchNo", "is required"))?,
                app_id: text(&b, "appId")?,
                name: text(&b, "name")?,
                settings: Some(&settings),
            };
            let (a, secret) = admin::create_app(stack, caller, &new).await?;
            ok(json!({"app": app(&a), "signSecret": secret}))
        }
        ("GET", ["apps", id]) => ok(json!({"app": app(&admin::app(stack, id).await?)})),
        ("POST", ["apps", id, action @ ("enable" | "disable")]) => {
            let a = admin::set_app_status(stack, caller, id, status_of(action)).await?;
            ok(json!({"app": app(&a)}))
        }
        ("POST", ["apps", id, "rotate-secret"]) => {
            let b = body()?;
            only(&b, &["graceSecs"])?;
            let grace = match b.get("graceSecs") {
                None | Some(Value::Null) => DEFAULT_GRACE_SECS,
                Some(v) => v
                    .as_i64()
                    .ok_or_else(|| admin::invalid("graceSecs", "must be whole seconds"))?,
            };
            let (a, secret) = admin::rotate_secret(stack, caller, id, grace).await?;
            ok(json!({"app": app(&a), "signSecret": secret}))
        }
        ("POST", ["apps", id, "settings"]) => {
            let b = body()?;
            only(&b, &["settings"])?;
            let Some(Value::Object(patch)) = b.get("settings") else {
                return Err(admin::invalid("settings", "is required (an object)"));
            };
            let a = admin::change_settings(stack, caller, id, patch).await?;
            ok(json!({"app": app(&a)}))
        }
        ("POST", ["apps", id, "reconcile"]) => {
            let b = body()?;
            only(&b, &["channel", "day"])?;
            let (channel, day) = (text(&b, "channel")?, text(&b, "day")?);
            let queued = admin::rerun_reconcile(stack, caller, id, channel, day).await?;
            Ok(Some((202, queued)))
        }
        ("PUT", ["apps", id, "channels", channel]) => {
            let b = body()?;
            let a = admin::set_channel(stack, caller, id, channel, Some(&b)).await?;
            ok(json!({"app": app(&a)}))
        }
        ("DELETE", ["apps", id, "channels", channel]) => {
            let a = admin::set_channel(stack, caller, id, channel, None).await?;
            ok(json!({"app": app(&a)}))
        }
        ("POST", ["providers"]) => {
            let b = body()?;
            only(&b, &["providerId", "name"])?;
            let id = text(&b, "providerId")?
                .ok_or_else(|| admin::invalid("providerId", "is required"))?;
            let p = providers::create_provider(stack, caller, id, text(&b, "name")?).await?;
            ok(json!({"provider": provider_view(&p)}))
        }
        ("GET", ["providers", id]) => {
            ok(json!({"provider": provider_view(&providers::provider(stack, id).await?)}))
        }
        ("PUT", ["providers", id, "channels", channel]) => {
            let b = body()?;
            let p = providers::set_provider_channel(stack, caller, id, channel, Some(&b)).await?;
            ok(json!({"provider": provider_view(&p)}))
        }
        ("DELETE", ["providers", id, "channels", channel]) => {
            let p = providers::set_provider_channel(stack, caller, id, channel, None).await?;
            ok(json!({"provider": provider_view(&p)}))
        }
        ("GET", ["audit"]) => {
            let (records, next) = admin::audit(
                stack,
                query(req, "target"),
                limit(req)?,
                query(req, "cursor"),
            )
            .await?;
            ok(json!({"records": records.iter().map(audit_view).collect::<Vec<_>>(), "next": next}))
        }
        _ => Ok(None),
    }
}

fn status_of(action: &str) -> TenantStatus {
    if action == "enable" {
        TenantStatus::Enabled
    } else {
        TenantStatus::Disabled
    }
}
