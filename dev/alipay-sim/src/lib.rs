//! A fake Alipay OpenAPI gateway (public-key mode, RSA2) for end-to-end tests of our Alipay
//! client, written from the public protocol documentation and independent of that client.
//!
//! It serves several apps (merchant accounts) at once: the one of [`SimConfig`] and any added
//! with [`AlipaySim::add_app`]; any of them can also act as a third-party (ISV) app for the
//! merchants that authorised it ([`AlipaySim::authorize_merchant`]), when its calls carry the
//! merchant's `app_auth_token`. It verifies every request signature with the public key of the
//! app the request names, signs every answer with the "Alipay" private key exactly like the real
//! gateway (node text first, then the signature over those bytes), keeps each merchant's paid
//! trades with frozen funds, settles and receiver relations apart, and can inject faults into the
//! next call of a method. See `README.md` for the sub_codes it answers and the HTTP control API
//! under `/__sim/`.

mod accounts;
mod bills;
mod crypto;
mod gateway;
mod notify;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_kit::{Dropped, Reply, Server, Signer, error_reply, json_reply, reply};
use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::accounts::{Accounts, App};
use crate::state::State;

pub use crate::accounts::{
    AppAccount, AppAuthorization, AuthTokenState, DEFAULT_EXPIRES_IN, DEFAULT_RE_EXPIRES_IN,
};
pub use crate::bills::{BILL_DETAIL_COLUMNS, BILL_URL_LIFE, BillCorruption};

/// Simulator configuration. Keys are Java style: base64 DER without PEM armour. The app it names
/// is the first account; [`AlipaySim::add_app`] adds more.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The first app: the one the helpers without an app id (`seed_trade`, `is_bound`, ...)
    /// act for.
    pub app_id: String,
    /// Base64 SubjectPublicKeyInfo of the app (merchant) key: verifies requests.
    pub app_public_key: String,
    /// Base64 PKCS#8 of the "Alipay" key: signs answers and notifications.
    pub alipay_private_key: String,
    /// Application gateway receiving `alipay.trade.order.settle.notify` for this app's trades
    /// (http:// only).
    pub notify_url: Option<String>,
    /// Certificate mode: the SNs every request of this app must carry, and the
    /// `alipay_cert_sn` every answer to it names. Given, not computed: the simulator holds no
    /// certificates.
    pub cert: Option<SimCert>,
}

/// The certificate-mode SNs of [`SimConfig::cert`] / [`AppAccount::cert`]. JSON:
/// `{"app_cert_sn","alipay_root_cert_sn","alipay_cert_sn"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimCert {
    pub app_cert_sn: String,
    pub alipay_root_cert_sn: String,
    pub alipay_cert_sn: String,
}

/// A fault for the next call of one method. JSON form (control API): `"timeout"`,
/// `"timeout_after_apply"`, `"unsigned_20000"`, `{"business":{"sub_code":..,"sub_msg":..}}`,
/// `"bad_signature"`, `"whitespace_in_node"`, `{"http_status":502}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Apply nothing and never answer; the connection is held 60 s or until shutdown.
    Timeout,
    /// Apply the call (state changes), then never answer: the lost-answer case.
    TimeoutAfterApply,
    /// An unsigned `code 20000` gateway error; nothing applied.
    #[serde(rename = "unsigned_20000")]
    Unsigned20000,
    /// A signed `40004 Business Failed` with these; nothing applied.
    Business { sub_code: String, sub_msg: String },
    /// The call is applied and the node is correct, but the signature covers different bytes.
    BadSignature,
    /// The call is applied; the node text is pretty-printed (whitespace and newlines inside
    /// the JSON) and the signature covers exactly that text.
    WhitespaceInNode,
    /// This HTTP status with an HTML body; nothing applied.
    HttpStatus(u16),
}

/// The result of one receiver in an async settle. JSON: `"success"` or
/// `{"fail":{"code":..,"desc":..}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Fail { code: String, desc: String },
}

/// One call received on `/gateway.do`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    /// The `app_id` parameter as sent ("" when absent), known or not.
    pub app_id: String,
    /// The `app_auth_token` common parameter as sent; None when absent or empty.
    pub app_auth_token: Option<String>,
    /// The merchant the call acted for once its method ran: the app itself (`app_id`), or the
    /// `user_id` of the merchant whose valid `app_auth_token` it carried. None when it was
    /// refused before (gateway checks, an invalid or expired token) or a fault replaced it.
    pub merchant: Option<String>,
    /// The `method` parameter as sent ("" when absent).
    pub method: String,
    /// `biz_content` parsed as JSON (Null when absent or not JSON).
    pub biz_content: Value,
    pub out_request_no: Option<String>,
    /// The request signature verified with the public key of the app it names (false for an
    /// unknown app).
    pub verified: bool,
    /// `code` of the JSON answer actually sent; None when none was (timeouts, HTTP status).
    pub code: Option<String>,
    pub sub_code: Option<String>,
    /// The injected fault this call consumed.
    pub fault: Option<Fault>,
}

