//! Dispatching due work (SPEC §7): each run pages through the sparse `due` index, kind by kind,
//! oldest first and bounded per run, leases each item (its due time moves on so the next run
//! does not queue it again while its job waits) and queues its job. Never a Scan.

use crate::app::App;
use crate::domain::DueKind;
use crate::infra::Job;
use crate::store::{DueItem, DueSubject};
use futures_util::stream::{self, StreamExt};
use std::time::Duration;
use tokio::time::Instant;

/// How long a queued item is leased before the scheduler may queue it again.
pub const LEASE_SECS: i64 = 300;
/// Due items read per page (keys only: a page stays far below DynamoDB's 1 MB).
const PAGE: usize = 500;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub found: usize,
    pub queued: usize,
}

/// The job that does a due item's work.
pub fn job_for(item: &DueItem) -> Option<Job> {
    Some(match (item.kind, item.subject.clone()?) {
        (DueKind::Sync, DueSubject::Allocation(allocation_no)) => Job::Sync { allocation_no },
        (DueKind::Finish, DueSubject::Allocation(allocation_no)) => Job::Finish { allocation_no },
        (DueKind::AutoAllocate, DueSubject::PayOrder(order_no)) => Job::AutoAllocate { order_no },
        (DueKind::Deadline, DueSubject::PayOrder(order_no)) => Job::Deadline { order_no },
        (DueKind::ReturnSync, DueSubject::Return(allocation_no, return_no)) => Job::SyncReturn {
            allocation_no,
            return_no,
        },
        (DueKind::Notify, DueSubject::Notice(subject, topic)) => Job::notify(&subject, &topic),
        _ => return None,
    })
}

/// One run with no deadline: at most `max_per_kind` items of each kind.
pub async fn tick(app: &App, now: i64, max_per_kind: usize) -> Result<Tick, String> {
    tick_until(app, now, max_per_kind, None).await
}

/// How many lease writes are in flight at once.
const LEASE_CONCURRENCY: usize = 16;
/// Time kept back before the deadline: the page in hand is leased and queued before it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// One run: at most `max_per_kind` items of each kind, page by page: the items of a page are
/// leased concurrently and their jobs queued in batches before the next page is read. No page
/// is started within [`DEADLINE_MARGIN`] of `deadline`; what is left stays due and the next
/// run takes it up (the index is the cursor: leased items are no longer due).
pub async fn tick_until(
    app: &App,
    now: i64,
    max_per_kind: usize,
    deadline: Option<Instant>,
) -> Result<Tick, String> {
    let queue = app.queue.as_ref().ok_or("QUEUE_URL is not configured")?;
    let time_left =
        || deadline.is_none_or(|d| d.saturating_duration_since(Instant::now()) > DEADLINE_MARGIN);
    let mut report = Tick::default();
    for kind in DueKind::ALL {
        let mut taken = 0;
        let mut cursor = None;
        while taken < max_per_kind && time_left() {
            let limit = i32::try_from((max_per_kind - taken).min(PAGE)).unwrap_or(1);
            let (items, next) = app
                .store
                .due_page(kind, now, limit, cursor)
                .await
                .map_err(|e| e.to_string())?;
            report.found += items.len();
            taken += items.len();
            let leased: Vec<Result<Option<Job>, String>> = stream::iter(items)
                .map(|item| async move {
                    let Some(job) = job_for(&item) else {
                        tracing::warn!(kind = kind.partition(), "due item of an unknown shape");
                        return Ok(None);
                    };
                    let won = app
                        .store
                        .lease(&item.lease, now + LEASE_SECS)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(won.then_some(job))
                })
                .buffer_unordered(LEASE_CONCURRENCY)
                .collect()
                .await;
            let mut jobs = Vec::with_capacity(leased.len());
            for job in leased {
                jobs.extend(job?);
            }
            if !jobs.is_empty() {
                let sent = queue.send_all(&jobs).await.map_err(|e| e.to_string())?;
                report.queued += sent;
                tracing::info!(
                    kind = kind.partition(),
                    due = jobs.len(),
                    queued = sent,
                    "due work queued"
                );
            }
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
    }
    if !time_left() {
        tracing::warn!(
            found = report.found,
            queued = report.queued,
            "scheduler run stopped before its deadline; the rest stays due for the next run"
        );
    }
    Ok(report)
}
