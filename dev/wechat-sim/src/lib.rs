//! A fake WeChat Pay API v3 server (direct merchants and service providers, public-key mode) for
//! the profit-sharing (分账) endpoints, written from the public protocol documentation and
//! independent of our client.
//!
//! It serves several direct merchants at once: the one of [`SimConfig`] and any added with
//! [`WechatSim::add_merchant`]; and service providers ([`WechatSim::add_provider`]) acting for
//! their sub-merchants ([`WechatSim::add_sub_merchant`]) in partner mode, where a request signed
//! by the provider acts for the `sub_mchid` it carries. It verifies every request's
//! `Authorization` signature with the public key of the merchant or provider it names, signs
//! every answer with the "WeChat Pay" private key,
//! decrypts OAEP-encrypted receiver names, keeps each merchant's paid transactions with frozen
//! funds, split orders, returns and receivers apart, and can inject faults into the next call of
//! an operation. See `README.md` for the error codes and the HTTP control API under `/__sim/`.

mod accounts;
mod api;
mod bills;
mod crypto;
mod notify;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_kit::{Dropped, Reply, Server, error_reply, json_reply};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};

use crate::accounts::{Merchant, Merchants, Provider};
use crate::crypto::WechatKey;
use crate::state::State;

pub use crate::accounts::{
    DEFAULT_MAX_RATIO, MerchantAccount, ProviderAccount, SubMerchantAccount,
};
pub use crate::bills::{BILL_COLUMNS, BILL_URL_LIFE, BillCorruption, BillKind};

/// Simulator configuration. Keys are base64 DER (PEM armour is accepted too). The merchant it
/// names is the first one; [`WechatSim::add_merchant`] adds more. The WeChat Pay key, its id and
/// the APIv3 key are the simulator's, shared by all merchants (unless a merchant has its own
/// APIv3 key).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The first merchant (`mchid`): the one the helpers without a mchid
    /// (`seed_transaction`, `is_receiver`, ...) act for.
    pub mchid: String,
    /// The `appid` accepted in this merchant's bodies.
    pub appid: String,
    /// Base64 SubjectPublicKeyInfo of this merchant's API key: verifies its requests.
    pub merchant_public_key: String,
    /// The `serial_no` this merchant's `Authorization` must carry.
    pub merchant_serial: String,
    /// Base64 PKCS#8 of the "WeChat Pay" key: signs answers, decrypts OAEP names.
    pub wechat_private_key: String,
    /// The WeChat Pay public-key id: `Wechatpay-Serial` of every answer, and required as
    /// `Wechatpay-Serial` on requests with encrypted fields.
    pub wechat_public_key_id: String,
    /// The APIv3 key: 32 ASCII characters, the AES-256-GCM key of notifications (of every
    /// merchant without its own, [`MerchantAccount::apiv3_key`]).
    pub apiv3_key: String,
}

/// The operations (endpoints) faults can be injected into. JSON: snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `POST /v3/profitsharing/orders`
    CreateOrder,
    /// `GET /v3/profitsharing/orders/{out_order_no}`
    QueryOrder,
    /// `POST /v3/profitsharing/orders/unfreeze`
    Unfreeze,
    /// `POST /v3/profitsharing/receivers/add`
    AddReceiver,
    /// `POST /v3/profitsharing/receivers/delete`
    DeleteReceiver,
    /// `GET /v3/profitsharing/transactions/{transaction_id}/amounts`
    Amounts,
    /// `POST /v3/profitsharing/return-orders`
    CreateReturn,
    /// `GET /v3/profitsharing/return-orders/{out_return_no}`
    QueryReturn,
    /// `POST /v3/refund/domestic/refunds`
    Refund,
    /// `GET /v3/profitsharing/merchant-configs/{sub_mchid}` (partner only)
    MerchantConfigs,
    /// `GET /v3/profitsharing/bills`
    Bills,
    /// `GET /v3/billdownload/file` (the bill's download URL)
    BillDownload,
}

/// The result of one receiver of a split order. JSON: `"success"` or
/// `{"closed":{"fail_reason":".."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    /// `fail_reason` e.g. `ACCOUNT_ABNORMAL`, `NO_RELATION`, `RECEIVER_HIGH_RISK`.
    Closed {
        fail_reason: String,
    },
}

/// How a PROCESSING return ends (`WechatSim::complete_return`). Control JSON:
/// `{"result":"SUCCESS"}` or `{"result":"FAILED","fail_reason":".."}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    Success,
    /// `fail_reason`: `ACCOUNT_ABNORMAL`, `BALANCE_NOT_ENOUGH` or `TIME_OUT_CLOSED`.
    Failed {
        fail_reason: String,
    },
}

/// A return as the simulator holds it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnInfo {
    pub out_order_no: String,
    pub order_id: String,
    pub return_id: String,
    pub return_mchid: String,
    pub amount: i64,
    /// `PROCESSING`, `SUCCESS` or `FAILED`.
    pub result: String,
    pub fail_reason: Option<String>,
    /// How many create requests with this `out_return_no` were accepted (the first included).
    pub sends: u32,
}

/// An accepted refund of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub refund_fen: i64,
    /// The transaction's paid amount.
    pub total_fen: i64,
    pub create_time: String,
}

