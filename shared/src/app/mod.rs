//! The composition root. A [`Stack`] is built once per Lambda sandbox from the configuration and
//! the secret; every request and job asks it for the [`App`] it speaks for (SPEC §8), and the
//! services take that App: the tenant flows down in it, like an allocation number, and nothing
//! below knows how it was found.

use crate::channel::alipay::AlipayClient;
use crate::channel::wechat::WechatClient;
use crate::channel::{Channels, SharingChannel};
use crate::daxpay::request::Verifier;
use crate::daxpay::sign::Signer;
use crate::domain::tenant::{AppId, MchNo, Tenant};
use crate::infra::archive::BillArchive;
use crate::infra::config::{AlipaySettings, WechatSettings};
use crate::infra::config::{Config, ConfigError, JobSettings, Secrets, load_secrets};
use crate::infra::keyring::Keyring;
use crate::infra::{Clock, Queue};
use crate::store::{Scope, Store};
use std::sync::Arc;
use std::time::Duration;

pub mod providers;
pub mod tenants;

pub use tenants::{Env, Tenants};

pub use crate::infra::now_secs;

/// Which channel clients a function builds.
#[derive(Debug, Clone, Copy)]
enum ChannelClients {
    Configured,
    None,
}

/// Everything a request or a job of one app needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    /// Who this App speaks for.
    pub tenant: Tenant,
    pub verifier: Verifier,
    /// The table, as this app sees it: every key it builds is the app's.
    pub store: Store,
    pub clock: Clock,
    pub channels: Arc<Channels>,
    /// Prefix of new allocation numbers (`ALLOCATION_NO_PREFIX`).
    pub allocation_no_prefix: String,
    /// The job queue, when configured: every job sent through it names this app.
    pub queue: Option<Queue>,
    pub jobs: JobSettings,
    /// Where the channels' raw bills are kept (`BILL_BUCKET`); without it nothing is
    /// reconciled.
    pub archive: Option<BillArchive>,
}

impl App {
    /// This App, speaking for `tenant`: its store and its queue take the tenant's scope.
    pub fn for_tenant(mut self, tenant: Tenant) -> Self {
        let scope = if tenant.is_default {
            Scope::default_app()
        } else {
            Scope::app(&tenant.app_id)
        };
        self.store = self.store.scoped(scope);
        self.queue = self.queue.map(|q| q.for_app(tenant.message_app()));
        self.tenant = tenant;
        self
    }
}

/// Why a request or a job has no App.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TenantError {
    /// No app of that id (or none this caller may learn of).
    #[error("no such app")]
    Unknown,
    /// The app, or its merchant, is disabled: the App is given so a request's signature can be
    /// checked before it is refused.
    #[error("the app or its merchant is disabled")]
    Disabled(Box<App>),
    /// The registry could not be read (logged, never shown).
    #[error("tenant registry: {0}")]
    System(String),
}

/// What a function serves: the stack's default app and every other app of its registry.
/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct Stack {
    default: App,
    /// The registry of the other apps; `None` where the stack has no KMS key to keep their
    /// secrets (a single-merchant stack).
    tenants: Option<Arc<Tenants>>,
    /// The default app's channels whose bills are reconciled (configured, with a bill bucket):
    /// the scheduler starts their cursors (SPEC §4.13).
    reconciled: Vec<crate::domain::Channel>,
    /// Whether this sandbox's scheduler started them.
    reconciling: Arc<std::sync::atomic::AtomicBool>,
}

impl Stack {
    /// A stack of one app, its default (a single-merchant stack; tests).
    pub fn single(app: App) -> Self {
        let reconciled = reconciled(&app, |c| app.channels.is_configured(c));
        Self {
            default: app,
            tenants: None,
            reconciled,
            reconciling: Arc::default(),
        }
    }

