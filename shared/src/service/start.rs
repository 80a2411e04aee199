//! Starting an allocation (SPEC §4.2), for a merchant's request or an auto allocation (§4.6):
//! a repeated bizAllocationNo is answered from its order; the pay order and receivers are
//! checked; the order, its details, the claim and the pay order's mark are written in one
//! transaction before the channel is called.

use super::lifecycle::allocate;
use super::{Model, Outcome, record_numbers};
use crate::app::App;
use crate::daxpay::ApiError;
use crate::daxpay::params::{Receivers, StartParams};
use crate::daxpay::request::Verified;
use crate::domain::numbers::{auto_biz_allocation_no, new_allocation_no};
use crate::domain::plan::{OrderRequest, Planned, new_allocation, plan_explicit, plan_group};
use crate::domain::receivers::check_receivers;
use crate::domain::{AllocationOrder, AllocationStatus, PayOrder, RACES, Refusal, Spelling};
use crate::store::{
    Claim, CreateConflict, PayOrderRef, ReceiversRef, StartLookup, StartSnapshot, StoredAllocation,
};

/// `POST /unipay/allocation/start`: `AllocationModel`.
pub async fn start(app: App, req: Verified<StartParams>) -> Result<Outcome, ApiError> {
    let spelling = req.common.spelling;
    let nonce = req
        .common
        .nonce_str
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|n| format!("{}#{n}", req.common.req_time));
    Ok(
        match run(&app, &req.params, spelling, nonce.as_deref()).await? {
            Ok(order) => Outcome::Model(Box::new(Model::Allocation(order))),
            Err(refusal) => refusal.into(),
        },
    )
}

/// A start: the order as it stands afterwards, or why there is none. `spelling`: the field
/// names its notices use.
///
/// A repeated bizAllocationNo is not looked for up front (a new start, by far the most common,
/// would pay a read for nothing): the create transaction's condition on the claim catches a
/// repeat, and a start refused before it gets that far looks for the claim before answering,
/// so a repeat is answered from its order either way.
///
/// `nonce` (`<reqTime>#<nonceStr>`, when the request had one) is claimed with the
/// bizAllocationNo, in the create transaction: the request that made an order cannot be
/// replayed (SPEC §3), and the start still makes three round trips.
pub async fn run(
    app: &App,
    p: &StartParams,
    spelling: Spelling,
    nonce: Option<&str>,
) -> Result<Result<AllocationOrder, Refusal>, ApiError> {
    record_numbers(None, Some(&p.biz_allocation_no));
    let digest = p.digest();
    match fresh(app, p, spelling, &digest, nonce).await? {
        Err(refusal) if refusal != Refusal::BizAllocationNoReused => {
            match app.store.claim(&p.biz_allocation_no).await? {
                Some(claim) => repeated(app, &claim, p, &digest, nonce).await,
                None => Ok(Err(refusal)),
            }
        }
        outcome => Ok(outcome),
    }
}

