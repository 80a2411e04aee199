//! Reconciliation with the channels' bills (SPEC §4.13): each app's cursor per channel names
//! the next day; from 10:00 Beijing time the day after, the job fetches that day's bill for the
//! app's account, reads and compares it with our splits and returns of the day, confirms each
//! discrepancy with the channel's per-order query, keeps the raw bill (S3) and the statement,
//! and moves the cursor on. A bill not ready yet or a refused download (a bad hash) is tried
//! again through the day; a bill that cannot be read (a missing column) fails its day clearly.

use super::notices;
use super::reconcile_confirm::{confirm, our_rows};
use super::return_life::queue_notice;
use crate::app::App;
use crate::channel::BillFile;
use crate::domain::{BillDay, Channel, ChannelError, StatementRecord, StatementStatus, Totals};
use crate::infra::archive::BillArchive;
use crate::reconcile::{BillError, Packing, ReconcileError, reconcile_alipay, reconcile_wechat};
use crate::store::notices::NoticeWrite;
use sha1::{Digest, Sha1};

/// Why a day has no statement yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    /// The channel has no bill of the day yet: ask again later.
    #[error("the bill is not ready: {0}")]
    NotReady(String),
    /// A passing failure (the network, a refused download, our storage): try again.
    #[error("{0}")]
    Retry(String),
    /// The day cannot be reconciled as things are (the bill cannot be read, the channel
    /// refuses the request): its statement says why.
    #[error("{0}")]
    Failed(String),
}

/// The channel's refusals that mean "no bill yet".
const NOT_READY: &[&str] = &[
    "STATEMENT_CREATING",
    "NO_STATEMENT_EXIST",
    "isp.bill_not_exist",
];

/// How long a day is tried before its statement is kept as failed (a day of retries).
const RETRY_WINDOW_SECS: i64 = 86_400;

fn from_channel(e: ChannelError) -> DayError {
    match e {
        ChannelError::Rejected { code, msg } if NOT_READY.contains(&code.as_str()) => {
            DayError::NotReady(format!("{code} {msg}"))
        }
        ChannelError::Rejected { code, msg } => {
            DayError::Failed(format!("the channel refused the bill: {code} {msg}"))
        }
        ChannelError::NotConfigured(c) => DayError::Failed(format!("{c} is not configured")),
        other => DayError::Retry(other.to_string()),
    }
}

fn from_reading(e: ReconcileError) -> DayError {
    match e {
        // a corrupted download says "download again"
        ReconcileError::Bill(e @ (BillError::HashMismatch { .. } | BillError::Io(_))) => {
            DayError::Retry(format!("bill refused: {e}"))
        }
        other => DayError::Failed(format!("the bill cannot be read: {other}")),
    }
}

