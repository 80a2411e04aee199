//! The simulated merchant account: paid trades with frozen funds, settles (分账) and receiver
//! relations, plus the business methods of the gateway. Everything here is synchronous and runs
//! under the simulator's mutex.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value, json};

use crate::{CallRecord, Fault, Outcome, SimError};

/// The seller account every detail is paid out of (`trans_out`).
pub(crate) const TRANS_OUT: &str = "2088000000000001";

/// The gateway methods this simulator implements.
pub(crate) const METHODS: [&str; 5] = [
    "alipay.trade.order.settle",
    "alipay.trade.order.settle.query",
    "alipay.trade.order.onsettle.query",
    "alipay.trade.royalty.relation.bind",
    "alipay.trade.royalty.relation.unbind",
];

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
    unsettled_fen: i64,
    /// A settle with `royalty_finish="true"` was accepted: no further settles.
    finished: bool,
    settles: usize,
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

#[derive(Default)]
pub(crate) struct State {
    trades: HashMap<String, Trade>,
    settles: HashMap<String, Settle>,
    settle_keys: HashMap<(String, String), String>,
    relations: HashSet<(String, String)>,
    bind_answers: HashMap<String, Value>,
    unbind_answers: HashMap<String, Value>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub calls: Vec<CallRecord>,
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

fn is_user_id(account: &str) -> bool {
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

    pub(crate) fn seed_trade(&mut self, trade_no: &str, amount_fen: i64) {
        let trade = Trade {
            unsettled_fen: amount_fen,
            finished: false,
            settles: 0,
        };
        self.trades.insert(trade_no.to_string(), trade);
    }

    pub(crate) fn unsettled_fen(&self, trade_no: &str) -> Option<i64> {
        self.trades.get(trade_no).map(|t| t.unsettled_fen)
    }

    pub(crate) fn settle_count(&self, trade_no: &str) -> usize {
        self.trades.get(trade_no).map_or(0, |t| t.settles)
    }

    pub(crate) fn is_bound(&self, account_type: &str, account: &str) -> bool {
        self.relations
            .contains(&(account_type.to_string(), account.to_string()))
    }

    pub(crate) fn find_settle(&self, trade_no: &str, out_request_no: &str) -> Option<&Settle> {
        let key = (trade_no.to_string(), out_request_no.to_string());
        self.settle_keys
            .get(&key)
            .and_then(|no| self.settles.get(no))
    }

    /// Runs one business method. `now` is Beijing time `yyyy-MM-dd HH:mm:ss`.
    /// Returns None for a method this simulator does not know.
    pub(crate) fn call(&mut self, method: &str, biz: &Value, now: &str) -> Option<Value> {
        let Value::Object(biz) = biz else {
            let err = invalid("biz_content 须为 JSON 对象");
            return METHODS
                .contains(&method)
                .then(|| business_failed(err.0, &err.1));
        };
        let result = match method {
            "alipay.trade.order.settle" => self.settle(biz, now),
            "alipay.trade.order.settle.query" => self.settle_query(biz),
            "alipay.trade.order.onsettle.query" => self.onsettle_query(biz),
            "alipay.trade.royalty.relation.bind" => self.relation(biz, true),
            "alipay.trade.royalty.relation.unbind" => self.relation(biz, false),
            _ => return None,
        };
        Some(result.unwrap_or_else(|BizErr(code, msg)| business_failed(code, &msg)))
    }

    fn settle(&mut self, biz: &Map<String, Value>, now: &str) -> Biz<Value> {
        let out_request_no = req_str(biz, "out_request_no")?;
        check_request_no(out_request_no)?;
        let trade_no = req_str(biz, "trade_no")?;
        if let Some(settle) = self.find_settle(trade_no, out_request_no) {
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
            .trades
            .get(trade_no)
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
            if !self.is_bound(trans_in_type, trans_in) {
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
            if finish {
                trade.finished = true;
                if !is_async {
                    trade.unsettled_fen = 0;
                }
            }
        }
        let answer = success(json!({"trade_no": trade_no, "settle_no": settle_no}));
        let key = (trade_no.to_string(), out_request_no.to_string());
        self.settle_keys.insert(key, settle_no.clone());
        self.settles.insert(
            settle_no.clone(),
            Settle {
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

    fn settle_query(&self, biz: &Map<String, Value>) -> Biz<Value> {
        let settle = match opt_str(biz, "settle_no")? {
            Some(no) => self.settles.get(no),
            None => {
                let trade_no = req_str(biz, "trade_no")?;
                let out_request_no = req_str(biz, "out_request_no")?;
                self.find_settle(trade_no, out_request_no)
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

    fn onsettle_query(&self, biz: &Map<String, Value>) -> Biz<Value> {
        let trade_no = req_str(biz, "trade_no")?;
        let fen = self
            .unsettled_fen(trade_no)
            .ok_or_else(|| BizErr("ACQ.TRADE_NOT_EXIST", "交易不存在".into()))?;
        Ok(success(json!({"unsettled_amount": format_yuan(fen)})))
    }

    fn relation(&mut self, biz: &Map<String, Value>, bind: bool) -> Biz<Value> {
        let out_request_no = req_str(biz, "out_request_no")?;
        check_request_no(out_request_no)?;
        let answers = if bind {
            &self.bind_answers
        } else {
            &self.unbind_answers
        };
        if let Some(answer) = answers.get(out_request_no) {
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
            receivers.push((kind.to_string(), account.to_string()));
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
        answers.insert(out_request_no.to_string(), answer.clone());
        Ok(answer)
    }

    /// Finishes a pending async settle with the given per-account outcomes.
    pub(crate) fn complete(
        &mut self,
        trade_no: &str,
        out_request_no: &str,
        outcomes: &[(String, Outcome)],
        now: &str,
    ) -> Result<(), SimError> {
        let key = (trade_no.to_string(), out_request_no.to_string());
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
        let finish = settle.finish;
        if let Some(trade) = self.trades.get_mut(trade_no) {
            if finish {
                trade.unsettled_fen = 0;
            } else if !trade.finished {
                // A failed transfer leaves its funds frozen on the trade, splittable again.
                trade.unsettled_fen += returned;
            }
        }
        Ok(())
    }
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
