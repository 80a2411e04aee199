//! The life of a return after it is written (SPEC §4.9): the channel is asked (and asked again
//! under the same number while it is processing, backing off), its answer saved over the
//! version read with the notice of a final state; Alipay's refund plans are settled by the
//! refund notice that carries them.

use super::returns::plan_of;
use crate::app::App;
use crate::daxpay::{ApiError, our_views, views};
use crate::domain::returns::{next_return_sync, on_return_state};
use crate::domain::{
    ChannelError, Due, DueKind, Notice, RACES, Refund, ReturnOrder, ReturnState, ReturnStatus,
    Topic,
};
use crate::infra::Job;
use serde_json::{Value, json};

/// Asks the channel about a return (sending it again while processing: the same number) and
/// saves what it says, with the notice of a final state. `attempts`: how many times it was
/// asked, this one included. `query_first`: a sync asks what the channel holds before
/// sending again.
pub(super) async fn ask_channel(
    app: &App,
    r: ReturnOrder,
    version: i64,
    attempts: i64,
    query_first: bool,
) -> Result<ReturnOrder, ApiError> {
    let client = app
        .channels
        .get(r.channel)
        .map_err(|e| ApiError::System(e.to_string()))?;
    let now = app.clock.now();
    let account = crate::domain::Account {
        receiver_type: r.receiver_type,
        account: r.receiver_account.clone(),
        name: None,
    };
    let description = r.description.clone().unwrap_or_default();
    let accounts = [r.receiver_account.as_str()];
    // A sync asks first what the channel holds. Its answer counts when it is final; a return
    // the channel does not have, or still processing, is sent again under the same number. A
    // refused or failed query says nothing about the return itself: it is asked again later.
    let queried = if query_first {
        Some(
            client
                .query_return(&r.allocation_no, &r.return_no, now)
                .await,
        )
    } else {
        None
    };
    let answer = match queried {
        Some(Ok(Some(a))) if a.state != ReturnState::Processing => Ok(a),
        Some(Err(e)) => {
            tracing::warn!(cause = %e.masked(&accounts), "return query failed; asked again later");
            return apply(app, r, version, None, attempts, now).await;
        }
        _ => {
            client
                .return_split(
                    &r.allocation_no,
                    &r.return_no,
                    &account,
                    r.amount,
                    &description,
                    now,
                )
                .await
        }
    };
    let state = match answer {
        Ok(a) => Some((a.state, a.return_id)),
        // the channel refused the return itself: nothing was returned, and nothing will be
        Err(e @ (ChannelError::Rejected { .. } | ChannelError::Unsent { .. })) => {
            match e.masked(&accounts) {
                ChannelError::Rejected { code, msg } | ChannelError::Unsent { code, msg } => {
                    Some((ReturnState::Failed { code, msg }, None))
                }
                other => Some((
                    ReturnState::Failed {
                        code: "REJECTED".into(),
                        msg: other.to_string(),
                    },
                    None,
                )),
            }
        }
        Err(e) => {
            tracing::warn!(cause = %e.masked(&accounts), "return outcome unknown; asked again later");
            None
        }
    };
    apply(app, r, version, state, attempts, now).await
}

/// Saves the channel's answer over the return read at `version` (reading it again only after
/// a lost race).
async fn apply(
    app: &App,
    mut r: ReturnOrder,
    mut version: i64,
    state: Option<(ReturnState, Option<String>)>,
    attempts: i64,
    now: i64,
) -> Result<ReturnOrder, ApiError> {
    for race in 0..RACES {
        if race > 0 {
            let Some((current, v)) = app
                .store
                .return_order(&r.allocation_no, &r.return_no)
                .await?
            else {
                return Ok(r);
            };
            (r, version) = (current, v);
        }
        let next = match &state {
            Some((s, id)) => on_return_state(&r, s, now).map(|mut next| {
                next.out_return_no = id.clone().or(next.out_return_no);
                next
            }),
            None => None,
        };
        let next = match next {
            Some(next) => next,
            None if r.status.is_final() => return Ok(r),
            None => {
                // still processing (or unknown): ask again later, backing off
                let mut later = r.clone();
                later.sync_attempts = attempts;
                later.due = Some(Due {
                    kind: DueKind::ReturnSync,
                    at: next_return_sync(attempts, now),
                });
                if let Some((_, Some(id))) = &state {
                    later.out_return_no = Some(id.clone());
                }
                later
            }
        };
        let notice = next
            .status
            .is_final()
            .then(|| notice_for(app, &next, now))
            .flatten();
        if app
            .store
            .save_return(&next, version, notice.as_ref(), now)
            .await?
        {
            if next.status.is_final() {
                tracing::info!(returnNo = %next.return_no, status = %next.status, error = ?next.error_msg, "return ended");
                queue_notice(app, notice.as_ref()).await;
            }
            return Ok(next);
        }
    }
    Err(ApiError::System("return: still losing races".into()))
}

