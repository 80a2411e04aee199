//! Merchant notices (SPEC §4.7): the signed `AllocNoticeModel` written with each status change
//! (outbox), the signed `reconcile_discrepancy` notice of a day's statement (§4.13), their
//! delivery attempts on the schedule stored with each, and the merchant's own view of them
//! (query, resend).

use super::{Outcome, find};
use crate::app::App;
use crate::daxpay::params::{AllocationRef, NoticeResendParams};
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, our_views, views};
use crate::domain::notice::{RECONCILE_DISCREPANCY, statement_subject};
use crate::domain::{
    Allocation, Channel, Notice, NoticeAttempt, Refusal, StatementRecord, StatementStatus, Topic,
};
use crate::infra::{Job, queue, sender};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// How long a claimed notice attempt is leased (the attempt itself takes at most 5 s).
const NOTICE_LEASE_SECS: i64 = 60;

/// The notice of the order's current status, if it has somewhere to go: the order's
/// `notifyUrl`, else the default one, and none when the start said `notNotify`. The body is
/// signed once, in the field names of the start that created the order, and keeps the retry
/// schedule in force now.
pub fn notice_for(app: &App, a: &Allocation, now: i64) -> Option<Notice> {
    let o = &a.order;
    if o.not_notify {
        return None;
    }
    let url = o
        .notify_url
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| app.jobs.default_notify_url.clone())?;
    let mut body = views::data(&views::AllocNoticeView::new(o, &a.details), o.spelling);
    body.insert("code".into(), json!(0));
    body.insert("resTime".into(), json!(now));
    app.verifier.signer.sign_in_place(&mut body);
    Some(Notice::new(
        o.allocation_no.clone(),
        Topic::Status(o.status),
        url,
        Value::Object(body).to_string(),
        app.jobs.notice_schedule(),
        now,
    ))
}

/// The `reconcile_discrepancy` notice as sent, members in this order: money in fen and times
/// in epoch seconds, as in the other notices; `status` names the notice, as
/// `allocation_expiring` does.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DiscrepancyNoticeView<'a> {
    status: &'static str,
    channel: Channel,
    day: &'a str,
    statement_status: StatementStatus,
    discrepancies: u64,
    unresolved: u64,
    ours_split_amount: i64,
    channel_split_amount: i64,
    ours_return_amount: i64,
    channel_return_amount: i64,
    reconciled_at: i64,
    code: i64,
    res_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign: Option<String>,
}

/// The signed `reconcile_discrepancy` notice of a day's statement that kept unresolved
/// discrepancies, to the app's notify URL (a statement has no URL of its own), on the retry
/// schedule in force now. `None`: the day has nothing to tell, or the app nowhere to tell it.
pub fn discrepancy_notice(app: &App, st: &StatementRecord, now: i64) -> Option<Notice> {
    if st.unresolved == 0 {
        return None;
    }
    let Some(url) = app.jobs.default_notify_url.clone() else {
        tracing::warn!(
            channel = st.channel.code(),
            day = st.day.as_str(),
            "unresolved discrepancies and no notify URL: no notice"
        );
        return None;
    };
    let mut view = DiscrepancyNoticeView {
        status: RECONCILE_DISCREPANCY,
        channel: st.channel,
        day: &st.day,
        statement_status: st.status,
        discrepancies: st.discrepancies,
        unresolved: st.unresolved,
        ours_split_amount: st.ours.split_fen,
        channel_split_amount: st.theirs.split_fen,
        ours_return_amount: st.ours.return_fen,
        channel_return_amount: st.theirs.return_fen,
        reconciled_at: st.reconciled_at,
        code: 0,
        res_time: now,
        sign: None,
    };
    // signed over its members (the signature sorts them), sent in the view's order
    let Ok(Value::Object(members)) = serde_json::to_value(&view) else {
        return None;
    };
    view.sign = Some(app.verifier.signer.sign(&members));
    let body = serde_json::to_string(&view).ok()?;
    Some(Notice::new(
        statement_subject(st.channel, &st.day),
        Topic::ReconcileDiscrepancy,
        url,
        body,
        app.jobs.notice_schedule(),
        now,
    ))
}

/// Whether two notice bodies tell the same: every member but the times and the signature.
pub fn tell_the_same(a: &str, b: &str) -> bool {
    let told = |body: &str| {
        let mut members: Map<String, Value> = serde_json::from_str(body).ok()?;
        for member in ["reconciledAt", "resTime", "sign"] {
            members.remove(member);
        }
        Some(members)
    };
    matches!((told(a), told(b)), (Some(x), Some(y)) if x == y)
}

