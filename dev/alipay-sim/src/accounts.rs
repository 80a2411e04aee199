//! The apps (merchant accounts) one simulator serves, keyed by `app_id`: each with its own public
//! key, application gateway (`notify_url`) and certificate-mode SNs. Requests are verified with
//! the key of the app they name; trades, settles and receiver relations belong to a merchant.
//!
//! An app acts for itself (the merchant is its `app_id`), or, as a third-party (ISV) app, for a
//! merchant that authorised it: the call then carries that merchant's `app_auth_token` as a
//! common parameter and acts for the merchant's `user_id`. Any registered app can be an ISV app;
//! the merchants that authorised it are the [`AppAuthorization`]s kept here, each with its
//! current token, refresh token and expiry. The gateway resolves (calling app, token) to the
//! merchant; the business methods take that merchant and do not care how it was reached.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
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

/// How long a new `app_auth_token` lives, in seconds: the `expires_in` of the documented token
/// answer (365 days; the same example gives `re_expires_in` below). Newer docs say tokens no
/// longer expire (yq.aliyun.com/articles/707578); a simulated expiry is still useful for tests.
pub const DEFAULT_EXPIRES_IN: u64 = 31_536_000;
/// How long a new `app_refresh_token` lives, in seconds.
pub const DEFAULT_RE_EXPIRES_IN: u64 = 32_140_800;

fn default_expires_in() -> u64 {
    DEFAULT_EXPIRES_IN
}

fn default_re_expires_in() -> u64 {
    DEFAULT_RE_EXPIRES_IN
}

/// The longest `app_auth_token` (a common parameter of at most 40 characters,
/// docs.antom.com/ac/solution_api/oauth_token).
const MAX_TOKEN_LEN: usize = 40;

/// A merchant's authorisation of an ISV app ([`crate::AlipaySim::authorize_merchant`],
/// `POST /__sim/authorizations`, the binary's `--authorizations`), as
/// `alipay.open.auth.token.app` would have granted it. JSON:
/// `{"isv_app_id","user_id","auth_app_id"?,"app_auth_token","app_refresh_token","expires_in"?,
/// "re_expires_in"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppAuthorization {
    /// The ISV app the merchant authorised (a registered app).
    pub isv_app_id: String,
    /// The merchant's Alipay user id (2088 + 12 digits): the merchant the ISV's calls with its
    /// token act for. Its trades and relations are kept under this id.
    pub user_id: String,
    /// The merchant's own app id (`auth_app_id` of token answers and notifications); the
    /// `user_id` when absent.
    #[serde(default)]
    pub auth_app_id: Option<String>,
    /// The token the ISV sends as the common parameter `app_auth_token` (≤ 40 characters).
    pub app_auth_token: String,
    /// What `alipay.open.auth.token.app` with `grant_type=refresh_token` takes.
    pub app_refresh_token: String,
    /// Seconds from now until the token expires ([`DEFAULT_EXPIRES_IN`]; 0: already expired).
    #[serde(default = "default_expires_in")]
    pub expires_in: u64,
    /// Seconds from now until the refresh token expires ([`DEFAULT_RE_EXPIRES_IN`]).
    #[serde(default = "default_re_expires_in")]
    pub re_expires_in: u64,
}

/// The state of an `app_auth_token` as the simulator answers it. JSON: `"valid"`, `"expired"`,
/// `"invalid"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthTokenState {
    /// Accepted: the calls carrying it act for its merchant.
    Valid,
    /// Answered 20001 `aop.app-auth-token-time-out`; a refresh gives a new one.
    Expired,
    /// Answered 20001 `aop.invalid-app-auth-token`: unknown, another app's, replaced by a
    /// refresh or a new authorisation, or revoked by the merchant.
    Invalid,
}

