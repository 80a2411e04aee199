//! A fake WeChat Pay API v3 server (direct merchant, public-key mode) for the profit-sharing
//! (分账) endpoints, written from the public protocol documentation and independent of our client.
//!
//! It verifies every request's `Authorization` signature with the merchant public key, signs
//! every answer with the "WeChat Pay" private key, decrypts OAEP-encrypted receiver names, keeps a
//! small merchant account (paid transactions with frozen funds, split orders, receivers) and can
//! inject faults into the next call of an operation. See `README.md` for the error codes and the
//! HTTP control API under `/__sim/`.

mod api;
mod crypto;
mod notify;
mod state;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sim_kit::{Dropped, Reply, Server, Verifier, error_reply, json_reply};
use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::{format_description, offset};

use crate::crypto::WechatKey;
use crate::state::State;

/// Simulator configuration. Keys are base64 DER (PEM armour is accepted too).
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The merchant number (`mchid`) every `Authorization` must carry.
    pub mchid: String,
    /// The only `appid` accepted in bodies.
    pub appid: String,
    /// Base64 SubjectPublicKeyInfo of the merchant API key: verifies requests.
    pub merchant_public_key: String,
    /// The `serial_no` every `Authorization` must carry.
    pub merchant_serial: String,
    /// Base64 PKCS#8 of the "WeChat Pay" key: signs answers, decrypts OAEP names.
    pub wechat_private_key: String,
    /// The WeChat Pay public-key id: `Wechatpay-Serial` of every answer, and required as
    /// `Wechatpay-Serial` on requests with encrypted fields.
    pub wechat_public_key_id: String,
    /// The APIv3 key: 32 ASCII characters, the AES-256-GCM key of notifications.
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
    pub method: String,
    /// The request target as received: path and `?query`.
    pub path: String,
    /// None for an unknown path.
    pub op: Option<Op>,
    /// From the body (create, unfreeze, create return) or the path (query) or the query
    /// string (query return).
    pub out_order_no: Option<String>,
    /// The `Authorization` header passed every check (scheme, mchid, serial, time, signature).
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
    config: SimConfig,
    key: WechatKey,
    verifier: Verifier,
    apiv3_key: [u8; 32],
    state: Mutex<State>,
    /// `Fault::Timeout` / `Fault::TimeoutAfterApply` hold a connection 60 s (unless shut down).
    server: Server,
}

