//! Returns (分账回退, SPEC §4.9): money taken back from a receiver after a split. Checked
//! against what the receiver got and already returned, written with the receiver's tally in
//! one transaction before the channel is called; WeChat Pay is then asked (and asked again
//! while the return is processing, under the same number), while an Alipay return is a refund
//! plan that the refund notice carrying it settles.

use super::{Outcome, find, record_numbers, return_life};
use crate::app::App;
use crate::daxpay::request::Verified;
use crate::daxpay::return_params::{ReturnParams, ReturnRef};
use crate::daxpay::{ApiError, our_views, views};
use crate::domain::numbers::new_return_no;
use crate::domain::returns::{check_return, next_return_sync};
use crate::domain::{
    DetailResult, Due, DueKind, RACES, Refusal, ReturnOrder, ReturnStatus, mask_account,
};
use crate::store::{ReturnConflict, StoredAllocation};
use serde_json::Value;

/// `POST /unipay/allocation/return`.
pub async fn create(app: App, req: Verified<ReturnParams>) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let digest = p.digest();
    if let Some(claim) = app.store.return_claim(&p.biz_return_no).await? {
        return repeated(
            &app,
            &claim.allocation_no,
            &claim.return_no,
            claim.digest == digest,
            &req,
        )
        .await;
    }
    let now = app.clock.now();
    for _ in 0..RACES {
        let Some(stored) = find(&app, &p.order()).await? else {
            return Ok(Refusal::OrderNotFound.into());
        };
        let o = stored.order();
        let Some(detail) = stored
            .allocation
            .details
            .iter()
            .find(|d| d.receiver_no == p.receiver_no)
        else {
            return Ok(Refusal::ShareNotFound(p.receiver_no.clone()).into());
        };
        let seen = stored.returned_by(&p.receiver_no);
        let amount = p.amount.get();
        if let Err(r) = check_return(o, detail, seen.unwrap_or_default(), amount, now) {
            return Ok(Refusal::Return(r).into());
        }
        let Ok(client) = app.channels.for_account(o.channel, o.account.as_deref()) else {
            return Ok(Refusal::ChannelNotConfigured(o.channel).into());
        };
        let in_refund = client.returns_in_refund();
        let mut r = ReturnOrder {
            return_no: new_return_no(&app.allocation_no_prefix, app.tenant.code.as_deref(), now),
            biz_return_no: p.biz_return_no.clone(),
            allocation_no: o.allocation_no.clone(),
            biz_allocation_no: o.biz_allocation_no.clone(),
            order_no: o.order_no.clone(),
            out_order_no: o.out_order_no.clone(),
            channel: o.channel,
            receiver_no: detail.receiver_no.clone(),
            receiver_type: detail.receiver_type,
            receiver_account: detail.receiver_account.clone(),
            amount,
            description: p.description.clone().filter(|d| !d.is_empty()),
            status: if in_refund {
                ReturnStatus::Planned
            } else {
                ReturnStatus::Processing
            },
            out_return_no: None,
            error_code: None,
            error_msg: None,
            finish_time: None,
            notify_url: p.notify_url.clone().filter(|u| !u.is_empty()),
            attach: p.attach.clone(),
            biz_refund_no: p.biz_refund_no.clone().filter(|b| !b.is_empty()),
            refund_no: None,
            digest: digest.clone(),
            spelling: req.common.spelling,
            created_at: now,
            // in case the answer is lost: the scheduler asks again
            due: (!in_refund).then_some(Due {
                kind: DueKind::ReturnSync,
                at: next_return_sync(0, now),
            }),
            sync_attempts: 0,
            account: o.account.clone(),
        };
        match app.store.create_return(&r, seen).await? {
            Ok(()) => {}
            Err(ReturnConflict::ReturnNoTaken | ReturnConflict::TallyMoved) => continue,
            Err(ReturnConflict::BizReturnNoTaken) => {
                return match app.store.return_claim(&p.biz_return_no).await? {
                    Some(c) => {
                        repeated(
                            &app,
                            &c.allocation_no,
                            &c.return_no,
                            c.digest == digest,
                            &req,
                        )
                        .await
                    }
                    None => Err(ApiError::System("return claim vanished".into())),
                };
            }
        }
        record_numbers(Some(&r.allocation_no), Some(&r.biz_allocation_no));
        tracing::info!(returnNo = %r.return_no, amount, status = %r.status, "return created");
        if !in_refund {
            // just written, at version 1
            r = return_life::ask_channel(&app, r, 1, 1, false).await?;
        }
        return Ok(answer(&app, &r, req.common.spelling));
    }
    Err(ApiError::System(
        "return: still losing races with other returns".into(),
    ))
}

