//! The simulated merchant accounts: paid trades with frozen funds, settles (分账) and receiver
//! relations, each belonging to one merchant (the `app_id` of the app it was made under, or the
//! `user_id` of a merchant that authorised an ISV app and was acted for through its
//! `app_auth_token`), plus the business methods of the gateway. Everything here is synchronous and runs under the simulator's
//! mutex.
//!
//! A trade, settle or relation of another merchant is invisible to a caller: it answers exactly
//! like an unknown one (`ACQ.TRADE_NOT_EXIST`, `ACQ.ROYALTY_RECEIVER_NOT_BIND`, ...), since Alipay
//! does not reveal other merchants' trades.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value, json};

use crate::{CallRecord, Fault, Outcome, Refunded, Refusal, RoyaltyRefund, SimError};

mod bill_rows;

/// The seller account every detail is paid out of (`trans_out`).
pub(crate) const TRANS_OUT: &str = "2088000000000001";

/// Exchanges or refreshes an `app_auth_token` (third-party apps); answered by the gateway from the
/// accounts, not here.
pub(crate) const TOKEN_APP: &str = "alipay.open.auth.token.app";

/// The gateway methods this simulator implements.
pub(crate) const METHODS: [&str; 8] = [
    "alipay.trade.order.settle",
    "alipay.trade.order.settle.query",
    "alipay.trade.order.onsettle.query",
    "alipay.trade.royalty.relation.bind",
    "alipay.trade.royalty.relation.unbind",
    "alipay.trade.refund",
    TOKEN_APP,
    crate::bills::METHOD,
];

/// The masked buyer account every refund answer names.
const BUYER_LOGON_ID: &str = "159****5620";

// Business errors of the refund and onsettle.query methods. Found in public pages (docs/pages
// corpora): `ACQ.TRADE_NOT_EXIST` (交易不存在), `ACQ.REASON_TRADE_REFUND_FEE_ERR` (退款金额无效:
// the refund is above what is still refundable), `ACQ.SYSTEM_ERROR` (系统错误, "retry").
// Not found, so named here: the two below.
/// A `refund_royalty_parameters` row above what `trans_out` still holds from the trade.
const REFUND_ROYALTY_EXCEEDED: &str = "ACQ.REFUND_ROYALTY_AMOUNT_EXCEED";
/// The part of a refund not covered by rows is above the unsettled (frozen) funds.
const UNSETTLED_NOT_ENOUGH: &str = "ACQ.UNSETTLED_AMOUNT_NOT_ENOUGH";

