//! Start, query, sync and finish of allocation orders (SPEC §4.2–§4.5).

use crate::api::{App, Outcome, store_error};
use crate::channel::{Account, ChannelError, Share, ShareResult};
use crate::daxpay::{Spelling, views};
use crate::error::ApiError;
use crate::jobs::Job;
use crate::model::{
    AllocationDetail, AllocationOrder, AllocationResult, AllocationStatus, Channel, DetailResult,
    Due, DueKind, Group, Notice, PayOrder, PayStatus, Receiver,
};
use crate::params::{AllocationRef, NoticeResendParams, StartParams};
use crate::request::Verified;
use crate::rules;
use crate::store::allocation::{StoredAllocation, claim_from_item, claim_key, claim_pk};
use crate::store::receivers::{
    default_group_key, default_group_pk, group_from_item, group_key, group_pk, receiver_from_item,
    receiver_key, receiver_pk,
};
use crate::store::{
    Claim, CreateConflict, get_s, pay_biz_key, pay_biz_pk, pay_key, pay_order_from_item, pay_pk,
};
use serde_json::{Value, json};

/// How many times a versioned write is retried after losing a race.
const RACES: usize = 5;

fn record_numbers(allocation_no: Option<&str>, biz_allocation_no: Option<&str>) {
    let span = tracing::Span::current();
    if let Some(a) = allocation_no {
        span.record("allocationNo", a);
    }
    if let Some(b) = biz_allocation_no {
        span.record("bizAllocationNo", b);
    }
}

/// `AllocationModel`: the answer of a start and a finish.
fn answer(order: &AllocationOrder, spelling: Spelling) -> Outcome {
    Outcome::Ok(views::data(&views::AllocationView::from(order), spelling))
}

/// A start whose bizAllocationNo is taken: the stored answer if the parameters are the same,
/// else a refusal. Nothing is sent to the channel.
async fn duplicate(
    app: &App,
    claim: &Claim,
    digest: &str,
    spelling: Spelling,
) -> Result<Outcome, ApiError> {
    if claim.digest != digest {
        return Ok(Outcome::Refused(
            "商户分账单号已被使用 (bizAllocationNo is already used with other parameters)".into(),
        ));
    }
    let stored = app
        .store
        .allocation(&claim.allocation_no)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::System(format!("claim without order {}", claim.allocation_no)))?;
    record_numbers(Some(&stored.order.allocation_no), None);
    tracing::info!(status = %stored.order.status, "duplicate start answered from the stored order");
    Ok(answer(&stored.order, spelling))
}

/// Pay-order checks of SPEC §4.2 step 3. `Err(message)` is a refusal.
fn check_pay_order(pay: &PayOrder, app: &App) -> Result<String, String> {
    if pay.status != PayStatus::Success {
        return Err(format!(
            "支付订单未支付成功，不可分账 (pay order status is {})",
            pay.status
        ));
    }
    if !pay.allocation {
        return Err(
            "该订单不允许分账 (the pay order was not paid with funds frozen for allocation)".into(),
        );
    }
    if let Some(why) = pay.channel.sharing_refusal() {
        return Err(why.into());
    }
    if pay.allocation_no.is_some() {
        return Err("该订单已分账完成 (the pay order has an allocation already)".into());
    }
    if !app.channels.is_configured(pay.channel) {
        return Err(format!(
            "支付通道 {} 未配置分账 (channel not configured)",
            pay.channel
        ));
    }
    pay.out_order_no
        .clone()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "支付订单缺少通道交易号 (the pay order has no outOrderNo)".into())
}

