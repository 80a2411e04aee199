//! The composition root: everything a request or a job needs, built once per Lambda sandbox
//! from the configuration and the secret. The services take it; nothing below knows it.

use crate::channel::alipay::AlipayClient;
use crate::channel::wechat::WechatClient;
use crate::channel::{Channels, SharingChannel};
use crate::daxpay::request::Verifier;
use crate::daxpay::sign::Signer;
use crate::infra::config::{Config, ConfigError, JobSettings, Secrets, load_secrets};
use crate::infra::{Clock, Queue};
use crate::store::Store;
use std::sync::Arc;

pub use crate::infra::now_secs;

/// Which channel clients a function builds.
#[derive(Debug, Clone, Copy)]
enum ChannelClients {
    Configured,
    None,
}

/// Everything a request or a job needs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    pub verifier: Verifier,
    pub store: Store,
    pub clock: Clock,
    pub channels: Arc<Channels>,
    /// Prefix of new allocation numbers (`ALLOCATION_NO_PREFIX`).
    pub allocation_no_prefix: String,
    /// The job queue, when configured.
    pub queue: Option<Queue>,
    pub jobs: JobSettings,
}

impl App {
    /// Start-up of a Lambda function: logging, then the App; a bad setting is logged (named,
    /// without secret values) and fails the init phase.
    pub async fn for_lambda() -> Result<Self, ConfigError> {
        Self::start(ChannelClients::Configured).await
    }

    /// [`App::for_lambda`] for the scheduler, which only finds due work and queues it: no
    /// channel client is built (nor linked into its binary).
    pub async fn for_scheduler() -> Result<Self, ConfigError> {
        Self::start(ChannelClients::None).await
    }

    async fn start(clients: ChannelClients) -> Result<Self, ConfigError> {
        crate::infra::telemetry::init();
        let app = Self::build(clients).await;
        if let Err(e) = &app {
            tracing::error!(error = %e, "configuration");
        }
        app
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
        Ok(Self {
            verifier: Verifier {
                signer: Signer::new(config.sign_type, secret),
                require_sign: config.require_sign,
                req_timeout_secs: config.req_timeout_secs,
            },
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
                .map(|url| Queue::new(aws_sdk_sqs::Client::new(&sdk), url)),
            jobs: config.jobs.clone(),
        })
    }
}

/// The registry of the configured channels: one line per channel.
pub fn channels_from(config: &Config, secrets: &Secrets) -> Result<Channels, ConfigError> {
    let mut clients: Vec<Box<dyn SharingChannel>> = Vec::new();
    if let Some(a) = &config.alipay {
        clients.push(Box::new(AlipayClient::from_settings(a, secrets)?));
    }
    if let Some(w) = &config.wechat {
        clients.push(Box::new(WechatClient::from_settings(w, secrets)?));
    }
    Ok(Channels::new(clients))
}