/// One `refund_royalty_parameters` row of a refund: `amount_fen` taken back from the receiver
/// `trans_out` (of type `trans_out_type`: userId | loginName | openId) to the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoyaltyRefund {
    #[serde(default = "default_account_type")]
    pub trans_out_type: String,
    pub trans_out: String,
    pub amount_fen: i64,
}

fn default_account_type() -> String {
    "userId".into()
}

/// An accepted refund: the trade's refunded total so far and this refund's amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refunded {
    pub refund_fee_fen: i64,
    pub send_back_fee_fen: i64,
}

/// A refund refused with `40004 Business Failed` and these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{sub_code}: {sub_msg}")]
pub struct Refusal {
    pub sub_code: String,
    pub sub_msg: String,
}

/// What happened to a notification POST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum NotifyDelivery {
    /// No `notify_url` configured: nothing sent.
    NotConfigured,
    /// The receiver answered exactly `success`.
    Delivered,
    /// The receiver answered something else.
    Rejected { status: u16, body: String },
    /// Connection error, or no answer within 5 s.
    Failed { error: String },
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid key: {0}")]
    Key(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("crypto: {0}")]
    Crypto(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("refusing to listen on non-loopback address {0}")]
    NotLoopback(SocketAddr),
    #[error("no settle with that trade_no and out_request_no")]
    UnknownSettle,
    #[error("the settle is not a pending async settle")]
    NotPending,
    #[error("receiver {0} is not part of the settle")]
    UnknownReceiver(String),
    #[error("no such trade")]
    UnknownTrade,
    #[error("no app {0} is registered")]
    UnknownApp(String),
    #[error("no current app_auth_token {0}")]
    UnknownAppAuthToken(String),
    #[error("merchant {user_id} has not authorised app {app_id}")]
    NotAuthorized { app_id: String, user_id: String },
}

impl From<sim_kit::Error> for SimError {
    fn from(e: sim_kit::Error) -> Self {
        match e {
            sim_kit::Error::Key(m) => SimError::Key(m),
            sim_kit::Error::Crypto(m) => SimError::Crypto(m),
            sim_kit::Error::Io(e) => SimError::Io(e),
            sim_kit::Error::NotLoopback(addr) => SimError::NotLoopback(addr),
        }
    }
}

/// A fresh RSA-2048 pair: (base64 PKCS#8 private key, base64 SPKI public key).
pub fn generate_keypair() -> Result<(String, String), SimError> {
    Ok(sim_kit::generate_keypair()?)
}

const DATE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

pub(crate) fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) fn beijing_now() -> PrimitiveDateTime {
    let now = OffsetDateTime::now_utc().to_offset(offset!(+8));
    PrimitiveDateTime::new(now.date(), now.time())
}

/// `yyyy-MM-dd HH:mm:ss`.
pub(crate) fn format_dt(dt: PrimitiveDateTime) -> String {
    dt.replace_nanosecond(0)
        .unwrap_or(dt)
        .format(DATE_TIME)
        .unwrap_or_default()
}

pub(crate) struct Inner {
    /// The apps served. Locked on its own, briefly, and never while `state` is held, so the
    /// RSA verification of a request runs outside both locks.
    accounts: Mutex<Accounts>,
    signer: Signer,
    state: Mutex<State>,
    /// What each trade was paid when last seeded (for [`AlipaySim::ledger`]). Locked on its own,
    /// never while `state` is held.
    paid: Mutex<BTreeMap<String, i64>>,
    /// `Fault::Timeout` / `Fault::TimeoutAfterApply` hold a connection 60 s (unless shut down).
    server: Server,
}

impl Inner {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        sim_kit::lock(&self.state)
    }

    pub(crate) fn accounts(&self) -> MutexGuard<'_, Accounts> {
        sim_kit::lock(&self.accounts)
    }

    /// The id of the first app (of `SimConfig`).
    fn first_app_id(&self) -> String {
        self.accounts().first_id().to_string()
    }

    /// Notes what a trade was paid when (re)seeded, for the ledger.
    fn seeded(&self, trade_no: &str, amount_fen: i64) {
        sim_kit::lock(&self.paid).insert(trade_no.to_string(), amount_fen);
    }
}

/// A running simulator. Cheap to clone; all clones share one server and state.
#[derive(Clone)]
pub struct AlipaySim {
    inner: Arc<Inner>,
}

