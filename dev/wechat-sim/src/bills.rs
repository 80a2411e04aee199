//! WeChat Pay's profit-sharing bill (SPEC §4.13, issue 24). `GET /v3/profitsharing/bills`
//! answers, signed like every answer, the SHA-1 of a day's bill and a download URL that lives
//! 30 s; `GET /v3/billdownload/file?token=` serves the file to a signed request, with no WeChat
//! signature on the answer. A bill is made from the state when it is asked for: every split
//! receiver line and return that succeeded on that Beijing date, of the merchant (or
//! sub-merchants) asked about, in the format `shared::reconcile::read_wechat_bill` reads.
//! Knobs corrupt the bills of a merchant and date for reconciliation tests; see `README.md`.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use aws_lc_rs::digest::{SHA1_FOR_LEGACY_USE_ONLY, digest};
use flate2::Compression;
use flate2::write::GzEncoder;
use hyper::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sim_kit::{Reply, error_reply, json_reply};
use time::macros::{format_description, offset};
use time::{Date, Month, OffsetDateTime};

use crate::accounts::Signer;
use crate::api::query_param;
use crate::crypto::{ALNUM, DIGITS, random_text};
use crate::state::{ApiError, ApiResult, State, param_error};
use crate::{Inner, SimError, WechatSim};

/// The detail columns, in the order public parsers read them (SPEC §4.13).
pub const BILL_COLUMNS: [&str; 13] = [
    "分账时间",
    "分账发起方",
    "分账方",
    "微信订单号",
    "微信分账/回退单号",
    "分账明细单号",
    "商户分账/回退单号",
    "订单金额",
    "分账接收方",
    "金额",
    "业务类型",
    "处理状态",
    "备注",
];
/// The summary section's header, the names `shared::reconcile::wechat_columns` expects.
const SUMMARY: [&str; 3] = ["总条数", "分账总金额", "回退总金额"];
/// How long a download URL lives, from when the bill call answered it.
pub const BILL_URL_LIFE: Duration = Duration::from_secs(30);
/// Bills cover this many months back from today.
const MONTHS_KEPT: usize = 3;
/// A download URL is forgotten this long after it was issued (it expired long before).
const FORGET_AFTER_MS: i64 = 600_000;

/// What a bill row moved. JSON: `"split"` (业务类型 分账) or `"return"` (回退).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillKind {
    #[default]
    Split,
    Return,
}

impl BillKind {
    fn label(self) -> &'static str {
        match self {
            BillKind::Split => "分账",
            BillKind::Return => "回退",
        }
    }
}

/// A corruption of the bills of one merchant and date, kept until cleared (`BreakHash` and a
/// counted `Creating` wear off). JSON (control API): the variant's snake_case name in `knob`
/// beside its fields, e.g. `{"knob":"change_amount","number":"A1","amount_fen":99}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "knob", rename_all = "snake_case")]
pub enum BillCorruption {
    /// Leaves out the merchant's rows with this 商户分账/回退单号 (only the one of `receiver`
    /// when given); without a number, the merchant's first row.
    DropRow {
        #[serde(default)]
        number: Option<String>,
        #[serde(default)]
        receiver: Option<String>,
    },
    /// Writes `amount_fen` as the 金额 of the merchant's rows with this number (only the one
    /// of `receiver` when given). The summary follows the rows.
    ChangeAmount {
        number: String,
        #[serde(default)]
        receiver: Option<String>,
        amount_fen: i64,
    },
    /// Adds a row made outside this service: a split (or a return) of `amount_fen` to
    /// `receiver` under `number`, on a transaction `transaction_id` (made up when absent).
    AddForeign {
        number: String,
        receiver: String,
        amount_fen: i64,
        #[serde(default)]
        kind: BillKind,
        #[serde(default)]
        transaction_id: Option<String>,
    },
    /// The next `times` bill answers (default 1) carry a `hash_value` that is not the bill's.
    BreakHash {
        #[serde(default = "once")]
        times: u32,
    },
    /// Leaves this detail column out, header and rows.
    DropColumn { column: String },
    /// Answers 400 `STATEMENT_CREATING` instead of a bill: the next `times` calls, or every
    /// call until cleared when absent.
    Creating {
        #[serde(default)]
        times: Option<u32>,
    },
}