    /// A stack of many apps: `default`, and the apps of the registry in `default`'s table,
    /// their secrets under `keyring`, their settings' defaults in `env`, each kept in this
    /// sandbox for `ttl`.
    pub fn with_tenants(default: App, keyring: Keyring, env: Env, ttl: Duration) -> Self {
        let tenants = Tenants::new(default.clone(), keyring, env, ttl);
        let reconciled = reconciled(&default, |c| default.channels.is_configured(c));
        Self {
            default,
            tenants: Some(Arc::new(tenants)),
            reconciled,
            reconciling: Arc::default(),
        }
    }

    /// The default app's channels whose bills are reconciled.
    pub fn reconciled_channels(&self) -> &[crate::domain::Channel] {
        &self.reconciled
    }

    /// Marks the default app's reconciliation started in this sandbox; `true` if it already
    /// was.
    pub fn reconciling_started(&self, started: bool) -> bool {
        use std::sync::atomic::Ordering;
        if started {
            self.reconciling.swap(true, Ordering::Relaxed)
        } else {
            self.reconciling.load(Ordering::Relaxed)
        }
    }

    /// The registry of the stack's other apps (`None`: a single-merchant stack).
    pub fn tenants(&self) -> Option<&Tenants> {
        self.tenants.as_deref()
    }

    /// The stack's default app: the single-merchant configuration, and the app of every route
    /// without an `/app/{appId}` prefix.
    pub fn default_app(&self) -> &App {
        &self.default
    }

    /// What an unknown app is verified as: the default app's checks with a secret nobody holds
    /// ([`Verifier::refusing`]), so no request of it ever verifies.
    pub fn stranger(&self) -> App {
        let mut app = self.default.clone();
        app.verifier = Verifier::refusing(app.verifier.req_timeout_secs);
        app
    }

    /// The App of `app_id` (`None`: the default app) for a merchant request: an unknown or
    /// disabled app is refused.
    pub async fn app(&self, app_id: Option<&str>) -> Result<App, TenantError> {
        match (app_id, &self.tenants) {
            (None, _) => Ok(self.default.clone()),
            (Some(id), _) if id == self.default.tenant.app_id.as_str() => Ok(self.default.clone()),
            (Some(id), Some(tenants)) if crate::domain::AppId::parse(id).is_ok() => {
                tenants.resolve(id).await
            }
            (Some(_), _) => Err(TenantError::Unknown),
        }
    }

    /// The App of a job's message (`None`: the default app). A disabled app's jobs still run:
    /// disabling stops new requests, while what is already at the channel is followed to its
    /// end (its syncs, finishes and notices), so no money is left untracked.
    pub async fn app_for_job(&self, app_id: Option<&str>) -> Result<App, TenantError> {
        self.app(app_id).await
    }

    /// Start-up of a Lambda function: logging, then the stack; a bad setting is logged (named,
    /// without secret values) and fails the init phase.
    pub async fn for_lambda() -> Result<Self, ConfigError> {
        Self::start(ChannelClients::Configured).await
    }

    /// [`Stack::for_lambda`] for the scheduler, which only finds due work and queues it: no
    /// channel client is built (nor linked into its binary).
    pub async fn for_scheduler() -> Result<Self, ConfigError> {
        Self::start(ChannelClients::None).await
    }

    async fn start(clients: ChannelClients) -> Result<Self, ConfigError> {
        crate::infra::telemetry::init();
        let stack = Self::build(clients).await;
        if let Err(e) = &stack {
            tracing::error!(error = %e, "configuration");
        }
        stack
    }

