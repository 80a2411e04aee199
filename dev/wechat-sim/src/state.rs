//! The simulated merchant accounts: paid transactions with frozen funds, split and unfreeze
//! orders, returns, refunds and receivers, each belonging to one merchant (`mchid`), and the
//! business rules of the profit-sharing endpoints. Everything here is synchronous and runs under
//! the simulator's mutex.
//!
//! The merchant's own numbers (`out_order_no`, `out_return_no`, `out_refund_no`) and its
//! receivers are per merchant: another merchant's are simply not found. A WeChat transaction id
//! is global; using another merchant's is refused (see `NOT_OURS_*`).
//!
//! In partner mode the merchant a call acts for is the sub-merchant its `sub_mchid` names, so
//! its numbers and receivers are the sub-merchant's; a transaction remembers the provider it was
//! paid through (none for a direct one), and a split or unfreeze in the other mode, or through
//! another provider or for another sub-merchant, is refused with `MODE_MISMATCH`.

use std::collections::{HashMap, VecDeque};

use serde_json::{Map, Value, json};

use crate::crypto::{DIGITS, WechatKey, random_text};
use crate::{CallRecord, Fault, Op, Outcome, Refund, ReturnInfo, ReturnOutcome, SimError};

mod bill_rows;

/// A non-2xx answer: `{"code","message"}` (plus `detail.issue` when set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub issue: Option<String>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            issue: None,
        }
    }

    pub(crate) fn body(&self) -> String {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(issue) = &self.issue {
            body["detail"] = json!({ "issue": issue });
        }
        body.to_string()
    }
}

pub(crate) type ApiResult<T = Value> = Result<T, ApiError>;

pub(crate) fn param_error(message: impl Into<String>) -> ApiError {
    ApiError::new(400, "PARAM_ERROR", message)
}

fn invalid_request(message: &str) -> ApiError {
    ApiError::new(400, "INVALID_REQUEST", message)
}

fn not_exists(message: &str) -> ApiError {
    ApiError::new(404, "RESOURCE_NOT_EXISTS", message)
}

// Another merchant's transaction. The direct-merchant page of `GET .../transactions/{id}/amounts`
// documents 400 INVALID_REQUEST "非本商户的订单不支持查询" for exactly this
// (pay.weixin.qq.com/docs/merchant/apis/profit-sharing/transactions/query-order-amount.html).
// The create and unfreeze pages name no answer for it, so they get the same code with the
// operation's word; the refund API answers it like an unknown order (404 "订单不存在").
const NOT_OURS_QUERY: &str = "非本商户的订单不支持查询";
const NOT_OURS_SPLIT: &str = "非本商户的订单不支持分账";

// A split or unfreeze of a transaction paid in the other mode (direct vs. partner), through
// another provider or for another sub-merchant: WeChat's 400 INVALID_REQUEST with this message,
// as integrators received it on the v3 partner unfreeze without `sub_mchid`
// (github.com/binarywang/WxJava/issues/2747) and on splits of the other mode
// (developers.weixin.qq.com/community/pay/doc/0006ec3c9ac840f0cd9a90f1d56800, err_code
// INVALID_REQUEST).
pub(crate) const MODE_MISMATCH: &str = "请求分账的交易模式和下单的交易模式不匹配，普通商户的交易只能普通商户发起分账，服务商下单的交易只能服务商发起分账";

// A partner split above the ratio the sub-merchant authorised: 400 INVALID_REQUEST as the v3
// API answered it (developers.weixin.qq.com/community/develop/doc/0008003fc683f8229193489f961400;
// WeChat's FAQ names the message and where the sub-merchant sets the ratio,
// developers.weixin.qq.com/community/pay/doc/000284823e8460aada68dacca5b008).
const OVER_MAX_RATIO: &str = "分账金额超出最大分账比例";

/// A partner call: the provider that signed it and what its sub-merchant allows.
pub(crate) struct Partner<'a> {
    pub sp_mchid: &'a str,
    /// The sub-merchant's own appid (`sub_appid` must be it), if it has one.
    pub sub_appid: Option<&'a str>,
    /// The ratio the sub-merchant authorised to the provider, in 1/10000.
    pub max_ratio: u32,
}

/// What a handler needs besides the state: the calling merchant, the key and the request
/// context.
pub(crate) struct Ctx<'a> {
    /// The merchant the call acts for: the direct merchant that signed it, or the sub-merchant
    /// a provider's call names in `sub_mchid`.
    pub mchid: &'a str,
    /// The appid bodies must carry: the direct merchant's, or the provider's `sp_appid`.
    pub appid: &'a str,
    /// Set for a partner call (then `mchid` is the sub-merchant).
    pub partner: Option<Partner<'a>>,
    pub key_id: &'a str,
    pub key: &'a WechatKey,
    /// The request's `Wechatpay-Serial` header.
    pub serial_header: Option<&'a str>,
    pub now: String,
    /// Now in Unix seconds (the return window is measured against it).
    pub now_unix: i64,
}

impl Ctx<'_> {
    /// The provider of a partner call.
    pub(crate) fn provider(&self) -> Option<&str> {
        self.partner.as_ref().map(|p| p.sp_mchid)
    }

    /// Decrypts an OAEP `name`; the request must say (Wechatpay-Serial) which key encrypted it.
    fn decrypt_name(&self, ciphertext: &str) -> Result<String, ApiError> {
        if self.serial_header != Some(self.key_id) {
            return Err(param_error(format!(
                "请求包含敏感信息, 请求头 Wechatpay-Serial 须为加密所用的微信支付公钥ID {}",
                self.key_id
            )));
        }
        self.key
            .decrypt_oaep_b64(ciphertext)
            .ok_or_else(|| param_error("敏感信息解密失败"))
    }
}