fn once() -> u32 {
    1
}

/// One row of a bill: a split receiver line or a return (`state::bill_rows`), or a foreign one.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// RFC 3339 Beijing time, as the state keeps it.
    pub time: String,
    /// 分账方: the merchant whose funds were split (the sub-merchant in partner mode).
    pub payer: String,
    /// The provider that made it (partner mode): 分账发起方.
    pub provider: Option<String>,
    pub transaction_id: String,
    /// 微信分账/回退单号: the order id or return id.
    pub channel_no: String,
    pub detail_id: String,
    /// 商户分账/回退单号: `out_order_no` or `out_return_no`.
    pub number: String,
    /// 订单金额: what the transaction paid.
    pub order_fen: i64,
    pub receiver: String,
    pub amount_fen: i64,
    pub business: BillKind,
    pub remark: String,
}

/// Whose rows a bill holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// A direct merchant's own.
    Direct(&'a str),
    /// One sub-merchant's, asked by its provider with `sub_mchid`.
    Sub {
        sp_mchid: &'a str,
        sub_mchid: &'a str,
    },
    /// All sub-merchants' of a provider, asked without `sub_mchid`.
    Provider(&'a str),
}

impl Scope<'_> {
    fn covers(self, payer: &str, provider: Option<&str>) -> bool {
        match self {
            Scope::Direct(mchid) => provider.is_none() && payer == mchid,
            Scope::Sub {
                sp_mchid,
                sub_mchid,
            } => provider == Some(sp_mchid) && payer == sub_mchid,
            Scope::Provider(sp_mchid) => provider == Some(sp_mchid),
        }
    }
}

/// The merchant a set of knobs is for, as it was registered when they were set.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owner {
    Direct(String),
    Sub { sp_mchid: String, sub_mchid: String },
    Provider(String),
}

impl Owner {
    fn scope(&self) -> Scope<'_> {
        match self {
            Owner::Direct(m) => Scope::Direct(m),
            Owner::Sub {
                sp_mchid,
                sub_mchid,
            } => Scope::Sub {
                sp_mchid,
                sub_mchid,
            },
            Owner::Provider(sp) => Scope::Provider(sp),
        }
    }

    /// The 分账方 and provider of the owner's foreign rows; a bill of `scope` has the owner's
    /// knobs when it covers these (a sub-merchant's also apply to its provider's whole bill).
    fn party(&self) -> (&str, Option<&str>) {
        match self {
            Owner::Direct(m) => (m, None),
            Owner::Sub {
                sp_mchid,
                sub_mchid,
            } => (sub_mchid, Some(sp_mchid)),
            Owner::Provider(sp) => (sp, Some(sp)),
        }
    }

    fn owns(&self, row: &Entry) -> bool {
        self.scope().covers(&row.payer, row.provider.as_deref())
    }
}

/// A bill ready to be hashed and served.
struct Bill {
    rows: Vec<Entry>,
    dropped: Vec<String>,
    broken_hash: bool,
}

struct Download {
    bytes: Vec<u8>,
    /// The `mchid` whose signature may fetch it: the one that asked for the bill.
    signer: String,
    issued_ms: i64,
}

/// The bill knobs and the download URLs issued, kept in the state.
#[derive(Default)]
pub(crate) struct Bills {
    /// By merchant number as given and date.
    knobs: BTreeMap<(String, Date), (Owner, Vec<BillCorruption>)>,
    /// By token.
    urls: HashMap<String, Download>,
}

fn statement_creating() -> ApiError {
    ApiError::new(400, "STATEMENT_CREATING", "账单生成中，请稍后再试")
}