impl AlipaySim {
    /// Binds `listen` (loopback only; port 0 picks a free port) and starts serving.
    pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<Self, SimError> {
        let (server, listener) = Server::bind(listen).await?;
        let signer = crypto::alipay_signer(&config.alipay_private_key)?;
        let first = App::new(AppAccount {
            app_id: config.app_id,
            app_public_key: config.app_public_key,
            notify_url: config.notify_url,
            cert: config.cert,
        })?;
        let inner = Arc::new(Inner {
            accounts: Mutex::new(Accounts::new(first)),
            signer,
            state: Mutex::new(State::new()),
            paid: Mutex::new(BTreeMap::new()),
            server,
        });
        let sim = AlipaySim { inner };
        let handler = sim.clone();
        sim.inner
            .server
            .serve(listener, move |req| route(handler.clone(), req));
        Ok(sim)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.server.local_addr()
    }

    /// The gateway URL, e.g. `http://127.0.0.1:PORT/gateway.do`.
    pub fn base_url(&self) -> String {
        format!("http://{}/gateway.do", self.local_addr())
    }

    /// Registers another app (merchant account), or replaces the key, notify URL and cert SNs
    /// of a known `app_id` (its trades and relations stay). Errors: `Config` (empty app_id),
    /// `Key` (not a base64 RSA SubjectPublicKeyInfo).
    pub fn add_app(&self, app: AppAccount) -> Result<(), SimError> {
        let app = App::new(app)?;
        self.inner.accounts().insert(app)
    }

    /// Records that the merchant `user_id` authorised the app `isv_app_id` (third-party mode),
    /// with the token, refresh token and lifetimes `alipay.open.auth.token.app` would have
    /// given; authorising again replaces the earlier token (it stops working). Calls of that app
    /// carrying the token act for `user_id`. Errors: `UnknownApp`, `Config` (a `user_id` that
    /// is not 2088 + 12 digits or is an app id, an empty or over-40-character token, a token
    /// another authorisation holds).
    pub fn authorize_merchant(&self, auth: AppAuthorization) -> Result<(), SimError> {
        self.inner.accounts().authorize(auth, unix_now())
    }

    /// The merchant's current `app_auth_token` for the app; None if it has not authorised it.
    pub fn app_auth_token(&self, isv_app_id: &str, user_id: &str) -> Option<String> {
        let accounts = self.inner.accounts();
        accounts.grant(isv_app_id, user_id).map(|g| g.token.clone())
    }

    /// The merchant's current `app_refresh_token` for the app.
    pub fn app_refresh_token(&self, isv_app_id: &str, user_id: &str) -> Option<String> {
        let accounts = self.inner.accounts();
        accounts
            .grant(isv_app_id, user_id)
            .map(|g| g.refresh_token.clone())
    }

    /// How a call carrying `app_auth_token` would be answered: `Valid`, `Expired`, or `Invalid`
    /// (unknown, or replaced by a refresh or a new authorisation).
    pub fn app_auth_token_state(&self, app_auth_token: &str) -> AuthTokenState {
        let accounts = self.inner.accounts();
        accounts.token_state(app_auth_token, unix_now())
    }

    /// Marks a current token expired (calls get `aop.app-auth-token-time-out`; a refresh still
    /// works) or invalid (calls get `aop.invalid-app-auth-token`, as after the merchant revoked
    /// the authorisation; refreshing is refused too); `Valid` returns it to following its
    /// expiry time. Error: `UnknownAppAuthToken`.
    pub fn set_app_auth_token_state(
        &self,
        app_auth_token: &str,
        state: AuthTokenState,
    ) -> Result<(), SimError> {
        let mut accounts = self.inner.accounts();
        accounts.set_token_state(app_auth_token, state)
    }

    /// The registered app ids, sorted.
    pub fn app_ids(&self) -> Vec<String> {
        self.inner
            .accounts()
            .all()
            .map(|a| a.app_id.clone())
            .collect()
    }

    /// Adds (or resets) a paid trade of the first app whose whole amount is frozen for
    /// settling. Its `out_trade_no` is `M` + `trade_no`.
    pub fn seed_trade(&self, trade_no: &str, amount_fen: i64) {
        self.seed_trade_with(trade_no, &format!("M{trade_no}"), amount_fen);
    }

    /// `seed_trade` with the merchant's own `out_trade_no`. Reseeding resets the trade's
    /// funds, holdings, refunds and flags.
    pub fn seed_trade_with(&self, trade_no: &str, out_trade_no: &str, amount_fen: i64) {
        let owner = self.inner.first_app_id();
        self.inner
            .state()
            .seed_trade(&owner, trade_no, out_trade_no, amount_fen);
        self.inner.seeded(trade_no, amount_fen);
    }

    /// `seed_trade` for the app `app_id`: only that app may settle, query or refund the trade.
    /// Trade numbers are unique across apps: reseeding under another app moves the trade.
    pub fn seed_trade_for(
        &self,
        app_id: &str,
        trade_no: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        self.seed_trade_with_for(app_id, trade_no, &format!("M{trade_no}"), amount_fen)
    }

