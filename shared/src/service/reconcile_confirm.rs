//! Our side of a day as the comparison reads it, and the confirmation of each discrepancy by
//! the channel's per-order query (SPEC §4.13): where the query agrees with our records the
//! discrepancy is kept as resolved, with what the query said; where it agrees with the bill,
//! or cannot be asked, it stands.

use crate::app::App;
use crate::channel::SharingChannel;
use crate::domain::money::fen_to_yuan;
use crate::domain::{
    Allocation, Channel, DetailResult, DiscrepancyRecord, ReturnState, ReturnStatus, ShareState,
};
use crate::reconcile::{BillRow, BillStatus, Discrepancy, OurRow, OurStatus, alipay_ours};
use crate::store::reconcile::DayRecords;

fn of_account(stamped: Option<&str>, account: &str) -> bool {
    stamped.is_none_or(|a| a == account)
}

fn detail_status(r: DetailResult) -> Option<OurStatus> {
    match r {
        DetailResult::Success => Some(OurStatus::Success),
        DetailResult::Pending => Some(OurStatus::Processing),
        DetailResult::Fail => Some(OurStatus::Failed),
        DetailResult::Ignore => None,
    }
}

/// Our splits and returns of the day made under `account` on `channel`, as rows: WeChat Pay
/// one per receiver and return; Alipay one per trade (its royalty, all receivers together).
pub fn our_rows(channel: Channel, account: &str, records: &DayRecords) -> Vec<OurRow> {
    let orders = records
        .orders
        .iter()
        .filter(|a| a.order.channel == channel && of_account(a.order.account.as_deref(), account));
    if channel == Channel::AliPay {
        let splits: Vec<(&str, i64, OurStatus)> = orders
            .flat_map(|a| {
                a.details.iter().filter(|d| d.amount > 0).filter_map(|d| {
                    Some((
                        a.order.out_order_no.as_str(),
                        d.amount,
                        detail_status(d.result)?,
                    ))
                })
            })
            .collect();
        return alipay_ours(splits);
    }
    let mut rows: Vec<OurRow> = orders
        .flat_map(|a| {
            a.details.iter().filter(|d| d.amount > 0).filter_map(|d| {
                Some(OurRow {
                    allocation_no: a.order.allocation_no.clone(),
                    return_no: None,
                    receiver: d.receiver_account.clone(),
                    amount_fen: d.amount,
                    status: detail_status(d.result)?,
                })
            })
        })
        .collect();
    rows.extend(
        records
            .returns
            .iter()
            .filter(|r| r.channel == channel && of_account(r.account.as_deref(), account))
            .map(|r| OurRow {
                allocation_no: r.allocation_no.clone(),
                return_no: Some(r.return_no.clone()),
                receiver: r.receiver_account.clone(),
                amount_fen: r.amount,
                status: match r.status {
                    ReturnStatus::Success => OurStatus::Success,
                    ReturnStatus::Failed => OurStatus::Failed,
                    ReturnStatus::Processing | ReturnStatus::Planned => OurStatus::Processing,
                },
            }),
    );
    rows
}

fn our_status(s: OurStatus) -> &'static str {
    match s {
        OurStatus::Success => "success",
        OurStatus::Processing => "processing",
        OurStatus::Failed => "failed",
    }
}

fn bill_status(s: &BillStatus) -> String {
    match s {
        BillStatus::Success => "success".into(),
        BillStatus::Other(t) => t.clone(),
    }
}

