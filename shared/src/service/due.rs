//! Dispatching due work (SPEC §7): each run pages through the sparse `due` index, kind by kind,
//! oldest first and bounded per run, leases each item (its due time moves on so the next run
//! does not queue it again while its job waits) and queues its job. Never a Scan.

use crate::app::App;
use crate::domain::DueKind;
use crate::infra::Job;
use crate::store::{DueItem, DueSubject};

/// How long a queued item is leased before the scheduler may queue it again.
pub const LEASE_SECS: i64 = 300;
const PAGE: i32 = 100;

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
        (DueKind::Notify, DueSubject::Notice(allocation_no, status)) => Job::Notify {
            allocation_no,
            status,
        },
        _ => return None,
    })
}

/// One run: at most `max_per_kind` items of each kind.
pub async fn tick(app: &App, now: i64, max_per_kind: usize) -> Result<Tick, String> {
    let queue = app.queue.as_ref().ok_or("QUEUE_URL is not configured")?;
    let mut report = Tick::default();
    for kind in DueKind::ALL {
        let mut jobs = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = app
                .store
                .due_page(kind, now, PAGE, cursor)
                .await
                .map_err(|e| e.to_string())?;
            for item in items {
                if jobs.len() >= max_per_kind {
                    break;
                }
                report.found += 1;
                let Some(job) = job_for(&item) else {
                    tracing::warn!(kind = kind.partition(), "due item of an unknown shape");
                    continue;
                };
                if app
                    .store
                    .lease(&item.lease, now + LEASE_SECS)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    jobs.push(job);
                }
            }
            match next {
                Some(c) if jobs.len() < max_per_kind => cursor = Some(c),
                _ => break,
            }
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
    }
    Ok(report)
}
