//! Alipay's trade bill (SPEC §4.13, issue 24). `alipay.data.dataservice.bill.downloadurl.query`
//! (`bill_type=trade`, `bill_date`) answers a `bill_download_url` that lives 30 s; a plain GET
//! of it serves a zip of two GBK CSV files, the business detail (`<pid>_<yyyyMMdd>_业务明细.csv`)
//! and its summary (`…_业务明细(汇总).csv`). A bill is made from the state when it is asked for:
//! one 交易 row per trade of the merchant the call acts for with royalty settled that Beijing
//! date (分润 = that day's successful settle details of the trade), one 退款 row per refund of
//! its trades that day, in the format `shared::reconcile::read_alipay_bill` reads. Knobs
//! corrupt the bills of a merchant and date for reconciliation tests; see `README.md`.

use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Write};
use std::time::Duration;

use hyper::header::{CONTENT_DISPOSITION, HeaderValue};
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_kit::{Reply, error_reply, json_reply, reply};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::gateway::parse_timestamp;
use crate::state::{BizErr, business_failed, format_yuan, is_user_id, success};
use crate::{AlipaySim, Inner, SimError, beijing_now};

/// The gateway method.
pub(crate) const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";
/// How long a `bill_download_url` lives, from when the method answered it.
pub const BILL_URL_LIFE: Duration = Duration::from_secs(30);
/// Bills are kept this many months back from today (see `README.md`).
const MONTHS_KEPT: i32 = 3;
/// The business-detail columns of Alipay's trade bill, in its order.
pub const BILL_DETAIL_COLUMNS: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];
const SUMMARY_COLUMNS: &str = "门店编号,门店名称,交易订单总笔数,退款订单总笔数,订单金额（元）,商家实收（元）,\
    支付宝优惠（元）,商家优惠（元）,卡消费金额（元）,服务费（元）,分润（元）,实收净额（元）";
/// The marker lines around the rows, dash for dash as Alipay writes them (public samples; the
/// summary file's are assumed to be drawn alike).
const DETAIL_START: &str = "#-----------------------------------------业务明细列表----------------------------------------";
const DETAIL_END: &str = "#-----------------------------------------业务明细列表结束------------------------------------";
const SUMMARY_START: &str = "#-----------------------------------------业务汇总列表----------------------------------------";
const SUMMARY_END: &str = "#-----------------------------------------业务汇总列表结束------------------------------------";
/// The masked buyer every row names.
const BUYER: &str = "*模拟(159****5620)";

/// A corruption of the bills of one merchant (app id, or an authorised merchant's user id)
/// and date, kept until cleared (a counted `NotReady` wears off). JSON (control API): the
/// variant's snake_case name in `knob` beside its fields, e.g.
/// `{"knob":"change_amount","out_trade_no":"M1","royalty_fen":99}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "knob", rename_all = "snake_case")]
pub enum BillCorruption {
    /// Leaves out every row (交易 and 退款) with this 商户订单号.
    DropRow { out_trade_no: String },
    /// Writes `royalty_fen` as the 分润 of the 交易 row with this 商户订单号.
    ChangeAmount {
        out_trade_no: String,
        royalty_fen: i64,
    },
    /// Adds a 交易 row with royalty not made through us: `trade_no` (made up when absent),
    /// `order_fen` (the royalty when absent).
    AddForeign {
        out_trade_no: String,
        #[serde(default)]
        trade_no: Option<String>,
        royalty_fen: i64,
        #[serde(default)]
        order_fen: Option<i64>,
    },
    /// Leaves this column out of the business-detail file, header and rows.
    DropColumn { column: String },
    /// Answers 40004 `isp.bill_not_exist` instead of a URL: the next `times` calls, or every
    /// call until cleared when absent.
    NotReady {
        #[serde(default)]
        times: Option<u32>,
    },
}