    /// Reads the configuration and the secret, and builds the clients.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Self::build(ChannelClients::Configured).await
    }

    async fn build(clients: ChannelClients) -> Result<Self, ConfigError> {
        let config = Config::from_env()?;
        let sdk = crate::infra::aws::sdk_config(|name| std::env::var(name).ok())?;
        let secrets = load_secrets(&config.secret, &sdk).await?;
        let secret = secrets.sign_secret.clone();
        if secret.is_empty() {
            return Err(ConfigError::new("SIGN_SECRET", "is empty"));
        }
        if !config.require_sign {
            tracing::warn!("REQ_SIGN=false: merchant requests are accepted without a signature");
        }
        let default = App {
            tenant: default_tenant(&config)?,
            verifier: Verifier::new(
                Signer::new(config.sign_type, secret),
                config.require_sign,
                config.req_timeout_secs,
            ),
            store: Store::new(aws_sdk_dynamodb::Client::new(&sdk), &config.table_name)
                .with_order_lists(config.order_lists),
            clock: Clock::System,
            channels: Arc::new(match clients {
                ChannelClients::Configured => channels_from(&config, &secrets)?,
                ChannelClients::None => Channels::default(),
            }),
            allocation_no_prefix: config.allocation_no_prefix.clone(),
            queue: config
                .queue_url
                .as_ref()
                .map(|url| Queue::on_first_send(&sdk, url)),
            jobs: config.jobs.clone(),
            archive: config
                .bill_bucket
                .as_ref()
                .map(|bucket| BillArchive::new(sdk.clone(), bucket)),
        };
        let mut stack = match &config.kms_key_id {
            None => Self::single(default),
            Some(key) => Self::with_tenants(
                default,
                Keyring::lazy(sdk.clone(), key),
                Arc::new(std::env::vars().collect()),
                Duration::from_secs(config.app_cache_secs),
            ),
        };
        // the scheduler builds no channel client: the configuration says which there are
        stack.reconciled = reconciled(&stack.default, |c| match c {
            crate::domain::Channel::AliPay => config.alipay.is_some(),
            crate::domain::Channel::WechatPay => config.wechat.is_some(),
            _ => false,
        });
        Ok(stack)
    }
}

/// The channels of `app` reconciled: those `configured`, where there is a bill bucket.
fn reconciled(
    app: &App,
    configured: impl Fn(crate::domain::Channel) -> bool,
) -> Vec<crate::domain::Channel> {
    use crate::domain::Channel;
    if app.archive.is_none() {
        return Vec::new();
    }
    [Channel::AliPay, Channel::WechatPay]
        .into_iter()
        .filter(|c| configured(*c))
        .collect()
}

/// The default app's ids (`DEFAULT_APP_ID`, `DEFAULT_MCH_NO`).
fn default_tenant(config: &Config) -> Result<Tenant, ConfigError> {
    Ok(Tenant {
        app_id: AppId::parse(&config.default_app_id)
            .map_err(|e| ConfigError::new("DEFAULT_APP_ID", e.to_string()))?,
        mch_no: MchNo::parse(&config.default_mch_no)
            .map_err(|e| ConfigError::new("DEFAULT_MCH_NO", e.to_string()))?,
        is_default: true,
        code: None,
    })
}

/// The registry of the configured channels: one line per channel.
pub fn channels_from(config: &Config, secrets: &Secrets) -> Result<Channels, ConfigError> {
    channels_for(
        config.alipay.as_ref(),
        config.wechat.as_ref(),
        secrets,
        None,
    )
}

/// The channel clients of an app's accounts: one line per channel.
pub fn channels_for(
    alipay: Option<&AlipaySettings>,
    wechat: Option<&WechatSettings>,
    secrets: &Secrets,
    token_source: Option<Arc<dyn crate::channel::alipay::auth::TokenSource>>,
) -> Result<Channels, ConfigError> {
    let mut clients: Vec<Box<dyn SharingChannel>> = Vec::new();
    if let Some(a) = alipay {
        let mut client = AlipayClient::from_settings(a, secrets)?;
        if let Some(source) = token_source {
            client = client.with_token_source(source);
        }
        clients.push(Box::new(client));
    }
    if let Some(w) = wechat {
        clients.push(Box::new(WechatClient::from_settings(w, secrets)?));
    }
    Ok(Channels::new(clients))
}