/// A business failure: answered as code 40004 "Business Failed" with this sub_code/sub_msg.
pub(crate) struct BizErr(pub &'static str, pub String);

type Biz<T> = Result<T, BizErr>;

fn invalid(msg: impl Into<String>) -> BizErr {
    BizErr("ACQ.INVALID_PARAMETER", format!("参数无效: {}", msg.into()))
}

/// A `{code:"10000", msg:"Success", ..fields}` node.
pub(crate) fn success(fields: Value) -> Value {
    let mut node = Map::new();
    node.insert("code".into(), "10000".into());
    node.insert("msg".into(), "Success".into());
    if let Value::Object(extra) = fields {
        node.extend(extra);
    }
    Value::Object(node)
}

pub(crate) fn business_failed(sub_code: &str, sub_msg: &str) -> Value {
    json!({"code": "40004", "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg})
}

struct Trade {
    /// The merchant (app id) the trade was paid to; only it may settle, query or refund it.
    owner: String,
    out_trade_no: String,
    paid_fen: i64,
    unsettled_fen: i64,
    refunded_fen: i64,
    /// A settle with `royalty_finish="true"` was accepted: no further settles.
    finished: bool,
    settles: usize,
    /// `onsettle.query` answers "订单处理中" while set.
    settling: bool,
    /// What each `(account type, account)` holds from this trade: successful settle details
    /// minus what refunds took back.
    holdings: HashMap<(String, String), i64>,
    /// Accepted refunds by `out_request_no`.
    refunds: HashMap<String, RefundRecord>,
}

#[derive(Clone)]
struct RefundRecord {
    /// The original success node, replayed for a repeated out_request_no.
    answer: Value,
    result: Refunded,
    /// What its `refund_royalty_parameters` took back from receivers.
    royalty_fen: i64,
}

/// A refund request, from `biz_content` or the control API.
pub(crate) struct RefundRequest<'a> {
    /// `trade_no` (true) or `out_trade_no` (false).
    pub trade: (&'a str, bool),
    pub out_request_no: &'a str,
    pub refund_fen: i64,
    pub rows: Vec<RoyaltyRefund>,
}

pub(crate) struct Detail {
    trans_in: String,
    trans_in_type: String,
    amount: String,
    fen: i64,
    state: &'static str,
    execute_dt: Option<String>,
    detail_id: String,
    error: Option<(String, String)>,
}

impl Detail {
    fn to_json(&self) -> Value {
        let mut d = json!({
            "operation_type": "transfer",
            "trans_out": TRANS_OUT,
            "trans_out_type": "userId",
            "trans_in": self.trans_in,
            "trans_in_type": self.trans_in_type,
            "amount": self.amount,
            "state": self.state,
            "detail_id": self.detail_id,
        });
        if let Some(dt) = &self.execute_dt {
            d["execute_dt"] = dt.as_str().into();
        }
        if let Some((code, desc)) = &self.error {
            d["error_code"] = code.as_str().into();
            d["error_desc"] = desc.as_str().into();
        }
        d
    }
}

pub(crate) struct Settle {
    /// The merchant that made the settle (an app id, or an authorised merchant's user id).
    pub owner: String,
    /// The app whose call made it: `owner`, or the ISV app that acted for it. Its application
    /// gateway gets the notification.
    pub caller: String,
    pub trade_no: String,
    pub out_request_no: String,
    pub settle_no: String,
    pub operation_dt: String,
    /// The original success node, replayed for a repeated out_request_no.
    answer: Value,
    details: Vec<Detail>,
    finish: bool,
    /// An async settle not yet `complete`d.
    pending: bool,
}

impl Settle {
    pub(crate) fn detail_list(&self) -> Value {
        Value::Array(self.details.iter().map(Detail::to_json).collect())
    }
}

/// `(merchant, a, b)`: something of one merchant, e.g. a relation `(merchant, type, account)`.
type Owned = (String, String, String);

#[derive(Default)]
pub(crate) struct State {
    /// By `trade_no` (Alipay's, unique across merchants).
    trades: HashMap<String, Trade>,
    /// By `settle_no`.
    settles: HashMap<String, Settle>,
    /// `(merchant, trade_no, out_request_no)` → `settle_no`.
    settle_keys: HashMap<Owned, String>,
    /// `(merchant, type, account)`: receiver relations are per merchant.
    relations: HashSet<Owned>,
    /// By `(merchant, out_request_no)`.
    bind_answers: HashMap<(String, String), Value>,
    unbind_answers: HashMap<(String, String), Value>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub calls: Vec<CallRecord>,
    /// Bill knobs and download URLs (`crate::bills`).
    pub bills: crate::bills::Bills,
    seq: u64,
    /// Random per instance (< 10^6), so ids do not repeat across restarts of the local run.
    instance: u64,
}

/// `[A-Za-z0-9_]{1,32}`, Alipay's rule for `out_request_no`.
fn check_request_no(no: &str) -> Biz<()> {
    let ok = !no.is_empty()
        && no.len() <= 32
        && no.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(invalid("out_request_no 须为 32 位以内的字母、数字或下划线"))
    }
}

fn req_str<'a>(biz: &'a Map<String, Value>, key: &str) -> Biz<&'a str> {
    match biz.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Value::Null) => Err(invalid(format!("{key} 不能为空"))),
        Some(Value::String(_)) => Err(invalid(format!("{key} 不能为空"))),
        Some(_) => Err(invalid(format!("{key} 须为字符串"))),
    }
}

fn opt_str<'a>(biz: &'a Map<String, Value>, key: &str) -> Biz<Option<&'a str>> {
    match biz.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(invalid(format!("{key} 须为字符串"))),
    }
}

fn array<'a>(biz: &'a Map<String, Value>, key: &str) -> Biz<&'a [Value]> {
    match biz.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(invalid(format!("{key} 须为数组"))),
    }
}

/// A yuan amount string with at most two decimals ("12", "12.3", "12.34") → fen.
pub(crate) fn parse_yuan(s: &str) -> Option<i64> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 12 || !digits(int) || !digits(frac) || frac.len() > 2 {
        return None;
    }
    if s.ends_with('.') {
        return None;
    }
    let frac_fen = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    int.parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac_fen)
}