pub(crate) const MERCHANT_ID: &str = "MERCHANT_ID";
const PERSONAL_OPENID: &str = "PERSONAL_OPENID";
/// An openid under the sub-merchant's `sub_appid`: partner mode only.
const PERSONAL_SUB_OPENID: &str = "PERSONAL_SUB_OPENID";
const RELATION_TYPES: [&str; 11] = [
    "SERVICE_PROVIDER",
    "STORE",
    "STAFF",
    "STORE_OWNER",
    "PARTNER",
    "HEADQUARTER",
    "BRAND",
    "DISTRIBUTOR",
    "USER",
    "SUPPLIER",
    "CUSTOM",
];
const MAX_RECEIVERS: usize = 50;
const MAX_DESCRIPTION: usize = 80;
/// Returns per (split order, return_mchid).
const MAX_RETURNS: usize = 20;
/// How old a transaction may be for a return, in seconds (180 days).
const RETURN_WINDOW: i64 = 180 * 86_400;
/// The `fail_reason`s of a FAILED return.
pub(crate) const RETURN_FAIL_REASONS: [&str; 3] =
    ["ACCOUNT_ABNORMAL", "BALANCE_NOT_ENOUGH", "TIME_OUT_CLOSED"];

struct Transaction {
    /// The merchant paid (`mchid`, or the sub-merchant's `sub_mchid`): only it may split,
    /// unfreeze, query or refund.
    owner: String,
    /// The provider it was paid through (partner mode); None for a direct transaction. Only
    /// that provider, naming `owner` as `sub_mchid`, may split or unfreeze it.
    provider: Option<String>,
    /// What the payer paid (`amount.total` of a refund).
    amount: i64,
    unsplit: i64,
    /// Refunded so far (the refundable amount is `amount - refunded`).
    refunded: i64,
    /// An unfreeze order or an order with `unfreeze_unsplit=true` was accepted.
    finished: bool,
    /// When it was paid, Unix seconds.
    paid_at: i64,
    /// `amounts` answers "订单处理中" while set.
    settling: bool,
}

pub(crate) struct Receiver {
    pub name: Option<String>,
}

pub(crate) struct OrderReceiver {
    pub kind: String,
    pub account: String,
    pub amount: i64,
    pub description: String,
    pub result: &'static str,
    pub fail_reason: Option<String>,
    pub detail_id: String,
    pub create_time: String,
    pub finish_time: String,
}

pub(crate) struct Order {
    /// The merchant that made the order (the sub-merchant in partner mode).
    pub mchid: String,
    /// The provider that made it for `mchid` (partner mode).
    pub provider: Option<String>,
    pub transaction_id: String,
    pub out_order_no: String,
    pub order_id: String,
    pub state: &'static str,
    pub receivers: Vec<OrderReceiver>,
    unfreeze_unsplit: bool,
    /// Made by `orders/unfreeze` (funds released to the merchant, not a split).
    unfreeze: bool,
}

impl Order {
    fn to_json(&self) -> Value {
        let receivers: Vec<Value> = self
            .receivers
            .iter()
            .map(|r| {
                let mut v = json!({
                    "amount": r.amount,
                    "description": r.description,
                    "type": r.kind,
                    "account": r.account,
                    "result": r.result,
                    "detail_id": r.detail_id,
                    "create_time": r.create_time,
                    "finish_time": r.finish_time,
                });
                if let Some(reason) = &r.fail_reason {
                    v["fail_reason"] = reason.as_str().into();
                }
                v
            })
            .collect();
        let mut v = json!({
            "transaction_id": self.transaction_id,
            "out_order_no": self.out_order_no,
            "order_id": self.order_id,
            "state": self.state,
            "receivers": receivers,
        });
        // The partner order entity names the sub-merchant (channels.md §1.2).
        if self.provider.is_some() {
            v["sub_mchid"] = self.mchid.as_str().into();
        }
        v
    }
}

/// A return (分账回退) from a MERCHANT_ID receiver of a split order.
pub(crate) struct ReturnOrder {
    /// The sub-merchant, for a return made in partner mode (its entity names it).
    sub_mchid: Option<String>,
    out_order_no: String,
    order_id: String,
    out_return_no: String,
    return_id: String,
    return_mchid: String,
    amount: i64,
    description: String,
    result: &'static str,
    fail_reason: Option<String>,
    create_time: String,
    finish_time: Option<String>,
    /// Accepted create requests with this out_return_no (the first one included).
    sends: u32,
}

impl ReturnOrder {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "order_id": self.order_id,
            "out_order_no": self.out_order_no,
            "out_return_no": self.out_return_no,
            "return_id": self.return_id,
            "return_mchid": self.return_mchid,
            "amount": self.amount,
            "description": self.description,
            "result": self.result,
            "create_time": self.create_time,
        });
        if let Some(reason) = &self.fail_reason {
            v["fail_reason"] = reason.as_str().into();
        }
        if let Some(t) = &self.finish_time {
            v["finish_time"] = t.as_str().into();
        }
        if let Some(sub) = &self.sub_mchid {
            v["sub_mchid"] = sub.as_str().into();
        }
        v
    }

    fn info(&self) -> ReturnInfo {
        ReturnInfo {
            out_order_no: self.out_order_no.clone(),
            order_id: self.order_id.clone(),
            return_id: self.return_id.clone(),
            return_mchid: self.return_mchid.clone(),
            amount: self.amount,
            result: self.result.to_string(),
            fail_reason: self.fail_reason.clone(),
            sends: self.sends,
        }
    }

    /// SUCCESS and PROCESSING returns hold their amount; FAILED ones gave it back.
    fn holds(&self) -> bool {
        self.result != "FAILED"
    }
}

pub(crate) fn refund_json(r: &Refund) -> Value {
    json!({
        "refund_id": r.refund_id,
        "out_refund_no": r.out_refund_no,
        "transaction_id": r.transaction_id,
        "status": "SUCCESS",
        "create_time": r.create_time,
        "success_time": r.create_time,
        "amount": {"refund": r.refund_fen, "total": r.total_fen, "currency": "CNY"},
    })
}