/// The record of a discrepancy before it is confirmed.
fn record(d: &Discrepancy) -> DiscrepancyRecord {
    let (ours, channel): (Option<&OurRow>, Option<&BillRow>) = match d {
        Discrepancy::MissingAtChannel { ours } => (Some(ours), None),
        Discrepancy::MissingHere { channel } => (None, Some(channel)),
        Discrepancy::AmountMismatch { ours, channel }
        | Discrepancy::StatusMismatch { ours, channel } => (Some(ours), Some(channel)),
    };
    let number = ours
        .map(|o| o.number().to_owned())
        .or_else(|| channel.map(|c| c.number.clone()))
        .unwrap_or_default();
    let is_return = ours.is_some_and(|o| o.return_no.is_some())
        || channel.is_some_and(|c| c.kind == crate::reconcile::BillKind::Return);
    DiscrepancyRecord {
        kind: d.kind().code().to_owned(),
        number,
        what: if is_return { "return" } else { "split" }.to_owned(),
        receiver: ours
            .map(|o| o.receiver.clone())
            .or_else(|| channel.map(|c| c.receiver.clone()))
            .unwrap_or_default(),
        ours_fen: ours.map(|o| o.amount_fen),
        ours_status: ours.map(|o| our_status(o.status).to_owned()),
        channel_fen: channel.map(|c| c.amount_fen),
        channel_status: channel.map(|c| bill_status(&c.status)),
        channel_no: channel.map(|c| c.channel_no.clone()),
        resolved: false,
        evidence: String::new(),
    }
}

/// What the channel's per-order query says of one receiver's split or return: success with
/// an amount, still processing, failed, or unknown to it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Success(Option<i64>),
    Processing,
    Failed(String),
    Unknown,
}

impl Seen {
    fn text(&self) -> String {
        match self {
            Self::Success(Some(fen)) => format!("SUCCESS {} yuan", fen_to_yuan(*fen)),
            Self::Success(None) => "SUCCESS".into(),
            Self::Processing => "PROCESSING".into(),
            Self::Failed(why) => format!("FAILED {why}"),
            Self::Unknown => "no such order".into(),
        }
    }
}