/// A refused call: the HTTP status and `{"code","message"}` WeChat would answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// A fault for the next call of one operation. JSON (control API): `"timeout"`,
/// `"timeout_after_apply"`, `{"status":{"status":500,"code":"SYSTEM_ERROR","message":".."}}`,
/// `"bad_signature"`, `"stale_timestamp"`, `"sign_test"`, `"wrong_serial"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Apply nothing and never answer; the connection is held 60 s or until shutdown.
    Timeout,
    /// Apply the call, then never answer (the lost-answer case).
    TimeoutAfterApply,
    /// Answer this status (one below 200 becomes 500) with a signed `{"code","message"}`;
    /// nothing applied.
    Status {
        status: u16,
        code: String,
        message: String,
    },
    /// Apply; the answer's `Wechatpay-Signature` covers other bytes than the body.
    BadSignature,
    /// Apply; the answer is signed correctly with a `Wechatpay-Timestamp` 10 minutes old.
    StaleTimestamp,
    /// Apply; `Wechatpay-Signature` is a `WECHATPAY/SIGNTEST/…` probe.
    SignTest,
    /// Apply; signed correctly, but `Wechatpay-Serial` names another key.
    WrongSerial,
}

/// One call received on a `/v3/` (or other non-control) path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRecord {
    /// The `mchid` the `Authorization` header names, known or not; None when there is none.
    /// Not in the control API's JSON (`GET /__sim/calls`), whose shape callers compare whole.
    #[serde(skip)]
    pub mchid: Option<String>,
    /// The provider that signed: `mchid` when it names a registered provider (partner call).
    /// Library only, like `mchid`.
    #[serde(skip)]
    pub sp_mchid: Option<String>,
    /// The `sub_mchid` the call carried (body of a POST, query string of a GET, path of
    /// `merchant-configs`), as sent and whoever signed; None when it carried none. Library only.
    #[serde(skip)]
    pub sub_mchid: Option<String>,
    pub method: String,
    /// The request target as received: path and `?query`.
    pub path: String,
    /// None for an unknown path.
    pub op: Option<Op>,
    /// From the body (create, unfreeze, create return) or the path (query) or the query
    /// string (query return).
    pub out_order_no: Option<String>,
    /// The `Authorization` header passed every check (scheme, known mchid, its serial, time,
    /// signature by its key).
    pub verified: bool,
    /// The HTTP status answered; None when no answer was sent.
    pub status: Option<u16>,
    /// `code` of an error answer.
    pub code: Option<String>,
    /// The injected fault this call consumed.
    pub fault: Option<Fault>,
}

/// A signed, encrypted notification as WeChat POSTs it: headers and the raw JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub headers: Vec<(String, String)>,
    pub body: String,
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
    #[error("no order with that transaction_id and out_order_no")]
    UnknownOrder,
    #[error("the order is not PROCESSING")]
    NotPending,
    #[error("account {0} is not a receiver of the order")]
    UnknownReceiver(String),
    #[error("account {0} is not a MERCHANT_ID receiver (only those are notified)")]
    NotMerchantReceiver(String),
    #[error("no such transaction")]
    UnknownTransaction,
    #[error("no return with that out_return_no")]
    UnknownReturn,
    #[error("the return is not PROCESSING")]
    ReturnNotProcessing,
    #[error("fail_reason {0} is not ACCOUNT_ABNORMAL, BALANCE_NOT_ENOUGH or TIME_OUT_CLOSED")]
    InvalidFailReason(String),
    #[error("no merchant {0} is registered")]
    UnknownMerchant(String),
    #[error("no provider {0} is registered")]
    UnknownProvider(String),
    #[error("{0} is not a sub-merchant of that provider")]
    UnknownSubMerchant(String),
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

/// An answer with `Content-Type: application/json`.
pub(crate) fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    sim_kit::reply(status, "application/json", body)
}

const RFC3339_BEIJING: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+08:00");

/// Now in Beijing time, RFC 3339 with `+08:00`, whole seconds.
pub(crate) fn beijing_now() -> String {
    let now = OffsetDateTime::now_utc().to_offset(offset!(+8));
    now.format(RFC3339_BEIJING).unwrap_or_default()
}

pub(crate) fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub(crate) struct Inner {
    /// The WeChat Pay public-key id (`Wechatpay-Serial` of answers).
    key_id: String,
    key: WechatKey,
    /// The simulator's APIv3 key (merchants without their own).
    apiv3_key: [u8; 32],
    /// The merchants served. Locked on its own, briefly, and never while `state` is held, so
    /// the RSA verification of a request runs outside both locks.
    merchants: Mutex<Merchants>,
    state: Mutex<State>,
    /// What the ledger ([`WechatSim::ledger`]) looks up. Locked on its own, never while `state`
    /// is held.
    ledger: Mutex<LedgerIndex>,
    /// `Fault::Timeout` / `Fault::TimeoutAfterApply` hold a connection 60 s (unless shut down).
    server: Server,
}

/// The numbers the ledger looks up: what each transaction was paid when last seeded, and every
/// number a split, unfreeze or return request carried (applied or not: the state says).
#[derive(Default)]
struct LedgerIndex {
    paid: BTreeMap<String, i64>,
    /// `(transaction_id, out_order_no, "split" | "unfreeze")`.
    orders: BTreeSet<(String, String, &'static str)>,
    /// `(out_order_no, out_return_no)`.
    returns: BTreeSet<(String, String)>,
}

impl Inner {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        sim_kit::lock(&self.state)
    }