/// What moved on a trade, for the bill (`state::bill_rows`).
#[derive(Debug, Clone)]
pub(crate) enum Moved {
    /// A settle detail that succeeded.
    Royalty { fen: i64 },
    /// A refund, and what its rows took back from receivers.
    Refund {
        out_request_no: String,
        refund_fen: i64,
        royalty_fen: i64,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Fact {
    pub trade_no: String,
    pub out_trade_no: String,
    pub paid_fen: i64,
    /// Beijing `yyyy-MM-dd HH:mm:ss`.
    pub at: String,
    pub moved: Moved,
}

/// A row of the business-detail file.
#[derive(Debug, Clone)]
struct Row {
    trade_no: String,
    out_trade_no: String,
    /// A refund's `out_request_no`; None on a 交易 row.
    refund: Option<String>,
    created: String,
    finished: String,
    /// Negative on a refund.
    order_fen: i64,
    royalty_fen: i64,
}

struct Bill {
    rows: Vec<Row>,
    dropped: Vec<String>,
}

struct Download {
    zip: Vec<u8>,
    /// `<pid>_<yyyyMMdd>.csv.zip`.
    name: String,
    issued_ms: i64,
}

/// The bill knobs and the download URLs issued, kept in the state.
#[derive(Default)]
pub(crate) struct Bills {
    knobs: BTreeMap<(String, Date), Vec<BillCorruption>>,
    urls: HashMap<String, Download>,
}

fn invalid(sub_msg: impl Into<String>) -> BizErr {
    BizErr("isv.invalid-arguments", sub_msg.into())
}

fn not_exist() -> BizErr {
    BizErr("isp.bill_not_exist", "账单不存在".into())
}

/// A strict `yyyy-MM-dd` date.
fn parse_date(text: &str) -> Option<Date> {
    let at = parse_timestamp(&format!("{text} 00:00:00"))?;
    Some(at.date())
}

/// The same day `MONTHS_KEPT` months before `day`, the month's last day where it has no such
/// day.
fn earliest(day: Date) -> Date {
    let index = day.year() * 12 + i32::from(u8::from(day.month())) - 1 - MONTHS_KEPT;
    let year = index.div_euclid(12);
    let month = u8::try_from(index.rem_euclid(12) + 1)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .unwrap_or(Month::January);
    Date::from_calendar_date(year, month, day.day().min(month.length(year))).unwrap_or(day)
}

/// `2025年06月01日 00:00:00`.
fn chinese(at: PrimitiveDateTime) -> String {
    format!(
        "{}年{:02}月{:02}日 {:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// The merchant's Alipay account (pid): an authorised merchant's user id; for an app, `2088`
/// and the last 12 digits of its id (the simulator keeps no pid for apps).
fn pid(merchant: &str) -> String {
    if is_user_id(merchant) {
        return merchant.to_string();
    }
    let digits: String = merchant.chars().filter(char::is_ascii_digit).collect();
    let tail = digits
        .get(digits.len().saturating_sub(12)..)
        .unwrap_or_default();
    format!("2088{tail:0>12}")
}

fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(now).unwrap_or(i64::MAX)
}

impl Bills {
    /// The day's bill of `merchant` with its knobs; Err while one says it is not ready.
    fn make(&mut self, merchant: &str, date: Date, facts: Vec<Fact>) -> Result<Bill, BizErr> {
        let day = date.to_string();
        let mut trades: BTreeMap<String, Row> = BTreeMap::new();
        let mut refunds = Vec::new();
        for fact in facts
            .into_iter()
            .filter(|f| f.at.get(..10) == Some(day.as_str()))
        {
            match fact.moved {
                Moved::Royalty { fen } => {
                    let row = trades.entry(fact.trade_no.clone()).or_insert_with(|| Row {
                        trade_no: fact.trade_no,
                        out_trade_no: fact.out_trade_no,
                        refund: None,
                        created: fact.at.clone(),
                        finished: fact.at.clone(),
                        order_fen: fact.paid_fen,
                        royalty_fen: 0,
                    });
                    row.royalty_fen = row.royalty_fen.saturating_add(fen);
                    row.created = row.created.clone().min(fact.at.clone());
                    row.finished = row.finished.clone().max(fact.at);
                }
                Moved::Refund {
                    out_request_no,
                    refund_fen,
                    royalty_fen,
                } => refunds.push(Row {
                    trade_no: fact.trade_no,
                    out_trade_no: fact.out_trade_no,
                    refund: Some(out_request_no),
                    created: fact.at.clone(),
                    finished: fact.at,
                    order_fen: -refund_fen,
                    royalty_fen: -royalty_fen,
                }),
            }
        }
        let mut rows: Vec<Row> = trades.into_values().chain(refunds).collect();
        rows.sort_by(|a, b| {
            (&a.finished, &a.trade_no, &a.refund).cmp(&(&b.finished, &b.trade_no, &b.refund))
        });
        let mut bill = Bill {
            rows,
            dropped: Vec::new(),
        };
        let Some(knobs) = self.knobs.get_mut(&(merchant.to_string(), date)) else {
            return Ok(bill);
        };
        for knob in knobs.iter_mut() {
            if let BillCorruption::NotReady { times } = knob {
                match times {
                    None => return Err(not_exist()),
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        return Err(not_exist());
                    }
                    Some(_) => {}
                }
            }
        }
        for knob in knobs.iter() {
            match knob {
                BillCorruption::DropRow { out_trade_no } => {
                    bill.rows.retain(|r| r.out_trade_no != *out_trade_no);
                }
                BillCorruption::ChangeAmount {
                    out_trade_no,
                    royalty_fen,
                } => {
                    let trade_rows = bill.rows.iter_mut().filter(|r| r.refund.is_none());
                    trade_rows
                        .filter(|r| r.out_trade_no == *out_trade_no)
                        .for_each(|r| r.royalty_fen = *royalty_fen);
                }
                BillCorruption::AddForeign {
                    out_trade_no,
                    trade_no,
                    royalty_fen,
                    order_fen,
                } => {
                    let at = format!("{day} 12:00:00");
                    let made_up = || {
                        format!(
                            "{}22001{:015}",
                            day.replace('-', ""),
                            now_ms() % 1_000_000_000_000_000
                        )
                    };
                    bill.rows.push(Row {
                        trade_no: trade_no.clone().unwrap_or_else(made_up),
                        out_trade_no: out_trade_no.clone(),
                        refund: None,
                        created: at.clone(),
                        finished: at,
                        order_fen: order_fen.unwrap_or(*royalty_fen),
                        royalty_fen: *royalty_fen,
                    });
                }
                BillCorruption::DropColumn { column } => bill.dropped.push(column.clone()),
                BillCorruption::NotReady { .. } => {}
            }
        }
        knobs.retain(|k| !matches!(k, BillCorruption::NotReady { times: Some(0) }));
        if knobs.is_empty() {
            self.knobs.remove(&(merchant.to_string(), date));
        }
        Ok(bill)
    }

    fn issue(&mut self, token: String, download: Download) {
        let now = download.issued_ms;
        let forget = i64::try_from(BILL_URL_LIFE.as_millis() * 20).unwrap_or(i64::MAX);
        self.urls
            .retain(|_, d| now.saturating_sub(d.issued_ms) < forget);
        self.urls.insert(token, download);
    }
}

/// A value as Alipay writes numbers that a spreadsheet must not reformat: followed by a tab.
fn tabbed(value: &str) -> String {
    format!("{value}\t")
}

impl Bill {
    /// The business-detail file's text (CRLF lines) for the account `account`.
    fn detail(&self, account: &str, period: &str, exported: &str) -> String {
        let kept: Vec<usize> = (0..BILL_DETAIL_COLUMNS.len())
            .filter(|&i| !self.dropped.iter().any(|d| d == BILL_DETAIL_COLUMNS[i]))
            .collect();
        let mut lines = vec![
            "#支付宝业务明细查询".to_string(),
            format!("#账号：[{account}]"),
            period.to_string(),
            DETAIL_START.to_string(),
            kept.iter()
                .map(|&i| BILL_DETAIL_COLUMNS[i])
                .collect::<Vec<_>>()
                .join(","),
        ];
        let zero = "0.00".to_string();
        for row in &self.rows {
            let kind = if row.refund.is_some() {
                "退款"
            } else {
                "交易"
            };
            let values = [
                tabbed(&row.trade_no),
                tabbed(&row.out_trade_no),
                tabbed(kind),
                "分账交易".to_string(),
                row.created.clone(),
                row.finished.clone(),
                tabbed(""),
                tabbed(""),
                tabbed(""),
                tabbed(""),
                tabbed(BUYER),
                format_yuan(row.order_fen),
                format_yuan(row.order_fen),
                zero.clone(),
                zero.clone(),
                zero.clone(),
                zero.clone(),
                zero.clone(),
                String::new(),
                tabbed(&zero),
                zero.clone(),
                tabbed(row.refund.as_deref().unwrap_or_default()),
                zero.clone(),
                format_yuan(row.royalty_fen),
                String::new(),
            ];
            lines.push(
                kept.iter()
                    .map(|&i| values[i].as_str())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        let (trades, refunds) = self.totals();
        lines.push(DETAIL_END.to_string());
        lines.push(format!(
            "#交易合计：{}笔，商家实收共{}元，商家优惠共0.00元",
            trades.0,
            format_yuan(trades.1)
        ));
        lines.push(format!(
            "#退款合计：{}笔，商家实收退款共{}元，商家优惠退款共0.00元",
            refunds.0,
            format_yuan(refunds.1)
        ));
        lines.push(format!("#导出时间：[{exported}]"));
        lines.join("\r\n") + "\r\n"
    }

    /// (count, order fen) of the 交易 rows and of the 退款 rows.
    fn totals(&self) -> ((usize, i64), (usize, i64)) {
        let sum = |refund: bool| {
            let rows = self.rows.iter().filter(|r| r.refund.is_some() == refund);
            rows.fold((0, 0_i64), |(n, fen), r| {
                (n + 1, fen.saturating_add(r.order_fen))
            })
        };
        (sum(false), sum(true))
    }

    /// The summary file's text.
    fn summary(&self, account: &str, period: &str, exported: &str) -> String {
        let ((trades, paid), (refunds, refunded)) = self.totals();
        let royalty = self
            .rows
            .iter()
            .fold(0_i64, |s, r| s.saturating_add(r.royalty_fen));
        let net = format_yuan(paid.saturating_add(refunded));
        let lines = [
            "#支付宝业务汇总查询".to_string(),
            format!("#账号：[{account}]"),
            period.to_string(),
            SUMMARY_START.to_string(),
            SUMMARY_COLUMNS.to_string(),
            format!(
                "合计,,{trades},{refunds},{net},{net},0.00,0.00,0.00,0.00,{},{net}",
                format_yuan(royalty)
            ),
            SUMMARY_END.to_string(),
            format!("#导出时间：[{exported}]"),
        ];
        lines.join("\r\n") + "\r\n"
    }

    /// The zip Alipay serves: both files, GBK, deflated.
    fn zip(
        &self,
        merchant: &str,
        date: Date,
        now: PrimitiveDateTime,
    ) -> zip::result::ZipResult<(String, Vec<u8>)> {
        let pid = pid(merchant);
        let account = format!("{pid}0156");
        let ymd = date.to_string().replace('-', "");
        let start = PrimitiveDateTime::new(date, time::Time::MIDNIGHT);
        let end = PrimitiveDateTime::new(date.next_day().unwrap_or(date), time::Time::MIDNIGHT);
        let period = format!(
            "#起始日期：[{}]   终止日期：[{}]",
            chinese(start),
            chinese(end)
        );
        let exported = chinese(now);
        let files = [
            (
                format!("{pid}_{ymd}_业务明细.csv"),
                self.detail(&account, &period, &exported),
            ),
            (
                format!("{pid}_{ymd}_业务明细(汇总).csv"),
                self.summary(&account, &period, &exported),
            ),
        ];
        let stamp = zip::DateTime::from_date_and_time(
            u16::try_from(now.year()).unwrap_or(1980),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second(),
        )
        .unwrap_or_default();
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .last_modified_time(stamp);
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, text) in files {
            writer.start_file(name, options)?;
            writer.write_all(&encoding_rs::GBK.encode(&text).0)?;
        }
        Ok((
            format!("{pid}_{ymd}.csv.zip"),
            writer.finish()?.into_inner(),
        ))
    }
}

/// `alipay.data.dataservice.bill.downloadurl.query` for `merchant` (the app itself, or the
/// merchant whose `app_auth_token` the call carried): the method's node.
pub(crate) fn query(inner: &Inner, merchant: &str, biz: &Value) -> Value {
    match bill_url(inner, merchant, biz) {
        Ok(url) => success(json!({ "bill_download_url": url })),
        Err(BizErr(sub_code, sub_msg)) => business_failed(sub_code, &sub_msg),
    }
}

fn bill_url(inner: &Inner, merchant: &str, biz: &Value) -> Result<String, BizErr> {
    let Value::Object(biz) = biz else {
        return Err(invalid("biz_content 须为 JSON 对象"));
    };
    match biz.get("bill_type").and_then(Value::as_str) {
        Some("trade") => {}
        Some("signcustomer") => return Err(invalid("bill_type signcustomer 未模拟, 仅支持 trade")),
        _ => return Err(invalid("bill_type 须为 trade")),
    }
    let text = biz
        .get("bill_date")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let date = parse_date(text)
        .ok_or_else(|| invalid(format!("bill_date {text} 须为 yyyy-MM-dd (月账单未模拟)")))?;
    let now = beijing_now();
    if date > now.date() {
        return Err(invalid("bill_date 不能晚于今天"));
    }
    if date < earliest(now.date()) {
        return Err(not_exist());
    }
    let mut state = inner.state();
    let facts = state.bill_facts(merchant);
    let bill = state.bills.make(merchant, date, facts)?;
    let (name, zip) = bill
        .zip(merchant, date, now)
        .map_err(|e| BizErr("isp.unknown-error", format!("系统繁忙: {e}")))?;
    let token = format!(
        "{:032x}",
        u128::from(crate::crypto::random_u64()) << 64 | u128::from(crate::crypto::random_u64())
    );
    let url = format!(
        "http://{}/bill/download?token={token}",
        inner.server.local_addr()
    );
    let download = Download {
        zip,
        name,
        issued_ms: now_ms(),
    };
    state.bills.issue(token, download);
    Ok(url)
}

/// `GET /bill/download?token=`: the zip, to anyone holding the URL while it lives. 404 for an
/// unknown token, 410 once it is older than [`BILL_URL_LIFE`] (text/plain).
pub(crate) fn download(inner: &Inner, query: &str) -> Reply {
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let state = inner.state();
    let Some(file) = state.bills.urls.get(&token) else {
        return reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "下载链接无效",
        );
    };
    let life = i64::try_from(BILL_URL_LIFE.as_millis()).unwrap_or(i64::MAX);
    if now_ms().saturating_sub(file.issued_ms) >= life {
        return reply(
            StatusCode::GONE,
            "text/plain; charset=utf-8",
            "下载链接已过期",
        );
    }
    let mut answer = reply(StatusCode::OK, "application/octet-stream", file.zip.clone());
    let disposition = format!("attachment; filename=\"{}\"", file.name);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        answer.headers_mut().insert(CONTENT_DISPOSITION, value);
    }
    answer
}

/// Checks a knob before it is kept.
fn check_knob(knob: &BillCorruption) -> Result<(), String> {
    let number = |no: &str| {
        let bad = no.is_empty() || no.contains([',', '"', '\r', '\n', '\t']);
        if bad {
            Err(format!(
                "out_trade_no {no:?} must be non-empty, without commas, quotes or breaks"
            ))
        } else {
            Ok(())
        }
    };
    match knob {
        BillCorruption::DropRow { out_trade_no } => number(out_trade_no),
        BillCorruption::ChangeAmount { out_trade_no, .. } => number(out_trade_no),
        BillCorruption::AddForeign {
            out_trade_no,
            royalty_fen,
            ..
        } if *royalty_fen >= 1 => number(out_trade_no),
        BillCorruption::AddForeign { .. } => Err("royalty_fen must be 1 or more".into()),
        BillCorruption::DropColumn { column }
            if !BILL_DETAIL_COLUMNS.contains(&column.as_str()) =>
        {
            Err(format!("{column} is not a business-detail column"))
        }
        BillCorruption::NotReady { times: Some(0) } => Err("times must be 1 or more".into()),
        BillCorruption::DropColumn { .. } | BillCorruption::NotReady { .. } => Ok(()),
    }
}

impl AlipaySim {
    /// Corrupts the trade bills of `bill_date` (`yyyy-MM-dd`) of `merchant`: an app id (its own
    /// bill, asked without `app_auth_token`) or an authorised merchant's user id (asked with its
    /// token). Knobs add up and stay until cleared ([`AlipaySim::clear_bill_corruptions`]),
    /// except a counted `NotReady`. Errors: `UnknownApp` (neither an app nor an authorised
    /// merchant), `Config` (a bad date or knob).
    pub fn corrupt_bill(
        &self,
        merchant: &str,
        bill_date: &str,
        knob: BillCorruption,
    ) -> Result<(), SimError> {
        let date = parse_date(bill_date)
            .ok_or_else(|| SimError::Config(format!("bill_date {bill_date} is not yyyy-MM-dd")))?;
        check_knob(&knob).map_err(SimError::Config)?;
        let known = {
            let accounts = self.inner.accounts();
            accounts.get(merchant).is_some()
                || accounts.all_grants().any(|(g, _)| g.user_id == merchant)
        };
        if !known {
            return Err(SimError::UnknownApp(merchant.to_string()));
        }
        let mut state = self.inner.state();
        let knobs = state
            .bills
            .knobs
            .entry((merchant.to_string(), date))
            .or_default();
        knobs.push(knob);
        Ok(())
    }