/// Asks the channel about the split or return of `rec`, made on `order` (ours, if we have it).
async fn ask(
    client: &dyn SharingChannel,
    channel: Channel,
    rec: &DiscrepancyRecord,
    order: Option<&Allocation>,
    bill_trade: Option<&str>,
    now: i64,
) -> Result<Seen, String> {
    let trade = order
        .map(|a| a.order.out_order_no.as_str())
        .or(bill_trade)
        .ok_or("no trade number to ask with")?;
    let allocation_no = order
        .map(|a| a.order.allocation_no.as_str())
        .unwrap_or(&rec.number);
    if rec.what == "return" {
        let answer = client
            .query_return(allocation_no, &rec.number, now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(match answer.map(|a| a.state) {
            None => Seen::Unknown,
            Some(ReturnState::Success { .. }) => Seen::Success(None),
            Some(ReturnState::Processing) => Seen::Processing,
            Some(ReturnState::Failed { code, .. }) => Seen::Failed(code),
        });
    }
    let rows = client
        .query(trade, allocation_no, now)
        .await
        .map_err(|e| e.to_string())?;
    let Some(rows) = rows else {
        return Ok(Seen::Unknown);
    };
    let mine = rows
        .iter()
        .filter(|r| channel == Channel::AliPay || r.account == rec.receiver);
    let mut total: Option<i64> = None;
    let mut state = Seen::Unknown;
    for row in mine {
        match &row.state {
            ShareState::Success { .. } => {
                total = Some(total.unwrap_or(0) + row.amount.unwrap_or(0));
                if state == Seen::Unknown {
                    state = Seen::Success(None);
                }
            }
            ShareState::Pending => state = Seen::Processing,
            ShareState::Fail { code, .. } => state = Seen::Failed(code.clone()),
        }
    }
    Ok(match state {
        Seen::Success(_) => Seen::Success(total),
        other => other,
    })
}

/// Whether what the channel's query says agrees with our records of the row.
fn agrees_with_ours(rec: &DiscrepancyRecord, seen: &Seen) -> bool {
    match (rec.ours_status.as_deref(), seen) {
        (Some("success"), Seen::Success(amount)) => amount.is_none_or(|a| Some(a) == rec.ours_fen),
        (Some("processing"), Seen::Processing) => true,
        (Some("failed"), Seen::Failed(_) | Seen::Unknown) => true,
        _ => false,
    }
}

/// How many discrepancies of a day are checked with the per-order query (a day with more is
/// broken at large: the rest are kept unconfirmed and the day's alarm says so), and how many
/// queries are in flight at once: the job stays within its budget.
const MAX_ASKED: usize = 200;
const AT_ONCE: usize = 8;
/// How long a job spends on the queries at most (the worker's job budget is 20 s).
const ASKING_TIME: std::time::Duration = std::time::Duration::from_secs(8);

/// Confirms each discrepancy with the channel's per-order query, [`AT_ONCE`] at a time, the
/// first [`MAX_ASKED`] of them.
pub async fn confirm(
    app: &App,
    client: &dyn SharingChannel,
    channel: Channel,
    records: &DayRecords,
    found: Vec<Discrepancy>,
    now: i64,
) -> Vec<DiscrepancyRecord> {
    use futures_util::stream::{self, StreamExt};
    let deadline = tokio::time::Instant::now() + ASKING_TIME;
    stream::iter(found.into_iter().enumerate())
        .map(|(i, d)| async move {
            let unasked = |d: &Discrepancy, why: &str| {
                let mut rec = record(d);
                rec.evidence = format!("not asked: {why}");
                rec
            };
            if i >= MAX_ASKED {
                return unasked(
                    &d,
                    &format!("more than {MAX_ASKED} discrepancies in the day"),
                );
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let asking = confirm_one(app, client, channel, records, d.clone(), now);
            match tokio::time::timeout(left, asking).await {
                Ok(rec) => rec,
                Err(_) => unasked(&d, "the job's time for queries ran out"),
            }
        })
        .buffered(AT_ONCE)
        .collect()
        .await
}

/// Confirms one discrepancy.
async fn confirm_one(
    app: &App,
    client: &dyn SharingChannel,
    channel: Channel,
    records: &DayRecords,
    d: Discrepancy,
    now: i64,
) -> DiscrepancyRecord {
    let mut rec = record(&d);
    let bill_trade = match &d {
        Discrepancy::MissingHere { channel: c }
        | Discrepancy::AmountMismatch { channel: c, .. }
        | Discrepancy::StatusMismatch { channel: c, .. } => Some(c.transaction_id.clone()),
        Discrepancy::MissingAtChannel { .. } => None,
    };
    // the order the row is about: by its trade (Alipay), by its number, or by the return's
    let allocation_no = match records.returns.iter().find(|r| r.return_no == rec.number) {
        Some(r) => r.allocation_no.as_str(),
        None => rec.number.as_str(),
    };
    let mut order = records
        .orders
        .iter()
        .find(|a| match channel {
            Channel::AliPay => a.order.out_order_no == rec.number,
            _ => a.order.allocation_no == allocation_no,
        })
        .cloned();
    if order.is_none() && channel != Channel::AliPay && rec.what == "split" {
        // made here on another day (the bill's day and ours differ near midnight)
        if let Ok(Some(stored)) = app.store.allocation(&rec.number).await {
            let mine = stored
                .allocation
                .details
                .iter()
                .find(|x| x.receiver_account == rec.receiver);
            if let Some(x) = mine
                && x.result == DetailResult::Success
                && Some(x.amount) == rec.channel_fen
            {
                rec.resolved = true;
                rec.evidence = format!(
                    "recorded here: {} made on another day, {} yuan to this receiver",
                    rec.number,
                    fen_to_yuan(x.amount)
                );
                return rec;
            }
            order = Some(stored.allocation);
        }
    }
    let asked = ask(
        client,
        channel,
        &rec,
        order.as_ref(),
        bill_trade.as_deref(),
        now,
    )
    .await;
    match asked {
        Ok(seen) => {
            rec.resolved = rec.ours_status.is_some() && agrees_with_ours(&rec, &seen);
            rec.evidence = format!("the channel's per-order query: {}", seen.text());
        }
        Err(why) => {
            rec.evidence = format!("the per-order query could not be asked: {why}");
        }
    }
    rec
}