    pub(crate) fn merchants(&self) -> MutexGuard<'_, Merchants> {
        sim_kit::lock(&self.merchants)
    }

    /// The mchid of the first merchant (of `SimConfig`).
    fn first_mchid(&self) -> String {
        self.merchants().first_id().to_string()
    }

    fn ledger_index(&self) -> MutexGuard<'_, LedgerIndex> {
        sim_kit::lock(&self.ledger)
    }

    /// Notes what a transaction was paid when (re)seeded, for the ledger.
    fn seeded(&self, transaction_id: &str, amount_fen: i64) {
        let mut index = self.ledger_index();
        index.paid.insert(transaction_id.to_string(), amount_fen);
    }

    /// Notes the numbers a split, unfreeze or return request carries, for the ledger.
    fn note_numbers(&self, method: &Method, path: &str, body: &[u8]) {
        let kind = match (method, path) {
            (&Method::POST, "/v3/profitsharing/orders") => "split",
            (&Method::POST, "/v3/profitsharing/orders/unfreeze") => "unfreeze",
            (&Method::POST, "/v3/profitsharing/return-orders") => "return",
            _ => return,
        };
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return;
        };
        let text = |name: &str| body[name].as_str().map(str::to_string);
        let mut index = self.ledger_index();
        match (kind, text("transaction_id"), text("out_order_no")) {
            ("return", _, Some(order)) => {
                if let Some(no) = text("out_return_no") {
                    index.returns.insert((order, no));
                }
            }
            ("return", _, None) => {}
            (kind, Some(transaction_id), Some(order)) => {
                index.orders.insert((transaction_id, order, kind));
            }
            _ => {}
        }
    }
}

/// A running simulator. Cheap to clone; all clones share one server and state.
#[derive(Clone)]
pub struct WechatSim {
    inner: Arc<Inner>,
}