/// Reconciles `day` of the app's `channel` account now: the statement kept.
pub async fn reconcile_day(
    app: &App,
    channel: Channel,
    day: BillDay,
    now: i64,
) -> Result<StatementRecord, DayError> {
    let archive = app
        .archive
        .as_ref()
        .ok_or_else(|| DayError::Failed("no bill bucket (BILL_BUCKET) is configured".into()))?;
    let client = app.channels.get(channel).map_err(from_channel)?;
    let account = client.account_key();
    let text = day.text();
    let file = client.bill(&text, now).await.map_err(from_channel)?;
    let records = app
        .store
        .day_records(&text)
        .await
        .map_err(|e| DayError::Retry(e.to_string()))?;
    let ours = our_rows(channel, &account, &records);
    let (statement, sha1_hex, ext) = match &file {
        BillFile::Wechat {
            bytes,
            gzip,
            sha1_hex,
        } => {
            let packing = if *gzip { Packing::Gzip } else { Packing::Plain };
            let st = reconcile_wechat(&bytes[..], packing, sha1_hex, ours).map_err(from_reading)?;
            let ext = if *gzip { "csv.gz" } else { "csv" };
            (st, sha1_hex.trim().to_ascii_lowercase(), ext)
        }
        BillFile::AlipayZip { bytes } => {
            let st =
                reconcile_alipay(std::io::Cursor::new(&bytes[..]), ours).map_err(from_reading)?;
            (st, hex::encode(Sha1::digest(bytes)), "zip")
        }
    };
    let app_id = app.tenant.app_id.as_str();
    let key = BillArchive::key(app_id, channel, &text, &sha1_hex, ext);
    archive
        .keep(&key, file.bytes(), &sha1_hex)
        .await
        .map_err(|e| DayError::Retry(e.to_string()))?;
    let found = confirm(app, client, channel, &records, statement.discrepancies, now).await;
    let unresolved = found.iter().filter(|d| !d.resolved).count();
    let record = StatementRecord {
        channel,
        day: text.clone(),
        account,
        status: if unresolved == 0 {
            StatementStatus::Consistent
        } else {
            StatementStatus::Discrepancies
        },
        ours: statement.ours,
        theirs: statement.channel,
        theirs_other: statement.channel_other,
        discrepancies: found.len() as u64,
        unresolved: unresolved as u64,
        bill_key: Some(key),
        bill_sha1: Some(sha1_hex),
        error: None,
        run: run_id(now),
        reconciled_at: now,
    };
    keep(app, &record, &found).await?;
    if unresolved > 0 {
        tracing::warn!(
            alert = "reconcile_discrepancy",
            channel = channel.code(),
            day = text.as_str(),
            unresolved,
            "the channel's bill and our records disagree"
        );
    }
    tracing::info!(
        metric = "reconcile",
        channel = channel.code(),
        day = text.as_str(),
        discrepancies = found.len(),
        unresolved,
        "day reconciled"
    );
    Ok(record)
}

/// A new run's id: its time and a random tail (two runs never share one).
fn run_id(now: i64) -> String {
    format!("{now:011}{}", crate::infra::crypto::random_alnum(6))
}

/// Keeps a run in place of the day's statement (whichever run was shown before). A run that
/// kept unresolved discrepancies writes the day's `reconcile_discrepancy` notice in the same
/// transaction as its statement, unless the notice of the day already tells the same figures:
/// a statement that calls for a notice is never shown without it (SPEC §9), a retried job
/// finds the notice it wrote and sends no second one, and a re-run whose figures changed
/// replaces it, to be sent afresh.
async fn keep(
    app: &App,
    record: &StatementRecord,
    found: &[crate::domain::DiscrepancyRecord],
) -> Result<(), DayError> {
    let retry = |e: crate::store::StoreError| DayError::Retry(e.to_string());
    let notice = notices::discrepancy_notice(app, record, record.reconciled_at);
    for _ in 0..crate::domain::RACES {
        let shown = app
            .store
            .statement(record.channel, &record.day)
            .await
            .map_err(retry)?;
        let replaces = shown.as_ref().map(|s| s.run.as_str());
        let sent = match &notice {
            Some(n) => app
                .store
                .notice(&n.subject, &n.topic)
                .await
                .map_err(retry)?,
            None => None,
        };
        let write = notice.as_ref().and_then(|n| match &sent {
            Some(old) if notices::tell_the_same(&old.body, &n.body) => None,
            old => Some(NoticeWrite {
                notice: n,
                replaces: old.as_ref().map(|o| o.body.as_str()),
            }),
        });
        if app
            .store
            .save_statement(record, found, replaces, write)
            .await
            .map_err(retry)?
        {
            if let Some(w) = write {
                tracing::info!(
                    channel = record.channel.code(),
                    day = record.day.as_str(),
                    replaced = w.replaces.is_some(),
                    "reconcile_discrepancy notice written"
                );
                queue_notice(app, Some(w.notice)).await;
            }
            return Ok(());
        }
    }
    Err(DayError::Retry(
        "another run of the day kept racing this one".into(),
    ))
}

/// Keeps a failed day's statement: why, and nothing compared.
pub async fn keep_failed(
    app: &App,
    channel: Channel,
    day: BillDay,
    why: &str,
    now: i64,
) -> Result<(), DayError> {
    let account = app
        .channels
        .get(channel)
        .map(|c| c.account_key())
        .unwrap_or_default();
    let record = StatementRecord {
        channel,
        day: day.text(),
        account,
        status: StatementStatus::Failed,
        ours: Totals::default(),
        theirs: Totals::default(),
        theirs_other: 0,
        discrepancies: 0,
        unresolved: 0,
        bill_key: None,
        bill_sha1: None,
        error: Some(why.to_owned()),
        run: run_id(now),
        reconciled_at: now,
    };
    tracing::error!(alert = "reconcile_failed", channel = channel.code(), day = %day, error = why, "a day's bill could not be reconciled");
    keep(app, &record, &[]).await
}