/// `POST /unipay/allocation/start`.
pub async fn start(app: App, req: Verified<StartParams>) -> Result<Outcome, ApiError> {
    let p = &req.params;
    let spelling = req.common.spelling;
    record_numbers(None, Some(&p.biz_allocation_no));
    let now = app.clock.now();
    let digest = rules::start_digest(p);
    let explicit = p.explicit_receivers();
    let group_no = p
        .group_no
        .as_deref()
        .filter(|g| !g.is_empty() && explicit.is_none());
    let use_default = explicit.is_none() && group_no.is_none();

    // Round trip 1: the claim, the pay order (or its bizOrderNo pointer), the named group or
    // both channels' default-group pointers, and the explicit receivers.
    let mut keys = vec![claim_key(&p.biz_allocation_no)];
    let order_no = p.order_no.as_deref().filter(|o| !o.is_empty());
    match (order_no, p.biz_order_no.as_deref()) {
        (Some(o), _) => keys.push(pay_key(o)),
        (None, Some(b)) => keys.push(pay_biz_key(b)),
        (None, None) => return Ok(Outcome::Refused("支付订单不存在".into())),
    }
    if let Some(g) = group_no {
        keys.push(group_key(g));
    }
    if use_default {
        keys.push(default_group_key(Channel::AliPay));
        keys.push(default_group_key(Channel::WechatPay));
    }
    for r in explicit.unwrap_or_default() {
        keys.push(receiver_key(&r.receiver_no));
    }
    let found = app.store.get_many(keys).await.map_err(store_error)?;
    if let Some(item) = found.get(&claim_pk(&p.biz_allocation_no)) {
        let claim = claim_from_item(item).map_err(store_error)?;
        return duplicate(&app, &claim, &digest, spelling).await;
    }

    // Round trip 2, only when needed: the pay order behind a bizOrderNo pointer, and the
    // default groups the pointers name.
    let mut found_pay = order_no.and_then(|o| found.get(&pay_pk(o)).cloned());
    let mut second = Vec::new();
    let pointer_order_no = match (order_no, p.biz_order_no.as_deref()) {
        (None, Some(b)) => found.get(&pay_biz_pk(b)).and_then(|i| get_s(i, "orderNo")),
        _ => None,
    };
    if let Some(o) = &pointer_order_no {
        second.push(pay_key(o));
    }
    let mut default_groups = Vec::new();
    if use_default {
        for channel in [Channel::AliPay, Channel::WechatPay] {
            if let Some(g) = found
                .get(&default_group_pk(channel))
                .and_then(|i| get_s(i, "groupNo"))
            {
                second.push(group_key(&g));
                default_groups.push((channel, g));
            }
        }
    }
    let second = if second.is_empty() {
        Default::default()
    } else {
        app.store.get_many(second).await.map_err(store_error)?
    };
    if let Some(o) = &pointer_order_no {
        found_pay = second.get(&pay_pk(o)).cloned();
    }
    let Some(pay_item) = found_pay else {
        return Ok(Outcome::Refused("支付订单不存在".into()));
    };
    let (pay, _) = pay_order_from_item(&pay_item).map_err(store_error)?;
    let trade_no = match check_pay_order(&pay, &app) {
        Ok(t) => t,
        Err(why) => return Ok(Outcome::Refused(why)),
    };

    // Receivers: explicit list > groupNo > the channel's default group.
    let planned: Vec<(rules::Planned, Account)> = if let Some(list) = explicit {
        let receivers: Vec<Receiver> = list
            .iter()
            .filter_map(|r| found.get(&receiver_pk(&r.receiver_no)))
            .map(receiver_from_item)
            .collect::<Result<_, _>>()
            .map_err(store_error)?;
        let chosen = match rules::check_receivers(
            pay.channel,
            list.iter().map(|r| r.receiver_no.as_str()),
            &receivers,
        ) {
            Ok(c) => c,
            Err(why) => return Ok(Outcome::Refused(why)),
        };
        let amounts: Vec<(String, i64)> = list
            .iter()
            .map(|r| (r.receiver_no.clone(), r.amount))
            .collect();
        match rules::plan_explicit(pay.amount, &amounts) {
            Ok(plan) => plan
                .into_iter()
                .zip(chosen)
                .map(|(p, r)| (p, account_of(r)))
                .collect(),
            Err(why) => return Ok(Outcome::Refused(why)),
        }
    } else {
        let group: Group = if let Some(g) = group_no {
            match found.get(&group_pk(g)) {
                Some(item) => group_from_item(item).map_err(store_error)?.0,
                None => {
                    return Ok(Outcome::Refused(format!(
                        "分账组不存在 (group {g} not found)"
                    )));
                }
            }
        } else {
            let Some((_, g)) = default_groups.iter().find(|(c, _)| *c == pay.channel) else {
                return Ok(Outcome::Refused(format!(
                    "未配置默认分账组 (no default group for channel {})",
                    pay.channel
                )));
            };
            match second.get(&group_pk(g)) {
                Some(item) => group_from_item(item).map_err(store_error)?.0,
                None => {
                    return Ok(Outcome::Refused(format!(
                        "未配置默认分账组 (no default group for channel {})",
                        pay.channel
                    )));
                }
            }
        };
        if group.channel != pay.channel {
            return Ok(Outcome::Refused(format!(
                "分账组 {} 不属于支付通道 {} (it belongs to {})",
                group.group_no, pay.channel, group.channel
            )));
        }
        if group.members.is_empty() {
            return Ok(Outcome::Refused(format!(
                "分账组 {} 没有分账接收方 (the group has no receivers)",
                group.group_no
            )));
        }
        rules::plan_group(pay.amount, &group.members)
            .into_iter()
            .zip(group.members.iter())
            .map(|(p, m)| {
                (
                    p,
                    Account {
                        receiver_type: m.receiver_type,
                        account: m.receiver_account.clone(),
                        name: m.receiver_name.clone(),
                    },
                )
            })
            .collect()
    };

    let details: Vec<AllocationDetail> = planned
        .into_iter()
        .map(|(p, a)| AllocationDetail {
            receiver_no: p.receiver_no,
            amount: p.amount,
            rate: p.rate,
            receiver_type: a.receiver_type,
            receiver_account: a.account,
            receiver_name: a.name,
            result: rules::initial_result(p.amount),
            error_code: None,
            error_msg: None,
            finish_time: None,
        })
        .collect();
    let (status, result) = rules::aggregate(&details);
    let mut order = AllocationOrder {
        allocation_no: String::new(),
        biz_allocation_no: p.biz_allocation_no.clone(),
        out_allocation_no: None,
        order_no: pay.order_no.clone(),
        biz_order_no: pay.biz_order_no.clone(),
        out_order_no: trade_no.clone(),
        title: pay.title.clone(),
        channel: pay.channel,
        amount: details.iter().map(|d| d.amount).sum(),
        description: p.description.clone(),
        status,
        result,
        error_code: None,
        error_msg: None,
        finish_time: None,
        notify_url: p.notify_url.clone(),
        attach: p.attach.clone(),
        digest: digest.clone(),
        created_at: now,
        due: (status == AllocationStatus::Processing).then_some(Due {
            kind: DueKind::Sync,
            at: now + app.jobs.sync_first_delay_secs,
        }),
        sync_attempts: 0,
        flagged: false,
        spelling,
        not_notify: p.not_notify == Some(true),
    };

    // Round trip 3: order, details, claim and pay-order mark, atomically, before the channel.
    let mut created = false;
    for _ in 0..RACES {
        order.allocation_no = rules::new_allocation_no(&app.allocation_no_prefix, now);
        match app
            .store
            .create_allocation(&order, &details)
            .await
            .map_err(store_error)?
        {
            Ok(()) => {
                created = true;
                break;
            }
            Err(CreateConflict::AllocationNoTaken) => continue,
            Err(CreateConflict::BizAllocationNoTaken) => {
                let claim = app
                    .store
                    .claim(&p.biz_allocation_no)
                    .await
                    .map_err(store_error)?;
                return match claim {
                    Some(c) => duplicate(&app, &c, &digest, spelling).await,
                    None => Err(ApiError::System("claim vanished".into())),
                };
            }
            Err(CreateConflict::PayOrderTaken) => {
                return Ok(Outcome::Refused(
                    "该订单已分账完成 (the pay order has an allocation already)".into(),
                ));
            }
        }
    }
    if !created {
        return Err(ApiError::System(
            "could not find a free allocationNo".into(),
        ));
    }
    record_numbers(Some(&order.allocation_no), None);
    tracing::info!(status = %order.status, amount = order.amount, "allocation order created");
    if order.status == AllocationStatus::Ignore {
        return Ok(answer(&order, spelling));
    }

    let shares = shares_of(&details, &p.description);
    let outcome = app
        .channels
        .allocate(order.channel, &trade_no, &order.allocation_no, &shares, now)
        .await;
    // Round trip 4: what the channel said.
    let stored = StoredAllocation {
        order,
        version: 1,
        details,
        notices: Vec::new(),
    };
    let saved = apply_allocate_outcome(&app, stored, outcome).await?;
    Ok(answer(&saved.order, spelling))
}