    /// `seed_trade_with` for the app `app_id`. Error: `UnknownApp`.
    pub fn seed_trade_with_for(
        &self,
        app_id: &str,
        trade_no: &str,
        out_trade_no: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        if self.inner.accounts().get(app_id).is_none() {
            return Err(SimError::UnknownApp(app_id.to_string()));
        }
        self.inner
            .state()
            .seed_trade(app_id, trade_no, out_trade_no, amount_fen);
        self.inner.seeded(trade_no, amount_fen);
        Ok(())
    }

    /// A paid trade of the merchant `user_id`, paid through the ISV app `isv_app_id` it
    /// authorised: only calls acting for that merchant (that app or another it authorised,
    /// with the merchant's valid `app_auth_token`) may settle, query or refund it. Its
    /// `out_trade_no` is `M` + `trade_no`. Error: `NotAuthorized`.
    pub fn seed_merchant_trade(
        &self,
        isv_app_id: &str,
        user_id: &str,
        trade_no: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        let out_trade_no = format!("M{trade_no}");
        self.seed_merchant_trade_with(isv_app_id, user_id, trade_no, &out_trade_no, amount_fen)
    }

    /// `seed_merchant_trade` with the merchant's own `out_trade_no`.
    pub fn seed_merchant_trade_with(
        &self,
        isv_app_id: &str,
        user_id: &str,
        trade_no: &str,
        out_trade_no: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        if self.inner.accounts().grant(isv_app_id, user_id).is_none() {
            return Err(SimError::NotAuthorized {
                app_id: isv_app_id.to_string(),
                user_id: user_id.to_string(),
            });
        }
        self.inner
            .state()
            .seed_trade(user_id, trade_no, out_trade_no, amount_fen);
        self.inner.seeded(trade_no, amount_fen);
        Ok(())
    }

    /// The merchant a trade belongs to: an app id, or the user id of an authorised merchant
    /// (`seed_merchant_trade`); None for an unknown trade.
    pub fn trade_app_id(&self, trade_no: &str) -> Option<String> {
        self.inner.state().trade_owner(trade_no).map(str::to_string)
    }

    /// What `trans_out` (of `account_type`) still holds from the trade: its successful
    /// settle details minus what refunds took back. None for an unknown trade.
    pub fn holding_fen(&self, trade_no: &str, account_type: &str, account: &str) -> Option<i64> {
        self.inner
            .state()
            .holding_fen(trade_no, account_type, account)
    }

    /// The trade's refunded total; None for an unknown trade.
    pub fn refunded_fen(&self, trade_no: &str) -> Option<i64> {
        self.inner.state().refunded_fen(trade_no)
    }

    /// While set, `alipay.trade.order.onsettle.query` of the trade answers 40004
    /// `ACQ.SYSTEM_ERROR` "订单处理中".
    pub fn set_settling(&self, trade_no: &str, settling: bool) -> Result<(), SimError> {
        self.inner.state().set_settling(trade_no, settling)
    }

    /// Refunds the trade as the payment gateway would for the app it belongs to
    /// (`alipay.trade.refund` without signing), with `royalty` as its
    /// `refund_royalty_parameters`.
    pub fn refund(
        &self,
        trade_no: &str,
        out_request_no: &str,
        refund_amount_fen: i64,
        royalty: &[RoyaltyRefund],
    ) -> Result<Refunded, Refusal> {
        let request = state::RefundRequest {
            trade: (trade_no, true),
            out_request_no,
            refund_fen: refund_amount_fen,
            rows: royalty.to_vec(),
        };
        let now = format_dt(beijing_now());
        let mut state = self.inner.state();
        state.refund_control(&request, &now).map(|(_, r)| r)
    }

    pub fn unsettled_fen(&self, trade_no: &str) -> Option<i64> {
        self.inner.state().unsettled_fen(trade_no)
    }

    /// Whether the first app has a receiver relation (`account_type`: userId | loginName |
    /// openId).
    pub fn is_bound(&self, account_type: &str, account: &str) -> bool {
        let app_id = self.inner.first_app_id();
        self.is_bound_for(&app_id, account_type, account)
    }

    /// Whether the merchant `app_id` (an app id, or an authorised merchant's user id: relations
    /// bound with its `app_auth_token` are its own) has a receiver relation.
    pub fn is_bound_for(&self, app_id: &str, account_type: &str, account: &str) -> bool {
        self.inner.state().is_bound(app_id, account_type, account)
    }

    /// How many distinct settles (by out_request_no) were executed on the trade.
    pub fn settle_count(&self, trade_no: &str) -> usize {
        self.inner.state().settle_count(trade_no)
    }

