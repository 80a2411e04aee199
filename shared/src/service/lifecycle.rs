//! The life of an order after it is created (SPEC §4.2 step 7, §4.4, §4.5): call the channel,
//! let the pure transition decide, save it with its notice in one write, and after a lost race
//! read again and apply the same outcome again. The API sync, the scheduled sync and channel
//! callbacks all go through [`sync_order`].

use super::{notices, reload};
use crate::app::App;
use crate::daxpay::ApiError;
use crate::domain::lifecycle::{Step, check_finishable, on_allocate, on_finish, on_sync};
use crate::domain::numbers::finish_request_no;
use crate::domain::{
    Accepted, Allocation, AllocationStatus, ChannelError, DueKind, RACES, Refusal, Share,
    ShareResult,
};
use crate::infra::Job;
use crate::store::StoredAllocation;

/// Saves `step` over the version the order was read at; a status change writes the new
/// status's notice in the same transaction, and afterwards the notice and an auto finish are
/// queued at once (the scheduler finds them through the due index if that fails).
/// `Ok(false)`: the order changed meanwhile.
async fn save(app: &App, stored: &mut StoredAllocation, step: Step) -> Result<bool, ApiError> {
    let now = app.clock.now();
    let notice = step
        .left
        .and_then(|_| notices::notice_for(app, &step.next, now));
    let saved = app
        .store
        .save_allocation(
            &step.next,
            stored.version,
            step.release_pay_order,
            notice.as_ref(),
            now,
        )
        .await?;
    if !saved {
        return Ok(false);
    }
    if step.flagged_now {
        tracing::error!(
            alert = "stuck_allocation",
            age = now - step.next.order.created_at,
            "allocation still processing after the maximum age: flagged for a human, no longer polled"
        );
    }
    stored.allocation = step.next;
    stored.version += 1;
    let noticed = notice.is_some();
    stored.notices.extend(notice);
    if let Some(from) = step.left {
        let o = stored.order();
        tracing::info!(from = %from, to = %o.status, result = %o.result, "status changed");
        if let Some(queue) = &app.queue {
            let no = o.allocation_no.clone();
            if noticed {
                let job = Job::notify(&no, &crate::domain::Topic::Status(o.status));
                if let Err(e) = queue.send(&job, 0).await {
                    tracing::warn!(error = %e, "notice not queued; the scheduler will find it");
                }
            }
            if let Some(due) = o.due.filter(|d| d.kind == DueKind::Finish) {
                let job = Job::Finish { allocation_no: no };
                if let Err(e) = queue.send(&job, due.at - now).await {
                    tracing::warn!(error = %e, "auto finish not queued; the scheduler will find it");
                }
            }
        }
    }
    Ok(true)
}

/// Applies `transition` and saves what it decided, reading the order again and applying it
/// again after each lost race. Answers the order as stored.
async fn apply(
    app: &App,
    mut stored: StoredAllocation,
    transition: impl Fn(&Allocation) -> Option<Step>,
) -> Result<StoredAllocation, ApiError> {
    for _ in 0..RACES {
        let Some(step) = transition(&stored.allocation) else {
            return Ok(stored);
        };
        if save(app, &mut stored, step).await? {
            return Ok(stored);
        }
        stored = reload(app, &stored.order().allocation_no).await?;
    }
    Err(ApiError::System(
        "allocation kept changing while saving".into(),
    ))
}

/// What the channel is asked to pay: every detail with something to pay.
fn shares_of(a: &Allocation) -> Vec<Share> {
    a.details
        .iter()
        .filter(|d| d.amount > 0)
        .map(|d| Share {
            account: d.account(),
            amount: d.amount,
            // "" is as good as absent: each channel then uses its default text (WeChat refuses
            // an empty description)
            description: a.order.description.clone().filter(|t| !t.trim().is_empty()),
        })
        .collect()
}

/// Asks the channel to split the order under its allocationNo and records what it said:
/// accepted → still processing; refused → `allocation_failed` and the pay order released;
/// unknown → unchanged, for a sync.
pub async fn allocate(app: &App, stored: StoredAllocation) -> Result<StoredAllocation, ApiError> {
    let now = app.clock.now();
    let outcome = send_split(app, &stored.allocation, now).await;
    let timing = app.jobs.timing();
    apply(app, stored, |a| on_allocate(a, &outcome, now, &timing)).await
}

/// The split call itself, its answer masked and logged.
async fn send_split(app: &App, a: &Allocation, now: i64) -> Result<Accepted, ChannelError> {
    let shares = shares_of(a);
    let outcome = match app
        .channels
        .for_account(a.order.channel, a.order.account.as_deref())
    {
        Ok(c) => {
            c.allocate(&a.order.out_order_no, &a.order.allocation_no, &shares, now)
                .await
        }
        Err(e) => Err(e),
    }
    .map_err(|e| e.masked(&a.accounts()));
    match &outcome {
        Ok(_) => {}
        Err(ChannelError::Rejected { code, msg }) => {
            tracing::warn!(code = %code, msg = %msg, "channel refused the allocation");
        }
        Err(e) => {
            tracing::warn!(error = %e, "allocation outcome unknown; it stays processing until a sync")
        }
    }
    outcome
}