pub(crate) fn format_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

pub(crate) fn is_user_id(account: &str) -> bool {
    account.len() == 16
        && account.starts_with("2088")
        && account.bytes().all(|b| b.is_ascii_digit())
}

/// Receiver account types accepted by the relation methods and by settle's `trans_in_type`.
const ACCOUNT_TYPES: [&str; 3] = ["userId", "loginName", "openId"];

impl State {
    pub(crate) fn new() -> Self {
        State {
            instance: crate::crypto::random_u64() % 1_000_000,
            ..State::default()
        }
    }

    /// A fresh all-digit id: `yyyyMMdd` + a random per-instance part + a counter.
    fn next_id(&mut self, today: &str, len: usize) -> String {
        self.seq += 1;
        let width = len.saturating_sub(today.len() + 6);
        format!("{today}{:06}{:0width$}", self.instance, self.seq)
    }

    /// Adds or resets a trade of `owner`. Trade numbers are Alipay's, unique across merchants:
    /// reseeding under another merchant moves the trade (earlier settles stay with the
    /// merchant that made them).
    pub(crate) fn seed_trade(
        &mut self,
        owner: &str,
        trade_no: &str,
        out_trade_no: &str,
        amount_fen: i64,
    ) {
        let trade = Trade {
            owner: owner.to_string(),
            out_trade_no: out_trade_no.to_string(),
            paid_fen: amount_fen,
            unsettled_fen: amount_fen,
            refunded_fen: 0,
            finished: false,
            settles: 0,
            settling: false,
            holdings: HashMap::new(),
            refunds: HashMap::new(),
        };
        self.trades.insert(trade_no.to_string(), trade);
    }

    pub(crate) fn unsettled_fen(&self, trade_no: &str) -> Option<i64> {
        self.trades.get(trade_no).map(|t| t.unsettled_fen)
    }

    pub(crate) fn refunded_fen(&self, trade_no: &str) -> Option<i64> {
        self.trades.get(trade_no).map(|t| t.refunded_fen)
    }

    pub(crate) fn holding_fen(
        &self,
        trade_no: &str,
        account_type: &str,
        account: &str,
    ) -> Option<i64> {
        let key = (account_type.to_string(), account.to_string());
        self.trades
            .get(trade_no)
            .map(|t| t.holdings.get(&key).copied().unwrap_or(0))
    }

    pub(crate) fn set_settling(&mut self, trade_no: &str, settling: bool) -> Result<(), SimError> {
        let trade = self
            .trades
            .get_mut(trade_no)
            .ok_or(SimError::UnknownTrade)?;
        trade.settling = settling;
        Ok(())
    }

    pub(crate) fn settle_count(&self, trade_no: &str) -> usize {
        self.trades.get(trade_no).map_or(0, |t| t.settles)
    }

    /// The merchant a trade belongs to.
    pub(crate) fn trade_owner(&self, trade_no: &str) -> Option<&str> {
        self.trades.get(trade_no).map(|t| t.owner.as_str())
    }

    /// The trade if it exists and belongs to `merchant`.
    fn trade_of(&self, merchant: &str, trade_no: &str) -> Option<&Trade> {
        self.trades.get(trade_no).filter(|t| t.owner == merchant)
    }

    pub(crate) fn is_bound(&self, merchant: &str, account_type: &str, account: &str) -> bool {
        let key = (
            merchant.to_string(),
            account_type.to_string(),
            account.to_string(),
        );
        self.relations.contains(&key)
    }

    /// A settle `merchant` made on the trade with that `out_request_no`.
    pub(crate) fn find_settle(
        &self,
        merchant: &str,
        trade_no: &str,
        out_request_no: &str,
    ) -> Option<&Settle> {
        let key = (
            merchant.to_string(),
            trade_no.to_string(),
            out_request_no.to_string(),
        );
        self.settle_keys
            .get(&key)
            .and_then(|no| self.settles.get(no))
    }

    /// A settle on the trade made by the merchant the trade belongs to (the control API's
    /// view: trade numbers name the merchant).
    pub(crate) fn find_trade_settle(
        &self,
        trade_no: &str,
        out_request_no: &str,
    ) -> Option<&Settle> {
        let owner = self.trade_owner(trade_no)?;
        self.find_settle(owner, trade_no, out_request_no)
    }