    /// Finishes a pending async settle: each listed receiver account gets its outcome, the
    /// others succeed. Then sends the signed notification if the app whose call made the settle
    /// (the trade's own app, or the ISV app acting for its merchant) has a `notify_url`.
    pub async fn complete(
        &self,
        trade_no: &str,
        out_request_no: &str,
        outcomes: &[(String, Outcome)],
    ) -> Result<NotifyDelivery, SimError> {
        let caller = {
            let now = format_dt(beijing_now());
            let mut state = self.inner.state();
            state.complete(trade_no, out_request_no, outcomes, &now)?.1
        };
        let url = self
            .inner
            .accounts()
            .get(&caller)
            .and_then(|app| app.notify_url.clone());
        let Some(url) = url else {
            return Ok(NotifyDelivery::NotConfigured);
        };
        let pairs = self.signed_settle_notify(trade_no, out_request_no)?;
        Ok(notify::post_form(&url, &pairs).await)
    }

    /// The signed notification form for a settle's current state (fresh `notify_id`); its
    /// `app_id` is the app whose call made the settle, plus `auth_app_id` (the merchant's app)
    /// when that was an ISV app acting for an authorised merchant.
    pub fn signed_settle_notify(
        &self,
        trade_no: &str,
        out_request_no: &str,
    ) -> Result<Vec<(String, String)>, SimError> {
        let (owner, caller) = {
            let state = self.inner.state();
            let settle = state
                .find_trade_settle(trade_no, out_request_no)
                .ok_or(SimError::UnknownSettle)?;
            (settle.owner.clone(), settle.caller.clone())
        };
        let auth_app_id = (owner != caller).then(|| {
            let accounts = self.inner.accounts();
            let grant = accounts.grant(&caller, &owner);
            grant.map_or(owner.clone(), |g| g.auth_app_id.clone())
        });
        let state = self.inner.state();
        let settle = state
            .find_trade_settle(trade_no, out_request_no)
            .ok_or(SimError::UnknownSettle)?;
        notify::settle_pairs(&self.inner, settle, auth_app_id.as_deref())
    }

    /// POSTs a notification form to the `notify_url` of the app its `app_id` names (the first
    /// app when it names none we know), bounded to 5 s.
    pub async fn post_notify(
        &self,
        pairs: &[(String, String)],
    ) -> Result<NotifyDelivery, SimError> {
        let url = {
            let accounts = self.inner.accounts();
            let named = pairs
                .iter()
                .find(|(k, _)| k == "app_id")
                .and_then(|(_, id)| accounts.get(id));
            named
                .or_else(|| accounts.first())
                .and_then(|app| app.notify_url.clone())
        };
        match url {
            None => Ok(NotifyDelivery::NotConfigured),
            Some(url) => Ok(notify::post_form(&url, pairs).await),
        }
    }

    /// Queues a fault for the next call of `method` (FIFO per method).
    pub fn inject(&self, method: &str, fault: Fault) {
        let mut state = self.inner.state();
        state
            .faults
            .entry(method.to_string())
            .or_default()
            .push_back(fault);
    }

    /// Every gateway call received so far, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.inner.state().calls.clone()
    }

    /// The money of every trade, for a checker (`GET /__sim/ledger`, read-only): each seeded
    /// trade, or one a settle call named, with its merchant (`owner`), `paid_fen` (as last
    /// seeded; null if never seeded), `unsettled_fen`, `refunded_fen`, the settles executed on
    /// it (one per `out_request_no` that was applied, replays not counted: `finish` when its
    /// first call asked for `royalty_finish`, its `details` with `trans_in_type`, `trans_in`,
    /// `amount_fen` and `state` `PROCESSING`/`SUCCESS`/`FAIL`; a finish-only settle has none),
    /// and what each receiver of those details still `holding_fen`s (successes minus what
    /// refunds took back). Sorted by trade number.
    pub fn ledger(&self) -> Value {
        let paid = sim_kit::lock(&self.inner.paid).clone();
        let state = self.inner.state();
        // (trade_no, out_request_no) of every settle call, in the order they came, and whether
        // the first of them asked for royalty_finish
        let mut settles: BTreeMap<String, Vec<(String, bool)>> = BTreeMap::new();
        let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
        let settle_calls = state
            .calls
            .iter()
            .filter(|c| c.method == "alipay.trade.order.settle");
        for call in settle_calls {
            let (Some(trade_no), Some(no)) = (
                call.biz_content["trade_no"].as_str(),
                call.out_request_no.as_deref(),
            ) else {
                continue;
            };
            if seen.insert((trade_no.to_string(), no.to_string())) {
                let finish = call.biz_content["extend_params"]["royalty_finish"] == "true";
                let list = settles.entry(trade_no.to_string()).or_default();
                list.push((no.to_string(), finish));
            }
        }
        let trades: BTreeSet<&String> = paid.keys().chain(settles.keys()).collect();
        let mut out = Vec::with_capacity(trades.len());
        for trade_no in trades {
            let Some(owner) = state.trade_owner(trade_no) else {
                continue;
            };
            let mut executed = Vec::new();
            let mut receivers: BTreeSet<(String, String)> = BTreeSet::new();
            for (no, finish) in settles.get(trade_no).into_iter().flatten() {
                let Some(settle) = state.find_trade_settle(trade_no, no) else {
                    continue; // refused: nothing was applied
                };
                let details: Vec<Value> = settle
                    .detail_list()
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|d| {
                        let kind = d["trans_in_type"].as_str().unwrap_or_default();
                        let account = d["trans_in"].as_str().unwrap_or_default();
                        receivers.insert((kind.to_string(), account.to_string()));
                        let fen = d["amount"].as_str().and_then(state::parse_yuan);
                        json!({"trans_in_type": kind, "trans_in": account,
                            "amount_fen": fen, "state": d["state"]})
                    })
                    .collect();
                executed.push(json!({"out_request_no": no, "settle_no": settle.settle_no,
                    "finish": finish, "details": details}));
            }
            let holdings: Vec<Value> = receivers
                .iter()
                .map(|(kind, account)| {
                    let fen = state.holding_fen(trade_no, kind, account);
                    json!({"trans_in_type": kind, "trans_in": account, "holding_fen": fen})
                })
                .collect();
            out.push(json!({
                "trade_no": trade_no,
                "owner": owner,
                "paid_fen": paid.get(trade_no),
                "unsettled_fen": state.unsettled_fen(trade_no),
                "refunded_fen": state.refunded_fen(trade_no),
                "settles": executed,
                "holdings": holdings,
            }));
        }
        json!({ "trades": out })
    }

    /// Stops accepting, releases held connections and closes every open connection.
    pub async fn shutdown(self) {
        self.inner.server.shutdown().await;
    }
}