/// Takes `amount` from a receiver's balance (absent: unlimited); false if it is short.
fn take_balance(balances: &mut HashMap<String, i64>, mchid: &str, amount: i64) -> bool {
    match balances.get_mut(mchid) {
        None => true,
        Some(balance) if *balance >= amount => {
            *balance -= amount;
            true
        }
        Some(_) => false,
    }
}

/// `(mchid, number)`: a merchant's own number (out_order_no, out_return_no, out_refund_no).
type Key = (String, String);

fn key(mchid: &str, no: &str) -> Key {
    (mchid.to_string(), no.to_string())
}

#[derive(Default)]
pub(crate) struct State {
    /// By `transaction_id` (WeChat's, unique across merchants).
    transactions: HashMap<String, Transaction>,
    /// By `(mchid, out_order_no)` (unique per merchant, split and unfreeze orders alike).
    orders: HashMap<Key, Order>,
    /// By `(mchid, type, account)`: receivers are added per merchant.
    receivers: HashMap<(String, String, String), Receiver>,
    /// By `(mchid, out_return_no)`.
    returns: HashMap<Key, ReturnOrder>,
    /// By `(mchid, out_refund_no)`.
    refunds: HashMap<Key, Refund>,
    /// Balances of MERCHANT_ID receivers (returns take from them); absent means unlimited.
    balances: HashMap<String, i64>,
    pub faults: HashMap<Op, VecDeque<Fault>>,
    pub calls: Vec<CallRecord>,
    /// Bill knobs and download URLs (`crate::bills`).
    pub bills: crate::bills::Bills,
    seq: u64,
}

fn object(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| param_error("请求体须为 JSON 对象"))
}

fn req_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    opt_str(obj, key)?.ok_or_else(|| param_error(format!("缺少参数 {key}")))
}

/// Absent, null and "" are all "not given".
fn opt_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(param_error(format!("{key} 须为字符串"))),
    }
}

/// `out_order_no`: 1 to 64 characters from `[0-9A-Za-z_-|*@]`.
fn check_out_order_no(no: &str) -> Result<(), ApiError> {
    check_request_no("out_order_no", no)
}

/// A merchant request number (`out_order_no`, `out_return_no`, `out_refund_no`): 1 to 64
/// characters from `[0-9A-Za-z_-|*@]`.
fn check_request_no(field: &str, no: &str) -> Result<(), ApiError> {
    let ok = no.len() <= 64
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(param_error(format!(
            "{field} 须为 64 位以内的数字、大小写字母或 _-|*@"
        )))
    }
}

/// An integer field; `what` names it in the message.
fn req_int(obj: &Map<String, Value>, key: &str, what: &str) -> Result<i64, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Err(param_error(format!("缺少参数 {what}"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| param_error(format!("{what} 须为整数(分)"))),
        Some(_) => Err(param_error(format!("{what} 须为整数(分)"))),
    }
}

fn check_description(description: &str) -> Result<(), ApiError> {
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(param_error("description 不能超过 80 个字符"));
    }
    Ok(())
}

fn check_appid(ctx: &Ctx, appid: &str) -> Result<(), ApiError> {
    if appid == ctx.appid {
        Ok(())
    } else {
        Err(param_error("appid 与 mchid 不匹配"))
    }
}

/// A partner body's `sub_appid` when given: the sub-merchant's own appid. `needed`: a receiver
/// is a `PERSONAL_SUB_OPENID`, whose openid only means something under that appid.
fn check_sub_appid(ctx: &Ctx, sub_appid: Option<&str>, needed: bool) -> Result<(), ApiError> {
    let Some(partner) = &ctx.partner else {
        return Ok(());
    };
    match sub_appid {
        None if needed => Err(param_error(
            "接收方类型为 PERSONAL_SUB_OPENID 时 sub_appid 不能为空",
        )),
        None => Ok(()),
        Some(given) if Some(given) == partner.sub_appid => Ok(()),
        Some(_) => Err(param_error("sub_appid 与 sub_mchid 不匹配")),
    }
}

/// Receiver types: `PERSONAL_SUB_OPENID` exists in partner mode only.
fn check_type(kind: &str, partner: bool) -> Result<(), ApiError> {
    match kind {
        MERCHANT_ID | PERSONAL_OPENID => Ok(()),
        PERSONAL_SUB_OPENID if partner => Ok(()),
        _ if partner => Err(param_error(format!(
            "type 须为 MERCHANT_ID、PERSONAL_OPENID 或 PERSONAL_SUB_OPENID, 而不是 {kind}"
        ))),
        _ => Err(param_error(format!(
            "type 须为 MERCHANT_ID 或 PERSONAL_OPENID, 而不是 {kind}"
        ))),
    }
}

/// Whether a split or unfreeze may use the transaction: paid to the merchant the call acts for,
/// in the call's mode (directly, or through the same provider).
fn check_split_party(t: &Transaction, ctx: &Ctx) -> Result<(), ApiError> {
    if t.owner == ctx.mchid && t.provider.as_deref() == ctx.provider() {
        return Ok(());
    }
    if t.provider.is_none() && ctx.partner.is_none() {
        // Two direct merchants: the answer of the direct API (see NOT_OURS_SPLIT).
        return Err(invalid_request(NOT_OURS_SPLIT));
    }
    Err(invalid_request(MODE_MISMATCH))
}

struct NewReceiver<'a> {
    kind: &'a str,
    account: &'a str,
    amount: i64,
    description: &'a str,
    name: Option<&'a str>,
}