impl WechatSim {
    /// Binds `listen` (loopback only; port 0 picks a free port) and starts serving.
    pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<Self, SimError> {
        let (server, listener) = Server::bind(listen).await?;
        let apiv3_key = accounts::apiv3_key(&config.apiv3_key)?;
        if config.wechat_public_key_id.is_empty() {
            return Err(SimError::Config("wechat_public_key_id is empty".into()));
        }
        let first = Merchant::new(MerchantAccount {
            mchid: config.mchid,
            appid: config.appid,
            merchant_public_key: config.merchant_public_key,
            merchant_serial: config.merchant_serial,
            apiv3_key: None,
        })?;
        let key = WechatKey::from_pkcs8(&config.wechat_private_key)?;
        let inner = Arc::new(Inner {
            key_id: config.wechat_public_key_id,
            key,
            apiv3_key,
            merchants: Mutex::new(Merchants::new(first)),
            state: Mutex::new(State::default()),
            ledger: Mutex::new(LedgerIndex::default()),
            server,
        });
        let sim = WechatSim { inner };
        let handler = sim.clone();
        sim.inner
            .server
            .serve(listener, move |req| route(handler.clone(), req));
        Ok(sim)
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.local_addr())
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.inner.server.local_addr()
    }

    /// Registers another merchant, or replaces the appid, key, serial and APIv3 key of a known
    /// `mchid` (its transactions, orders and receivers stay). Errors: `Config` (an empty field,
    /// an APIv3 key that is not 32 ASCII characters), `Key`.
    pub fn add_merchant(&self, merchant: MerchantAccount) -> Result<(), SimError> {
        let merchant = Merchant::new(merchant)?;
        self.inner.merchants().insert(merchant)
    }

    /// Registers a service provider (服务商), or replaces the appid, key, serial and APIv3 key
    /// of a known `sp_mchid` (its sub-merchants stay). Its key verifies the requests whose
    /// `Authorization` names `sp_mchid`; such a request acts for the `sub_mchid` it carries.
    /// Errors: `Config` (an empty field, an APIv3 key that is not 32 ASCII characters, a number
    /// that is already a direct merchant or sub-merchant), `Key`.
    pub fn add_provider(&self, provider: ProviderAccount) -> Result<(), SimError> {
        let provider = Provider::new(provider)?;
        self.inner.merchants().insert_provider(provider)
    }

    /// Registers a sub-merchant (特约商户) under its provider, or replaces a known one's
    /// `sub_appid`, `max_ratio` and provider (its transactions keep the provider they were paid
    /// through). Errors: `UnknownProvider`, `Config` (an empty number, `max_ratio` above 10000,
    /// a number that is already a direct merchant or provider).
    pub fn add_sub_merchant(&self, sub: SubMerchantAccount) -> Result<(), SimError> {
        self.inner.merchants().insert_sub(sub)
    }

    /// Sets the ratio (1/10000 of a transaction's paid amount) the sub-merchant authorised to
    /// its provider: what `merchant-configs` answers and splits are held to from now on.
    /// Errors: `UnknownSubMerchant` (not a sub-merchant of `sp_mchid`), `Config` (above 10000).
    pub fn set_max_ratio(
        &self,
        sp_mchid: &str,
        sub_mchid: &str,
        max_ratio: u32,
    ) -> Result<(), SimError> {
        self.inner
            .merchants()
            .set_max_ratio(sp_mchid, sub_mchid, max_ratio)
    }

    /// The ratio `sub_mchid` authorised to `sp_mchid`; None if it is not its sub-merchant.
    pub fn max_ratio(&self, sp_mchid: &str, sub_mchid: &str) -> Option<u32> {
        self.inner
            .merchants()
            .sub_of(sp_mchid, sub_mchid)
            .map(|s| s.max_ratio)
    }

    /// The registered provider numbers (`sp_mchid`), sorted.
    pub fn sp_mchids(&self) -> Vec<String> {
        self.inner
            .merchants()
            .all_providers()
            .map(|p| p.sp_mchid().to_string())
            .collect()
    }

    /// The registered merchant numbers, sorted.
    pub fn mchids(&self) -> Vec<String> {
        self.inner
            .merchants()
            .all()
            .map(|m| m.mchid.clone())
            .collect()
    }

    /// A paid transaction of the first merchant created with profit sharing: `amount_fen`
    /// frozen and splittable, paid now, not settling. Seeding an existing id again resets its
    /// funds, refunds, paid-at time and flags (orders and returns already made stay queryable).
    pub fn seed_transaction(&self, transaction_id: &str, amount_fen: i64) {
        let mchid = self.inner.first_mchid();
        self.inner
            .state()
            .seed(&mchid, None, transaction_id, amount_fen, unix_now());
        self.inner.seeded(transaction_id, amount_fen);
    }

    /// `seed_transaction` for the merchant `mchid`: only it may split, unfreeze, query or refund
    /// the transaction. Transaction ids are unique across merchants: seeding under another
    /// merchant moves the transaction. Error: `UnknownMerchant`.
    pub fn seed_transaction_for(
        &self,
        mchid: &str,
        transaction_id: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        if self.inner.merchants().get(mchid).is_none() {
            return Err(SimError::UnknownMerchant(mchid.to_string()));
        }
        self.inner
            .state()
            .seed(mchid, None, transaction_id, amount_fen, unix_now());
        self.inner.seeded(transaction_id, amount_fen);
        Ok(())
    }

    /// A transaction paid in partner mode: ordered by the provider `sp_mchid` for its
    /// sub-merchant `sub_mchid` (the merchant paid), `amount_fen` frozen and splittable. Only
    /// that provider, naming that `sub_mchid`, may split, unfreeze, query or refund it; a
    /// direct merchant's call on it, or the provider's without that `sub_mchid`, is answered
    /// 交易模式不匹配 (splits, unfreezes) or as another merchant's. Errors: `UnknownSubMerchant`.
    pub fn seed_partner_transaction(
        &self,
        sp_mchid: &str,
        sub_mchid: &str,
        transaction_id: &str,
        amount_fen: i64,
    ) -> Result<(), SimError> {
        if self.inner.merchants().sub_of(sp_mchid, sub_mchid).is_none() {
            return Err(SimError::UnknownSubMerchant(sub_mchid.to_string()));
        }
        self.inner.state().seed(
            sub_mchid,
            Some(sp_mchid),
            transaction_id,
            amount_fen,
            unix_now(),
        );
        self.inner.seeded(transaction_id, amount_fen);
        Ok(())
    }

    /// The merchant a transaction belongs to (the sub-merchant for a partner transaction);
    /// None for an unknown one.
    pub fn transaction_mchid(&self, transaction_id: &str) -> Option<String> {
        self.inner.state().owner(transaction_id).map(str::to_string)
    }

    /// The provider a partner transaction was paid through; None for a direct or unknown one.
    pub fn transaction_sp_mchid(&self, transaction_id: &str) -> Option<String> {
        let state = self.inner.state();
        state.provider(transaction_id).flatten().map(str::to_string)
    }

    /// Moves a transaction's paid-at time to `age` before now (returns are refused once it
    /// is more than 180 days old).
    pub fn set_paid_age(&self, transaction_id: &str, age: Duration) -> Result<(), SimError> {
        let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        let paid_at = unix_now().saturating_sub(age);
        self.inner.state().set_paid_at(transaction_id, paid_at)
    }

    /// While set, `amounts` of the transaction answers 400 `INVALID_REQUEST`
    /// "订单处理中，请稍后再试".
    pub fn set_settling(&self, transaction_id: &str, settling: bool) -> Result<(), SimError> {
        self.inner.state().set_settling(transaction_id, settling)
    }

    /// Refunds `amount_fen` of a transaction, as the payment gateway would for the merchant it
    /// belongs to (`POST /v3/refund/domestic/refunds` without signing). Idempotent on that
    /// merchant's `out_refund_no`.
    pub fn refund(
        &self,
        transaction_id: &str,
        out_refund_no: &str,
        amount_fen: i64,
    ) -> Result<Refund, Refusal> {
        let now = beijing_now();
        let first = self.inner.first_mchid();
        let mut state = self.inner.state();
        // An unknown transaction is refused either way; the first merchant's numbers are
        // then the ones checked.
        let mchid = state.owner(transaction_id).unwrap_or(&first).to_string();
        let provider = state.provider(transaction_id).flatten().map(str::to_string);
        state
            .refund(
                (&mchid, provider.as_deref()),
                transaction_id,
                out_refund_no,
                amount_fen,
                None,
                &now,
            )
            .map_err(|e| Refusal {
                status: e.status,
                code: e.code,
                message: e.message,
            })
    }

    /// The refunded total of a transaction; None for an unknown one.
    pub fn refunded_fen(&self, transaction_id: &str) -> Option<i64> {
        self.inner.state().refunded(transaction_id)
    }

    /// Sets the balance returns from the MERCHANT_ID receiver `return_mchid` are paid out of;
    /// None (the default) is unlimited. A return above the balance stays PROCESSING.
    pub fn set_balance(&self, return_mchid: &str, balance_fen: Option<i64>) {
        self.inner.state().set_balance(return_mchid, balance_fen);
    }

    /// The receiver's balance; None when unlimited.
    pub fn balance_fen(&self, return_mchid: &str) -> Option<i64> {
        self.inner.state().balance(return_mchid)
    }

    /// Ends a PROCESSING return of the first merchant. FAILED is final; SUCCESS takes the
    /// amount from the balance (if one is set; not below 0). Errors: `UnknownReturn`,
    /// `ReturnNotProcessing`, `InvalidFailReason`.
    pub fn complete_return(
        &self,
        out_return_no: &str,
        outcome: ReturnOutcome,
    ) -> Result<(), SimError> {
        let mchid = self.inner.first_mchid();
        self.complete_return_for(&mchid, out_return_no, outcome)
    }

    /// `complete_return` of the merchant `mchid`'s return (`out_return_no` is per merchant).
    pub fn complete_return_for(
        &self,
        mchid: &str,
        out_return_no: &str,
        outcome: ReturnOutcome,
    ) -> Result<(), SimError> {
        let now = beijing_now();
        self.inner
            .state()
            .complete_return(mchid, out_return_no, &outcome, &now)
    }

    /// A return of the first merchant by its `out_return_no`.
    pub fn return_order(&self, out_return_no: &str) -> Option<ReturnInfo> {
        let mchid = self.inner.first_mchid();
        self.return_order_for(&mchid, out_return_no)
    }

    /// A return of the merchant `mchid` by its `out_return_no`.
    pub fn return_order_for(&self, mchid: &str, out_return_no: &str) -> Option<ReturnInfo> {
        self.inner.state().return_info(mchid, out_return_no)
    }

    /// Returns accepted for a split order (`out_order_no`) of the first merchant and receiver,
    /// whatever their result.
    pub fn return_count(&self, out_order_no: &str, return_mchid: &str) -> usize {
        let mchid = self.inner.first_mchid();
        self.return_count_for(&mchid, out_order_no, return_mchid)
    }

    /// `return_count` for the merchant `mchid`'s split order.
    pub fn return_count_for(&self, mchid: &str, out_order_no: &str, return_mchid: &str) -> usize {
        self.inner
            .state()
            .return_count(mchid, out_order_no, return_mchid)
    }

    /// The frozen amount not yet split or released; None for an unknown transaction.
    pub fn unsplit_fen(&self, transaction_id: &str) -> Option<i64> {
        self.inner.state().unsplit(transaction_id)
    }

    /// Whether `(kind, account)` is currently a receiver added by the first merchant.
    pub fn is_receiver(&self, kind: &str, account: &str) -> bool {
        let mchid = self.inner.first_mchid();
        self.is_receiver_for(&mchid, kind, account)
    }

    /// Whether `(kind, account)` is currently a receiver added by `mchid`: receivers are per
    /// merchant.
    pub fn is_receiver_for(&self, mchid: &str, kind: &str, account: &str) -> bool {
        self.inner.state().receiver(mchid, kind, account).is_some()
    }

    /// The decrypted `name` the first merchant stored for a receiver (None if unknown or added
    /// without a name).
    pub fn receiver_name(&self, kind: &str, account: &str) -> Option<String> {
        let mchid = self.inner.first_mchid();
        self.receiver_name_for(&mchid, kind, account)
    }

    /// `receiver_name` of a receiver added by `mchid`.
    pub fn receiver_name_for(&self, mchid: &str, kind: &str, account: &str) -> Option<String> {
        self.inner
            .state()
            .receiver(mchid, kind, account)
            .and_then(|r| r.name.clone())
    }

    /// Distinct `out_order_no`s executed on the transaction (split and unfreeze orders, by
    /// whichever merchant).
    pub fn order_count(&self, transaction_id: &str) -> usize {
        self.inner.state().order_count(transaction_id)
    }

    /// Settles a PROCESSING order (of the merchant the transaction belongs to): each listed
    /// account gets its outcome, the others SUCCESS; the order becomes FINISHED. CLOSED amounts go back to the unsplit funds (unless the
    /// transaction was finished); an order with `unfreeze_unsplit=true` releases the rest.
    pub fn complete(
        &self,
        transaction_id: &str,
        out_order_no: &str,
        outcomes: &[(String, Outcome)],
    ) -> Result<(), SimError> {
        let now = beijing_now();
        self.inner
            .state()
            .complete(transaction_id, out_order_no, outcomes, &now)
    }

    /// Queues a fault for the next call of `op` (FIFO per op).
    pub fn inject(&self, op: Op, fault: Fault) {
        let mut state = self.inner.state();
        state.faults.entry(op).or_default().push_back(fault);
    }

    /// Every non-control call received so far, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.inner.state().calls.clone()
    }

    /// The money of every transaction, for a checker (`GET /__sim/ledger`, read-only): each
    /// seeded transaction, or one a split or unfreeze request named, with its merchant
    /// (`owner`), `paid_fen` (as last seeded; null if never seeded), `unsplit_fen`,
    /// `refunded_fen`, the orders executed on it (`kind` `split` or `unfreeze`, the endpoint the
    /// number was sent to; `out_order_no`, `order_id`, `state`, `receivers` with `type`,
    /// `account`, `amount`, `result` `PENDING`/`SUCCESS`/`CLOSED`), and the returns accepted
    /// from them (`out_return_no`, `out_order_no`, `return_mchid`, `amount`, `result`
    /// `PROCESSING`/`SUCCESS`/`FAILED`, `sends`). A number sent and refused is not listed.
    /// Sorted by transaction id.
    pub fn ledger(&self) -> Value {
        let (paid, numbers, return_numbers) = {
            let index = self.inner.ledger_index();
            (
                index.paid.clone(),
                index.orders.clone(),
                index.returns.clone(),
            )
        };
        let state = self.inner.state();
        let mut orders: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        // out_order_no -> the transaction of the order executed under it
        let mut order_transactions: BTreeMap<&str, &str> = BTreeMap::new();
        for (transaction_id, no, kind) in &numbers {
            let Some(order) = state.find_order(transaction_id, no) else {
                continue; // refused: nothing was applied
            };
            let listed = orders.entry(transaction_id.as_str()).or_default();
            if listed.iter().any(|o| o["out_order_no"] == no.as_str()) {
                continue; // sent to both endpoints: one order
            }
            order_transactions.insert(no.as_str(), transaction_id.as_str());
            let receivers: Vec<Value> = order
                .receivers
                .iter()
                .map(|r| {
                    json!({"type": r.kind, "account": r.account, "amount": r.amount,
                        "result": r.result})
                })
                .collect();
            listed.push(
                json!({"kind": kind, "out_order_no": no, "order_id": order.order_id,
                "state": order.state, "receivers": receivers}),
            );
        }
        let mut returns: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
        for (order_no, return_no) in &return_numbers {
            let Some(&transaction_id) = order_transactions.get(order_no.as_str()) else {
                continue;
            };
            let Some(owner) = state.owner(transaction_id) else {
                continue;
            };
            let Some(info) = state.return_info(owner, return_no) else {
                continue;
            };
            returns.entry(transaction_id).or_default().push(json!({
                "out_return_no": return_no, "out_order_no": info.out_order_no,
                "return_mchid": info.return_mchid, "amount": info.amount,
                "result": info.result, "sends": info.sends}));
        }
        let ids: BTreeSet<&str> = paid
            .keys()
            .map(String::as_str)
            .chain(numbers.iter().map(|(t, _, _)| t.as_str()))
            .collect();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(owner) = state.owner(id) else {
                continue;
            };
            out.push(json!({
                "transaction_id": id,
                "owner": owner,
                "paid_fen": paid.get(id),
                "unsplit_fen": state.unsplit(id),
                "refunded_fen": state.refunded(id),
                "orders": orders.remove(id).unwrap_or_default(),
                "returns": returns.remove(id).unwrap_or_default(),
            }));
        }
        json!({ "transactions": out })
    }

    /// The profit-sharing notification WeChat would POST to the MERCHANT_ID receiver `account`
    /// of an order (of the merchant the transaction belongs to, whose `mchid` it names):
    /// AES-256-GCM encrypted with that merchant's APIv3 key (else the simulator's) and signed
    /// like an answer.
    pub fn notification(
        &self,
        transaction_id: &str,
        out_order_no: &str,
        account: &str,
    ) -> Result<Notification, SimError> {
        notify::build(&self.inner, transaction_id, out_order_no, account)
    }

    /// Stops accepting, releases held connections and closes every open connection.
    pub async fn shutdown(self) {
        self.inner.server.shutdown().await;
    }
}

