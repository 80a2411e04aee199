//! The scheduler (SPEC §7): each run pages through the sparse `due` index, kind by kind,
//! oldest first and bounded per run, leases each item (moves its due time forward so the next
//! run does not queue it again while its job waits) and queues its job. Never a Scan.

use crate::api::App;
use crate::jobs::Job;
use crate::model::DueKind;

/// How long a queued item is leased before the scheduler may queue it again.
pub const LEASE_SECS: i64 = 300;
const PAGE: i32 = 100;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tick {
    pub found: usize,
    pub queued: usize,
}

/// The job for a due item.
pub fn job_for(kind: DueKind, pk: &str, sk: &str) -> Option<Job> {
    use crate::store::allocation::{allocation_no_of, notice_status_of};
    match kind {
        DueKind::Sync => Some(Job::Sync {
            allocation_no: allocation_no_of(pk)?.to_owned(),
        }),
        DueKind::Finish => Some(Job::Finish {
            allocation_no: allocation_no_of(pk)?.to_owned(),
        }),
        DueKind::AutoAllocate => Some(Job::AutoAllocate {
            order_no: crate::store::order_no_of(pk)?.to_owned(),
        }),
        DueKind::Notify => Some(Job::Notify {
            allocation_no: allocation_no_of(pk)?.to_owned(),
            status: notice_status_of(sk)?,
        }),
    }
}

/// One run: at most `max_per_kind` items of each kind.
pub async fn tick(app: &App, now: i64, max_per_kind: usize) -> Result<Tick, String> {
    let queue = app.queue.as_ref().ok_or("QUEUE_URL is not configured")?;
    let mut report = Tick::default();
    for kind in DueKind::ALL {
        let mut jobs = Vec::new();
        let mut start = None;
        loop {
            let (rows, next) = app
                .store
                .due_page(kind, now, PAGE, start)
                .await
                .map_err(|e| e.to_string())?;
            for (pk, sk, at) in rows {
                if jobs.len() >= max_per_kind {
                    break;
                }
                report.found += 1;
                let Some(job) = job_for(kind, &pk, &sk) else {
                    tracing::warn!(pk = %pk, sk = %sk, "due item of an unknown shape");
                    continue;
                };
                if app
                    .store
                    .lease_due(&pk, &sk, at, now + LEASE_SECS)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    jobs.push(job);
                }
            }
            match next {
                Some(k) if jobs.len() < max_per_kind => start = Some(k),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AllocationStatus;
    use crate::store::allocation::{alloc_pk, notice_sk};
    use crate::store::pay_pk;

    /// The keys the store writes lead back to the right job.
    #[test]
    fn due_items_become_their_jobs() {
        let a = alloc_pk("A1");
        assert_eq!(
            job_for(DueKind::Sync, &a, "ORDER"),
            Some(Job::Sync {
                allocation_no: "A1".into()
            })
        );
        assert_eq!(
            job_for(DueKind::Finish, &a, "ORDER"),
            Some(Job::Finish {
                allocation_no: "A1".into()
            })
        );
        assert_eq!(
            job_for(DueKind::AutoAllocate, &pay_pk("P1"), "PAY"),
            Some(Job::AutoAllocate {
                order_no: "P1".into()
            })
        );
        assert_eq!(
            job_for(DueKind::Notify, &a, &notice_sk(AllocationStatus::End)),
            Some(Job::Notify {
                allocation_no: "A1".into(),
                status: AllocationStatus::End
            })
        );
        assert_eq!(job_for(DueKind::Sync, &pay_pk("P1"), "PAY"), None);
        assert_eq!(job_for(DueKind::Notify, &a, "NOTICE#nonsense"), None);
    }
}
