//! Administration (SPEC §8.4): merchants, apps, their settings, secrets and channel accounts.
//! Every change is checked whole before anything is written, written with its audit record
//! (who, what, on what, when), and made visible to this sandbox at once; other sandboxes see
//! it within their cache time. Sign secrets are made here and shown once; no secret is ever
//! read back out.

pub use super::admin_apps::{
    NewApp, app, change_settings, create_app, rotate_secret, set_app_status, set_channel,
};
use crate::app::{Stack, TenantError, Tenants};
use crate::domain::{AppId, BillDay, Channel, MchNo, TenantStatus};
use crate::infra::job::Job;
use crate::store::StoreError;
use crate::store::apps::AppRecord;
use crate::store::tenants::{AuditRecord, Merchant};
use serde_json::{Value, json};

/// Why an administrative call did nothing.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field breaks a rule (`field: rule`).
    #[error("{field}: {rule}")]
    Invalid { field: String, rule: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The stack cannot do it (no KMS key: a single-merchant stack).
    #[error("{0}")]
    Unavailable(String),
    /// Storage or KMS failed; the cause is logged, never shown.
    #[error("system error")]
    System(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::System(e.to_string())
    }
}

pub(crate) fn invalid(field: &str, rule: impl Into<String>) -> AdminError {
    AdminError::Invalid {
        field: field.to_owned(),
        rule: rule.into(),
    }
}

/// Who asks, and when.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The IAM principal's ARN, as API Gateway passed it.
    pub principal: String,
    pub now: i64,
}

impl Caller {
    pub(super) fn audit(&self, action: &str, target: String, detail: Value) -> AuditRecord {
        AuditRecord {
            at: self.now,
            principal: self.principal.clone(),
            action: action.to_owned(),
            target,
            detail: detail.to_string(),
        }
    }
}

/// How many times a change that lost a race to another is tried again.
pub(super) const RACES: usize = 4;
/// How long a rotated-out secret still verifies unless told otherwise: one day.
pub const DEFAULT_GRACE_SECS: i64 = 86_400;
/// The longest grace: a week.
pub const MAX_GRACE_SECS: i64 = 7 * 86_400;

pub(super) fn tenants(stack: &Stack) -> Result<&Tenants, AdminError> {
    stack.tenants().ok_or_else(|| {
        AdminError::Unavailable(
            "this stack has no KMS key (KMS_KEY_ID): it serves its default app only".into(),
        )
    })
}

pub(super) fn mch_no(text: &str) -> Result<MchNo, AdminError> {
    MchNo::parse(text).map_err(|e| invalid("mchNo", e.to_string()))
}

pub(super) fn app_id(text: &str) -> Result<AppId, AdminError> {
    AppId::parse(text).map_err(|e| invalid("appId", e.to_string()))
}

pub(super) fn name(text: Option<&str>, field: &str) -> Result<String, AdminError> {
    let text = text.unwrap_or_default().trim();
    if text.chars().count() > 100 {
        return Err(invalid(field, "must be at most 100 characters"));
    }
    Ok(text.to_owned())
}

pub async fn create_merchant(
    stack: &Stack,
    caller: &Caller,
    mch: &str,
    display_name: Option<&str>,
) -> Result<Merchant, AdminError> {
    let t = tenants(stack)?;
    let merchant = Merchant {
        mch_no: mch_no(mch)?,
        name: name(display_name, "name")?,
        status: TenantStatus::Enabled,
        created_at: caller.now,
        updated_at: caller.now,
    };
    let audit = caller.audit(
        "merchant.create",
        format!("merchant:{mch}"),
        json!({"name": merchant.name}),
    );
    if !t.registry.create_merchant(&merchant, &audit).await? {
        return Err(AdminError::Conflict(format!("merchant {mch} exists")));
    }
    Ok(merchant)
}

pub async fn merchant(stack: &Stack, mch: &str) -> Result<Merchant, AdminError> {
    let t = tenants(stack)?;
    t.registry
        .merchant(mch_no(mch)?.as_str())
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no merchant {mch}")))
}

pub async fn merchants(
    stack: &Stack,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<Merchant>, Option<String>), AdminError> {
    let t = tenants(stack)?;
    if let Some(c) = cursor {
        mch_no(c).map_err(|_| invalid("cursor", "is not a cursor this list gave"))?;
    }
    Ok(t.registry.merchants_page(limit, cursor).await?)
}