fn is_form(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

fn parse_form(bytes: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(bytes).into_owned()
}

async fn route(sim: AlipaySim, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let form = is_form(&req);
    let body = match sim_kit::read_body(req.into_body()).await {
        Ok(body) => body,
        Err(e) => return Ok(reply(StatusCode::BAD_REQUEST, "text/plain", e.to_string())),
    };
    match (&method, path.as_str()) {
        (&Method::POST, "/gateway.do") => {
            let mut params: Vec<(String, String)> = parse_form(query.as_bytes()).collect();
            if form {
                params.extend(parse_form(&body));
            }
            gateway::handle(&sim.inner, params).await
        }
        (_, "/gateway.do") => Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "POST only",
        )),
        (&Method::GET, "/bill/download") => Ok(bills::download(&sim.inner, &query)),
        (_, p) if p.strip_prefix("/__sim/").is_some_and(bills::is_control) => {
            let answer = bills::control(&sim, &method, &p[7..], &query, &body);
            Ok(answer.unwrap_or_else(|e| error_reply(StatusCode::BAD_REQUEST, e)))
        }
        (_, p) if p.starts_with("/__sim/") => Ok(control(&sim, &method, &p[7..], &body).await),
        _ => Ok(reply(StatusCode::NOT_FOUND, "text/plain", "not found")),
    }
}

#[derive(Deserialize)]
struct SeedTrade {
    /// The app the trade belongs to; the first app when absent (and no `user_id`).
    #[serde(default)]
    app_id: Option<String>,
    /// With `user_id`: a trade of that authorised merchant, paid through this ISV app.
    #[serde(default)]
    isv_app_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    trade_no: String,
    #[serde(default)]
    out_trade_no: Option<String>,
    amount_fen: i64,
}

#[derive(Deserialize)]
struct TokenStateRequest {
    app_auth_token: String,
    state: AuthTokenState,
}

#[derive(Deserialize)]
struct SettlingRequest {
    trade_no: String,
    settling: bool,
}

#[derive(Deserialize)]
struct RefundRequest {
    trade_no: String,
    out_request_no: String,
    refund_amount_fen: i64,
    #[serde(default)]
    royalty: Vec<RoyaltyRefund>,
}

#[derive(Deserialize)]
struct CompleteRequest {
    trade_no: String,
    out_request_no: String,
    #[serde(default)]
    outcomes: BTreeMap<String, Outcome>,
}

#[derive(Deserialize)]
struct InjectRequest {
    method: String,
    fault: Fault,
}