/// A bizReturnNo seen before: the stored return when the parameters are the same, else a
/// refusal. Nothing is sent to the channel.
async fn repeated(
    app: &App,
    allocation_no: &str,
    return_no: &str,
    same: bool,
    req: &Verified<ReturnParams>,
) -> Result<Outcome, ApiError> {
    if !same {
        return Ok(Refusal::BizReturnNoReused.into());
    }
    let (r, _) = app
        .store
        .return_order(allocation_no, return_no)
        .await?
        .ok_or_else(|| ApiError::System(format!("return claim without return {return_no}")))?;
    Ok(answer(app, &r, req.common.spelling))
}

pub(super) fn plan_of(app: &App, r: &ReturnOrder) -> Option<Value> {
    let client = app
        .channels
        .for_account(r.channel, r.account.as_deref())
        .ok()?;
    client.refund_plan(
        r.receiver_type,
        &mask_account(&r.receiver_account),
        r.amount,
    )
}

fn answer(app: &App, r: &ReturnOrder, spelling: crate::domain::Spelling) -> Outcome {
    Outcome::Ok(views::data(
        &our_views::ReturnView::new(r, plan_of(app, r)),
        spelling,
    ))
}

/// `POST /unipay/query/allocationReturn`: one return, or all of an order's with what each
/// receiver returned.
pub async fn query(app: App, req: Verified<ReturnRef>) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    let one = match (given(&p.return_no), given(&p.biz_return_no)) {
        (Some(no), _) => Some(no),
        (None, Some(biz)) => match app.store.return_claim(&biz).await? {
            Some(c) => Some(c.return_no),
            None => return Ok(Refusal::ReturnNotFound.into()),
        },
        (None, None) => None,
    };
    let order = crate::daxpay::params::AllocationRef {
        allocation_no: given(&p.allocation_no),
        biz_allocation_no: given(&p.biz_allocation_no),
    };
    let stored: Option<StoredAllocation> =
        match (&one, &order.allocation_no, &order.biz_allocation_no) {
            (_, Some(_), _) | (_, _, Some(_)) => find(&app, &order).await?,
            (Some(no), None, None) => match app.store.return_allocation_no(no).await? {
                Some(allocation_no) => app.store.allocation(&allocation_no).await?,
                None => None,
            },
            (None, None, None) => None,
        };
    let Some(stored) = stored else {
        return Ok(if one.is_some() {
            Refusal::ReturnNotFound
        } else {
            Refusal::OrderNotFound
        }
        .into());
    };
    if let Some(no) = one {
        return Ok(
            match stored.returns.iter().find(|(r, _)| r.return_no == no) {
                Some((r, _)) => answer(&app, r, req.common.spelling),
                None => Refusal::ReturnNotFound.into(),
            },
        );
    }
    let o = stored.order();
    let view = our_views::ReturnsView {
        allocation_no: &o.allocation_no,
        biz_allocation_no: &o.biz_allocation_no,
        receivers: stored
            .allocation
            .details
            .iter()
            .filter(|d| d.result == DetailResult::Success)
            .map(|d| {
                let returned = stored.returned_by(&d.receiver_no).unwrap_or_default();
                our_views::ReturnedView {
                    receiver_no: &d.receiver_no,
                    amount: d.amount,
                    returned: returned.amount,
                    return_count: returned.count,
                }
            })
            .collect(),
        returns: stored
            .returns
            .iter()
            .map(|(r, _)| our_views::ReturnView::new(r, plan_of(&app, r)))
            .collect(),
    };
    let spelling = req.common.spelling;
    let mut data = views::data(&view, spelling);
    // each listed return names its order too, in the request's names as the top level
    if let Some(Value::Array(lines)) = data.get_mut("returns") {
        for line in lines.iter_mut() {
            if let Value::Object(line) = line {
                crate::daxpay::spelling::respell(spelling, line);
            }
        }
    }
    Ok(Outcome::Ok(data))
}