pub(crate) fn account_of(r: &Receiver) -> Account {
    Account {
        receiver_type: r.receiver_type,
        account: r.receiver_account.clone(),
        name: r.receiver_name.clone(),
    }
}

/// What the channel is asked to pay: every detail with something to pay.
fn shares_of(details: &[AllocationDetail], description: &Option<String>) -> Vec<Share> {
    details
        .iter()
        .filter(|d| d.amount > 0)
        .map(|d| Share {
            account: Account {
                receiver_type: d.receiver_type,
                account: d.receiver_account.clone(),
                name: d.receiver_name.clone(),
            },
            amount: d.amount,
            // "" is as good as absent: each channel then uses its default text (WeChat refuses
            // an empty description)
            description: description.clone().filter(|t| !t.trim().is_empty()),
        })
        .collect()
}

/// The notice of the order's current status, if it has somewhere to go (SPEC §4.7): the
/// signed `AllocNoticeModel` in the field names of the start that created the order, with the
/// retry schedule in force now.
fn notice_for(app: &App, stored: &StoredAllocation, now: i64) -> Option<Notice> {
    let o = &stored.order;
    if o.not_notify {
        return None;
    }
    let url = o
        .notify_url
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| app.jobs.default_notify_url.clone())?;
    let mut body = views::data(&views::AllocNoticeView::new(o, &stored.details), o.spelling);
    body.insert("code".into(), json!(0));
    body.insert("resTime".into(), json!(now));
    app.verifier.signer.sign_in_place(&mut body);
    let schedule = app.jobs.notify_delays_secs.clone();
    Some(Notice {
        allocation_no: o.allocation_no.clone(),
        status: o.status,
        url,
        body: Value::Object(body).to_string(),
        delivered: false,
        attempts: Vec::new(),
        next_at: Some(now),
        due: Some(Due {
            kind: DueKind::Notify,
            at: now,
        }),
        max_attempts: schedule.len() as i64 + 1,
        schedule,
    })
}