/// `trades/<trade_no>/refunded` or `trades/<trade_no>/holdings/<type>/<account>`.
fn trade_detail(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("trades/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    matches!(parts.as_slice(), [_, "refunded"] | [_, "holdings", _, _])
}

/// A path segment with its `%XX` escapes decoded (`+` stays a plus).
fn decode_segment(segment: &str) -> String {
    let query = format!("x={}", segment.replace('+', "%2B"));
    form_urlencoded::parse(query.as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The test-control API under `/__sim/`.
async fn control(sim: &AlipaySim, method: &Method, path: &str, body: &[u8]) -> Reply {
    control_json(sim, method, path, body)
        .await
        .unwrap_or_else(|e| error_reply(StatusCode::BAD_REQUEST, e))
}

/// `Err` only for a request body that is not the expected JSON.
async fn control_json(
    sim: &AlipaySim,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Reply, serde_json::Error> {
    let ok = || json_reply(StatusCode::OK, &json!({}));
    Ok(match (method, path) {
        (&Method::POST, "apps") => {
            let app: AppAccount = serde_json::from_slice(body)?;
            match sim.add_app(app) {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "apps") => {
            let apps: Vec<Value> = sim
                .inner
                .accounts()
                .all()
                .map(|a| json!({"app_id": a.app_id, "notify_url": a.notify_url, "cert": a.cert}))
                .collect();
            json_reply(StatusCode::OK, &apps)
        }
        (&Method::POST, "authorizations") => {
            let auth: AppAuthorization = serde_json::from_slice(body)?;
            match sim.authorize_merchant(auth) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownApp(_)) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "authorizations") => {
            let grants: Vec<Value> = sim
                .inner
                .accounts()
                .all_grants()
                .map(|(g, state)| {
                    json!({"isv_app_id": g.isv_app_id, "user_id": g.user_id,
                        "auth_app_id": g.auth_app_id, "app_auth_token": g.token,
                        "app_refresh_token": g.refresh_token, "state": state,
                        "expires_in": g.expires_in, "re_expires_in": g.re_expires_in})
                })
                .collect();
            json_reply(StatusCode::OK, &grants)
        }
        (&Method::POST, "app-auth-token-state") => {
            let t: TokenStateRequest = serde_json::from_slice(body)?;
            match sim.set_app_auth_token_state(&t.app_auth_token, t.state) {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::NOT_FOUND, e),
            }
        }
        (&Method::POST, "trades") => {
            let t: SeedTrade = serde_json::from_slice(body)?;
            let out = t.out_trade_no.unwrap_or_else(|| format!("M{}", t.trade_no));
            let seeded = match (t.isv_app_id, t.user_id, t.app_id) {
                (Some(isv), Some(user), None) => {
                    sim.seed_merchant_trade_with(&isv, &user, &t.trade_no, &out, t.amount_fen)
                }
                (None, None, app_id) => {
                    let app_id = app_id.unwrap_or_else(|| sim.inner.first_app_id());
                    sim.seed_trade_with_for(&app_id, &t.trade_no, &out, t.amount_fen)
                }
                _ => {
                    let message = "give isv_app_id and user_id together, and then no app_id";
                    return Ok(error_reply(StatusCode::BAD_REQUEST, message));
                }
            };
            match seeded {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::NOT_FOUND, e),
            }
        }
        (&Method::GET, p) if trade_detail(p) => {
            let parts: Vec<String> = p["trades/".len()..]
                .split('/')
                .map(decode_segment)
                .collect();
            match parts.as_slice() {
                [trade_no, what] if what == "refunded" => match sim.refunded_fen(trade_no) {
                    Some(fen) => json_reply(StatusCode::OK, &json!({ "refunded_fen": fen })),
                    None => error_reply(StatusCode::NOT_FOUND, SimError::UnknownTrade),
                },
                [trade_no, what, kind, account] if what == "holdings" => {
                    match sim.holding_fen(trade_no, kind, account) {
                        Some(fen) => json_reply(StatusCode::OK, &json!({ "holding_fen": fen })),
                        None => error_reply(StatusCode::NOT_FOUND, SimError::UnknownTrade),
                    }
                }
                _ => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
            }
        }
        (&Method::POST, "settling") => {
            let s: SettlingRequest = serde_json::from_slice(body)?;
            match sim.set_settling(&s.trade_no, s.settling) {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::NOT_FOUND, e),
            }
        }
        (&Method::POST, "refund") => {
            let r: RefundRequest = serde_json::from_slice(body)?;
            let request = state::RefundRequest {
                trade: (&r.trade_no, true),
                out_request_no: &r.out_request_no,
                refund_fen: r.refund_amount_fen,
                rows: r.royalty,
            };
            let now = format_dt(beijing_now());
            let result = sim.inner.state().refund_control(&request, &now);
            match result {
                Ok((node, _)) => json_reply(StatusCode::OK, &node),
                Err(e) => json_reply(
                    StatusCode::CONFLICT,
                    &state::business_failed(&e.sub_code, &e.sub_msg),
                ),
            }
        }
        (&Method::GET, p) if p.starts_with("trades/") => {
            let trade_no = &p["trades/".len()..];
            match sim.unsettled_fen(trade_no) {
                Some(fen) => json_reply(
                    StatusCode::OK,
                    &json!({"unsettled_fen": fen, "settles": sim.settle_count(trade_no)}),
                ),
                None => error_reply(StatusCode::NOT_FOUND, "no such trade"),
            }
        }
        (&Method::POST, "complete") => {
            let c: CompleteRequest = serde_json::from_slice(body)?;
            let outcomes: Vec<(String, Outcome)> = c.outcomes.into_iter().collect();
            match sim
                .complete(&c.trade_no, &c.out_request_no, &outcomes)
                .await
            {
                Ok(delivery) => json_reply(StatusCode::OK, &delivery),
                Err(e @ SimError::UnknownSettle) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::CONFLICT, e),
            }
        }
        (&Method::POST, "inject") => {
            let i: InjectRequest = serde_json::from_slice(body)?;
            sim.inject(&i.method, i.fault);
            ok()
        }
        (&Method::GET, "calls") => json_reply(StatusCode::OK, &sim.calls()),
        (&Method::GET, "ledger") => json_reply(StatusCode::OK, &sim.ledger()),
        _ => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
    })
}