/// One delivery attempt of a notice, on its schedule. Idempotent: an attempt is claimed by a
/// conditional write first, so two jobs never send the same attempt.
pub async fn deliver(app: &App, subject: &str, topic: &Topic) -> Result<(), ApiError> {
    let now = app.clock.now();
    let Some(mut notice) = app.store.notice(subject, topic).await? else {
        return Ok(());
    };
    let mut attempts = notice.attempts.len() as i64;
    if let Some(lost) = notice.interrupted_attempt(now, NOTICE_LEASE_SECS) {
        // The job that claimed this attempt stopped before recording it: it counts as failed,
        // and the schedule goes on from it (never wedged on a claim nobody holds).
        let next = notice.schedule.next_at(lost.number, now);
        if !app
            .store
            .record_notice_attempt(subject, topic, &lost, next)
            .await?
        {
            return Ok(());
        }
        tracing::warn!(
            attempt = lost.number,
            "notice attempt interrupted; counted as failed"
        );
        attempts = lost.number;
        notice.next_at = next;
    }
    if notice.delivered || notice.schedule.exhausted(attempts) {
        return Ok(());
    }
    // Not due yet on the schedule (an early duplicate): the delayed message or the scheduler
    // brings it back in time.
    if notice.next_at.is_none_or(|t| t > now) {
        return Ok(());
    }
    if !app
        .store
        .start_notice_attempt(subject, topic, attempts, now, now + NOTICE_LEASE_SECS)
        .await?
    {
        return Ok(());
    }
    let number = attempts + 1;
    let delivery = sender::deliver(
        &notice.url,
        &notice.body,
        app.jobs.allow_private_notify_urls,
    )
    .await;
    let next = if delivery.delivered {
        None
    } else {
        notice.schedule.next_at(number, now)
    };
    let attempt = NoticeAttempt {
        number,
        at: now,
        delivered: delivery.delivered,
        status: delivery.status,
        error: delivery.error.clone(),
    };
    if !app
        .store
        .record_notice_attempt(subject, topic, &attempt, next)
        .await?
    {
        // Past its lease, another job recorded this attempt as interrupted and went on.
        tracing::warn!(
            attempt = number,
            "notice attempt recorded late; already counted"
        );
        return Ok(());
    }
    match (delivery.delivered, next) {
        (true, _) => tracing::info!(attempt = number, "notice delivered"),
        (false, Some(at)) => {
            tracing::info!(attempt = number, delivery = "failed", error = ?delivery.error, next_in = at - now, "notice not delivered; will retry");
            if at - now <= queue::MAX_DELAY_SECS
                && let Some(queue) = &app.queue
            {
                let job = Job::notify(subject, topic);
                if let Err(e) = queue.send(&job, at - now).await {
                    tracing::warn!(error = %e, "retry not queued; the scheduler will find it");
                }
            }
        }
        (false, None) => tracing::warn!(
            attempt = number,
            delivery = "failed",
            alert = "notice_abandoned",
            error = ?delivery.error,
            "notice not delivered; giving up after the last attempt"
        ),
    }
    Ok(())
}

/// `POST /unipay/query/allocationNotice` (ours): the order's notices and every attempt.
pub async fn query_notices(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some(s) => Outcome::Ok(views::data(
            &our_views::NoticesView::new(s.order(), &s.notices),
            req.common.spelling,
        )),
        None => Refusal::OrderNotFound.into(),
    })
}

/// `POST /unipay/allocation/notice/resend` (ours): sends a notice again (default: the one of
/// the order's current status), with one more attempt on its schedule.
pub async fn resend_notice(
    app: App,
    req: Verified<NoticeResendParams>,
) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params.order()).await? else {
        return Ok(Refusal::OrderNotFound.into());
    };
    let o = stored.order();
    let status = req.params.status.unwrap_or(o.status);
    let topic = Topic::Status(status);
    let now = app.clock.now();
    if !app
        .store
        .resend_notice(&o.allocation_no, &topic, now)
        .await?
    {
        return Ok(Refusal::NoticeNotFound(status).into());
    }
    if let Some(queue) = &app.queue {
        let job = Job::notify(&o.allocation_no, &topic);
        if let Err(e) = queue.send(&job, 0).await {
            tracing::warn!(error = %e, "resent notice not queued; the scheduler will find it");
        }
    }
    tracing::info!(notice = %status, "notice sent again on request");
    let view = our_views::ResendView {
        allocation_no: &o.allocation_no,
        biz_allocation_no: &o.biz_allocation_no,
        status,
        next_at: now,
    };
    Ok(Outcome::Ok(views::data(&view, req.common.spelling)))
}

#[cfg(test)]
mod tests {
    use super::tell_the_same;

    #[test]
    fn notices_tell_the_same_whatever_their_times_and_signatures() {
        let a = r#"{"status":"reconcile_discrepancy","unresolved":1,"reconciledAt":1,"resTime":1,"sign":"x"}"#;
        let later = r#"{"status":"reconcile_discrepancy","unresolved":1,"reconciledAt":9,"resTime":9,"sign":"y"}"#;
        let more = r#"{"status":"reconcile_discrepancy","unresolved":2,"reconciledAt":1,"resTime":1,"sign":"x"}"#;
        assert!(tell_the_same(a, later));
        assert!(!tell_the_same(a, more));
        assert!(
            !tell_the_same("not json", "not json"),
            "nothing read: not the same"
        );
    }
}