/// Saves `stored` (in its new state) over version `stored.version`, whose status was `before`.
/// A status change also moves the order's due work and writes the status notice in the same
/// transaction; afterwards the notice and an auto finish are queued at once (the scheduler
/// finds them through the due index if that fails). `Ok(false)`: the order changed meanwhile.
async fn commit(
    app: &App,
    stored: &mut StoredAllocation,
    before: AllocationStatus,
    changed: &[usize],
    release_pay_order: bool,
) -> Result<bool, ApiError> {
    let now = app.clock.now();
    let changed_status = stored.order.status != before;
    if changed_status {
        stored.order.due = match stored.order.status {
            AllocationStatus::End if app.jobs.auto_finish => Some(Due {
                kind: DueKind::Finish,
                at: now + app.jobs.auto_finish_delay_secs,
            }),
            AllocationStatus::Processing => stored.order.due,
            _ => None,
        };
    }
    let notice = if changed_status {
        notice_for(app, stored, now)
    } else {
        None
    };
    let changed_details: Vec<&AllocationDetail> =
        changed.iter().map(|i| &stored.details[*i]).collect();
    let saved = app
        .store
        .save_allocation(
            &stored.order,
            stored.version,
            &changed_details,
            release_pay_order,
            notice.as_ref(),
            now,
        )
        .await
        .map_err(store_error)?;
    if !saved {
        return Ok(false);
    }
    stored.version += 1;
    let noticed = notice.is_some();
    if let Some(n) = notice {
        stored.notices.push(n);
    }
    if changed_status {
        tracing::info!(from = %before, to = %stored.order.status, result = %stored.order.result, "status changed");
        if let Some(queue) = &app.queue {
            let no = stored.order.allocation_no.clone();
            if noticed {
                let job = Job::Notify {
                    allocation_no: no.clone(),
                    status: stored.order.status,
                };
                if let Err(e) = queue.send(&job, 0).await {
                    tracing::warn!(error = %e, "notice not queued; the scheduler will find it");
                }
            }
            if let Some(Due {
                kind: DueKind::Finish,
                at,
            }) = stored.order.due
            {
                let job = Job::Finish { allocation_no: no };
                if let Err(e) = queue.send(&job, at - now).await {
                    tracing::warn!(error = %e, "auto finish not queued; the scheduler will find it");
                }
            }
        }
    }
    Ok(true)
}

