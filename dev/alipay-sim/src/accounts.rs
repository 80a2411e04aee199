//! The apps (merchant accounts) one simulator serves, keyed by `app_id`: each with its own public
//! key, application gateway (`notify_url`) and certificate-mode SNs. Requests are verified with
//! the key of the app they name; trades, settles and receiver relations belong to an app.
//!
//! Every app today is a direct app acting for itself, so the merchant a call acts for is the
//! calling app's `app_id`. A third-party (ISV) app acting for authorised merchants through
//! `app_auth_token` would be another kind of entry here, whose tokens map to merchant ids: the
//! gateway would then resolve (calling app, token) to the merchant and the business methods,
//! which already take that merchant, would not change.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sim_kit::Verifier;

use crate::{SimCert, SimError, crypto};

/// An app registered at run time ([`crate::AlipaySim::add_app`], `POST /__sim/apps`, the
/// binary's `--extra-apps`). JSON: `{"app_id","app_public_key","notify_url"?,"cert"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppAccount {
    pub app_id: String,
    /// Base64 SubjectPublicKeyInfo of the app key: verifies this app's requests.
    pub app_public_key: String,
    /// Application gateway receiving the settle notifications of this app's trades.
    #[serde(default)]
    pub notify_url: Option<String>,
    /// Certificate mode for this app: the SNs its requests must carry.
    #[serde(default)]
    pub cert: Option<SimCert>,
}

/// A registered app with its key parsed.
pub(crate) struct App {
    pub app_id: String,
    pub verifier: Verifier,
    pub notify_url: Option<String>,
    pub cert: Option<SimCert>,
}

impl App {
    pub(crate) fn new(account: AppAccount) -> Result<Self, SimError> {
        if account.app_id.is_empty() {
            return Err(SimError::Config("app_id is empty".into()));
        }
        Ok(App {
            verifier: crypto::app_verifier(&account.app_public_key)?,
            app_id: account.app_id,
            notify_url: account.notify_url,
            cert: account.cert,
        })
    }
}

pub(crate) struct Accounts {
    /// The app of `SimConfig`: the one the helpers without an app id (`seed_trade`,
    /// `is_bound`, ...) act for. Never removed.
    first: String,
    apps: BTreeMap<String, Arc<App>>,
}

impl Accounts {
    pub(crate) fn new(first: App) -> Self {
        let id = first.app_id.clone();
        let mut apps = BTreeMap::new();
        apps.insert(id.clone(), Arc::new(first));
        Accounts { first: id, apps }
    }

    pub(crate) fn first_id(&self) -> &str {
        &self.first
    }

    pub(crate) fn get(&self, app_id: &str) -> Option<Arc<App>> {
        self.apps.get(app_id).cloned()
    }

    pub(crate) fn first(&self) -> Option<Arc<App>> {
        self.get(&self.first)
    }

    /// Adds an app, or replaces the key, notify URL and SNs of a known one (key rotation);
    /// its trades and relations stay.
    pub(crate) fn insert(&mut self, app: App) {
        self.apps.insert(app.app_id.clone(), Arc::new(app));
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &App> {
        self.apps.values().map(Arc::as_ref)
    }
}
