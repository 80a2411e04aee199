//! Dispatching due work (SPEC §7, §8.1): each run reads the sparse `due` index, kind by kind,
//! oldest first and bounded per run, takes the apps in turn (one app's backlog never starves
//! another's), leases each item (its due time moves on so the next run does not queue it again
//! while its job waits) and queues its job, which names the item's app. Never a Scan.

use crate::app::App;
use crate::domain::DueKind;
use crate::infra::{Job, Message};
use crate::store::{DueItem, DueSubject};
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
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
        (DueKind::AppAuthRefresh, DueSubject::App(app_id)) => Job::RefreshAppAuth { app_id },
        (DueKind::Reconcile, DueSubject::Reconcile(channel)) => {
            Job::Reconcile { channel, day: None }
        }
        _ => return None,
    })
}

/// The items in the order they are dispatched: the apps in turn (each app's oldest first, the
/// apps in the order of their oldest item), so an app with a long backlog gets one item queued
/// for every one of each other app's until theirs run out.
pub fn fair<T, K: Eq + std::hash::Hash>(items: Vec<T>, app: impl Fn(&T) -> K) -> Vec<T> {
    let mut apps: Vec<Vec<T>> = Vec::new();
    let mut index: HashMap<K, usize> = HashMap::new();
    for item in items {
        let i = *index.entry(app(&item)).or_insert_with(|| {
            apps.push(Vec::new());
            apps.len() - 1
        });
        apps[i].push(item);
    }
    let total = apps.iter().map(Vec::len).sum();
    let mut lanes: Vec<std::vec::IntoIter<T>> = apps.into_iter().map(Vec::into_iter).collect();
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        for lane in &mut lanes {
            out.extend(lane.next());
        }
    }
    out
}

/// One run with no deadline: at most `max_per_kind` items of each kind.
pub async fn tick(app: &App, now: i64, max_per_kind: usize) -> Result<Tick, String> {
    tick_until(app, now, max_per_kind, None).await
}

/// How many lease writes are in flight at once.
const LEASE_CONCURRENCY: usize = 16;
/// Time kept back before the deadline: the page in hand is leased and queued before it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// One run: at most `max_per_kind` items of each kind. What is due is read first (keys only),
/// then dispatched [`fair`]ly a page at a time: the items of a page are leased concurrently and
/// their jobs queued in batches. No page is started within [`DEADLINE_MARGIN`] of `deadline`;
/// what is left stays due and the next run takes it up (the index is the cursor: leased items
/// are no longer due).
pub async fn tick_until(
    app: &App,
    now: i64,
    max_per_kind: usize,
    deadline: Option<Instant>,
) -> Result<Tick, String> {
    let budget = Budget {
        read: max_per_kind,
        dispatch: max_per_kind,
    };
    tick_with(app, now, budget, deadline).await
}

/// How much one run takes up of each kind: how many due items it reads (keys only, cheap), and
/// how many of those it leases and queues (the apps in turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub read: usize,
    pub dispatch: usize,
}

/// [`tick_until`] with a dispatch budget of its own.
pub async fn tick_with(
    app: &App,
    now: i64,
    budget: Budget,
    deadline: Option<Instant>,
) -> Result<Tick, String> {
    let max_per_kind = budget.read;
    let queue = app.queue.as_ref().ok_or("QUEUE_URL is not configured")?;
    let time_left =
        || deadline.is_none_or(|d| d.saturating_duration_since(Instant::now()) > DEADLINE_MARGIN);
    let mut report = Tick::default();
    for kind in DueKind::ALL {
        // Read what is due (keys only: a page is small), then dispatch the apps in turn.
        let mut window = Vec::new();
        let mut cursor = None;
        while window.len() < max_per_kind && time_left() {
            let limit = i32::try_from((max_per_kind - window.len()).min(PAGE)).unwrap_or(1);
            let (items, next) = app
                .store
                .due_page(kind, now, limit, cursor)
                .await
                .map_err(|e| e.to_string())?;
            window.extend(items);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        report.found += window.len();
        let mut order = fair(window, |item: &DueItem| item.scope.clone());
        order.truncate(budget.dispatch);
        for chunk in order.chunks(PAGE) {
            if !time_left() {
                break;
            }
            let leased: Vec<Result<Option<Message>, String>> = stream::iter(chunk)
                .map(|item| async move {
                    let Some(job) = job_for(item) else {
                        tracing::warn!(kind = kind.partition(), "due item of an unknown shape");
                        return Ok(None);
                    };
                    let won = app
                        .store
                        .lease(&item.lease, now + LEASE_SECS)
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok(won.then(|| Message {
                        app: item.scope.app_id().map(str::to_owned),
                        job,
                    }))
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

#[cfg(test)]
mod tests {
    use super::fair;

    #[test]
    fn a_long_backlog_takes_turns_with_every_other_app() {
        let mut items: Vec<(&str, usize)> = (0..10_000).map(|i| ("a", i)).collect();
        items.push(("b", 0));
        items.push(("c", 0));
        items.push(("b", 1));
        let order = fair(items, |(app, _)| *app);
        assert_eq!(order.len(), 10_003);
        assert_eq!(
            &order[..6],
            &[("a", 0), ("b", 0), ("c", 0), ("a", 1), ("b", 1), ("a", 2)]
        );
        // each app's items stay oldest first
        let a: Vec<usize> = order
            .iter()
            .filter(|(app, _)| *app == "a")
            .map(|(_, i)| *i)
            .collect();
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert!(fair(Vec::<(&str, usize)>::new(), |(app, _)| *app).is_empty());
    }
}