/// Records the outcome of an allocate call: accepted → keeps processing (notes the channel's
/// number); refused → `allocation_failed` and the pay order is released; unknown → unchanged.
/// Answers the order as it is stored now.
async fn apply_allocate_outcome(
    app: &App,
    mut stored: StoredAllocation,
    outcome: Result<crate::channel::Accepted, ChannelError>,
) -> Result<StoredAllocation, ApiError> {
    let outcome = outcome.map_err(|e| e.masked(&accounts_of(&stored.details)));
    for _ in 0..RACES {
        if stored.order.status != AllocationStatus::Processing {
            return Ok(stored);
        }
        let before = stored.order.status;
        let (release, changed): (bool, Vec<usize>) = match &outcome {
            Ok(accepted) => {
                if accepted.out_allocation_no.is_none()
                    || stored.order.out_allocation_no == accepted.out_allocation_no
                {
                    return Ok(stored);
                }
                stored.order.out_allocation_no = accepted.out_allocation_no.clone();
                (false, Vec::new())
            }
            Err(ChannelError::Rejected { code, msg }) => {
                tracing::warn!(code = %code, msg = %msg, "channel refused the allocation");
                stored.order.status = AllocationStatus::Failed;
                stored.order.result = AllocationResult::AllFailed;
                stored.order.error_code = Some(code.clone());
                stored.order.error_msg = Some(msg.clone());
                let mut changed = Vec::new();
                for (i, d) in stored.details.iter_mut().enumerate() {
                    if d.result == DetailResult::Pending {
                        d.result = DetailResult::Fail;
                        d.error_code = Some(code.clone());
                        d.error_msg = Some(msg.clone());
                        changed.push(i);
                    }
                }
                (true, changed)
            }
            Err(e) => {
                tracing::warn!(error = %e, "allocation outcome unknown; it stays processing until a sync");
                return Ok(stored);
            }
        };
        if commit(app, &mut stored, before, &changed, release).await? {
            return Ok(stored);
        }
        stored = reload(app, &stored.order.allocation_no).await?;
    }
    Err(ApiError::System(
        "allocation kept changing while saving".into(),
    ))
}

/// The receiver accounts of an order, to mask in the channel's texts.
fn accounts_of(details: &[AllocationDetail]) -> Vec<&str> {
    details
        .iter()
        .map(|d| d.receiver_account.as_str())
        .collect()
}

/// The next sync of an order still processing: first after the configured delay, then
/// doubling up to the cap.
fn next_sync(app: &App, attempts: i64, now: i64) -> i64 {
    let first = app.jobs.sync_first_delay_secs.max(1);
    let factor = 1i64 << attempts.clamp(0, 20);
    now + first
        .saturating_mul(factor)
        .min(app.jobs.sync_max_interval_secs.max(first))
}

async fn reload(app: &App, allocation_no: &str) -> Result<StoredAllocation, ApiError> {
    app.store
        .allocation(allocation_no)
        .await
        .map_err(store_error)?
        .ok_or_else(|| ApiError::System(format!("allocation {allocation_no} vanished")))
}

/// Finds the order a request names (allocationNo wins over bizAllocationNo).
async fn find(app: &App, r: &AllocationRef) -> Result<Option<StoredAllocation>, ApiError> {
    let allocation_no = match r.allocation_no.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => a.to_owned(),
        None => {
            let biz = r.biz_allocation_no.as_deref().unwrap_or_default();
            match app.store.claim(biz).await.map_err(store_error)? {
                Some(c) => c.allocation_no,
                None => return Ok(None),
            }
        }
    };
    let stored = app
        .store
        .allocation(&allocation_no)
        .await
        .map_err(store_error)?;
    if let Some(s) = &stored {
        record_numbers(
            Some(&s.order.allocation_no),
            Some(&s.order.biz_allocation_no),
        );
    }
    Ok(stored)
}

