//! The transitions of an allocation order (SPEC §4.2 step 7, §4.3, §4.4, §4.5) as pure
//! functions: from the order as read, a channel's outcome and the time, to the order to save.
//! The service loads, calls the channel, applies one of these and saves; on a lost race it
//! reloads and applies the same outcome again.

use super::allocation::{Allocation, aggregate, apply_results};
use super::codes::{AllocationResult, AllocationStatus, DetailResult};
use super::due::{Due, DueKind};
use super::refusal::Refusal;
use super::share::{Accepted, ChannelError, ShareResult};

/// The deployment's timing of an order's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Finish orders that reached `allocation_end`, this long after.
    pub auto_finish: bool,
    pub auto_finish_delay_secs: i64,
    /// First sync of an order still processing, then doubling up to the cap.
    pub sync_first_delay_secs: i64,
    pub sync_max_interval_secs: i64,
    /// After this an order still processing is flagged for a human instead of polled.
    pub sync_max_age_secs: i64,
}

/// What a transition decided: the allocation in its new state, to be saved over the version it
/// was read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub next: Allocation,
    /// Release the pay order's allocation mark in the same write (a definite refusal: the
    /// merchant may start again).
    pub release_pay_order: bool,
    /// The status the order left, when it changed: a notice of the new status is due.
    pub left: Option<AllocationStatus>,
    /// The order was flagged as stuck by this step (alert once).
    pub flagged_now: bool,
}

/// Builds a step; a change of status moves the order's due work: an ended order is due for
/// its auto finish, a processing one keeps its sync, any other has nothing due.
fn step(
    prev: &Allocation,
    mut next: Allocation,
    release_pay_order: bool,
    now: i64,
    t: &Timing,
) -> Step {
    let left = (next.order.status != prev.order.status).then_some(prev.order.status);
    if left.is_some() {
        next.order.due = match next.order.status {
            AllocationStatus::End if t.auto_finish => Some(Due {
                kind: DueKind::Finish,
                at: now + t.auto_finish_delay_secs,
            }),
            AllocationStatus::Processing => next.order.due,
            _ => None,
        };
    }
    let flagged_now = next.order.flagged && !prev.order.flagged;
    Step {
        next,
        release_pay_order,
        left,
        flagged_now,
    }
}

/// The next sync of an order still processing: first after the configured delay, then
/// doubling up to the cap.
pub fn next_sync(t: &Timing, attempts: i64, now: i64) -> i64 {
    let first = t.sync_first_delay_secs.max(1);
    let factor = 1i64 << attempts.clamp(0, 20);
    now + first
        .saturating_mul(factor)
        .min(t.sync_max_interval_secs.max(first))
}

/// After an allocate call (SPEC §4.2 step 7): accepted → still processing (the channel's
/// number noted); refused → `allocation_failed`, pending details failed with the channel's
/// reason, the pay order released; unknown → nothing to save (a sync resolves it).
pub fn on_allocate(
    a: &Allocation,
    outcome: &Result<Accepted, ChannelError>,
    now: i64,
    t: &Timing,
) -> Option<Step> {
    if a.order.status != AllocationStatus::Processing {
        return None;
    }
    let mut next = a.clone();
    match outcome {
        Ok(accepted) => {
            if accepted.out_allocation_no.is_none()
                || a.order.out_allocation_no == accepted.out_allocation_no
            {
                return None;
            }
            next.order.out_allocation_no = accepted.out_allocation_no.clone();
            Some(step(a, next, false, now, t))
        }
        Err(ChannelError::Rejected { code, msg } | ChannelError::Unsent { code, msg }) => {
            next.order.status = AllocationStatus::Failed;
            next.order.result = AllocationResult::AllFailed;
            next.order.error_code = Some(code.clone());
            next.order.error_msg = Some(msg.clone());
            for d in &mut next.details {
                if d.result == DetailResult::Pending {
                    d.result = DetailResult::Fail;
                    d.error_code = Some(code.clone());
                    d.error_msg = Some(msg.clone());
                }
            }
            Some(step(a, next, true, now, t))
        }
        Err(_) => None,
    }
}