/// The signed notice of a return that ended, to the return's notifyUrl, else the order's
/// default.
fn notice_for(app: &App, r: &ReturnOrder, now: i64) -> Option<Notice> {
    let url = r
        .notify_url
        .clone()
        .or_else(|| app.jobs.default_notify_url.clone())?;
    let mut body = views::data(&our_views::ReturnView::new(r, plan_of(app, r)), r.spelling);
    body.insert("code".into(), json!(0));
    body.insert("resTime".into(), json!(now));
    app.verifier.signer.sign_in_place(&mut body);
    Some(Notice::new(
        r.allocation_no.clone(),
        Topic::Return {
            return_no: r.return_no.clone(),
            status: r.status,
        },
        url,
        Value::Object(body).to_string(),
        app.jobs.notice_schedule(),
        now,
    ))
}

pub(super) async fn queue_notice(app: &App, notice: Option<&Notice>) {
    if let (Some(n), Some(queue)) = (notice, &app.queue) {
        let job = Job::notify(&n.subject, &n.topic);
        if let Err(e) = queue.send(&job, 0).await {
            tracing::warn!(error = %e, "notice not queued; the scheduler will find it");
        }
    }
}

/// The scheduled sync of a return still processing.
pub async fn sync(app: &App, allocation_no: &str, return_no: &str) -> Result<(), ApiError> {
    let Some((r, version)) = app.store.return_order(allocation_no, return_no).await? else {
        return Ok(());
    };
    if r.status != ReturnStatus::Processing {
        return Ok(());
    }
    let attempts = r.sync_attempts + 1;
    ask_channel(app, r, version, attempts, true)
        .await
        .map(|_| ())
}

/// A refund of the pay order succeeded (refund feed): the Alipay refund plans it carries are
/// settled: the plans naming its bizRefundNo, else (plans that named none) the oldest that
/// fit in its amount. Idempotent: settled plans are no longer planned.
pub async fn settle_plans(app: &App, refund: &Refund, allocation_no: &str) -> Result<(), ApiError> {
    let Some(stored) = app.store.allocation(allocation_no).await? else {
        return Ok(());
    };
    if stored
        .returns
        .iter()
        .any(|(r, _)| r.refund_no.as_deref() == Some(refund.refund_no.as_str()))
    {
        return Ok(()); // this refund settled its plans already
    }
    let mut planned: Vec<&ReturnOrder> = stored
        .returns
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.status == ReturnStatus::Planned)
        .collect();
    planned.sort_by_key(|r| (r.created_at, r.return_no.clone()));
    let named: Vec<&ReturnOrder> = planned
        .iter()
        .copied()
        .filter(|r| r.biz_refund_no.is_some() && r.biz_refund_no == refund.biz_refund_no)
        .collect();
    let chosen = if named.is_empty() {
        let mut left = refund.amount;
        planned
            .into_iter()
            .filter(|r| r.biz_refund_no.is_none())
            .filter(|r| {
                let fits = r.amount <= left;
                if fits {
                    left -= r.amount;
                }
                fits
            })
            .collect()
    } else {
        named
    };
    let now = app.clock.now();
    for r in chosen {
        let mut done = r.clone();
        done.status = ReturnStatus::Success;
        done.refund_no = Some(refund.refund_no.clone());
        done.finish_time = Some(refund.finish_time.unwrap_or(now));
        let version = stored
            .returns
            .iter()
            .find(|(x, _)| x.return_no == r.return_no)
            .map_or(0, |(_, v)| *v);
        let notice = notice_for(app, &done, now);
        if app
            .store
            .save_return(&done, version, notice.as_ref(), now)
            .await?
        {
            tracing::info!(returnNo = %done.return_no, refundNo = %refund.refund_no, "refund plan carried by the refund");
            queue_notice(app, notice.as_ref()).await;
        }
    }
    Ok(())
}