/// A merchant's current authorisation of an app.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub isv_app_id: String,
    pub user_id: String,
    pub auth_app_id: String,
    pub token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub re_expires_in: u64,
    /// Unix seconds.
    expires_at: i64,
    re_expires_at: i64,
    /// Set by [`Accounts::set_token_state`]: `Valid` follows the expiry time.
    forced: AuthTokenState,
}

impl Grant {
    fn state(&self, now: i64) -> AuthTokenState {
        match self.forced {
            AuthTokenState::Valid if now >= self.expires_at => AuthTokenState::Expired,
            forced => forced,
        }
    }
}

/// Why a refresh (`alipay.open.auth.token.app`, `grant_type=refresh_token`) is refused.
pub(crate) enum RefreshRefusal {
    /// Unknown, another app's, expired, or its authorisation was revoked.
    Invalid,
    /// Already used for a refresh.
    Used,
}

fn after(now: i64, seconds: u64) -> i64 {
    now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX))
}

/// A new 40-character token in the shape Alipay issues (`201510BB` + 32 characters).
pub(crate) fn new_token(year_month: &str) -> String {
    let random: String = sim_kit::random_bytes::<16>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{year_month}BB{random}")
}

pub(crate) struct Accounts {
    /// The app of `SimConfig`: the one the helpers without an app id (`seed_trade`,
    /// `is_bound`, ...) act for. Never removed.
    first: String,
    apps: BTreeMap<String, Arc<App>>,
    /// By (ISV app id, merchant user id).
    grants: BTreeMap<(String, String), Grant>,
    /// Refresh tokens a refresh consumed.
    used_refresh_tokens: HashSet<String>,
}