/// A sync (SPEC §4.5): the channel's rows (`None`: it said nothing usable) applied to the
/// pending details and aggregated. An order still processing records the attempt and gets its
/// next sync with backoff, or past the maximum age is flagged and no longer polled. A
/// callback that changes nothing writes nothing.
pub fn on_sync(
    a: &Allocation,
    rows: Option<&[ShareResult]>,
    from_callback: bool,
    now: i64,
    t: &Timing,
) -> Option<Step> {
    if a.order.status != AllocationStatus::Processing {
        return None;
    }
    let mut next = a.clone();
    let changed = rows.map_or_else(Vec::new, |rows| apply_results(&mut next.details, rows));
    let (status, result) = aggregate(&next.details);
    next.order.status = status;
    next.order.result = result;
    if status == AllocationStatus::Processing {
        if from_callback && changed.is_empty() {
            return None;
        }
        next.order.sync_attempts += 1;
        if now - next.order.created_at > t.sync_max_age_secs {
            next.order.flagged = true;
            next.order.due = None;
        } else {
            next.order.due = Some(Due {
                kind: DueKind::Sync,
                at: next_sync(t, next.order.sync_attempts, now),
            });
        }
    }
    Some(step(a, next, false, now, t))
}

/// A finish is allowed from `allocation_end` and `finish_failed` only (SPEC §4.4).
pub fn check_finishable(a: &Allocation) -> Result<(), Refusal> {
    match a.order.status {
        AllocationStatus::End | AllocationStatus::FinishFailed => Ok(()),
        other => Err(Refusal::WrongStatus(other)),
    }
}