async fn route(sim: WechatSim, req: Request<Incoming>) -> Result<Reply, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match sim_kit::read_body(body).await {
        Ok(body) => body,
        Err(e) => {
            let error = json!({"code": "PARAM_ERROR", "message": e.to_string()});
            return Ok(json_reply(StatusCode::BAD_REQUEST, &error));
        }
    };
    match parts.uri.path().strip_prefix("/__sim/") {
        Some(path) => Ok(control(&sim, &parts.method, path, parts.uri.query(), &body)),
        None => {
            sim.inner
                .note_numbers(&parts.method, parts.uri.path(), &body);
            api::handle(&sim.inner, &parts, &body).await
        }
    }
}

#[derive(Deserialize)]
struct SeedTransaction {
    /// The merchant the transaction belongs to; the first one when absent (and no
    /// `sub_mchid`).
    #[serde(default)]
    mchid: Option<String>,
    /// With `sub_mchid`: a partner transaction of this provider's sub-merchant.
    #[serde(default)]
    sp_mchid: Option<String>,
    #[serde(default)]
    sub_mchid: Option<String>,
    transaction_id: String,
    amount_fen: i64,
}

#[derive(Deserialize)]
struct MaxRatioRequest {
    sp_mchid: String,
    sub_mchid: String,
    max_ratio: u32,
}