const NOT_FOUND: &str = "分账单不存在";

/// `POST /unipay/query/allocationOrder`: `AllocOrderModel`, accounts masked.
pub async fn query(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some(s) => Outcome::Ok(views::data(
            &views::AllocOrderView::new(&s.order, &s.details),
            req.common.spelling,
        )),
        None => Outcome::Refused(NOT_FOUND.into()),
    })
}

/// `POST /unipay/query/allocationNotice` (ours): the order's notices and every attempt.
pub async fn query_notices(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some(s) => Outcome::Ok(views::data(
            &views::NoticesView::new(&s.order, &s.notices),
            req.common.spelling,
        )),
        None => Outcome::Refused(NOT_FOUND.into()),
    })
}

/// `POST /unipay/allocation/notice/resend` (ours): sends a notice again (default: the one of
/// the order's current status), with one more attempt on its schedule.
pub async fn resend_notice(
    app: App,
    req: Verified<NoticeResendParams>,
) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params.order()).await? else {
        return Ok(Outcome::Refused(NOT_FOUND.into()));
    };
    let status = req.params.status.unwrap_or(stored.order.status);
    let now = app.clock.now();
    let no = &stored.order.allocation_no;
    if !app
        .store
        .resend_notice(no, status, now)
        .await
        .map_err(store_error)?
    {
        return Ok(Outcome::Refused(format!(
            "通知不存在 (no notice of status {status} for this order)"
        )));
    }
    if let Some(queue) = &app.queue {
        let job = Job::Notify {
            allocation_no: no.clone(),
            status,
        };
        if let Err(e) = queue.send(&job, 0).await {
            tracing::warn!(error = %e, "resent notice not queued; the scheduler will find it");
        }
    }
    tracing::info!(notice = %status, "notice sent again on request");
    let view = views::ResendView {
        allocation_no: no,
        biz_allocation_no: &stored.order.biz_allocation_no,
        status,
        next_at: now,
    };
    Ok(Outcome::Ok(views::data(&view, req.common.spelling)))
}

/// The one sync transition (SPEC §4.5): asks the channel (or takes the rows a verified
/// callback carried), applies each receiver's result, aggregates, saves. Idempotent and safe
/// to race. A split the channel does not know (its request never arrived) is sent again under
/// the same number. An order still processing gets its next sync scheduled with backoff, and
/// past the maximum age is flagged for a human instead.
pub async fn sync_order(
    app: &App,
    stored: StoredAllocation,
    callback_rows: Option<Vec<ShareResult>>,
) -> Result<StoredAllocation, ApiError> {
    let now = app.clock.now();
    let mut stored = stored;
    for _ in 0..RACES {
        if stored.order.status != AllocationStatus::Processing {
            return Ok(stored);
        }
        let o = &stored.order;
        let rows = match &callback_rows {
            Some(rows) => Some(rows.clone()),
            None => match app
                .channels
                .query(o.channel, &o.out_order_no, &o.allocation_no, now)
                .await
            {
                Ok(Some(rows)) => Some(rows),
                Ok(None) => {
                    tracing::info!("channel does not know the split; sending it again");
                    let shares = shares_of(&stored.details, &o.description);
                    let outcome = app
                        .channels
                        .allocate(o.channel, &o.out_order_no, &o.allocation_no, &shares, now)
                        .await;
                    stored = apply_allocate_outcome(app, stored, outcome).await?;
                    None
                }
                Err(e) => {
                    let e = e.masked(&accounts_of(&stored.details));
                    tracing::warn!(error = %e, "sync: channel outcome unknown");
                    None
                }
            },
        };
        if stored.order.status != AllocationStatus::Processing {
            return Ok(stored);
        }
        let rows: Option<Vec<ShareResult>> = rows.map(|rows| {
            let accounts = accounts_of(&stored.details);
            rows.into_iter().map(|r| r.masked(&accounts)).collect()
        });
        let before = stored.order.status;
        let changed = match &rows {
            Some(rows) => rules::apply_results(&mut stored.details, rows),
            None => Vec::new(),
        };
        let (status, result) = rules::aggregate(&stored.details);
        stored.order.status = status;
        stored.order.result = result;
        if status == AllocationStatus::Processing {
            if callback_rows.is_some() && changed.is_empty() {
                return Ok(stored);
            }
            stored.order.sync_attempts += 1;
            if now - stored.order.created_at > app.jobs.sync_max_age_secs {
                if !stored.order.flagged {
                    tracing::error!(
                        alert = "stuck_allocation",
                        age = now - stored.order.created_at,
                        "allocation still processing after the maximum age: flagged for a human, no longer polled"
                    );
                }
                stored.order.flagged = true;
                stored.order.due = None;
            } else {
                stored.order.due = Some(Due {
                    kind: DueKind::Sync,
                    at: next_sync(app, stored.order.sync_attempts, now),
                });
            }
        }
        if commit(app, &mut stored, before, &changed, false).await? {
            tracing::info!(status = %stored.order.status, result = %stored.order.result, "synced");
            return Ok(stored);
        }
        stored = reload(app, &stored.order.allocation_no).await?;
    }
    Err(ApiError::System(
        "allocation kept changing while syncing".into(),
    ))
}