    /// Runs one business method for `merchant` (the app id, or the authorised merchant's user
    /// id, the call acts for), called by the app `caller`. `now` is Beijing time
    /// `yyyy-MM-dd HH:mm:ss`. Returns None for a method this simulator does not know.
    pub(crate) fn call(
        &mut self,
        method: &str,
        biz: &Value,
        (merchant, caller): (&str, &str),
        now: &str,
    ) -> Option<Value> {
        let Value::Object(biz) = biz else {
            let err = invalid("biz_content 须为 JSON 对象");
            return METHODS
                .contains(&method)
                .then(|| business_failed(err.0, &err.1));
        };
        let result = match method {
            "alipay.trade.order.settle" => self.settle(biz, (merchant, caller), now),
            "alipay.trade.order.settle.query" => self.settle_query(biz, merchant),
            "alipay.trade.order.onsettle.query" => self.onsettle_query(biz, merchant),
            "alipay.trade.royalty.relation.bind" => self.relation(biz, merchant, true),
            "alipay.trade.royalty.relation.unbind" => self.relation(biz, merchant, false),
            "alipay.trade.refund" => parse_refund(biz)
                .and_then(|request| self.refund(&request, merchant, now))
                .map(|(answer, _)| answer),
            _ => return None,
        };
        Some(result.unwrap_or_else(|BizErr(code, msg)| business_failed(code, &msg)))
    }

    fn settle(
        &mut self,
        biz: &Map<String, Value>,
        (merchant, caller): (&str, &str),
        now: &str,
    ) -> Biz<Value> {
        let out_request_no = req_str(biz, "out_request_no")?;
        check_request_no(out_request_no)?;
        let trade_no = req_str(biz, "trade_no")?;
        if let Some(settle) = self.find_settle(merchant, trade_no, out_request_no) {
            return Ok(settle.answer.clone());
        }
        let is_async = match opt_str(biz, "royalty_mode")? {
            None | Some("sync") => false,
            Some("async") => true,
            Some(other) => return Err(invalid(format!("royalty_mode 不支持 {other}"))),
        };
        let finish = match biz.get("extend_params") {
            None | Some(Value::Null) => false,
            Some(Value::Object(ext)) => match opt_str(ext, "royalty_finish")? {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => return Err(invalid(format!("royalty_finish 不支持 {other}"))),
            },
            Some(_) => return Err(invalid("extend_params 须为对象")),
        };
        let rows = array(biz, "royalty_parameters")?;
        if rows.is_empty() && !finish {
            return Err(invalid("royalty_parameters 不能为空"));
        }
        let trade = self
            .trade_of(merchant, trade_no)
            .ok_or_else(|| BizErr("ACQ.TRADE_NOT_EXIST", "交易不存在".into()))?;
        if trade.finished {
            return Err(BizErr(
                "ACQ.TRADE_SETTLE_FINISHED",
                "交易已完结分账, 不能再分账".into(),
            ));
        }
        let mut parsed = Vec::with_capacity(rows.len());
        let mut total: i64 = 0;
        for row in rows {
            let Value::Object(row) = row else {
                return Err(invalid("royalty_parameters 的元素须为对象"));
            };
            match opt_str(row, "royalty_type")? {
                None | Some("transfer") => {}
                Some(other) => return Err(invalid(format!("royalty_type 不支持 {other}"))),
            }
            let trans_in_type = opt_str(row, "trans_in_type")?.unwrap_or("userId");
            if !ACCOUNT_TYPES.contains(&trans_in_type) {
                return Err(invalid(format!("trans_in_type 不支持 {trans_in_type}")));
            }
            let trans_in = req_str(row, "trans_in")?;
            if row.get("amount_percentage").is_some_and(|v| !v.is_null()) {
                return Err(invalid("本模拟器不支持 amount_percentage"));
            }
            let amount = match row.get("amount") {
                Some(Value::String(a)) => a.as_str(),
                _ => return Err(amount_error("amount 须为字符串金额")),
            };
            let fen = parse_yuan(amount)
                .filter(|&f| f > 0)
                .ok_or_else(|| amount_error(&format!("分账金额 {amount} 不合法")))?;
            if !self.is_bound(merchant, trans_in_type, trans_in) {
                return Err(BizErr(
                    "ACQ.ROYALTY_RECEIVER_NOT_BIND",
                    format!("分账收款方 {trans_in} 未绑定分账关系"),
                ));
            }
            total = total
                .checked_add(fen)
                .ok_or_else(|| amount_error("分账金额过大"))?;
            parsed.push((trans_in_type, trans_in, amount, fen));
        }
        if total > trade.unsettled_fen {
            return Err(amount_error("分账金额超过可分账金额"));
        }

        let today: String = now.chars().filter(char::is_ascii_digit).take(8).collect();
        let settle_no = self.next_id(&today, 32);
        let mut details = Vec::with_capacity(parsed.len());
        for (trans_in_type, trans_in, amount, fen) in parsed {
            details.push(Detail {
                trans_in: trans_in.to_string(),
                trans_in_type: trans_in_type.to_string(),
                amount: amount.to_string(),
                fen,
                state: if is_async { "PROCESSING" } else { "SUCCESS" },
                execute_dt: (!is_async).then(|| now.to_string()),
                detail_id: self.next_id(&today, 28),
                error: None,
            });
        }
        if let Some(trade) = self.trades.get_mut(trade_no) {
            trade.unsettled_fen -= total;
            trade.settles += 1;
            for d in details.iter().filter(|d| d.state == "SUCCESS") {
                let key = (d.trans_in_type.clone(), d.trans_in.clone());
                *trade.holdings.entry(key).or_default() += d.fen;
            }
            if finish {
                trade.finished = true;
                if !is_async {
                    trade.unsettled_fen = 0;
                }
            }
        }
        let answer = success(json!({"trade_no": trade_no, "settle_no": settle_no}));
        let key = (
            merchant.to_string(),
            trade_no.to_string(),
            out_request_no.to_string(),
        );
        self.settle_keys.insert(key, settle_no.clone());
        self.settles.insert(
            settle_no.clone(),
            Settle {
                owner: merchant.to_string(),
                caller: caller.to_string(),
                trade_no: trade_no.to_string(),
                out_request_no: out_request_no.to_string(),
                settle_no,
                operation_dt: now.to_string(),
                answer: answer.clone(),
                details,
                finish,
                pending: is_async,
            },
        );
        Ok(answer)
    }