fn parse_receiver(entry: &Value, partner: bool) -> Result<NewReceiver<'_>, ApiError> {
    let obj = entry
        .as_object()
        .ok_or_else(|| param_error("receivers 的元素须为对象"))?;
    let kind = req_str(obj, "type")?;
    check_type(kind, partner)?;
    let amount = match obj.get("amount") {
        Some(Value::Number(n)) => n.as_i64().filter(|a| *a >= 1),
        _ => None,
    }
    .ok_or_else(|| param_error("amount 须为不小于 1 的整数(分)"))?;
    let description = req_str(obj, "description")?;
    check_description(description)?;
    Ok(NewReceiver {
        kind,
        account: req_str(obj, "account")?,
        amount,
        description,
        name: opt_str(obj, "name")?,
    })
}

impl State {
    /// Adds or resets a transaction of `owner`, paid through `provider` (partner mode) or
    /// directly. Transaction ids are WeChat's, unique across merchants: seeding under another
    /// merchant moves it (earlier orders stay with the merchant that made them).
    pub(crate) fn seed(
        &mut self,
        owner: &str,
        provider: Option<&str>,
        transaction_id: &str,
        amount_fen: i64,
        now_unix: i64,
    ) {
        let transaction = Transaction {
            owner: owner.to_string(),
            provider: provider.map(str::to_string),
            amount: amount_fen,
            unsplit: amount_fen,
            refunded: 0,
            finished: false,
            paid_at: now_unix,
            settling: false,
        };
        self.transactions
            .insert(transaction_id.to_string(), transaction);
    }

    /// The merchant a transaction belongs to.
    pub(crate) fn owner(&self, transaction_id: &str) -> Option<&str> {
        self.transactions
            .get(transaction_id)
            .map(|t| t.owner.as_str())
    }

    /// The provider a transaction was paid through: Some(None) for a direct one.
    pub(crate) fn provider(&self, transaction_id: &str) -> Option<Option<&str>> {
        self.transactions
            .get(transaction_id)
            .map(|t| t.provider.as_deref())
    }

    pub(crate) fn unsplit(&self, transaction_id: &str) -> Option<i64> {
        self.transactions.get(transaction_id).map(|t| t.unsplit)
    }

    pub(crate) fn refunded(&self, transaction_id: &str) -> Option<i64> {
        self.transactions.get(transaction_id).map(|t| t.refunded)
    }

    pub(crate) fn set_paid_at(
        &mut self,
        transaction_id: &str,
        paid_at: i64,
    ) -> Result<(), SimError> {
        let t = self
            .transactions
            .get_mut(transaction_id)
            .ok_or(SimError::UnknownTransaction)?;
        t.paid_at = paid_at;
        Ok(())
    }

    pub(crate) fn set_settling(
        &mut self,
        transaction_id: &str,
        settling: bool,
    ) -> Result<(), SimError> {
        let t = self
            .transactions
            .get_mut(transaction_id)
            .ok_or(SimError::UnknownTransaction)?;
        t.settling = settling;
        Ok(())
    }

    pub(crate) fn set_balance(&mut self, mchid: &str, balance_fen: Option<i64>) {
        match balance_fen {
            Some(fen) => self.balances.insert(mchid.to_string(), fen),
            None => self.balances.remove(mchid),
        };
    }

    pub(crate) fn balance(&self, mchid: &str) -> Option<i64> {
        self.balances.get(mchid).copied()
    }

    pub(crate) fn return_info(&self, mchid: &str, out_return_no: &str) -> Option<ReturnInfo> {
        self.returns
            .get(&key(mchid, out_return_no))
            .map(ReturnOrder::info)
    }