impl Accounts {
    pub(crate) fn new(first: App) -> Self {
        let id = first.app_id.clone();
        let mut apps = BTreeMap::new();
        apps.insert(id.clone(), Arc::new(first));
        Accounts {
            first: id,
            apps,
            grants: BTreeMap::new(),
            used_refresh_tokens: HashSet::new(),
        }
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
    /// its trades and relations stay. An authorised merchant's user id cannot be an app id:
    /// both name whose trades and relations they are.
    pub(crate) fn insert(&mut self, app: App) -> Result<(), SimError> {
        if self.grants.keys().any(|(_, user)| *user == app.app_id) {
            let id = &app.app_id;
            return Err(SimError::Config(format!(
                "{id} is the user id of an authorised merchant"
            )));
        }
        self.apps.insert(app.app_id.clone(), Arc::new(app));
        Ok(())
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &App> {
        self.apps.values().map(Arc::as_ref)
    }

    /// Records a merchant's authorisation of an app, replacing an earlier one of the same
    /// merchant and app: re-authorising invalidates the old token
    /// (`/work/shared/reference/tenancy-isv-bills.md` §1.7).
    pub(crate) fn authorize(&mut self, auth: AppAuthorization, now: i64) -> Result<(), SimError> {
        if !self.apps.contains_key(&auth.isv_app_id) {
            return Err(SimError::UnknownApp(auth.isv_app_id));
        }
        let config = |m: String| Err(SimError::Config(m));
        if !crate::state::is_user_id(&auth.user_id) {
            return config(format!("user_id {} is not 2088 + 12 digits", auth.user_id));
        }
        if self.apps.contains_key(&auth.user_id) {
            return config(format!("user_id {} is a registered app id", auth.user_id));
        }
        for (name, token) in [
            ("app_auth_token", &auth.app_auth_token),
            ("app_refresh_token", &auth.app_refresh_token),
        ] {
            if token.is_empty() || token.chars().count() > MAX_TOKEN_LEN {
                return config(format!("{name} must be 1 to {MAX_TOKEN_LEN} characters"));
            }
        }
        let key = (auth.isv_app_id.clone(), auth.user_id.clone());
        let in_use = self.grants.iter().any(|(k, g)| {
            *k != key
                && (g.token == auth.app_auth_token || g.refresh_token == auth.app_refresh_token)
        });
        if in_use {
            return config("app_auth_token or app_refresh_token already in use".into());
        }
        let grant = Grant {
            auth_app_id: auth
                .auth_app_id
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| auth.user_id.clone()),
            isv_app_id: auth.isv_app_id,
            user_id: auth.user_id,
            token: auth.app_auth_token,
            refresh_token: auth.app_refresh_token,
            expires_in: auth.expires_in,
            re_expires_in: auth.re_expires_in,
            expires_at: after(now, auth.expires_in),
            re_expires_at: after(now, auth.re_expires_in),
            forced: AuthTokenState::Valid,
        };
        self.grants.insert(key, grant);
        Ok(())
    }

    pub(crate) fn grant(&self, isv_app_id: &str, user_id: &str) -> Option<&Grant> {
        self.grants
            .get(&(isv_app_id.to_string(), user_id.to_string()))
    }

    pub(crate) fn all_grants(&self) -> impl Iterator<Item = (&Grant, AuthTokenState)> {
        let now = crate::unix_now();
        self.grants.values().map(move |g| (g, g.state(now)))
    }

    /// The merchant (user id) an app's call carrying `token` acts for, or why it may not: a
    /// token is only ever good for the app it was granted to ("app_auth_token和服务商的appid必须
    /// 对应", developer.aliyun.com/ask/285051), and only while it is the current one.
    pub(crate) fn resolve(
        &self,
        app_id: &str,
        token: &str,
        now: i64,
    ) -> Result<String, AuthTokenState> {
        let grant = self
            .grants
            .values()
            .find(|g| g.isv_app_id == app_id && g.token == token)
            .ok_or(AuthTokenState::Invalid)?;
        match grant.state(now) {
            AuthTokenState::Valid => Ok(grant.user_id.clone()),
            refused => Err(refused),
        }
    }

    /// The state a token would be answered with, whoever sends it; an unknown or replaced one is
    /// `Invalid`.
    pub(crate) fn token_state(&self, token: &str, now: i64) -> AuthTokenState {
        self.grants
            .values()
            .find(|g| g.token == token)
            .map_or(AuthTokenState::Invalid, |g| g.state(now))
    }

    /// Forces a current token's state (`Valid`: back to following its expiry time).
    pub(crate) fn set_token_state(
        &mut self,
        token: &str,
        state: AuthTokenState,
    ) -> Result<(), SimError> {
        let grant = self
            .grants
            .values_mut()
            .find(|g| g.token == token)
            .ok_or_else(|| SimError::UnknownAppAuthToken(token.to_string()))?;
        grant.forced = state;
        Ok(())
    }

    /// Replaces the token and refresh token of the grant `refresh_token` belongs to (of
    /// `app_id`), for the same durations from `now`. The old token and refresh token stop
    /// working at once. (Alipay keeps the old token usable for 10 minutes after a refresh,
    /// yq.aliyun.com/articles/707578; the simulator does not, so a client still sending it
    /// is caught.)
    pub(crate) fn refresh(
        &mut self,
        app_id: &str,
        refresh_token: &str,
        year_month: &str,
        now: i64,
    ) -> Result<Grant, RefreshRefusal> {
        if self.used_refresh_tokens.contains(refresh_token) {
            return Err(RefreshRefusal::Used);
        }
        let grant = self
            .grants
            .values_mut()
            .find(|g| g.isv_app_id == app_id && g.refresh_token == refresh_token)
            .filter(|g| g.forced != AuthTokenState::Invalid && now < g.re_expires_at)
            .ok_or(RefreshRefusal::Invalid)?;
        self.used_refresh_tokens.insert(refresh_token.to_string());
        grant.token = new_token(year_month);
        grant.refresh_token = new_token(year_month);
        grant.expires_at = after(now, grant.expires_in);
        grant.re_expires_at = after(now, grant.re_expires_in);
        grant.forced = AuthTokenState::Valid;
        Ok(grant.clone())
    }
}