    fn settle_query(&self, biz: &Map<String, Value>, merchant: &str) -> Biz<Value> {
        let settle = match opt_str(biz, "settle_no")? {
            Some(no) => self.settles.get(no).filter(|s| s.owner == merchant),
            None => {
                let trade_no = req_str(biz, "trade_no")?;
                let out_request_no = req_str(biz, "out_request_no")?;
                self.find_settle(merchant, trade_no, out_request_no)
            }
        };
        let settle =
            settle.ok_or_else(|| BizErr("ACQ.TRADE_NOT_EXIST", "分账请求不存在".into()))?;
        Ok(success(json!({
            "out_request_no": settle.out_request_no,
            "operation_dt": settle.operation_dt,
            "royalty_detail_list": settle.detail_list(),
        })))
    }

    fn onsettle_query(&self, biz: &Map<String, Value>, merchant: &str) -> Biz<Value> {
        let trade_no = req_str(biz, "trade_no")?;
        opt_str(biz, "out_request_no")?;
        let trade = self
            .trade_of(merchant, trade_no)
            .ok_or_else(|| BizErr("ACQ.TRADE_NOT_EXIST", "交易不存在".into()))?;
        if trade.settling {
            // No onsettle-specific code was found in the docs: ACQ.SYSTEM_ERROR is the
            // documented "system error, call again" answer, which is how a client must treat it.
            return Err(BizErr("ACQ.SYSTEM_ERROR", "订单处理中".into()));
        }
        Ok(success(
            json!({"unsettled_amount": format_yuan(trade.unsettled_fen)}),
        ))
    }