#[derive(Deserialize)]
struct CompleteRequest {
    transaction_id: String,
    out_order_no: String,
    #[serde(default)]
    outcomes: BTreeMap<String, Outcome>,
}

#[derive(Deserialize)]
struct InjectRequest {
    op: Op,
    fault: Fault,
}

#[derive(Deserialize)]
struct BalanceRequest {
    return_mchid: String,
    #[serde(default)]
    balance_fen: Option<i64>,
}

#[derive(Deserialize)]
struct CompleteReturnRequest {
    /// The merchant whose return it is; the first one when absent.
    #[serde(default)]
    mchid: Option<String>,
    out_return_no: String,
    result: String,
    #[serde(default)]
    fail_reason: Option<String>,
}

#[derive(Deserialize)]
struct PaidAtRequest {
    transaction_id: String,
    #[serde(default)]
    age_days: u64,
    #[serde(default)]
    age_seconds: u64,
}

#[derive(Deserialize)]
struct SettlingRequest {
    transaction_id: String,
    settling: bool,
}

#[derive(Deserialize)]
struct RefundRequest {
    transaction_id: String,
    out_refund_no: String,
    amount_fen: i64,
}

fn unknown_transaction(result: Result<(), SimError>) -> Reply {
    match result {
        Ok(()) => json_reply(StatusCode::OK, &json!({})),
        Err(e) => error_reply(StatusCode::NOT_FOUND, e),
    }
}

