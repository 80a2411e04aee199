//! Finding the App of an app id (SPEC §8.2, §8.3): the registry's record (one strongly
//! consistent GetItem), its secrets opened with the stack's KMS key (one Decrypt), its
//! settings over the stack's, its channel clients; then kept in this sandbox for a bounded time
//! (`APP_CACHE_SECS`, default 5 minutes), so a warm request for a known app reads nothing, and
//! a rotation or a disabling takes effect within that time. An unknown id is remembered for a
//! few seconds only, so a new app is usable at once and probing ids costs a read each.

use super::providers::{AppTokenSource, Providers, client_inputs};
use super::{App, TenantError, channels_for};
use crate::daxpay::request::Verifier;
use crate::daxpay::sign::{Secret, Signer};
use crate::domain::{Tenant, TenantStatus};
use crate::infra::config::ConfigError;
use crate::infra::keyring::Keyring;
use crate::infra::secrets::AppSecrets;
use crate::store::apps::AppRecord;
use crate::store::{Scope, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long an app id found to be unknown is remembered.
const UNKNOWN_TTL: Duration = Duration::from_secs(5);
/// The most apps one sandbox keeps; past it, expired entries go first, then all.
const MAX_CACHED: usize = 10_000;

/// The stack's variables, read once at init: the defaults of every app's settings.
pub type Env = Arc<HashMap<String, String>>;

/// What was found for an app id.
#[derive(Debug, Clone)]
enum Found {
    Ready(App),
    Disabled(App),
    Unknown,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    found: Found,
}

/// The registry of apps other than the default, and what this sandbox knows of them.
#[derive(Debug)]
pub struct Tenants {
    /// The table, unscoped (the registry's items are the stack's).
    pub registry: Store,
    pub keyring: Keyring,
    pub env: Env,
    /// What every app shares with the default app: the clock, the table, the queue, the
    /// number prefix.
    base: App,
    ttl: Duration,
    cache: Mutex<HashMap<String, Entry>>,
    /// The service providers apps' accounts are under (SPEC §6.5).
    pub providers: Providers,
}

impl Tenants {
    pub fn new(base: App, keyring: Keyring, env: Env, ttl: Duration) -> Self {
        let registry = base.store.scoped(Scope::default_app());
        Self {
            providers: Providers::new(registry.clone(), keyring.clone(), ttl),
            registry,
            keyring,
            env,
            base,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The App of `app_id` (never the default app's id).
    pub async fn resolve(&self, app_id: &str) -> Result<App, TenantError> {
        let found = match self.cached(app_id) {
            Some(found) => found,
            None => {
                let found = self.load(app_id).await?;
                self.remember(app_id, found.clone());
                found
            }
        };
        match found {
            Found::Ready(app) => Ok(app),
            Found::Disabled(app) => Err(TenantError::Disabled(Box::new(app))),
            Found::Unknown => Err(TenantError::Unknown),
        }
    }

    /// Forgets what this sandbox knows of `app_id` (after an administrative change made here).
    pub fn forget(&self, app_id: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(app_id);
        }
    }

    fn cached(&self, app_id: &str) -> Option<Found> {
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(app_id)?;
        let ttl = match entry.found {
            Found::Unknown => UNKNOWN_TTL,
            _ => self.ttl,
        };
        (entry.at.elapsed() < ttl).then(|| entry.found.clone())
    }

    fn remember(&self, app_id: &str, found: Found) {
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= MAX_CACHED {
            let ttl = self.ttl;
            cache.retain(|_, e| e.at.elapsed() < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(
            app_id.to_owned(),
            Entry {
                at: Instant::now(),
                found,
            },
        );
    }

    async fn load(&self, app_id: &str) -> Result<Found, TenantError> {
        let system = |e: &dyn std::fmt::Display| TenantError::System(format!("app {app_id}: {e}"));
        let Some(record) = self
            .registry
            .app_record(app_id)
            .await
            .map_err(|e| system(&e))?
        else {
            return Ok(Found::Unknown);
        };
        let plain = self
            .keyring
            .open(record.app_id.as_str(), &record.sealed)
            .await
            .map_err(|e| system(&e))?;
        let secrets: AppSecrets = serde_json::from_slice(&plain).map_err(|e| system(&e))?;
        let app = self
            .app_of(&record, &secrets)
            .await
            .map_err(|e| system(&e))?;
        let enabled =
            record.status == TenantStatus::Enabled && record.mch_status == TenantStatus::Enabled;
        Ok(if enabled {
            Found::Ready(app)
        } else {
            Found::Disabled(app)
        })
    }

    /// Clients of the accounts an app had before; one that no longer builds (its provider
    /// gone) is left out, and what was made under it waits, flagged in time, for a human.
    async fn retired_clients(
        &self,
        secrets: &AppSecrets,
    ) -> Vec<Box<dyn crate::channel::SharingChannel>> {
        let mut clients = Vec::new();
        for r in &secrets.retired {
            let built = match client_inputs(
                &self.providers,
                r.alipay.as_ref(),
                r.wechat.as_ref(),
                &r.keys,
            )
            .await
            {
                Ok(inputs) => channels_for(
                    inputs.alipay.as_ref(),
                    inputs.wechat.as_ref(),
                    &inputs.secrets,
                    None,
                ),
                Err(e) => Err(e),
            };
            match built {
                Ok(channels) => clients.extend(channels.into_clients()),
                Err(e) => tracing::warn!(error = %e, "a retired account's client does not build"),
            }
        }
        clients
    }

    /// The App a record and its opened secrets make.
    pub async fn app_of(
        &self,
        record: &AppRecord,
        secrets: &AppSecrets,
    ) -> Result<App, ConfigError> {
        let env = &self.env;
        let effective = record
            .settings
            .effective(&|name| env.get(name).cloned())
            .map_err(|e| ConfigError::new("app settings", e.to_string()))?;
        let v = effective.verification;
        let mut verifier = Verifier::new(
            Signer::new(v.sign_type, Secret::new(secrets.sign_secret.clone())),
            v.require_sign,
            v.req_timeout_secs,
        );
        if let (Some(previous), Some(until)) =
            (&secrets.previous_sign_secret, record.previous_until)
        {
            verifier.previous = Some((
                Signer::new(v.sign_type, Secret::new(previous.clone())),
                until,
            ));
        }
        let inputs = client_inputs(
            &self.providers,
            record.alipay.as_ref(),
            record.wechat.as_ref(),
            secrets,
        )
        .await?;
        let token_source = inputs
            .alipay
            .as_ref()
            .and_then(|a| a.app_auth.as_ref())
            .map(|_| {
                Arc::new(AppTokenSource {
                    registry: self.registry.clone(),
                    keyring: self.keyring.clone(),
                    app_id: record.app_id.as_str().to_owned(),
                }) as Arc<dyn crate::channel::alipay::auth::TokenSource>
            });
        let channels = channels_for(
            inputs.alipay.as_ref(),
            inputs.wechat.as_ref(),
            &inputs.secrets,
            token_source,
        )?;
        let tenant = Tenant {
            app_id: record.app_id.clone(),
            mch_no: record.mch_no.clone(),
            is_default: false,
            code: Some(record.code.clone()),
        };
        let channels = channels.with_retired(self.retired_clients(secrets).await);
        let mut app = self.base.clone().for_tenant(tenant);
        app.verifier = verifier;
        app.channels = Arc::new(channels);
        app.jobs = effective.jobs;
        Ok(app)
    }
}