#[cfg(test)]
mod ledger_tests {
    use super::*;

    /// Runs a gateway method for the first app as the gateway does: recorded, then applied.
    fn call(sim: &AlipaySim, method: &str, biz: Value) -> Value {
        let app = sim.inner.first_app_id();
        let mut state = sim.inner.state();
        let now = format_dt(beijing_now());
        let node = state
            .call(method, &biz, (&app, &app), &now)
            .expect("a known method");
        state.calls.push(CallRecord {
            app_id: app.clone(),
            app_auth_token: None,
            merchant: Some(app),
            method: method.into(),
            out_request_no: biz["out_request_no"].as_str().map(str::to_string),
            biz_content: biz,
            verified: true,
            code: node["code"].as_str().map(str::to_string),
            sub_code: node["sub_code"].as_str().map(str::to_string),
            fault: None,
        });
        node
    }

    fn settle(sim: &AlipaySim, no: &str, amount: &str) -> Value {
        let row = json!({"trans_in": "2088000000000011", "amount": amount});
        let biz = json!({"trade_no": "T1", "out_request_no": no, "royalty_mode": "async",
            "royalty_parameters": [row]});
        call(sim, "alipay.trade.order.settle", biz)
    }

    #[tokio::test]
    async fn the_ledger_lists_each_executed_settle_once_with_what_receivers_hold() {
        let (_, app_public_key) = generate_keypair().expect("keys");
        let (alipay_private_key, _) = generate_keypair().expect("keys");
        let config = SimConfig {
            app_id: "2021000000000001".into(),
            app_public_key,
            alipay_private_key,
            notify_url: None,
            cert: None,
        };
        let sim = AlipaySim::start(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("start");
        sim.seed_trade("T1", 10000);
        sim.seed_trade("T2", 500);
        let receiver = json!({"type": "userId", "account": "2088000000000011"});
        let bind = json!({"out_request_no": "B1", "receiver_list": [receiver]});
        call(&sim, "alipay.trade.royalty.relation.bind", bind);
        assert_eq!(settle(&sim, "A1", "60.00")["code"], "10000");
        assert_eq!(settle(&sim, "A1", "60.00")["code"], "10000", "a replay");
        assert_eq!(
            settle(&sim, "A2", "50.00")["code"],
            "40004",
            "above what is left"
        );
        let outcomes = [("2088000000000011".to_string(), Outcome::Success)];
        sim.complete("T1", "A1", &outcomes).await.expect("complete");
        let finish = json!({"trade_no": "T1", "out_request_no": "A1F", "royalty_mode": "async",
            "extend_params": {"royalty_finish": "true"}});
        assert_eq!(
            call(&sim, "alipay.trade.order.settle", finish)["code"],
            "10000"
        );
        sim.refund(
            "T1",
            "RF1",
            1000,
            &[RoyaltyRefund {
                trans_out_type: "userId".into(),
                trans_out: "2088000000000011".into(),
                amount_fen: 1000,
            }],
        )
        .expect("refund");

        let ledger = sim.ledger();
        let trades = ledger["trades"].as_array().expect("trades");
        assert_eq!(trades.len(), 2, "{ledger}");
        let t1 = &trades[0];
        assert_eq!(t1["trade_no"], "T1");
        assert_eq!(t1["owner"], "2021000000000001");
        assert_eq!(t1["paid_fen"], 10000);
        assert_eq!(t1["refunded_fen"], 1000);
        let settles = t1["settles"].as_array().expect("settles");
        assert_eq!(settles.len(), 2, "A1 once, A2 refused, A1F: {ledger}");
        assert_eq!(settles[0]["out_request_no"], "A1");
        assert_eq!(settles[0]["finish"], false);
        let detail = json!({"trans_in_type": "userId", "trans_in": "2088000000000011",
            "amount_fen": 6000, "state": "SUCCESS"});
        assert_eq!(settles[0]["details"], json!([detail]));
        assert_eq!(settles[1]["out_request_no"], "A1F");
        assert_eq!(settles[1]["finish"], true);
        assert_eq!(settles[1]["details"], json!([]));
        let holding = json!({"trans_in_type": "userId", "trans_in": "2088000000000011",
            "holding_fen": 5000});
        assert_eq!(t1["holdings"], json!([holding]));
        assert_eq!(trades[1]["trade_no"], "T2");
        assert_eq!(trades[1]["settles"], json!([]));
        sim.shutdown().await;
    }
}