    /// The returns of `mchid`'s split order `out_order_no` from `return_mchid`.
    fn returns_of<'a>(
        &'a self,
        mchid: &'a str,
        out_order_no: &'a str,
        return_mchid: &'a str,
    ) -> impl Iterator<Item = &'a ReturnOrder> + 'a {
        self.returns.iter().filter_map(move |((m, _), r)| {
            (m == mchid && r.out_order_no == out_order_no && r.return_mchid == return_mchid)
                .then_some(r)
        })
    }

    pub(crate) fn return_count(
        &self,
        mchid: &str,
        out_order_no: &str,
        return_mchid: &str,
    ) -> usize {
        self.returns_of(mchid, out_order_no, return_mchid).count()
    }

    pub(crate) fn receiver(&self, mchid: &str, kind: &str, account: &str) -> Option<&Receiver> {
        let key = (mchid.to_string(), kind.to_string(), account.to_string());
        self.receivers.get(&key)
    }

    pub(crate) fn order_count(&self, transaction_id: &str) -> usize {
        self.orders
            .values()
            .filter(|o| o.transaction_id == transaction_id)
            .count()
    }

    /// An order of `mchid` on the transaction.
    fn order_of(&self, mchid: &str, transaction_id: &str, out_order_no: &str) -> Option<&Order> {
        self.orders
            .get(&key(mchid, out_order_no))
            .filter(|o| o.transaction_id == transaction_id)
    }

    /// An order on the transaction made by the merchant the transaction belongs to (the
    /// control API's view: the transaction id names the merchant).
    pub(crate) fn find_order(&self, transaction_id: &str, out_order_no: &str) -> Option<&Order> {
        let owner = self.owner(transaction_id)?;
        self.order_of(owner, transaction_id, out_order_no)
    }

    /// Digits only: `prefix`, the Beijing date, a sequence number, random digits up to `len`.
    fn next_id(&mut self, prefix: &str, now: &str, len: usize) -> String {
        self.seq += 1;
        let date: String = now.chars().filter(char::is_ascii_digit).take(8).collect();
        let mut id = format!("{prefix}{date}{:06}", self.seq % 1_000_000);
        id.push_str(&random_text(len.saturating_sub(id.len()), DIGITS));
        id.truncate(len);
        id
    }

    /// A partner split may take from the transaction at most the ratio the sub-merchant
    /// authorised to its provider, counting this order and the earlier ones on the transaction.
    /// Receivers that are the sub-merchant itself are not counted ("分给商户自己本身时无比例限制",
    /// blog.csdn.net/qq_40065072), nor receivers whose transfer was CLOSED (their money is back
    /// on the transaction).
    fn check_max_ratio(
        &self,
        sub_mchid: &str,
        transaction_id: &str,
        amount: i64,
        partner: &Partner,
        parsed: &[NewReceiver],
    ) -> Result<(), ApiError> {
        let to_others = |kind: &str, account: &str| !(kind == MERCHANT_ID && account == sub_mchid);
        let earlier: i64 = self
            .orders
            .values()
            .filter(|o| o.mchid == sub_mchid && o.transaction_id == transaction_id)
            .flat_map(|o| o.receivers.iter())
            .filter(|r| r.result != "CLOSED" && to_others(&r.kind, &r.account))
            .map(|r| r.amount)
            .fold(0_i64, i64::saturating_add);
        let this: i64 = parsed
            .iter()
            .filter(|r| to_others(r.kind, r.account))
            .map(|r| r.amount)
            .fold(0_i64, i64::saturating_add);
        let limit = i128::from(amount) * i128::from(partner.max_ratio)
            / i128::from(crate::accounts::FULL_RATIO);
        if i128::from(earlier.saturating_add(this)) > limit {
            return Err(invalid_request(OVER_MAX_RATIO));
        }
        Ok(())
    }

    /// `POST /v3/profitsharing/orders`.
    pub(crate) fn create_order(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        let out_order_no = req_str(obj, "out_order_no")?;
        check_out_order_no(out_order_no)?;
        if let Some(order) = self.orders.get(&key(ctx.mchid, out_order_no)) {
            return Ok(order.to_json());
        }
        let transaction_id = req_str(obj, "transaction_id")?;
        let appid = opt_str(obj, "appid")?;
        if let Some(appid) = appid {
            check_appid(ctx, appid)?;
        }
        let sub_appid = opt_str(obj, "sub_appid")?;
        let unfreeze_unsplit = match obj.get("unfreeze_unsplit") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => return Err(param_error("缺少参数 unfreeze_unsplit")),
            Some(_) => return Err(param_error("unfreeze_unsplit 须为布尔值")),
        };
        let list = match obj.get("receivers") {
            Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_RECEIVERS => list,
            Some(Value::Array(_)) => return Err(param_error("receivers 须包含 1 到 50 个接收方")),
            None | Some(Value::Null) => return Err(param_error("缺少参数 receivers")),
            Some(_) => return Err(param_error("receivers 须为数组")),
        };
        let mut parsed: Vec<NewReceiver> = Vec::with_capacity(list.len());
        let mut total: i64 = 0;
        for entry in list {
            let r = parse_receiver(entry, ctx.partner.is_some())?;
            if parsed
                .iter()
                .any(|p| p.kind == r.kind && p.account == r.account)
            {
                return Err(param_error(format!("分账接收方 {} 重复", r.account)));
            }
            total = total
                .checked_add(r.amount)
                .ok_or_else(|| param_error("分账金额过大"))?;
            parsed.push(r);
        }
        if appid.is_none() && parsed.iter().any(|r| r.kind == PERSONAL_OPENID) {
            return Err(param_error(
                "接收方类型为 PERSONAL_OPENID 时 appid 不能为空",
            ));
        }
        let sub_openid = parsed.iter().any(|r| r.kind == PERSONAL_SUB_OPENID);
        check_sub_appid(ctx, sub_appid, sub_openid)?;

        let transaction = self
            .transactions
            .get(transaction_id)
            .ok_or_else(|| not_exists("订单不存在"))?;
        check_split_party(transaction, ctx)?;
        if transaction.finished {
            return Err(invalid_request("订单已完结"));
        }
        for r in &parsed {
            let known = self
                .receiver(ctx.mchid, r.kind, r.account)
                .ok_or_else(|| invalid_request("分账接收方不存在"))?;
            if let Some(ciphertext) = r.name {
                let name = ctx.decrypt_name(ciphertext)?;
                if known.name.as_ref().is_some_and(|n| *n != name) {
                    return Err(invalid_request("分账接收方全称不匹配"));
                }
            }
        }
        if let Some(partner) = &ctx.partner {
            let amount = transaction.amount;
            self.check_max_ratio(ctx.mchid, transaction_id, amount, partner, &parsed)?;
        }
        if total > transaction.unsplit {
            return Err(ApiError::new(403, "NOT_ENOUGH", "分账金额不足"));
        }

        let mut receivers = Vec::with_capacity(parsed.len());
        for r in &parsed {
            receivers.push(OrderReceiver {
                kind: r.kind.to_string(),
                account: r.account.to_string(),
                amount: r.amount,
                description: r.description.to_string(),
                result: "PENDING",
                fail_reason: None,
                detail_id: self.next_id("36", &ctx.now, 23),
                create_time: ctx.now.clone(),
                finish_time: ctx.now.clone(),
            });
        }
        if let Some(t) = self.transactions.get_mut(transaction_id) {
            t.unsplit -= total;
            t.finished |= unfreeze_unsplit;
        }
        let order = Order {
            mchid: ctx.mchid.to_string(),
            provider: ctx.provider().map(str::to_string),
            transaction_id: transaction_id.to_string(),
            out_order_no: out_order_no.to_string(),
            order_id: self.next_id("30", &ctx.now, 28),
            state: "PROCESSING",
            receivers,
            unfreeze_unsplit,
            unfreeze: false,
        };
        let answer = order.to_json();
        self.orders.insert(key(ctx.mchid, out_order_no), order);
        Ok(answer)
    }

    /// `GET /v3/profitsharing/orders/{out_order_no}?transaction_id=`: `mchid`'s order only.
    pub(crate) fn query_order(
        &self,
        mchid: &str,
        out_order_no: &str,
        transaction_id: Option<&str>,
    ) -> ApiResult {
        let transaction_id = transaction_id
            .filter(|t| !t.is_empty())
            .ok_or_else(|| param_error("缺少参数 transaction_id"))?;
        self.order_of(mchid, transaction_id, out_order_no)
            .map(Order::to_json)
            .ok_or_else(|| not_exists("记录不存在"))
    }

    /// `POST /v3/profitsharing/orders/unfreeze`: releases all unsplit funds to the merchant.
    pub(crate) fn unfreeze(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        let out_order_no = req_str(obj, "out_order_no")?;
        check_out_order_no(out_order_no)?;
        if let Some(order) = self.orders.get(&key(ctx.mchid, out_order_no)) {
            return Ok(order.to_json());
        }
        let transaction_id = req_str(obj, "transaction_id")?;
        check_description(req_str(obj, "description")?)?;
        let transaction = self
            .transactions
            .get_mut(transaction_id)
            .ok_or_else(|| not_exists("订单不存在"))?;
        check_split_party(transaction, ctx)?;
        let amount = std::mem::take(&mut transaction.unsplit);
        transaction.finished = true;
        let receiver = OrderReceiver {
            kind: MERCHANT_ID.into(),
            account: ctx.mchid.into(),
            amount,
            description: "解冻给分账方".into(),
            result: "SUCCESS",
            fail_reason: None,
            detail_id: self.next_id("36", &ctx.now, 23),
            create_time: ctx.now.clone(),
            finish_time: ctx.now.clone(),
        };
        let order = Order {
            mchid: ctx.mchid.to_string(),
            provider: ctx.provider().map(str::to_string),
            transaction_id: transaction_id.to_string(),
            out_order_no: out_order_no.to_string(),
            order_id: self.next_id("30", &ctx.now, 28),
            state: "FINISHED",
            receivers: vec![receiver],
            unfreeze_unsplit: false,
            unfreeze: true,
        };
        let answer = order.to_json();
        self.orders.insert(key(ctx.mchid, out_order_no), order);
        Ok(answer)
    }

    /// `GET /v3/profitsharing/transactions/{transaction_id}/amounts`, asked for `mchid` in the
    /// mode of the call (through `provider`, or directly); a provider naming no sub-merchant
    /// (`mchid` None) may ask about a transaction of any of its sub-merchants.
    pub(crate) fn amounts(
        &self,
        mchid: Option<&str>,
        provider: Option<&str>,
        transaction_id: &str,
    ) -> ApiResult {
        let transaction = self
            .transactions
            .get(transaction_id)
            .ok_or_else(|| not_exists("记录不存在"))?;
        let ours = transaction.provider.as_deref() == provider
            && mchid.is_none_or(|m| m == transaction.owner);
        if !ours {
            return Err(invalid_request(NOT_OURS_QUERY));
        }
        if transaction.settling {
            return Err(invalid_request("订单处理中，请稍后再试"));
        }
        let unsplit = transaction.unsplit;
        Ok(json!({"transaction_id": transaction_id, "unsplit_amount": unsplit}))
    }

    /// `POST /v3/profitsharing/return-orders`.
    pub(crate) fn create_return(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        let out_return_no = req_str(obj, "out_return_no")?;
        check_request_no("out_return_no", out_return_no)?;
        let out_order_no = opt_str(obj, "out_order_no")?;
        let order_id = opt_str(obj, "order_id")?;
        match out_order_no {
            Some(no) => check_out_order_no(no)?,
            None if order_id.is_none() => {
                return Err(param_error("out_order_no 与 order_id 须二选一填写"));
            }
            None => {}
        }
        let return_mchid = req_str(obj, "return_mchid")?;
        let amount = req_int(obj, "amount", "amount")?;
        let description = req_str(obj, "description")?;
        check_description(description)?;

        if let Some(existing) = self.returns.get_mut(&key(ctx.mchid, out_return_no)) {
            let same = out_order_no.is_none_or(|no| no == existing.out_order_no)
                && order_id.is_none_or(|id| id == existing.order_id)
                && existing.return_mchid == return_mchid
                && existing.amount == amount;
            if !same {
                return Err(invalid_request(
                    "商户回退单号已存在, 且分账单、回退商户号或回退金额与原请求不一致",
                ));
            }
            existing.sends += 1;
            if existing.result == "PROCESSING"
                && take_balance(&mut self.balances, return_mchid, amount)
            {
                existing.result = "SUCCESS";
                existing.finish_time = Some(ctx.now.clone());
            }
            return Ok(existing.to_json());
        }

        let order = match (out_order_no, order_id) {
            (Some(no), _) => self.orders.get(&key(ctx.mchid, no)),
            (None, Some(id)) => self
                .orders
                .values()
                .find(|o| o.mchid == ctx.mchid && o.order_id == id),
            (None, None) => None,
        }
        .filter(|o| order_id.is_none_or(|id| o.order_id == id))
        .ok_or_else(|| not_exists("分账单不存在"))?;
        let received = order
            .receivers
            .iter()
            .find(|r| {
                r.kind == MERCHANT_ID
                    && r.account == return_mchid
                    && r.result == "SUCCESS"
                    && r.account != ctx.mchid
            })
            .map(|r| r.amount)
            .ok_or_else(|| {
                invalid_request("回退商户号不是该分账单中分账成功的商户类型(MERCHANT_ID)接收方")
            })?;
        let (out_order_no, order_id) = (order.out_order_no.clone(), order.order_id.clone());
        let paid_at = self
            .transactions
            .get(&order.transaction_id)
            .map_or(ctx.now_unix, |t| t.paid_at);
        if ctx.now_unix.saturating_sub(paid_at) > RETURN_WINDOW {
            return Err(invalid_request("订单支付已超过 180 天, 不能再分账回退"));
        }
        let earlier: Vec<&ReturnOrder> = self
            .returns_of(ctx.mchid, &out_order_no, return_mchid)
            .collect();
        if earlier.len() >= MAX_RETURNS {
            return Err(invalid_request(
                "对同一分账单的同一接收方最多能发起 20 次分账回退",
            ));
        }
        if amount < 1 {
            return Err(invalid_request("回退金额须不小于 1 分"));
        }
        let held: i64 = earlier.iter().filter(|r| r.holds()).map(|r| r.amount).sum();
        if amount > received - held {
            return Err(invalid_request("回退金额超过可回退金额"));
        }

        let done = take_balance(&mut self.balances, return_mchid, amount);
        let record = ReturnOrder {
            sub_mchid: ctx.partner.is_some().then(|| ctx.mchid.to_string()),
            out_order_no,
            order_id,
            out_return_no: out_return_no.to_string(),
            return_id: self.next_id("30", &ctx.now, 28),
            return_mchid: return_mchid.to_string(),
            amount,
            description: description.to_string(),
            result: if done { "SUCCESS" } else { "PROCESSING" },
            fail_reason: None,
            create_time: ctx.now.clone(),
            finish_time: done.then(|| ctx.now.clone()),
            sends: 1,
        };
        let answer = record.to_json();
        self.returns.insert(key(ctx.mchid, out_return_no), record);
        Ok(answer)
    }

    /// `GET /v3/profitsharing/return-orders/{out_return_no}?out_order_no=`: `mchid`'s return
    /// only.
    pub(crate) fn query_return(
        &self,
        mchid: &str,
        out_return_no: &str,
        out_order_no: Option<&str>,
    ) -> ApiResult {
        let out_order_no = out_order_no
            .filter(|no| !no.is_empty())
            .ok_or_else(|| param_error("缺少参数 out_order_no"))?;
        let record = self
            .returns
            .get(&key(mchid, out_return_no))
            .ok_or_else(|| not_exists("记录不存在"))?;
        if record.out_order_no != out_order_no {
            return Err(param_error("out_order_no 与该回退单的商户分账单号不一致"));
        }
        Ok(record.to_json())
    }

    /// Settles a PROCESSING return: SUCCESS (the receiver's balance, if set, goes down, not
    /// below 0) or FAILED with one of `RETURN_FAIL_REASONS`.
    pub(crate) fn complete_return(
        &mut self,
        mchid: &str,
        out_return_no: &str,
        outcome: &ReturnOutcome,
        now: &str,
    ) -> Result<(), SimError> {
        let record = self
            .returns
            .get_mut(&key(mchid, out_return_no))
            .ok_or(SimError::UnknownReturn)?;
        if record.result != "PROCESSING" {
            return Err(SimError::ReturnNotProcessing);
        }
        match outcome {
            ReturnOutcome::Success => {
                if let Some(balance) = self.balances.get_mut(&record.return_mchid) {
                    *balance = balance.saturating_sub(record.amount).max(0);
                }
                record.result = "SUCCESS";
            }
            ReturnOutcome::Failed { fail_reason } => {
                if !RETURN_FAIL_REASONS.contains(&fail_reason.as_str()) {
                    return Err(SimError::InvalidFailReason(fail_reason.clone()));
                }
                record.result = "FAILED";
                record.fail_reason = Some(fail_reason.clone());
            }
        }
        record.finish_time = Some(now.to_string());
        Ok(())
    }

    /// `POST /v3/refund/domestic/refunds`, as a payment gateway calls it.
    pub(crate) fn refund_api(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        let transaction_id = req_str(obj, "transaction_id")?;
        let out_refund_no = req_str(obj, "out_refund_no")?;
        let amount = match obj.get("amount") {
            Some(Value::Object(a)) => a,
            None | Some(Value::Null) => return Err(param_error("缺少参数 amount")),
            Some(_) => return Err(param_error("amount 须为对象")),
        };
        let refund = req_int(amount, "refund", "amount.refund")?;
        let total = req_int(amount, "total", "amount.total")?;
        match req_str(amount, "currency")? {
            "CNY" => {}
            other => return Err(param_error(format!("amount.currency 不支持 {other}"))),
        }
        self.refund(
            (ctx.mchid, ctx.provider()),
            transaction_id,
            out_refund_no,
            refund,
            Some(total),
            &ctx.now,
        )
        .map(|r| refund_json(&r))
    }

    /// A refund of a transaction by `mchid` (through the provider, in partner mode). While the
    /// transaction is not finished its money comes from the unsplit (frozen) funds; after an
    /// unfreeze, from the unsplit funds left and then the merchant's own account. Idempotent on
    /// `(mchid, out_refund_no)`. Another merchant's transaction, or one paid in the other mode,
    /// is not found, like an unknown one.
    pub(crate) fn refund(
        &mut self,
        (mchid, provider): (&str, Option<&str>),
        transaction_id: &str,
        out_refund_no: &str,
        refund: i64,
        total: Option<i64>,
        now: &str,
    ) -> Result<Refund, ApiError> {
        check_request_no("out_refund_no", out_refund_no)?;
        if refund < 1 {
            return Err(param_error("amount.refund 须为不小于 1 的整数(分)"));
        }
        if let Some(done) = self.refunds.get(&key(mchid, out_refund_no)) {
            if done.transaction_id != transaction_id {
                return Err(invalid_request("退款单号已用于另一笔订单"));
            }
            return Ok(done.clone());
        }
        let t = self
            .transactions
            .get(transaction_id)
            .filter(|t| t.owner == mchid && t.provider.as_deref() == provider)
            .ok_or_else(|| not_exists("订单不存在"))?;
        if total.is_some_and(|total| total != t.amount) {
            return Err(param_error("amount.total 与原订单金额不一致"));
        }
        if refund > t.amount - t.refunded {
            return Err(invalid_request("申请退款金额超过订单可退金额"));
        }
        if !t.finished && refund > t.unsplit {
            return Err(ApiError::new(
                403,
                "NOT_ENOUGH",
                "申请退款金额大于剩余未分账金额",
            ));
        }
        let record = Refund {
            refund_id: self.next_id("50", now, 29),
            out_refund_no: out_refund_no.to_string(),
            transaction_id: transaction_id.to_string(),
            refund_fen: refund,
            total_fen: self
                .transactions
                .get(transaction_id)
                .map_or(0, |t| t.amount),
            create_time: now.to_string(),
        };
        if let Some(t) = self.transactions.get_mut(transaction_id) {
            t.unsplit -= refund.min(t.unsplit);
            t.refunded += refund;
        }
        self.refunds
            .insert(key(mchid, out_refund_no), record.clone());
        Ok(record)
    }

    /// `POST /v3/profitsharing/receivers/add` (adding again overwrites, and succeeds).
    pub(crate) fn add_receiver(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        check_appid(ctx, req_str(obj, "appid")?)?;
        let kind = req_str(obj, "type")?;
        check_type(kind, ctx.partner.is_some())?;
        check_sub_appid(ctx, opt_str(obj, "sub_appid")?, kind == PERSONAL_SUB_OPENID)?;
        let account = req_str(obj, "account")?;
        let encrypted = opt_str(obj, "name")?;
        if kind == MERCHANT_ID && encrypted.is_none() {
            return Err(param_error("接收方类型为 MERCHANT_ID 时 name 不能为空"));
        }
        let relation_type = req_str(obj, "relation_type")?;
        if !RELATION_TYPES.contains(&relation_type) {
            return Err(param_error(format!("relation_type 不支持 {relation_type}")));
        }
        let custom_relation = opt_str(obj, "custom_relation")?;
        if relation_type == "CUSTOM" {
            match custom_relation {
                None => {
                    return Err(param_error(
                        "relation_type 为 CUSTOM 时 custom_relation 不能为空",
                    ));
                }
                Some(c) if c.chars().count() > 10 => {
                    return Err(param_error("custom_relation 不能超过 10 个字符"));
                }
                Some(_) => {}
            }
        }
        let name = encrypted.map(|c| ctx.decrypt_name(c)).transpose()?;
        let key = (ctx.mchid.to_string(), kind.to_string(), account.to_string());
        self.receivers.insert(key, Receiver { name });
        let mut answer = json!({"type": kind, "account": account, "relation_type": relation_type});
        if let Some(c) = custom_relation {
            answer["custom_relation"] = c.into();
        }
        if let Some(n) = encrypted {
            answer["name"] = n.into();
        }
        if ctx.partner.is_some() {
            answer["sub_mchid"] = ctx.mchid.into();
        }
        Ok(answer)
    }

    /// `POST /v3/profitsharing/receivers/delete` (an unknown receiver is not an error).
    pub(crate) fn delete_receiver(&mut self, ctx: &Ctx, body: &Value) -> ApiResult {
        let obj = object(body)?;
        check_appid(ctx, req_str(obj, "appid")?)?;
        let kind = req_str(obj, "type")?;
        check_type(kind, ctx.partner.is_some())?;
        check_sub_appid(ctx, opt_str(obj, "sub_appid")?, kind == PERSONAL_SUB_OPENID)?;
        let account = req_str(obj, "account")?;
        let key = (ctx.mchid.to_string(), kind.to_string(), account.to_string());
        self.receivers.remove(&key);
        let mut answer = json!({"type": kind, "account": account});
        if ctx.partner.is_some() {
            answer["sub_mchid"] = ctx.mchid.into();
        }
        Ok(answer)
    }

    /// Settles a PROCESSING order made by the merchant the transaction belongs to.
    pub(crate) fn complete(
        &mut self,
        transaction_id: &str,
        out_order_no: &str,
        outcomes: &[(String, Outcome)],
        now: &str,
    ) -> Result<(), SimError> {
        let owner = self
            .owner(transaction_id)
            .ok_or(SimError::UnknownOrder)?
            .to_string();
        let order = self
            .orders
            .get_mut(&key(&owner, out_order_no))
            .filter(|o| o.transaction_id == transaction_id)
            .ok_or(SimError::UnknownOrder)?;
        if order.state != "PROCESSING" {
            return Err(SimError::NotPending);
        }
        if let Some((account, _)) = outcomes
            .iter()
            .find(|(a, _)| !order.receivers.iter().any(|r| &r.account == a))
        {
            return Err(SimError::UnknownReceiver(account.clone()));
        }
        let mut returned = 0;
        for r in order.receivers.iter_mut().filter(|r| r.result == "PENDING") {
            let outcome = outcomes.iter().rev().find(|(a, _)| *a == r.account);
            r.finish_time = now.to_string();
            match outcome.map(|(_, o)| o) {
                None | Some(Outcome::Success) => r.result = "SUCCESS",
                Some(Outcome::Closed { fail_reason }) => {
                    r.result = "CLOSED";
                    r.fail_reason = Some(fail_reason.clone());
                    returned += r.amount;
                }
            }
        }
        order.state = "FINISHED";
        let release_rest = order.unfreeze_unsplit;
        if let Some(t) = self.transactions.get_mut(transaction_id) {
            if release_rest {
                t.unsplit = 0;
            } else if !t.finished {
                // A closed transfer leaves its funds frozen on the transaction, splittable again.
                t.unsplit += returned;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_order_no_charset() {
        assert!(check_out_order_no("Ab0_-|*@").is_ok());
        assert!(check_out_order_no(&"a".repeat(64)).is_ok());
        for bad in ["a b", "a+b", "订单", "a/b", &"a".repeat(65)] {
            assert!(check_out_order_no(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_digits_of_the_right_length() {
        let mut state = State::default();
        let now = "2025-01-02T03:04:05+08:00";
        let a = state.next_id("30", now, 28);
        let b = state.next_id("30", now, 28);
        assert_eq!(a.len(), 28);
        assert!(a.starts_with("3020250102"));
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert_ne!(a, b);
        assert_eq!(state.next_id("36", now, 23).len(), 23);
    }
}