/// Starts reconciling `channel` for the app of `store` from the day of `now`, unless it is
/// already reconciled (its cursor is kept where it stands).
pub async fn start(
    store: &crate::store::Store,
    channel: Channel,
    now: i64,
) -> Result<(), crate::store::StoreError> {
    if let Some(today) = BillDay::of(now) {
        store
            .start_reconciling(channel, &today.text(), today.ready_at())
            .await?;
    }
    Ok(())
}

/// The wait before the `attempts`-th retry of a day: 15 minutes, doubling, at most 2 hours.
fn backoff(attempts: i64) -> i64 {
    (900_i64 << attempts.clamp(0, 3)).min(7_200)
}

/// The job: a day asked for (`day`), or the app's next day due. `Err`: try the job again.
pub async fn run(app: &App, channel: Channel, day: Option<&str>) -> Result<(), String> {
    let now = app.clock.now();
    if let Some(day) = day {
        let day = BillDay::parse(day).ok_or_else(|| format!("{day:?} is not a day"))?;
        if let Err(why) = day.fetchable(now) {
            tracing::warn!(day = %day, why, "a re-run of a day the channels do not serve");
            return Ok(());
        }
        return match reconcile_day(app, channel, day, now).await {
            Ok(_) => Ok(()),
            Err(DayError::Failed(why)) => keep_failed(app, channel, day, &why, now)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
    }
    let store_err = |e: crate::store::StoreError| e.to_string();
    let Some(cursor) = app
        .store
        .reconcile_cursor(channel)
        .await
        .map_err(store_err)?
    else {
        return Ok(());
    };
    let Some(day) = BillDay::parse(&cursor.day) else {
        return Err(format!("the cursor's day {:?} is not a day", cursor.day));
    };
    let next = |d: BillDay| d.next().unwrap_or(d);
    let advance = |why: Option<String>| {
        let to = next(day);
        let store = app.store.clone();
        let from = cursor.day.clone();
        async move {
            store
                .move_cursor(channel, &from, &to.text(), 0, to.ready_at(), why.as_deref())
                .await
                .map(|_| ())
                .map_err(store_err)
        }
    };
    if now < day.ready_at() {
        // leased early (or moved by hand): due again when the bill is
        let moved = app
            .store
            .move_cursor(
                channel,
                &cursor.day,
                &cursor.day,
                cursor.attempts,
                day.ready_at(),
                None,
            )
            .await;
        return moved.map(|_| ()).map_err(store_err);
    }
    if let Err(why) = day.fetchable(now) {
        keep_failed(app, channel, day, why, now)
            .await
            .map_err(|e| e.to_string())?;
        return advance(Some(why.to_owned())).await;
    }
    match reconcile_day(app, channel, day, now).await {
        Ok(_) => advance(None).await,
        Err(DayError::Failed(why)) => {
            keep_failed(app, channel, day, &why, now)
                .await
                .map_err(|e| e.to_string())?;
            advance(Some(why)).await
        }
        Err(e) if now >= day.ready_at() + RETRY_WINDOW_SECS => {
            let why = format!("still failing after a day of retries: {e}");
            keep_failed(app, channel, day, &why, now)
                .await
                .map_err(|e| e.to_string())?;
            advance(Some(why)).await
        }
        Err(e) => {
            tracing::warn!(channel = channel.code(), day = %day, attempts = cursor.attempts, error = %e, "reconciliation tried again later");
            let attempts = cursor.attempts + 1;
            app.store
                .move_cursor(
                    channel,
                    &cursor.day,
                    &cursor.day,
                    attempts,
                    now + backoff(cursor.attempts),
                    Some(&e.to_string()),
                )
                .await
                .map(|_| ())
                .map_err(store_err)
        }
    }
}