    /// `alipay.trade.refund` (also the control API's refund). Rows take their amount back from
    /// `trans_out` (what it received from this trade, minus earlier refunds); the rest comes
    /// from the unsettled (frozen) funds, and after a `royalty_finish` from the seller's own
    /// balance once those are used up. Idempotent per (trade, out_request_no): a repeat answers
    /// the first result without applying anything. Only `merchant`'s trades can be refunded
    /// (`out_trade_no` is the merchant's own number, so it is looked up among them).
    pub(crate) fn refund(
        &mut self,
        request: &RefundRequest,
        merchant: &str,
        now: &str,
    ) -> Biz<(Value, Refunded)> {
        let not_exist = || BizErr("ACQ.TRADE_NOT_EXIST", "交易不存在".into());
        let trade_no = match request.trade {
            (no, true) => self.trade_of(merchant, no).map(|_| no.to_string()),
            (out, false) => self
                .trades
                .iter()
                .find(|(_, t)| t.owner == merchant && t.out_trade_no == out)
                .map(|(no, _)| no.clone()),
        }
        .ok_or_else(not_exist)?;
        let trade = self.trades.get_mut(&trade_no).ok_or_else(not_exist)?;
        if let Some(done) = trade.refunds.get(request.out_request_no) {
            return Ok((done.answer.clone(), done.result.clone()));
        }
        if request.refund_fen < 1 {
            return Err(invalid("refund_amount 须大于 0"));
        }
        if request.refund_fen > trade.paid_fen - trade.refunded_fen {
            return Err(BizErr(
                "ACQ.REASON_TRADE_REFUND_FEE_ERR",
                "退款金额无效: 超过交易剩余可退金额".into(),
            ));
        }
        let mut taken: Vec<((String, String), i64)> = Vec::new();
        for row in &request.rows {
            let key = (row.trans_out_type.clone(), row.trans_out.clone());
            match taken.iter_mut().find(|(k, _)| *k == key) {
                Some((_, fen)) => *fen = fen.saturating_add(row.amount_fen),
                None => taken.push((key, row.amount_fen)),
            }
        }
        let from_rows = taken
            .iter()
            .fold(0_i64, |sum, (_, fen)| sum.saturating_add(*fen));
        if from_rows > request.refund_fen {
            return Err(invalid("退分账金额之和不能大于退款金额"));
        }
        for ((kind, account), fen) in &taken {
            let holding = trade
                .holdings
                .get(&(kind.clone(), account.clone()))
                .copied()
                .unwrap_or(0);
            if *fen > holding {
                return Err(BizErr(
                    REFUND_ROYALTY_EXCEEDED,
                    format!(
                        "退分账金额 {} 超过分账收入方 {account} 从本交易所得的可退金额 {}",
                        format_yuan(*fen),
                        format_yuan(holding)
                    ),
                ));
            }
        }
        let from_frozen = request.refund_fen - from_rows;
        if !trade.finished && from_frozen > trade.unsettled_fen {
            return Err(BizErr(
                UNSETTLED_NOT_ENOUGH,
                "申请退款金额大于剩余未分账金额".into(),
            ));
        }

        for (key, fen) in taken {
            *trade.holdings.entry(key).or_default() -= fen;
        }
        trade.unsettled_fen -= from_frozen.min(trade.unsettled_fen);
        trade.refunded_fen += request.refund_fen;
        let result = Refunded {
            refund_fee_fen: trade.refunded_fen,
            send_back_fee_fen: request.refund_fen,
        };
        let answer = success(json!({
            "trade_no": trade_no,
            "out_trade_no": trade.out_trade_no,
            "buyer_logon_id": BUYER_LOGON_ID,
            "fund_change": "Y",
            "refund_fee": format_yuan(result.refund_fee_fen),
            "send_back_fee": format_yuan(result.send_back_fee_fen),
            "gmt_refund_pay": now,
        }));
        let record = RefundRecord {
            answer: answer.clone(),
            result: result.clone(),
            royalty_fen: from_rows,
        };
        trade
            .refunds
            .insert(request.out_request_no.to_string(), record);
        Ok((answer, result))
    }

    /// The control API's refund, as the payment gateway makes it for the merchant the trade
    /// belongs to: a business refusal comes back as its sub_code and sub_msg.
    pub(crate) fn refund_control(
        &mut self,
        request: &RefundRequest,
        now: &str,
    ) -> Result<(Value, Refunded), Refusal> {
        check_refund_request_no(request.out_request_no)
            .and_then(|()| {
                for row in &request.rows {
                    if !ACCOUNT_TYPES.contains(&row.trans_out_type.as_str()) {
                        let kind = &row.trans_out_type;
                        return Err(invalid(format!("trans_out_type 不支持 {kind}")));
                    }
                    if row.trans_out.is_empty() || row.amount_fen < 1 {
                        return Err(invalid("退分账明细须有 trans_out 与大于 0 的金额"));
                    }
                }
                let owner = match request.trade {
                    (no, true) => self.trade_owner(no).unwrap_or_default().to_string(),
                    // The control API always names the trade_no; an out_trade_no alone does
                    // not say whose it is.
                    (_, false) => String::new(),
                };
                self.refund(request, &owner, now)
            })
            .map_err(|BizErr(sub_code, sub_msg)| Refusal {
                sub_code: sub_code.to_string(),
                sub_msg,
            })
    }