pub async fn set_merchant_status(
    stack: &Stack,
    caller: &Caller,
    mch: &str,
    status: TenantStatus,
) -> Result<Merchant, AdminError> {
    let t = tenants(stack)?;
    let mch_no = mch_no(mch)?;
    let audit = caller.audit(
        &format!(
            "merchant.{}",
            if status == TenantStatus::Enabled {
                "enable"
            } else {
                "disable"
            }
        ),
        format!("merchant:{mch}"),
        json!({"status": status.code()}),
    );
    let merchant = t
        .registry
        .set_merchant_status(mch_no.as_str(), status, caller.now, &audit)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no merchant {mch}")))?;
    for app in t.registry.merchant_app_ids(mch_no.as_str()).await? {
        t.forget(&app);
    }
    Ok(merchant)
}

pub async fn merchant_apps(stack: &Stack, mch: &str) -> Result<Vec<AppRecord>, AdminError> {
    let t = tenants(stack)?;
    merchant(stack, mch).await?;
    let mut apps = Vec::new();
    for id in t.registry.merchant_app_ids(mch).await? {
        apps.extend(t.registry.app_record(&id).await?);
    }
    Ok(apps)
}

pub async fn audit(
    stack: &Stack,
    target: Option<&str>,
    limit: i32,
    cursor: Option<&str>,
) -> Result<(Vec<AuditRecord>, Option<String>), AdminError> {
    let t = tenants(stack)?;
    if let Some(target) = target {
        let ok = match target.split_once(':') {
            Some(("merchant", m)) => MchNo::parse(m).is_ok(),
            Some(("app" | "provider", a)) => AppId::parse(a).is_ok(),
            _ => false,
        };
        if !ok {
            return Err(invalid(
                "target",
                "must be merchant:<mchNo>, app:<appId> or provider:<providerId>",
            ));
        }
    }
    if let Some(c) = cursor
        && (c.len() > 40 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#'))
    {
        return Err(invalid("cursor", "is not a cursor this list gave"));
    }
    Ok(t.registry.audit_page(target, limit, cursor).await?)
}

/// Queues a re-run of `day`'s reconciliation of app `id`'s account at `channel` (SPEC §4.13):
/// the worker fetches that day's bill again and keeps the new run in place of the day's
/// statement. Refused, with nothing written or queued, for a channel that is not `ali_pay` or
/// `wechat_pay` or at which the app has no account, a day the channels do not serve (today or
/// later, older than 3 months), an unknown app. The default app is named by its id, on any
/// stack; another app's re-run is audited in the transaction that moves its record's version
/// (the default app has no record in the registry: its re-run is logged only). Answers what
/// was queued.
pub async fn rerun_reconcile(
    stack: &Stack,
    caller: &Caller,
    id: &str,
    channel: Option<&str>,
    day: Option<&str>,
) -> Result<Value, AdminError> {
    let channel = channel
        .and_then(Channel::from_code)
        .filter(|c| c.supports_sharing())
        .ok_or_else(|| invalid("channel", "must be ali_pay or wechat_pay"))?;
    let day = day
        .ok_or_else(|| invalid("day", "is required"))
        .and_then(|d| {
            BillDay::parse(d).ok_or_else(|| invalid("day", "must be a day written yyyy-MM-dd"))
        })?;
    day.fetchable(caller.now)
        .map_err(|rule| invalid("day", rule))?;
    app_id(id)?;
    let app = match stack.app(Some(id)).await {
        Ok(app) => app,
        Err(TenantError::Disabled(app)) => *app,
        Err(TenantError::Unknown) => return Err(AdminError::NotFound(format!("no app {id}"))),
        Err(TenantError::System(cause)) => return Err(AdminError::System(cause)),
    };
    if !app.channels.is_configured(channel) {
        return Err(invalid(
            "channel",
            format!("app {id} has no {channel} account"),
        ));
    }
    let (Some(queue), Some(_)) = (&app.queue, &app.archive) else {
        return Err(AdminError::Unavailable(
            "this stack reconciles nothing: it has no job queue or no bill bucket (BILL_BUCKET)"
                .into(),
        ));
    };
    let detail = json!({"channel": channel.code(), "day": day.text()});
    let audit = caller.audit("app.reconcile", format!("app:{id}"), detail);
    stack.default_app().store.record_audit(&audit).await?;
    let job = Job::Reconcile {
        channel,
        day: Some(day.text()),
    };
    queue
        .send(&job, 0)
        .await
        .map_err(|e| AdminError::System(e.to_string()))?;
    Ok(
        json!({"queued": {"job": job.kind(), "appId": id, "channel": channel.code(),
        "day": day.text()}}),
    )
}