/// After a finish call (SPEC §4.4): accepted → `finish` at `now`; refused → `finish_failed`
/// with the reason; unknown → unchanged, due again with backoff. `None`: the order is no
/// longer finishable (someone else finished it meanwhile).
pub fn on_finish(
    a: &Allocation,
    outcome: &Result<(), ChannelError>,
    now: i64,
    t: &Timing,
) -> Option<Step> {
    check_finishable(a).ok()?;
    let mut next = a.clone();
    match outcome {
        Ok(()) => {
            next.order.status = AllocationStatus::Finish;
            next.order.finish_time = Some(now);
            next.order.error_code = None;
            next.order.error_msg = None;
        }
        Err(ChannelError::Rejected { code, msg } | ChannelError::Unsent { code, msg }) => {
            next.order.status = AllocationStatus::FinishFailed;
            next.order.error_code = Some(code.clone());
            next.order.error_msg = Some(msg.clone());
        }
        Err(_) => {
            next.order.sync_attempts += 1;
            next.order.due = Some(Due {
                kind: DueKind::Finish,
                at: next_sync(t, next.order.sync_attempts, now),
            });
        }
    }
    Some(step(a, next, false, now, t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::allocation::{AllocationDetail, AllocationOrder};
    use crate::domain::codes::{Channel, ReceiverType};
    use crate::domain::share::ShareState;

    const NOW: i64 = 1_800_000_000;
    const T: Timing = Timing {
        auto_finish: true,
        auto_finish_delay_secs: 60,
        sync_first_delay_secs: 30,
        sync_max_interval_secs: 1800,
        sync_max_age_secs: 172_800,
    };

    fn detail(no: &str, account: &str) -> AllocationDetail {
        AllocationDetail {
            receiver_no: no.into(),
            amount: 100,
            rate: 100,
            receiver_type: ReceiverType::AliUserId,
            receiver_account: account.into(),
            receiver_name: None,
            result: DetailResult::Pending,
            error_code: None,
            error_msg: None,
            finish_time: None,
        }
    }

    fn processing() -> Allocation {
        Allocation {
            order: AllocationOrder {
                allocation_no: "A1".into(),
                biz_allocation_no: "B1".into(),
                out_allocation_no: None,
                order_no: "P1".into(),
                biz_order_no: "BP1".into(),
                out_order_no: "T1".into(),
                title: "t".into(),
                channel: Channel::AliPay,
                amount: 200,
                description: None,
                status: AllocationStatus::Processing,
                result: AllocationResult::AllPending,
                error_code: None,
                error_msg: None,
                finish_time: None,
                notify_url: None,
                attach: None,
                digest: "d".into(),
                created_at: NOW - 10,
                due: Some(Due {
                    kind: DueKind::Sync,
                    at: NOW,
                }),
                sync_attempts: 0,
                flagged: false,
                spelling: Default::default(),
                not_notify: false,
                account: None,
            },
            details: vec![
                detail("r1", "2088000000000011"),
                detail("r2", "2088000000000022"),
            ],
        }
    }

    fn row(account: &str, state: ShareState) -> ShareResult {
        ShareResult {
            receiver_type: ReceiverType::AliUserId,
            account: account.into(),
            state,
            amount: None,
        }
    }

    #[test]
    fn a_refused_split_fails_the_order_and_releases_the_pay_order() {
        let refused = Err(ChannelError::Rejected {
            code: "E".into(),
            msg: "no".into(),
        });
        let s = on_allocate(&processing(), &refused, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(s.next.order.status, AllocationStatus::Failed);
        let failed = s
            .next
            .details
            .iter()
            .filter(|d| d.result == DetailResult::Fail);
        assert_eq!((failed.count(), s.release_pay_order), (2, true));
        assert_eq!(s.left, Some(AllocationStatus::Processing));
        assert_eq!(s.next.order.due, None);
        assert_eq!(s.next.details[1].error_msg.as_deref(), Some("no"));
        // an unknown outcome never fails anything, a pending one neither
        let unknown = Err(ChannelError::Ambiguous("timeout".into()));
        assert_eq!(on_allocate(&processing(), &unknown, NOW, &T), None);
        let pending = Err(ChannelError::refusal(
            "INVALID_REQUEST".into(),
            "订单处理中".into(),
        ));
        assert_eq!(on_allocate(&processing(), &pending, NOW, &T), None);
        // a request that was never sent (our key could not sign it) is as definite as a refusal
        let unsent = Err(ChannelError::Unsent {
            code: "LOCAL_SIGN_FAILED".into(),
            msg: "not sent".into(),
        });
        let s = on_allocate(&processing(), &unsent, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(
            (s.next.order.status, s.release_pay_order),
            (AllocationStatus::Failed, true)
        );
        let accepted = Ok(Accepted {
            out_allocation_no: None,
        });
        assert_eq!(on_allocate(&processing(), &accepted, NOW, &T), None);
    }

    #[test]
    fn a_sync_waits_for_every_receiver_then_ends_and_is_due_for_finish() {
        let a = processing();
        let success = ShareState::Success {
            finish_time: Some(NOW),
        };
        let one = [row("2088000000000011", success.clone())];
        let s = on_sync(&a, Some(&one), false, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(s.next.order.status, AllocationStatus::Processing);
        assert_eq!(s.next.order.result, AllocationResult::PartSuccess);
        assert_eq!(
            s.next.order.due.map(|d| (d.kind, d.at)),
            Some((DueKind::Sync, NOW + 60))
        );
        assert_eq!(s.left, None);
        let both = [
            row("2088000000000011", success.clone()),
            row("2088000000000022", success),
        ];
        let s = on_sync(&s.next, Some(&both), false, NOW, &T).unwrap_or_else(|| panic!("step"));
        assert_eq!(s.next.order.status, AllocationStatus::End);
        assert_eq!(s.left, Some(AllocationStatus::Processing));
        assert_eq!(
            s.next.order.due.map(|d| (d.kind, d.at)),
            Some((DueKind::Finish, NOW + 60))
        );
        // an ended order is not synced again
        assert_eq!(on_sync(&s.next, None, false, NOW, &T), None);
    }

    #[test]
    fn an_empty_callback_writes_nothing_and_an_old_order_is_flagged() {
        assert_eq!(on_sync(&processing(), Some(&[]), true, NOW, &T), None);
        let mut old = processing();
        old.order.created_at = NOW - T.sync_max_age_secs - 1;
        let s = on_sync(&old, None, false, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert!(s.flagged_now && s.next.order.flagged);
        assert_eq!(s.next.order.due, None);
        let again = on_sync(&s.next, None, false, NOW, &T).map(|s| s.flagged_now);
        assert_eq!(again, Some(false), "flagged once");
    }

    #[test]
    fn finish_only_from_end_or_finish_failed() {
        let mut a = processing();
        assert!(check_finishable(&a).is_err_and(|e| e.to_string().starts_with("分账单状态错误")));
        assert_eq!(on_finish(&a, &Ok(()), NOW, &T), None);
        a.order.status = AllocationStatus::End;
        let s = on_finish(&a, &Ok(()), NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(
            (s.next.order.status, s.next.order.finish_time),
            (AllocationStatus::Finish, Some(NOW))
        );
        let unknown = Err(ChannelError::Ambiguous("busy".into()));
        let s = on_finish(&a, &unknown, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(s.next.order.status, AllocationStatus::End);
        assert_eq!(s.next.order.due.map(|d| d.kind), Some(DueKind::Finish));
        let refused = Err(ChannelError::Rejected {
            code: "C".into(),
            msg: "m".into(),
        });
        let s = on_finish(&a, &refused, NOW, &T).unwrap_or_else(|| panic!("a step"));
        assert_eq!(s.next.order.status, AllocationStatus::FinishFailed);
        assert!(check_finishable(&s.next).is_ok());
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(next_sync(&T, 0, NOW), NOW + 30);
        assert_eq!(next_sync(&T, 3, NOW), NOW + 240);
        assert_eq!(next_sync(&T, 30, NOW), NOW + 1800);
    }
}