/// A start as if its bizAllocationNo were new (see [`run`]).
async fn fresh(
    app: &App,
    p: &StartParams,
    spelling: Spelling,
    digest: &str,
    nonce: Option<&str>,
) -> Result<Result<AllocationOrder, Refusal>, ApiError> {
    let listed: Vec<String> = p
        .explicit_receivers()
        .into_iter()
        .flat_map(Receivers::iter)
        .map(|r| r.receiver_no.to_owned())
        .collect();
    let group_no = p.group_no.as_deref().filter(|g| !g.is_empty());
    let pay_order = match (
        p.order_no.as_deref().filter(|o| !o.is_empty()),
        p.biz_order_no.as_deref(),
    ) {
        (Some(o), _) => PayOrderRef::OrderNo(o),
        (None, Some(b)) => PayOrderRef::BizOrderNo(b),
        (None, None) => return Ok(Err(Refusal::PayOrderNotFound)),
    };
    let receivers = match (listed.is_empty(), group_no) {
        (false, _) => ReceiversRef::Listed(&listed),
        (true, Some(g)) => ReceiversRef::Group(g),
        (true, None) => ReceiversRef::DefaultGroup,
    };
    let lookup = StartLookup {
        pay_order,
        receivers,
    };
    // round trips 1 and (only when needed) 2
    let snapshot = app.store.load_start(&lookup).await?;
    let Some(pay) = &snapshot.pay_order else {
        return Ok(Err(Refusal::PayOrderNotFound));
    };
    let checked = pay.check_allocatable().and_then(|()| {
        if app.channels.is_configured(pay.channel) {
            pay.trade_no()
        } else {
            Err(Refusal::ChannelNotConfigured(pay.channel))
        }
    });
    let trade_no = match checked {
        Ok(t) => t.to_owned(),
        Err(refusal) => return Ok(Err(refusal)),
    };
    // a key that cannot sign fails here, before anything is written on the strength of a call
    let ready = match app
        .channels
        .for_account(pay.channel, pay.account.as_deref())
    {
        Ok(c) => c.ready(app.clock.now()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = ready {
        tracing::error!(alert = "channel_not_ready", error = %e, "the channel's account cannot act; nothing written");
        let why = match e {
            crate::domain::ChannelError::Unsent { msg, .. }
            | crate::domain::ChannelError::Rejected { msg, .. } => msg,
            other => other.to_string(),
        };
        return Ok(Err(Refusal::ChannelNotReady {
            channel: pay.channel,
            why,
        }));
    }
    let planned = match plan(p, &lookup, &snapshot, pay) {
        Ok(planned) => planned,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let now = app.clock.now();
    if let Err(refusal) = check_max_ratio(app, pay, &planned, now).await {
        return Ok(Err(refusal));
    }
    if pay.refunded > 0
        && let Err(refusal) = check_channel_figure(app, pay, &trade_no, &planned, now).await
    {
        return Ok(Err(refusal));
    }
    let request = OrderRequest {
        biz_allocation_no: p.biz_allocation_no.clone(),
        description: p.description.clone(),
        notify_url: p.notify_url.clone(),
        attach: p.attach.clone(),
        digest: digest.to_owned(),
        spelling,
        not_notify: p.not_notify == Some(true),
        title: p.title.clone().filter(|t| !t.trim().is_empty()),
    };
    let mut allocation = new_allocation(pay, &trade_no, planned, request, now, &app.jobs.timing());

    // round trip 3: order, details, claim and pay-order mark, atomically, before the channel
    let mut created = false;
    for _ in 0..RACES {
        allocation.order.allocation_no =
            new_allocation_no(&app.allocation_no_prefix, app.tenant.code.as_deref(), now);
        match app
            .store
            .create_allocation(&allocation, pay.refunded, nonce)
            .await?
        {
            Ok(()) => {
                created = true;
                break;
            }
            Err(CreateConflict::AllocationNoTaken) => continue,
            Err(CreateConflict::BizAllocationNoTaken) => {
                return match app.store.claim(&p.biz_allocation_no).await? {
                    Some(c) => repeated(app, &c, p, digest, nonce).await,
                    None => Err(ApiError::System("claim vanished".into())),
                };
            }
            Err(CreateConflict::PayOrderTaken) => {
                // allocated by another start, or refunded meanwhile: say which
                let now_allocated = match app.store.pay_order(&pay.order_no).await? {
                    Some((current, _)) => current.allocation_no.is_some(),
                    None => false,
                };
                return Ok(Err(if now_allocated {
                    Refusal::AlreadyAllocated
                } else {
                    Refusal::PayOrderChanged
                }));
            }
        }
    }
    if !created {
        return Err(ApiError::System(
            "could not find a free allocationNo".into(),
        ));
    }
    let o = &allocation.order;
    record_numbers(Some(&o.allocation_no), None);
    tracing::info!(status = %o.status, amount = o.amount, "allocation order created");
    if o.status == AllocationStatus::Ignore {
        return Ok(Ok(allocation.order));
    }
    let stored = StoredAllocation {
        allocation,
        version: 1,
        notices: Vec::new(),
        returns: Vec::new(),
        returned: Vec::new(),
    };
    // round trip 4: what the channel said
    Ok(Ok(allocate(app, stored).await?.allocation.order))
}

/// After a refund our figure may be behind the channel's (a refund it made that we have not
/// heard of yet): the channel's own unsplit amount is asked, and a plan above it refused. No
/// figure (the channel is still settling, or did not answer clearly) leaves the channel to
/// judge the split itself.
async fn check_channel_figure(
    app: &App,
    pay: &PayOrder,
    trade_no: &str,
    planned: &[Planned],
    now: i64,
) -> Result<(), Refusal> {
    let total: i64 = planned.iter().map(|p| p.amount).sum();
    let client = app
        .channels
        .get(pay.channel)
        .map_err(|_| Refusal::ChannelNotConfigured(pay.channel))?;
    match client.unsplit(trade_no, now).await {
        Ok(unsplit) if total > unsplit => Err(Refusal::AmountOverSplittable {
            total,
            splittable: unsplit,
            refunded: pay.refunded,
        }),
        Ok(_) => Ok(()),
        Err(e) => {
            tracing::info!(cause = %e, "no channel figure of what is unsplit; the split goes ahead");
            Ok(())
        }
    }
}

/// Who gets how much: the listed receivers with their amounts, else the named group, else the
/// default group of the pay order's channel.
fn plan(
    p: &StartParams,
    lookup: &StartLookup<'_>,
    snapshot: &StartSnapshot,
    pay: &PayOrder,
) -> Result<Vec<Planned>, Refusal> {
    let channel = pay.channel;
    let group = match lookup.receivers {
        ReceiversRef::Listed(nos) => {
            let chosen =
                check_receivers(channel, nos.iter().map(String::as_str), &snapshot.receivers)?;
            let amounts = p.explicit_receivers().into_iter().flat_map(Receivers::iter);
            return plan_explicit(
                pay.amount,
                pay.refunded,
                amounts
                    .zip(chosen)
                    .map(|(r, found)| (r.receiver_no.to_owned(), r.amount.get(), found.account())),
            );
        }
        ReceiversRef::Group(g) => snapshot
            .group
            .as_ref()
            .ok_or_else(|| Refusal::GroupNotFound(g.to_owned()))?,
        ReceiversRef::DefaultGroup => snapshot
            .default_group(channel)
            .ok_or(Refusal::NoDefaultGroup(channel))?,
    };
    group.usable_for(channel)?;
    Ok(plan_group(pay.splittable(), &group.members))
}

/// A start whose bizAllocationNo is taken: the stored order if the parameters are the same,
/// else a refusal. Nothing is sent to the channel.
async fn repeated(
    app: &App,
    claim: &Claim,
    p: &StartParams,
    digest: &str,
    nonce: Option<&str>,
) -> Result<Result<AllocationOrder, Refusal>, ApiError> {
    if nonce.is_some() && claim.nonce.as_deref() == nonce {
        return Err(crate::daxpay::ValidationError::new(
            "nonceStr",
            "重复请求 (this nonceStr was already used with this reqTime)",
        )
        .into());
    }
    if !p.matches_digest(&claim.digest, digest) {
        return Ok(Err(Refusal::BizAllocationNoReused));
    }
    let stored = app
        .store
        .allocation(&claim.allocation_no)
        .await?
        .ok_or_else(|| ApiError::System(format!("claim without order {}", claim.allocation_no)))?;
    record_numbers(Some(&stored.order().allocation_no), None);
    tracing::info!(status = %stored.order().status, "duplicate start answered from the stored order");
    Ok(Ok(stored.allocation.order))
}

/// A split over what a WeChat Pay sub-merchant authorised its provider to split (SPEC §6.5) is
/// refused before anything is written, naming the ratio and where it is changed. When the
/// channel cannot say (its answer unclear), the split goes ahead: the channel itself refuses
/// one over the limit, and nothing is lost.
async fn check_max_ratio(
    app: &App,
    pay: &PayOrder,
    planned: &[crate::domain::plan::Planned],
    now: i64,
) -> Result<(), Refusal> {
    let Ok(client) = app
        .channels
        .for_account(pay.channel, pay.account.as_deref())
    else {
        return Ok(());
    };
    let max_ratio = match client.max_ratio(now).await {
        Ok(Some(max)) => max,
        Ok(None) => return Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, "the sub-merchant's authorised ratio is not known; the channel will judge");
            return Ok(());
        }
    };
    let total: i64 = planned.iter().map(|p| p.amount).sum();
    if i128::from(total) * 10_000 > i128::from(max_ratio) * i128::from(pay.amount) {
        return Err(Refusal::OverMaxRatio {
            total,
            amount: pay.amount,
            max_ratio,
        });
    }
    Ok(())
}

/// Allocates a pay order with its channel's default group (SPEC §4.6), under the
/// bizAllocationNo `AUTO<orderNo>` so that a repeated job finds the same order. A pay order
/// that cannot be allocated gets the reason recorded and is no longer due.
pub async fn auto_allocate(app: &App, order_no: &str) -> Result<(), ApiError> {
    let Some((pay, version)) = app.store.pay_order(order_no).await? else {
        return Ok(());
    };
    if !pay.wants_auto_allocation() {
        app.store.clear_pay_order_due(order_no, version).await?;
        return Ok(());
    }
    let params = StartParams {
        biz_allocation_no: auto_biz_allocation_no(order_no),
        order_no: Some(order_no.to_owned()),
        biz_order_no: None,
        description: Some("自动分账".into()),
        group_no: None,
        receivers: None,
        notify_url: None,
        attach: None,
        not_notify: None,
        title: None,
    };
    // no merchant request chose the field names: its notices use the configured ones
    match run(app, &params, app.jobs.default_spelling, None).await? {
        Ok(order) => {
            tracing::info!(allocationNo = %order.allocation_no, "auto allocation started");
        }
        Err(refusal) => {
            let reason = refusal.to_string();
            tracing::warn!(reason = %reason, "auto allocation not possible; recorded on the pay order");
            app.store.fail_auto_allocation(order_no, &reason).await?;
        }
    }
    Ok(())
}