/// Sends again a split the channel said it did not know, under the same number (SPEC §4.5,
/// §9). A refusal of the re-send proves nothing by itself: the first request may have landed
/// meanwhile, or still land. The order fails (and its pay order is released) only if the
/// channel, asked once more, still knows nothing of the split; rows it answers now are the
/// sync's, and an unclear answer leaves the order processing.
async fn resend(
    app: &App,
    stored: StoredAllocation,
    now: i64,
) -> Result<(StoredAllocation, Option<Vec<ShareResult>>), ApiError> {
    let outcome = send_split(app, &stored.allocation, now).await;
    let timing = app.jobs.timing();
    if !matches!(outcome, Err(ChannelError::Rejected { .. })) {
        let stored = apply(app, stored, |a| on_allocate(a, &outcome, now, &timing)).await?;
        return Ok((stored, None));
    }
    let o = stored.order();
    let again = match app.channels.for_account(o.channel, o.account.as_deref()) {
        Ok(c) => c.query(&o.out_order_no, &o.allocation_no, now).await,
        Err(e) => Err(e),
    };
    match again {
        Ok(None) => {
            let stored = apply(app, stored, |a| on_allocate(a, &outcome, now, &timing)).await?;
            Ok((stored, None))
        }
        Ok(Some(rows)) => {
            tracing::warn!("the re-sent split was refused, but the first one has landed");
            Ok((stored, Some(rows)))
        }
        Err(e) => {
            let e = e.masked(&stored.allocation.accounts());
            tracing::warn!(error = %e, "the re-sent split was refused and the channel's record is unclear; it stays processing");
            Ok((stored, None))
        }
    }
}

/// The one sync transition (SPEC §4.5): asks the channel (or takes the rows a verified
/// callback carried), applies each receiver's result, aggregates, saves. Idempotent and safe
/// to race. A split the channel does not know (its request never arrived) is sent again under
/// the same number. An order still processing gets its next sync with backoff, and past the
/// maximum age is flagged for a human instead.
pub async fn sync_order(
    app: &App,
    mut stored: StoredAllocation,
    callback_rows: Option<Vec<ShareResult>>,
) -> Result<StoredAllocation, ApiError> {
    if stored.order().status != AllocationStatus::Processing {
        return Ok(stored);
    }
    let now = app.clock.now();
    let from_callback = callback_rows.is_some();
    let rows = match callback_rows {
        Some(rows) => Some(rows),
        None => {
            let o = stored.order();
            let answer = match app.channels.for_account(o.channel, o.account.as_deref()) {
                Ok(c) => c.query(&o.out_order_no, &o.allocation_no, now).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(Some(rows)) => Some(rows),
                Ok(None) => {
                    tracing::info!("channel does not know the split; sending it again");
                    let (again, rows) = resend(app, stored, now).await?;
                    stored = again;
                    rows
                }
                Err(e) => {
                    let e = e.masked(&stored.allocation.accounts());
                    tracing::warn!(error = %e, "sync: channel outcome unknown");
                    None
                }
            }
        }
    };
    let rows: Option<Vec<ShareResult>> = rows.map(|rows| {
        let accounts = stored.allocation.accounts();
        rows.into_iter().map(|r| r.masked(&accounts)).collect()
    });
    let timing = app.jobs.timing();
    let stored = apply(app, stored, |a| {
        on_sync(a, rows.as_deref(), from_callback, now, &timing)
    })
    .await?;
    let o = stored.order();
    tracing::info!(status = %o.status, result = %o.result, "synced");
    Ok(stored)
}

/// The finish (SPEC §4.4): allowed from `allocation_end` and `finish_failed`; the channel
/// releases what is still frozen under `allocationNo + "F"`. Accepted → `finish`; refused →
/// `finish_failed`; unknown → unchanged, retried by the scheduler with backoff.
pub async fn finish_order(
    app: &App,
    stored: StoredAllocation,
) -> Result<Result<StoredAllocation, Refusal>, ApiError> {
    if let Err(refusal) = check_finishable(&stored.allocation) {
        return Ok(Err(refusal));
    }
    let now = app.clock.now();
    let o = stored.order();
    let request_no = finish_request_no(&o.allocation_no);
    let outcome = match app.channels.for_account(o.channel, o.account.as_deref()) {
        Ok(c) => c.finish(&o.out_order_no, &request_no, now).await,
        Err(e) => Err(e),
    }
    .map_err(|e| e.masked(&stored.allocation.accounts()));
    match &outcome {
        Ok(()) => {}
        Err(ChannelError::Rejected { code, msg }) => {
            tracing::warn!(code = %code, msg = %msg, "channel refused the finish");
        }
        Err(e) => tracing::warn!(error = %e, "finish outcome unknown; retried later"),
    }
    let timing = app.jobs.timing();
    let stored = apply(app, stored, |a| on_finish(a, &outcome, now, &timing)).await?;
    tracing::info!(status = %stored.order().status, "finish recorded");
    Ok(Ok(stored))
}