    /// Clears the bill knobs of a merchant and date; `None` for either means all of them.
    /// Returns how many knobs were removed.
    pub fn clear_bill_corruptions(&self, merchant: Option<&str>, bill_date: Option<&str>) -> usize {
        let date = bill_date.map(parse_date);
        let mut state = self.inner.state();
        let before: usize = state.bills.knobs.values().map(Vec::len).sum();
        state.bills.knobs.retain(|(m, d), _| {
            let hit = merchant.is_none_or(|x| x == m) && date.is_none_or(|x| x == Some(*d));
            !hit
        });
        let after: usize = state.bills.knobs.values().map(Vec::len).sum();
        before - after
    }

    /// The knobs in force: `[{"merchant","bill_date","knobs":[…]}]`, sorted.
    pub fn bill_corruptions(&self) -> Value {
        let state = self.inner.state();
        let list = state.bills.knobs.iter().map(|((merchant, date), knobs)| {
            json!({"merchant": merchant, "bill_date": date.to_string(), "knobs": knobs})
        });
        Value::Array(list.collect())
    }

    /// Makes every download URL issued so far `by` older, so a test sees one expire
    /// ([`BILL_URL_LIFE`]) without waiting.
    pub fn age_bill_urls(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.inner.state();
        for url in state.bills.urls.values_mut() {
            url.issued_ms = url.issued_ms.saturating_sub(by);
        }
    }
}

#[derive(Deserialize)]
struct CorruptRequest {
    merchant: String,
    bill_date: String,
    #[serde(flatten)]
    knob: BillCorruption,
}

#[derive(Deserialize)]
struct AgeRequest {
    seconds: u64,
}

/// Whether a control path is one of the bill knobs'.
pub(crate) fn is_control(path: &str) -> bool {
    matches!(path, "bill-corruptions" | "bill-urls/age")
}

/// The bill knobs of the control API: `bill-corruptions` (POST one, GET all, DELETE with
/// `?merchant=&bill_date=`) and `bill-urls/age`. `Err` only for a body that is not the JSON
/// expected.
pub(crate) fn control(
    sim: &AlipaySim,
    method: &Method,
    path: &str,
    query: &str,
    body: &[u8],
) -> Result<Reply, serde_json::Error> {
    let ok = || json_reply(StatusCode::OK, &json!({}));
    Ok(match (method, path) {
        (&Method::POST, "bill-corruptions") => {
            let r: CorruptRequest = serde_json::from_slice(body)?;
            match sim.corrupt_bill(&r.merchant, &r.bill_date, r.knob) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownApp(_)) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "bill-corruptions") => json_reply(StatusCode::OK, &sim.bill_corruptions()),
        (&Method::DELETE, "bill-corruptions") => {
            let param = |name: &str| {
                form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let (merchant, date) = (param("merchant"), param("bill_date"));
            let cleared = sim.clear_bill_corruptions(merchant.as_deref(), date.as_deref());
            json_reply(StatusCode::OK, &json!({ "cleared": cleared }))
        }
        (&Method::POST, "bill-urls/age") => {
            let r: AgeRequest = serde_json::from_slice(body)?;
            sim.age_bill_urls(Duration::from_secs(r.seconds));
            ok()
        }
        _ => error_reply(StatusCode::NOT_FOUND, "unknown control endpoint"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Date {
        parse_date(text).unwrap_or_else(|| panic!("{text}"))
    }

    fn fact(trade_no: &str, at: &str, moved: Moved) -> Fact {
        Fact {
            trade_no: trade_no.into(),
            out_trade_no: format!("M{trade_no}"),
            paid_fen: 10_000,
            at: at.into(),
            moved,
        }
    }

    #[test]
    fn dates_pids_and_the_kept_months() {
        assert_eq!(parse_date("2025-06"), None);
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(earliest(day("2025-05-31")), day("2025-02-28"));
        assert_eq!(earliest(day("2025-01-15")), day("2024-10-15"));
        assert_eq!(pid("2088101126708402"), "2088101126708402");
        assert_eq!(pid("2021000000000001"), "2088000000000001");
        assert_eq!(pid("app"), "2088000000000000");
    }

    #[test]
    fn a_trade_row_sums_the_days_royalty_and_refunds_are_rows_of_their_own() {
        let facts = vec![
            fact("T1", "2025-06-01 09:00:00", Moved::Royalty { fen: 100 }),
            fact("T1", "2025-06-01 11:00:00", Moved::Royalty { fen: 23 }),
            fact("T1", "2025-06-02 00:00:00", Moved::Royalty { fen: 1000 }),
            fact("T2", "2025-05-31 23:59:59", Moved::Royalty { fen: 7 }),
            fact(
                "T1",
                "2025-06-01 12:00:00",
                Moved::Refund {
                    out_request_no: "R1".into(),
                    refund_fen: 500,
                    royalty_fen: 20,
                },
            ),
        ];
        let mut bills = Bills::default();
        let bill = bills
            .make("app", day("2025-06-01"), facts)
            .unwrap_or_else(|e| panic!("{}", e.1));
        let shown = |r: &Row| {
            let refund = r.refund.clone().unwrap_or_default();
            format!(
                "{} {refund} {}..{} {} {}",
                r.trade_no, r.created, r.finished, r.order_fen, r.royalty_fen
            )
        };
        let rows: Vec<String> = bill.rows.iter().map(shown).collect();
        let want = [
            "T1  2025-06-01 09:00:00..2025-06-01 11:00:00 10000 123",
            "T1 R1 2025-06-01 12:00:00..2025-06-01 12:00:00 -500 -20",
        ];
        assert_eq!(rows, want);
    }

    #[test]
    fn a_counted_not_ready_wears_off_and_other_knobs_stay() {
        let mut bills = Bills::default();
        let date = day("2025-06-01");
        let knobs = vec![
            BillCorruption::NotReady { times: Some(1) },
            BillCorruption::DropColumn {
                column: "分润（元）".into(),
            },
        ];
        bills.knobs.insert(("app".into(), date), knobs);
        assert!(bills.make("app", date, Vec::new()).is_err());
        let bill = bills
            .make("other", date, Vec::new())
            .unwrap_or_else(|e| panic!("{}", e.1));
        assert!(bill.dropped.is_empty(), "another merchant's bill");
        let bill = bills
            .make("app", date, Vec::new())
            .unwrap_or_else(|e| panic!("{}", e.1));
        assert_eq!(bill.dropped, ["分润（元）"]);
        assert_eq!(bills.knobs.values().map(Vec::len).sum::<usize>(), 1);
        assert!(
            check_knob(&BillCorruption::DropRow {
                out_trade_no: "a,b".into()
            })
            .is_err()
        );
        assert!(check_knob(&BillCorruption::NotReady { times: Some(0) }).is_err());
    }
}