impl Inner {
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        sim_kit::lock(&self.state)
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
        let apiv3_key: [u8; 32] = config
            .apiv3_key
            .as_bytes()
            .try_into()
            .ok()
            .filter(|k: &[u8; 32]| k.is_ascii())
            .ok_or_else(|| SimError::Config("apiv3_key must be 32 ASCII characters".into()))?;
        for (name, value) in [
            ("mchid", &config.mchid),
            ("appid", &config.appid),
            ("merchant_serial", &config.merchant_serial),
            ("wechat_public_key_id", &config.wechat_public_key_id),
        ] {
            if value.is_empty() {
                return Err(SimError::Config(format!("{name} is empty")));
            }
        }
        let verifier = crypto::merchant_verifier(&config.merchant_public_key)?;
        let key = WechatKey::from_pkcs8(&config.wechat_private_key)?;
        let inner = Arc::new(Inner {
            config,
            key,
            verifier,
            apiv3_key,
            state: Mutex::new(State::default()),
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

    /// A paid transaction created with profit sharing: `amount_fen` frozen and splittable,
    /// paid now, not settling. Seeding an existing id again resets its funds, refunds, paid-at
    /// time and flags (orders and returns already made stay queryable).
    pub fn seed_transaction(&self, transaction_id: &str, amount_fen: i64) {
        self.inner
            .state()
            .seed(transaction_id, amount_fen, unix_now());
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

    /// Refunds `amount_fen` of a transaction, as the payment gateway would
    /// (`POST /v3/refund/domestic/refunds` without signing). Idempotent on `out_refund_no`.
    pub fn refund(
        &self,
        transaction_id: &str,
        out_refund_no: &str,
        amount_fen: i64,
    ) -> Result<Refund, Refusal> {
        let now = beijing_now();
        self.inner
            .state()
            .refund(transaction_id, out_refund_no, amount_fen, None, &now)
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

    /// Ends a PROCESSING return. FAILED is final; SUCCESS takes the amount from the balance
    /// (if one is set; not below 0). Errors: `UnknownReturn`, `ReturnNotProcessing`,
    /// `InvalidFailReason`.
    pub fn complete_return(
        &self,
        out_return_no: &str,
        outcome: ReturnOutcome,
    ) -> Result<(), SimError> {
        let now = beijing_now();
        self.inner
            .state()
            .complete_return(out_return_no, &outcome, &now)
    }

    /// A return by its `out_return_no`.
    pub fn return_order(&self, out_return_no: &str) -> Option<ReturnInfo> {
        self.inner.state().return_info(out_return_no)
    }

    /// Returns accepted for a split order (`out_order_no`) and receiver, whatever their result.
    pub fn return_count(&self, out_order_no: &str, return_mchid: &str) -> usize {
        self.inner.state().return_count(out_order_no, return_mchid)
    }

    /// The frozen amount not yet split or released; None for an unknown transaction.
    pub fn unsplit_fen(&self, transaction_id: &str) -> Option<i64> {
        self.inner.state().unsplit(transaction_id)
    }

    /// Whether `(kind, account)` is currently an added receiver.
    pub fn is_receiver(&self, kind: &str, account: &str) -> bool {
        self.inner.state().receiver(kind, account).is_some()
    }

    /// The decrypted `name` stored for a receiver (None if unknown or added without a name).
    pub fn receiver_name(&self, kind: &str, account: &str) -> Option<String> {
        self.inner
            .state()
            .receiver(kind, account)
            .and_then(|r| r.name.clone())
    }

    /// Distinct `out_order_no`s executed on the transaction (split and unfreeze orders).
    pub fn order_count(&self, transaction_id: &str) -> usize {
        self.inner.state().order_count(transaction_id)
    }

    /// Settles a PROCESSING order: each listed account gets its outcome, the others SUCCESS;
    /// the order becomes FINISHED. CLOSED amounts go back to the unsplit funds (unless the
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

    /// The profit-sharing notification WeChat would POST to the MERCHANT_ID receiver `account`
    /// of an order: AES-256-GCM encrypted with the APIv3 key and signed like an answer.
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
        Some(path) => Ok(control(&sim, &parts.method, path, &body)),
        None => api::handle(&sim.inner, &parts, &body).await,
    }
}

#[derive(Deserialize)]
struct SeedTransaction {
    transaction_id: String,
    amount_fen: i64,
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
fn control(sim: &WechatSim, method: &Method, path: &str, body: &[u8]) -> Reply {
    control_json(sim, method, path, body)
        .unwrap_or_else(|e| error_reply(StatusCode::BAD_REQUEST, e))
}

/// `Err` only for a request body that is not the expected JSON.
fn control_json(
    sim: &WechatSim,
    method: &Method,
    path: &str,
    body: &[u8],
) -> Result<Reply, serde_json::Error> {
    let ok = || json_reply(StatusCode::OK, &json!({}));
    Ok(match (method, path) {
        (&Method::POST, "transactions") => {
            let t: SeedTransaction = serde_json::from_slice(body)?;
            sim.seed_transaction(&t.transaction_id, t.amount_fen);
            ok()
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
            match sim.complete_return(&c.out_return_no, outcome) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownReturn) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e @ SimError::InvalidFailReason(_)) => error_reply(StatusCode::BAD_REQUEST, e),
                Err(e) => error_reply(StatusCode::CONFLICT, e),
            }
        }
        (&Method::GET, p) if p.starts_with("returns/") => {
            let no = api::percent_decode(&p["returns/".len()..]);
            match sim.return_order(&no) {
                Some(info) => json_reply(StatusCode::OK, &info),
                None => error_reply(StatusCode::NOT_FOUND, SimError::UnknownReturn),
            }
        }
        (&Method::GET, p) if p.starts_with("orders/") => {
            let rest = &p["orders/".len()..];
            match rest.split_once("/returns/") {
                Some((order, mchid)) => {
                    let (order, mchid) = (api::percent_decode(order), api::percent_decode(mchid));
                    let count = sim.return_count(&order, &mchid);
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
        (&Method::GET, "calls") => json_reply(StatusCode::OK, &sim.calls()),
        _ => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
    })
}