    fn relation(&mut self, biz: &Map<String, Value>, merchant: &str, bind: bool) -> Biz<Value> {
        let out_request_no = req_str(biz, "out_request_no")?;
        check_request_no(out_request_no)?;
        let answers = if bind {
            &self.bind_answers
        } else {
            &self.unbind_answers
        };
        let answer_key = (merchant.to_string(), out_request_no.to_string());
        if let Some(answer) = answers.get(&answer_key) {
            return Ok(answer.clone());
        }
        let list = array(biz, "receiver_list")?;
        if list.is_empty() || list.len() > 20 {
            return Err(invalid("receiver_list 须包含 1 到 20 个分账方"));
        }
        let mut receivers = Vec::with_capacity(list.len());
        for entry in list {
            let Value::Object(entry) = entry else {
                return Err(invalid("receiver_list 的元素须为对象"));
            };
            let kind = req_str(entry, "type")?;
            if !ACCOUNT_TYPES.contains(&kind) {
                return Err(invalid(format!("type 不支持 {kind}")));
            }
            let account = req_str(entry, "account")?;
            if kind == "userId" && !is_user_id(account) {
                return Err(invalid(format!("{account} 不是 2088 开头的 16 位 userId")));
            }
            if bind && kind == "loginName" {
                req_str(entry, "name")?;
            }
            opt_str(entry, "name")?;
            opt_str(entry, "memo")?;
            receivers.push((merchant.to_string(), kind.to_string(), account.to_string()));
        }
        if bind {
            self.relations.extend(receivers);
        } else {
            if !receivers.iter().all(|r| self.relations.contains(r)) {
                return Err(BizErr("USER_NOT_EXIST", "用户不存在".into()));
            }
            for r in &receivers {
                self.relations.remove(r);
            }
        }
        let answer = success(json!({"result_code": "SUCCESS"}));
        let answers = if bind {
            &mut self.bind_answers
        } else {
            &mut self.unbind_answers
        };
        answers.insert(answer_key, answer.clone());
        Ok(answer)
    }

    /// Finishes a pending async settle (made by the merchant the trade belongs to) with the
    /// given per-account outcomes. Returns that merchant and the app whose call made it.
    pub(crate) fn complete(
        &mut self,
        trade_no: &str,
        out_request_no: &str,
        outcomes: &[(String, Outcome)],
        now: &str,
    ) -> Result<(String, String), SimError> {
        let owner = self
            .trade_owner(trade_no)
            .ok_or(SimError::UnknownSettle)?
            .to_string();
        let key = (
            owner.clone(),
            trade_no.to_string(),
            out_request_no.to_string(),
        );
        let settle = self
            .settle_keys
            .get(&key)
            .and_then(|no| self.settles.get_mut(no))
            .ok_or(SimError::UnknownSettle)?;
        if !settle.pending {
            return Err(SimError::NotPending);
        }
        if let Some((account, _)) = outcomes
            .iter()
            .find(|(account, _)| !settle.details.iter().any(|d| &d.trans_in == account))
        {
            return Err(SimError::UnknownReceiver(account.clone()));
        }
        let mut returned = 0;
        for detail in &mut settle.details {
            let outcome = outcomes.iter().rev().find(|(a, _)| *a == detail.trans_in);
            detail.execute_dt = Some(now.to_string());
            match outcome.map(|(_, o)| o) {
                None | Some(Outcome::Success) => detail.state = "SUCCESS",
                Some(Outcome::Fail { code, desc }) => {
                    detail.state = "FAIL";
                    detail.error = Some((code.clone(), desc.clone()));
                    returned += detail.fen;
                }
            }
        }
        settle.pending = false;
        let caller = settle.caller.clone();
        let finish = settle.finish;
        let received: Vec<((String, String), i64)> = settle
            .details
            .iter()
            .filter(|d| d.state == "SUCCESS")
            .map(|d| ((d.trans_in_type.clone(), d.trans_in.clone()), d.fen))
            .collect();
        if let Some(trade) = self.trades.get_mut(trade_no) {
            for (key, fen) in received {
                *trade.holdings.entry(key).or_default() += fen;
            }
            if finish {
                trade.unsettled_fen = 0;
            } else if !trade.finished {
                // A failed transfer leaves its funds frozen on the trade, splittable again.
                trade.unsettled_fen += returned;
            }
        }
        Ok((owner, caller))
    }
}