/// The test-control API under `/__sim/` (unauthenticated; loopback only).
fn control(
    sim: &WechatSim,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Reply {
    control_json(sim, method, path, query, body)
        .unwrap_or_else(|e| error_reply(StatusCode::BAD_REQUEST, e))
}

/// `Err` only for a request body that is not the expected JSON.
fn control_json(
    sim: &WechatSim,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Reply, serde_json::Error> {
    let ok = || json_reply(StatusCode::OK, &json!({}));
    // The merchant a GET asks about: `?mchid=`, else the first one.
    let mchid_param =
        || api::query_param(query, "mchid").unwrap_or_else(|| sim.inner.first_mchid());
    Ok(match (method, path) {
        (&Method::POST, "merchants") => {
            let m: MerchantAccount = serde_json::from_slice(body)?;
            match sim.add_merchant(m) {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "merchants") => {
            let merchants: Vec<serde_json::Value> = sim
                .inner
                .merchants()
                .all()
                .map(|m| {
                    json!({"mchid": m.mchid, "appid": m.appid, "merchant_serial": m.serial,
                        "own_apiv3_key": m.apiv3_key.is_some()})
                })
                .collect();
            json_reply(StatusCode::OK, &merchants)
        }
        (&Method::POST, "providers") => {
            let p: ProviderAccount = serde_json::from_slice(body)?;
            match sim.add_provider(p) {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "providers") => {
            let providers: Vec<serde_json::Value> = sim
                .inner
                .merchants()
                .all_providers()
                .map(|p| {
                    json!({"sp_mchid": p.0.mchid, "sp_appid": p.0.appid, "sp_serial": p.0.serial,
                        "own_apiv3_key": p.0.apiv3_key.is_some()})
                })
                .collect();
            json_reply(StatusCode::OK, &providers)
        }
        (&Method::POST, "sub-merchants") => {
            let sub: SubMerchantAccount = serde_json::from_slice(body)?;
            match sim.add_sub_merchant(sub) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownProvider(_)) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "sub-merchants") => {
            let subs: Vec<serde_json::Value> = sim
                .inner
                .merchants()
                .all_subs()
                .map(|s| {
                    json!({"sub_mchid": s.sub_mchid, "sp_mchid": s.sp_mchid,
                        "sub_appid": s.sub_appid, "max_ratio": s.max_ratio})
                })
                .collect();
            json_reply(StatusCode::OK, &subs)
        }
        (&Method::POST, "max-ratio") => {
            let r: MaxRatioRequest = serde_json::from_slice(body)?;
            match sim.set_max_ratio(&r.sp_mchid, &r.sub_mchid, r.max_ratio) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownSubMerchant(_)) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::POST, "transactions") => {
            let t: SeedTransaction = serde_json::from_slice(body)?;
            let seeded = match (t.sp_mchid, t.sub_mchid, t.mchid) {
                (Some(sp), Some(sub), None) => {
                    sim.seed_partner_transaction(&sp, &sub, &t.transaction_id, t.amount_fen)
                }
                (None, None, mchid) => {
                    let mchid = mchid.unwrap_or_else(|| sim.inner.first_mchid());
                    sim.seed_transaction_for(&mchid, &t.transaction_id, t.amount_fen)
                }
                _ => {
                    let message = "give sp_mchid and sub_mchid together, and then no mchid";
                    return Ok(error_reply(StatusCode::BAD_REQUEST, message));
                }
            };
            match seeded {
                Ok(()) => ok(),
                Err(e) => error_reply(StatusCode::NOT_FOUND, e),
            }
        }
        (&Method::GET, p) if p.starts_with("transactions/") => {
            let id = &p["transactions/".len()..];
            match sim.unsplit_fen(id) {
                Some(fen) => json_reply(
                    StatusCode::OK,
                    &json!({"unsplit_fen": fen, "orders": sim.order_count(id)}),
                ),
                None => error_reply(StatusCode::NOT_FOUND, "no such transaction"),
            }
        }
        (&Method::POST, "complete") => {
            let c: CompleteRequest = serde_json::from_slice(body)?;
            let outcomes: Vec<(String, Outcome)> = c.outcomes.into_iter().collect();
            match sim.complete(&c.transaction_id, &c.out_order_no, &outcomes) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownOrder) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::CONFLICT, e),
            }
        }
        (&Method::POST, "inject") => {
            let i: InjectRequest = serde_json::from_slice(body)?;
            sim.inject(i.op, i.fault);
            ok()
        }
        (&Method::POST, "balance") => {
            let b: BalanceRequest = serde_json::from_slice(body)?;
            sim.set_balance(&b.return_mchid, b.balance_fen);
            ok()
        }
        (&Method::POST, "complete-return") => {
            let c: CompleteReturnRequest = serde_json::from_slice(body)?;
            let outcome = match (c.result.as_str(), c.fail_reason) {
                ("SUCCESS", _) => ReturnOutcome::Success,
                ("FAILED", Some(fail_reason)) => ReturnOutcome::Failed { fail_reason },
                ("FAILED", None) => {
                    return Ok(error_reply(
                        StatusCode::BAD_REQUEST,
                        "FAILED needs a fail_reason",
                    ));
                }
                (other, _) => {
                    let message = format!("result must be SUCCESS or FAILED, not {other}");
                    return Ok(error_reply(StatusCode::BAD_REQUEST, message));
                }
            };
            let mchid = c.mchid.unwrap_or_else(|| sim.inner.first_mchid());
            match sim.complete_return_for(&mchid, &c.out_return_no, outcome) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownReturn) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e @ SimError::InvalidFailReason(_)) => error_reply(StatusCode::BAD_REQUEST, e),
                Err(e) => error_reply(StatusCode::CONFLICT, e),
            }
        }
        (&Method::GET, p) if p.starts_with("returns/") => {
            let no = api::percent_decode(&p["returns/".len()..]);
            match sim.return_order_for(&mchid_param(), &no) {
                Some(info) => json_reply(StatusCode::OK, &info),
                None => error_reply(StatusCode::NOT_FOUND, SimError::UnknownReturn),
            }
        }
        (&Method::GET, p) if p.starts_with("orders/") => {
            let rest = &p["orders/".len()..];
            match rest.split_once("/returns/") {
                Some((order, mchid)) => {
                    let (order, mchid) = (api::percent_decode(order), api::percent_decode(mchid));
                    let count = sim.return_count_for(&mchid_param(), &order, &mchid);
                    json_reply(StatusCode::OK, &json!({ "count": count }))
                }
                None => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
            }
        }
        (&Method::POST, "paid-at") => {
            let p: PaidAtRequest = serde_json::from_slice(body)?;
            let secs = p
                .age_days
                .saturating_mul(86_400)
                .saturating_add(p.age_seconds);
            unknown_transaction(sim.set_paid_age(&p.transaction_id, Duration::from_secs(secs)))
        }
        (&Method::POST, "settling") => {
            let s: SettlingRequest = serde_json::from_slice(body)?;
            unknown_transaction(sim.set_settling(&s.transaction_id, s.settling))
        }
        (&Method::POST, "refund") => {
            let r: RefundRequest = serde_json::from_slice(body)?;
            match sim.refund(&r.transaction_id, &r.out_refund_no, r.amount_fen) {
                Ok(refund) => json_reply(StatusCode::OK, &state::refund_json(&refund)),
                Err(e) => {
                    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST);
                    json_reply(status, &json!({"code": e.code, "message": e.message}))
                }
            }
        }
        (method, p) if bills::is_control(p) => bills::control(sim, method, p, query, body)?,
        (&Method::GET, "calls") => json_reply(StatusCode::OK, &sim.calls()),
        (&Method::GET, "ledger") => json_reply(StatusCode::OK, &sim.ledger()),
        _ => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
    })
}