/// `POST /unipay/sync/allocation`: `AllocSyncModel` has only the common members (seed 000);
/// the order's status after the sync is what the query answers.
pub async fn sync(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Outcome::Refused(NOT_FOUND.into()));
    };
    sync_order(&app, stored, None).await?;
    Ok(Outcome::Ok(views::data(
        &views::Common {},
        req.common.spelling,
    )))
}

/// The finish transition (SPEC §4.4): allowed from `allocation_end` and `finish_failed`.
/// Accepted → `finish`; refused → `finish_failed`; unknown → unchanged, retried by the
/// scheduler with backoff.
pub async fn finish_order(
    app: &App,
    mut stored: StoredAllocation,
) -> Result<Result<AllocationOrder, String>, ApiError> {
    let now = app.clock.now();
    if !matches!(
        stored.order.status,
        AllocationStatus::End | AllocationStatus::FinishFailed
    ) {
        return Ok(Err(format!(
            "分账单状态错误 (status is {}; finish needs allocation_end or finish_failed)",
            stored.order.status
        )));
    }
    let o = &stored.order;
    let outcome = app
        .channels
        .finish(o.channel, &o.out_order_no, &o.allocation_no, now)
        .await
        .map_err(|e| e.masked(&accounts_of(&stored.details)));
    for _ in 0..RACES {
        let before = stored.order.status;
        match &outcome {
            Ok(()) => {
                stored.order.status = AllocationStatus::Finish;
                stored.order.finish_time = Some(now);
                stored.order.error_code = None;
                stored.order.error_msg = None;
            }
            Err(ChannelError::Rejected { code, msg }) => {
                tracing::warn!(code = %code, msg = %msg, "channel refused the finish");
                stored.order.status = AllocationStatus::FinishFailed;
                stored.order.error_code = Some(code.clone());
                stored.order.error_msg = Some(msg.clone());
            }
            Err(e) => {
                tracing::warn!(error = %e, "finish outcome unknown; retried later");
                stored.order.sync_attempts += 1;
                stored.order.due = Some(Due {
                    kind: DueKind::Finish,
                    at: next_sync(app, stored.order.sync_attempts, now),
                });
            }
        }
        if commit(app, &mut stored, before, &[], false).await? {
            tracing::info!(status = %stored.order.status, "finish recorded");
            return Ok(Ok(stored.order));
        }
        stored = reload(app, &stored.order.allocation_no).await?;
        if !matches!(
            stored.order.status,
            AllocationStatus::End | AllocationStatus::FinishFailed
        ) {
            return Ok(Ok(stored.order));
        }
    }
    Err(ApiError::System(
        "allocation kept changing while finishing".into(),
    ))
}

/// `POST /unipay/allocation/finish`.
pub async fn finish(app: App, req: Verified<AllocationRef>) -> Result<Outcome, ApiError> {
    let Some(stored) = find(&app, &req.params).await? else {
        return Ok(Outcome::Refused(NOT_FOUND.into()));
    };
    Ok(match finish_order(&app, stored).await? {
        Ok(order) => answer(&order, req.common.spelling),
        Err(why) => Outcome::Refused(why),
    })
}