/// `out_request_no` of a refund: 1 to 64 characters.
fn check_refund_request_no(no: &str) -> Biz<()> {
    if no.is_empty() || no.chars().count() > 64 {
        return Err(invalid("out_request_no 须为 1 到 64 个字符"));
    }
    Ok(())
}

/// A yuan amount field (a string with at most two decimals, above 0) in fen.
fn yuan_field(obj: &Map<String, Value>, key: &str) -> Biz<i64> {
    let text = req_str(obj, key)?;
    parse_yuan(text)
        .filter(|&fen| fen > 0)
        .ok_or_else(|| invalid(format!("{key} {text} 不是大于 0 且至多两位小数的金额")))
}

/// The `biz_content` of `alipay.trade.refund`.
fn parse_refund(biz: &Map<String, Value>) -> Biz<RefundRequest<'_>> {
    let trade = match (opt_str(biz, "trade_no")?, opt_str(biz, "out_trade_no")?) {
        (Some(no), _) => (no, true),
        (None, Some(out)) => (out, false),
        (None, None) => return Err(invalid("trade_no 与 out_trade_no 不能同时为空")),
    };
    let refund_fen = yuan_field(biz, "refund_amount")?;
    let out_request_no = req_str(biz, "out_request_no")?;
    check_refund_request_no(out_request_no)?;
    opt_str(biz, "refund_reason")?;
    let mut rows = Vec::new();
    for row in array(biz, "refund_royalty_parameters")? {
        let Value::Object(row) = row else {
            return Err(invalid("refund_royalty_parameters 的元素须为对象"));
        };
        match opt_str(row, "royalty_type")? {
            None | Some("transfer") => {}
            Some(other) => return Err(invalid(format!("royalty_type 不支持 {other}"))),
        }
        let trans_out_type = opt_str(row, "trans_out_type")?.unwrap_or("userId");
        if !ACCOUNT_TYPES.contains(&trans_out_type) {
            return Err(invalid(format!("trans_out_type 不支持 {trans_out_type}")));
        }
        let trans_out = req_str(row, "trans_out")?;
        if let Some(kind) = opt_str(row, "trans_in_type")?
            && !ACCOUNT_TYPES.contains(&kind)
        {
            return Err(invalid(format!("trans_in_type 不支持 {kind}")));
        }
        opt_str(row, "trans_in")?;
        opt_str(row, "desc")?;
        rows.push(RoyaltyRefund {
            trans_out_type: trans_out_type.to_string(),
            trans_out: trans_out.to_string(),
            amount_fen: yuan_field(row, "amount")?,
        });
    }
    Ok(RefundRequest {
        trade,
        out_request_no,
        refund_fen,
        rows,
    })
}

fn amount_error(msg: &str) -> BizErr {
    BizErr("ACQ.ALLOC_AMOUNT_VALIDATE_ERROR", msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_parsing() {
        assert_eq!(parse_yuan("12.34"), Some(1234));
        assert_eq!(parse_yuan("12.3"), Some(1230));
        assert_eq!(parse_yuan("12"), Some(1200));
        assert_eq!(parse_yuan("0.01"), Some(1));
        for bad in ["", ".5", "1.", "1.234", "-1", "+1", "1,00", "1e2", " 1"] {
            assert_eq!(parse_yuan(bad), None, "{bad:?}");
        }
        assert_eq!(format_yuan(1234), "12.34");
        assert_eq!(format_yuan(5), "0.05");
    }

    #[test]
    fn ids_are_digits_of_the_right_length() {
        let mut state = State::new();
        let a = state.next_id("20250101", 32);
        let b = state.next_id("20250101", 32);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_digit()));
        assert!(a.starts_with("20250101"));
        assert_ne!(a, b);
        assert_eq!(state.next_id("20250101", 28).len(), 28);
    }
}