#[cfg(test)]
mod ledger_tests {
    use super::*;
    use crate::state::Ctx;

    /// Runs a split, unfreeze or return for the first merchant as a request would: its
    /// numbers noted, then applied.
    fn post(sim: &WechatSim, path: &str, body: Value) -> Result<Value, u16> {
        let inner = &sim.inner;
        let raw = body.to_string();
        inner.note_numbers(&Method::POST, path, raw.as_bytes());
        let (mchid, appid) = {
            let merchants = inner.merchants();
            let first = merchants.first_id().to_string();
            let appid = merchants
                .get(&first)
                .map(|m| m.appid.clone())
                .unwrap_or_default();
            (first, appid)
        };
        let ctx = Ctx {
            mchid: &mchid,
            appid: &appid,
            partner: None,
            key_id: &inner.key_id,
            key: &inner.key,
            serial_header: None,
            now: beijing_now(),
            now_unix: unix_now(),
        };
        let mut state = inner.state();
        let result = match path {
            "/v3/profitsharing/orders" => state.create_order(&ctx, &body),
            "/v3/profitsharing/orders/unfreeze" => state.unfreeze(&ctx, &body),
            "/v3/profitsharing/receivers/add" => state.add_receiver(&ctx, &body),
            _ => state.create_return(&ctx, &body),
        };
        result.map_err(|e| e.status)
    }

    #[tokio::test]
    async fn the_ledger_lists_each_executed_order_once_and_its_returns() {
        let (_, merchant_public_key) = generate_keypair().expect("keys");
        let (wechat_private_key, _) = generate_keypair().expect("keys");
        let config = SimConfig {
            mchid: "1900000109".into(),
            appid: "wx8888888888888888".into(),
            merchant_public_key,
            merchant_serial: "5157F09EFDC096DE15EBE81A47057A7232F1B8E1".into(),
            wechat_private_key,
            wechat_public_key_id: "PUB_KEY_ID_0114232134912410000000000000".into(),
            apiv3_key: "a".repeat(32),
        };
        let sim = WechatSim::start(config, "127.0.0.1:0".parse().expect("address"))
            .await
            .expect("start");
        sim.seed_transaction("T1", 10000);
        let receiver = json!({"appid": "wx8888888888888888", "type": "PERSONAL_OPENID",
            "account": "o1", "relation_type": "STORE"});
        post(&sim, "/v3/profitsharing/receivers/add", receiver).expect("receiver");
        let split = |no: &str, amount: i64| {
            json!({"appid": "wx8888888888888888", "transaction_id": "T1", "out_order_no": no,
                "unfreeze_unsplit": false, "receivers": [{"type": "PERSONAL_OPENID",
                "account": "o1", "amount": amount, "description": "d"}]})
        };
        post(&sim, "/v3/profitsharing/orders", split("A1", 6000)).expect("split");
        post(&sim, "/v3/profitsharing/orders", split("A1", 6000)).expect("the same again");
        assert_eq!(
            post(&sim, "/v3/profitsharing/orders", split("A2", 5000)),
            Err(403),
            "above what is left"
        );
        sim.complete("T1", "A1", &[]).expect("complete");
        let unfreeze = json!({"transaction_id": "T1", "out_order_no": "A1F", "description": "d"});
        post(&sim, "/v3/profitsharing/orders/unfreeze", unfreeze).expect("unfreeze");

        let ledger = sim.ledger();
        let all = ledger["transactions"].as_array().expect("transactions");
        assert_eq!(all.len(), 1, "{ledger}");
        let t1 = &all[0];
        assert_eq!(t1["transaction_id"], "T1");
        assert_eq!(t1["owner"], "1900000109");
        assert_eq!(t1["paid_fen"], 10000);
        assert_eq!(t1["unsplit_fen"], 0);
        let orders = t1["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 2, "A1 once, A2 refused, A1F: {ledger}");
        assert_eq!(orders[0]["kind"], "split");
        assert_eq!(orders[0]["out_order_no"], "A1");
        assert_eq!(orders[0]["state"], "FINISHED");
        let got = json!({"type": "PERSONAL_OPENID", "account": "o1", "amount": 6000,
            "result": "SUCCESS"});
        assert_eq!(orders[0]["receivers"], json!([got]));
        assert_eq!(orders[1]["kind"], "unfreeze");
        assert_eq!(orders[1]["out_order_no"], "A1F");
        assert_eq!(t1["returns"], json!([]));
        sim.shutdown().await;
    }
}