impl Bills {
    /// The day's bill of `scope` with the knobs that apply to it; Err while one says the bill
    /// is still being made. Counted knobs are used up here.
    fn make(&mut self, scope: Scope, date: Date, entries: Vec<Entry>) -> ApiResult<Bill> {
        let day = date_text(date);
        let mut rows: Vec<Entry> = entries
            .into_iter()
            .filter(|e| e.time.get(..10) == Some(day.as_str()))
            .filter(|e| scope.covers(&e.payer, e.provider.as_deref()))
            .collect();
        rows.sort_by(|a, b| {
            (&a.time, &a.number, &a.receiver).cmp(&(&b.time, &b.number, &b.receiver))
        });
        let mut applying: Vec<&mut (Owner, Vec<BillCorruption>)> = self
            .knobs
            .iter_mut()
            .filter(|((_, d), (owner, _))| {
                let (payer, provider) = owner.party();
                *d == date && scope.covers(payer, provider)
            })
            .map(|(_, knobs)| knobs)
            .collect();
        for (_, list) in &mut applying {
            for knob in list.iter_mut() {
                if let BillCorruption::Creating { times } = knob {
                    match times {
                        None => return Err(statement_creating()),
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            return Err(statement_creating());
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        let mut bill = Bill {
            rows,
            dropped: Vec::new(),
            broken_hash: false,
        };
        for (owner, list) in applying {
            for knob in list.iter_mut() {
                match knob {
                    BillCorruption::BreakHash { times } if *times > 0 => {
                        *times -= 1;
                        bill.broken_hash = true;
                    }
                    BillCorruption::DropColumn { column } => bill.dropped.push(column.clone()),
                    knob => corrupt_rows(&mut bill.rows, owner, knob, &day),
                }
            }
        }
        for (_, list) in self.knobs.values_mut() {
            list.retain(|k| {
                !matches!(
                    k,
                    BillCorruption::BreakHash { times: 0 }
                        | BillCorruption::Creating { times: Some(0) }
                )
            });
        }
        self.knobs.retain(|_, (_, list)| !list.is_empty());
        Ok(bill)
    }

    fn issue(&mut self, token: String, download: Download) {
        let now = download.issued_ms;
        self.urls
            .retain(|_, d| now.saturating_sub(d.issued_ms) < FORGET_AFTER_MS);
        self.urls.insert(token, download);
    }
}

/// What a row knob does to the rows of its owner.
fn corrupt_rows(rows: &mut Vec<Entry>, owner: &Owner, knob: &BillCorruption, day: &str) {
    let picked = |row: &Entry, number: &str, receiver: &Option<String>| {
        owner.owns(row)
            && row.number == number
            && receiver.as_ref().is_none_or(|r| *r == row.receiver)
    };
    match knob {
        BillCorruption::DropRow {
            number: Some(number),
            receiver,
        } => rows.retain(|row| !picked(row, number, receiver)),
        BillCorruption::DropRow { number: None, .. } => {
            if let Some(first) = rows.iter().position(|row| owner.owns(row)) {
                rows.remove(first);
            }
        }
        BillCorruption::ChangeAmount {
            number,
            receiver,
            amount_fen,
        } => rows
            .iter_mut()
            .filter(|row| picked(row, number, receiver))
            .for_each(|row| row.amount_fen = *amount_fen),
        BillCorruption::AddForeign {
            number,
            receiver,
            amount_fen,
            kind,
            transaction_id,
        } => {
            let (payer, provider) = owner.party();
            let digits = |prefix: &str, len: usize| {
                format!("{prefix}{}", random_text(len - prefix.len(), DIGITS))
            };
            rows.push(Entry {
                time: format!("{day}T12:00:00+08:00"),
                payer: payer.to_string(),
                provider: provider.map(str::to_string),
                transaction_id: transaction_id.clone().unwrap_or_else(|| digits("4200", 28)),
                channel_no: digits("30", 28),
                detail_id: digits("36", 23),
                number: number.clone(),
                order_fen: *amount_fen,
                receiver: receiver.clone(),
                amount_fen: *amount_fen,
                business: *kind,
                remark: "外部分账".into(),
            });
        }
        BillCorruption::BreakHash { .. }
        | BillCorruption::DropColumn { .. }
        | BillCorruption::Creating { .. } => {}
    }
}

/// `yyyy-MM-dd`.
fn date_text(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A strict `yyyy-MM-dd` calendar date.
fn parse_date(text: &str) -> Option<Date> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let format = format_description!("[year]-[month]-[day]");
    shaped.then(|| Date::parse(text, &format).ok()).flatten()
}

fn beijing_today() -> Date {
    OffsetDateTime::now_utc().to_offset(offset!(+8)).date()
}

/// The same day `months` months earlier, the month's last day where it has no such day.
fn months_before(date: Date, months: usize) -> Date {
    let (mut year, mut month) = (date.year(), date.month());
    for _ in 0..months {
        if month == Month::January {
            year -= 1;
        }
        month = month.previous();
    }
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(date)
}

/// `bill_date`: given, a real date, not after today and not before three months ago.
fn bill_date(text: Option<&str>) -> ApiResult<Date> {
    let text = text
        .filter(|t| !t.is_empty())
        .ok_or_else(|| param_error("缺少参数 bill_date"))?;
    let date = parse_date(text)
        .ok_or_else(|| param_error(format!("bill_date {text} 须为 YYYY-MM-DD 格式的日期")))?;
    let today = beijing_today();
    if date > today {
        return Err(param_error("bill_date 不能晚于今天"));
    }
    if date < months_before(today, MONTHS_KEPT) {
        return Err(param_error("仅支持申请三个月内的账单"));
    }
    Ok(date)
}

/// Yuan with two decimals, from fen.
fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A value as WeChat writes it: behind a backtick; in double quotes (backtick inside) when it
/// holds a comma or a quote. Line breaks become spaces: the bill is read a line at a time.
fn cell(value: &str) -> String {
    let value = value.replace(['\r', '\n'], " ");
    if value.contains([',', '"']) {
        format!("\"`{}\"", value.replace('"', "\"\""))
    } else {
        format!("`{value}")
    }
}

/// `2025-01-02T03:04:05+08:00` → `2025-01-02 03:04:05`.
fn bill_time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(date), Some(time)) => format!("{date} {time}"),
        _ => rfc3339.to_string(),
    }
}

impl Bill {
    /// The file: the detail header and rows, then the summary header and its row, CRLF lines.
    fn text(&self) -> String {
        let kept: Vec<usize> = (0..BILL_COLUMNS.len())
            .filter(|&i| !self.dropped.iter().any(|d| d == BILL_COLUMNS[i]))
            .collect();
        let mut out = String::new();
        let mut line = |values: Vec<String>| {
            out.push_str(&values.join(","));
            out.push_str("\r\n");
        };
        line(kept.iter().map(|&i| BILL_COLUMNS[i].to_string()).collect());
        let (mut split_fen, mut return_fen) = (0_i64, 0_i64);
        for row in &self.rows {
            match row.business {
                BillKind::Split => split_fen = split_fen.saturating_add(row.amount_fen),
                BillKind::Return => return_fen = return_fen.saturating_add(row.amount_fen),
            }
            let values = [
                bill_time(&row.time),
                row.provider.clone().unwrap_or_else(|| row.payer.clone()),
                row.payer.clone(),
                row.transaction_id.clone(),
                row.channel_no.clone(),
                row.detail_id.clone(),
                row.number.clone(),
                yuan(row.order_fen),
                row.receiver.clone(),
                yuan(row.amount_fen),
                row.business.label().to_string(),
                "成功".to_string(),
                row.remark.clone(),
            ];
            line(kept.iter().map(|&i| cell(&values[i])).collect());
        }
        line(SUMMARY.iter().map(|s| s.to_string()).collect());
        let count = self.rows.len().to_string();
        line(vec![
            cell(&count),
            cell(&yuan(split_fen)),
            cell(&yuan(return_fen)),
        ]);
        out
    }
}

fn sha1_hex(bytes: &[u8]) -> String {
    let sum = digest(&SHA1_FOR_LEGACY_USE_ONLY, bytes);
    sum.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// `GET /v3/profitsharing/bills?bill_date=&tar_type=&sub_mchid=` for `scope`, signed by
/// `signer`: the SHA-1 of the bill text (the gunzipped text when `tar_type=GZIP`) and a URL to
/// it on `host`.
pub(crate) fn query(
    state: &mut State,
    scope: Scope,
    signer: &str,
    query: Option<&str>,
    host: SocketAddr,
) -> ApiResult {
    let date = bill_date(query_param(query, "bill_date").as_deref())?;
    let gzipped = match query_param(query, "tar_type").as_deref() {
        None | Some("") => false,
        Some("GZIP") => true,
        Some(other) => {
            return Err(param_error(format!("tar_type 仅支持 GZIP, 而不是 {other}")));
        }
    };
    let entries = state.bill_entries();
    let bill = state.bills.make(scope, date, entries)?;
    let text = bill.text();
    let hash_value = if bill.broken_hash {
        sha1_hex(format!("{text}\r\n").as_bytes())
    } else {
        sha1_hex(text.as_bytes())
    };
    let bytes = if gzipped {
        gzip(text.as_bytes()).map_err(|e| ApiError::new(500, "SYSTEM_ERROR", e.to_string()))?
    } else {
        text.into_bytes()
    };
    let token = random_text(32, ALNUM);
    let download_url = format!("http://{host}/v3/billdownload/file?token={token}");
    let download = Download {
        bytes,
        signer: signer.to_string(),
        issued_ms: now_ms(),
    };
    state.bills.issue(token, download);
    Ok(json!({"hash_type": "SHA1", "hash_value": hash_value, "download_url": download_url}))
}

/// `GET /v3/billdownload/file?token=`, signed by `signer`: the file as it was when its URL was
/// issued, without WeChat's answer signature. An unknown token, one issued to another merchant
/// and one older than [`BILL_URL_LIFE`] are refused.
pub(crate) fn download(inner: &Inner, signer: &Signer, query: Option<&str>) -> ApiResult<Reply> {
    let token = query_param(query, "token").unwrap_or_default();
    let state = inner.state();
    let file = state
        .bills
        .urls
        .get(&token)
        .filter(|d| d.signer == signer.merchant().mchid)
        .ok_or_else(|| param_error("下载链接无效"))?;
    let life = i64::try_from(BILL_URL_LIFE.as_millis()).unwrap_or(i64::MAX);
    if now_ms().saturating_sub(file.issued_ms) >= life {
        return Err(param_error("下载链接已过期"));
    }
    let body = file.bytes.clone();
    Ok(sim_kit::reply(
        StatusCode::OK,
        "application/octet-stream",
        body,
    ))
}

/// Checks a knob before it is kept.
fn check_knob(knob: &BillCorruption) -> Result<(), String> {
    let filled = |what: &str, text: &str| {
        if text.is_empty() {
            Err(format!("{what} is empty"))
        } else {
            Ok(())
        }
    };
    match knob {
        BillCorruption::DropRow { number, .. } => {
            number.as_deref().map_or(Ok(()), |n| filled("number", n))
        }
        BillCorruption::ChangeAmount {
            number, amount_fen, ..
        } if *amount_fen >= 0 => filled("number", number),
        BillCorruption::ChangeAmount { .. } => Err("amount_fen must be 0 or more".into()),
        BillCorruption::AddForeign {
            number,
            receiver,
            amount_fen,
            ..
        } if *amount_fen >= 1 => {
            filled("number", number).and_then(|()| filled("receiver", receiver))
        }
        BillCorruption::AddForeign { .. } => Err("amount_fen must be 1 or more".into()),
        BillCorruption::BreakHash { times: 0 } | BillCorruption::Creating { times: Some(0) } => {
            Err("times must be 1 or more".into())
        }
        BillCorruption::DropColumn { column } if !BILL_COLUMNS.contains(&column.as_str()) => {
            Err(format!(
                "{column} is not a detail column ({})",
                BILL_COLUMNS.join(", ")
            ))
        }
        BillCorruption::BreakHash { .. }
        | BillCorruption::DropColumn { .. }
        | BillCorruption::Creating { .. } => Ok(()),
    }
}

impl WechatSim {
    /// Corrupts the bills of `bill_date` (`yyyy-MM-dd`) of the merchant `mchid`: a direct
    /// merchant's, a sub-merchant's (its rows, in its own bill and in its provider's whole
    /// bill) or a provider's (its whole bill). Knobs add up and stay until cleared
    /// ([`WechatSim::clear_bill_corruptions`]), except `BreakHash` and a counted `Creating`,
    /// which wear off. Errors: `UnknownMerchant`, `Config` (a bad date or knob).
    pub fn corrupt_bill(
        &self,
        mchid: &str,
        bill_date: &str,
        knob: BillCorruption,
    ) -> Result<(), SimError> {
        let date = parse_date(bill_date)
            .ok_or_else(|| SimError::Config(format!("bill_date {bill_date} is not yyyy-MM-dd")))?;
        check_knob(&knob).map_err(SimError::Config)?;
        let owner = {
            let merchants = self.inner.merchants();
            if merchants.get(mchid).is_some() {
                Owner::Direct(mchid.to_string())
            } else if merchants.provider(mchid).is_some() {
                Owner::Provider(mchid.to_string())
            } else {
                let sub = merchants.all_subs().find(|s| s.sub_mchid == mchid);
                let sub = sub.ok_or_else(|| SimError::UnknownMerchant(mchid.to_string()))?;
                Owner::Sub {
                    sp_mchid: sub.sp_mchid.clone(),
                    sub_mchid: sub.sub_mchid.clone(),
                }
            }
        };
        let mut state = self.inner.state();
        let entry = state.bills.knobs.entry((mchid.to_string(), date));
        let (kept_owner, knobs) = entry.or_insert_with(|| (owner.clone(), Vec::new()));
        *kept_owner = owner;
        knobs.push(knob);
        Ok(())
    }

    /// Clears the bill knobs of a merchant and date; `None` for either means all of them.
    /// Returns how many knobs were removed.
    pub fn clear_bill_corruptions(&self, mchid: Option<&str>, bill_date: Option<&str>) -> usize {
        let date = bill_date.map(parse_date);
        let mut state = self.inner.state();
        let mut removed = 0;
        state.bills.knobs.retain(|(m, d), (_, list)| {
            let hit = mchid.is_none_or(|x| x == m) && date.is_none_or(|x| x == Some(*d));
            if hit {
                removed += list.len();
            }
            !hit
        });
        removed
    }

    /// The knobs in force: `[{"mchid","bill_date","knobs":[…]}]`, sorted.
    pub fn bill_corruptions(&self) -> Value {
        let state = self.inner.state();
        let list: Vec<Value> = state
            .bills
            .knobs
            .iter()
            .map(|((mchid, date), (_, knobs))| {
                json!({"mchid": mchid, "bill_date": date_text(*date), "knobs": knobs})
            })
            .collect();
        Value::Array(list)
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
    mchid: String,
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
    path == "bill-corruptions" || path == "bill-urls/age"
}

/// The bill knobs of the control API: `bill-corruptions` (POST one, GET all, DELETE with
/// `?mchid=&bill_date=`) and `bill-urls/age`. `Err` only for a body that is not the JSON
/// expected.
pub(crate) fn control(
    sim: &WechatSim,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Result<Reply, serde_json::Error> {
    let ok = || json_reply(StatusCode::OK, &json!({}));
    Ok(match (method, path) {
        (&Method::POST, "bill-corruptions") => {
            let r: CorruptRequest = serde_json::from_slice(body)?;
            match sim.corrupt_bill(&r.mchid, &r.bill_date, r.knob) {
                Ok(()) => ok(),
                Err(e @ SimError::UnknownMerchant(_)) => error_reply(StatusCode::NOT_FOUND, e),
                Err(e) => error_reply(StatusCode::BAD_REQUEST, e),
            }
        }
        (&Method::GET, "bill-corruptions") => json_reply(StatusCode::OK, &sim.bill_corruptions()),
        (&Method::DELETE, "bill-corruptions") => {
            let mchid = query_param(query, "mchid");
            let date = query_param(query, "bill_date");
            let cleared = sim.clear_bill_corruptions(mchid.as_deref(), date.as_deref());
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

    fn entry(payer: &str, provider: Option<&str>, number: &str, fen: i64) -> Entry {
        Entry {
            time: "2025-06-01T10:00:00+08:00".into(),
            payer: payer.into(),
            provider: provider.map(str::to_string),
            transaction_id: "T1".into(),
            channel_no: "30".into(),
            detail_id: "36".into(),
            number: number.into(),
            order_fen: 10_000,
            receiver: "r1".into(),
            amount_fen: fen,
            business: BillKind::Split,
            remark: String::new(),
        }
    }

    #[test]
    fn dates_are_strict_and_three_months_is_calendar_months() {
        for bad in [
            "2025-6-01",
            "2025-06-31",
            "2025/06/01",
            "20250601",
            " 2025-06-01",
            "",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(months_before(day("2025-05-31"), 3), day("2025-02-28"));
        assert_eq!(months_before(day("2024-05-31"), 3), day("2024-02-29"));
        assert_eq!(months_before(day("2025-02-15"), 3), day("2024-11-15"));
        assert_eq!(date_text(day("2025-01-02")), "2025-01-02");
    }

    #[test]
    fn values_are_backticked_and_quoted_only_when_needed() {
        assert_eq!(cell("12.34"), "`12.34");
        assert_eq!(cell("a, \"b\""), "\"`a, \"\"b\"\"\"");
        assert_eq!(cell("x\r\ny"), "`x  y");
        assert_eq!(
            bill_time("2025-01-02T03:04:05+08:00"),
            "2025-01-02 03:04:05"
        );
        assert_eq!(
            (yuan(0), yuan(5), yuan(123_456)),
            ("0.00".into(), "0.05".into(), "1234.56".into())
        );
    }

    #[test]
    fn a_sub_merchants_knobs_reach_its_providers_whole_bill_not_its_siblings() {
        let mut bills = Bills::default();
        let date = day("2025-06-01");
        let owner = Owner::Sub {
            sp_mchid: "SP".into(),
            sub_mchid: "S1".into(),
        };
        let knobs = vec![
            BillCorruption::DropRow {
                number: None,
                receiver: None,
            },
            BillCorruption::BreakHash { times: 1 },
        ];
        bills.knobs.insert(("S1".into(), date), (owner, knobs));
        let entries = || {
            vec![
                entry("S1", Some("SP"), "A1", 100),
                entry("S2", Some("SP"), "A2", 200),
                entry("D1", None, "A3", 300),
            ]
        };
        let sibling = Scope::Sub {
            sp_mchid: "SP",
            sub_mchid: "S2",
        };
        let bill = bills
            .make(sibling, date, entries())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let numbers: Vec<&str> = bill.rows.iter().map(|r| r.number.as_str()).collect();
        assert_eq!((numbers, bill.broken_hash), (vec!["A2"], false));
        let whole = bills
            .make(Scope::Provider("SP"), date, entries())
            .unwrap_or_else(|e| panic!("{e:?}"));
        let numbers: Vec<&str> = whole.rows.iter().map(|r| r.number.as_str()).collect();
        assert_eq!(
            (numbers, whole.broken_hash),
            (vec!["A2"], true),
            "S1's first row dropped"
        );
        let again = bills
            .make(Scope::Provider("SP"), date, entries())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!again.broken_hash, "break_hash wore off; drop_row stays");
        assert_eq!(again.rows.len(), 1);
        let other_day = bills.make(Scope::Provider("SP"), day("2025-06-02"), entries());
        assert!(
            other_day.is_ok_and(|b| b.rows.is_empty()),
            "another date: no rows, no knobs"
        );
    }

    #[test]
    fn knobs_are_checked_before_they_are_kept() {
        let bad = [
            BillCorruption::ChangeAmount {
                number: "A1".into(),
                receiver: None,
                amount_fen: -1,
            },
            BillCorruption::AddForeign {
                number: "X".into(),
                receiver: String::new(),
                amount_fen: 1,
                kind: BillKind::Split,
                transaction_id: None,
            },
            BillCorruption::BreakHash { times: 0 },
            BillCorruption::Creating { times: Some(0) },
            BillCorruption::DropColumn {
                column: "金额 ".into(),
            },
            BillCorruption::DropRow {
                number: Some(String::new()),
                receiver: None,
            },
        ];
        for knob in bad {
            assert!(check_knob(&knob).is_err(), "{knob:?}");
        }
        assert!(
            check_knob(&BillCorruption::DropColumn {
                column: "金额".into()
            })
            .is_ok()
        );
    }
}
