//! Pay orders (SPEC §4.1): stored from DaxPay's pay notices, and shown as stored.

use super::Outcome;
use crate::app::App;
use crate::daxpay::params::QueryPayOrderParams;
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, our_views, views};
use crate::domain::{
    Allocation, AllocationStatus, ChannelError, DetailResult, PayOrder, Refund, Refusal,
};
use crate::store::{FeedOutcome, StoreError};

/// Upserts the pay order of a verified pay notice: idempotent, never regresses a paid order,
/// never touches the allocation mark; one that wants auto allocation becomes due after the
/// configured delay.
pub async fn apply_notice(app: &App, order: &PayOrder) -> Result<FeedOutcome, StoreError> {
    let (outcome, stored) = app
        .store
        .apply_pay_notice(order, app.clock.now(), app.jobs.auto_allocation_delay_secs)
        .await?;
    // frozen funds are watched until their freeze deadline (SPEC §4.11); written once, also
    // when a repeated notice finds the pay order unchanged (the first may have failed here)
    if let Some(at) = super::deadline::watch_at(app, &stored) {
        app.store.watch_deadline(&stored.order_no, at).await?;
    }
    Ok(outcome)
}

/// Records the refund of a verified refund notice: idempotent; a successful refund leaves less
/// to split (SPEC §4.9).
pub async fn apply_refund(app: &App, refund: &Refund) -> Result<FeedOutcome, StoreError> {
    let (outcome, pay) = app
        .store
        .apply_refund_notice(refund, app.clock.now())
        .await?;
    // a successful refund settles the Alipay refund plans it carries (again on a repeated
    // notice: settling is idempotent, and the first may have failed here)
    if refund.status == crate::domain::RefundStatus::Success
        && let Some(allocation_no) = &pay.allocation_no
    {
        super::return_life::settle_plans(app, refund, allocation_no)
            .await
            .map_err(|e| StoreError::Db(e.to_string()))?;
    }
    Ok(outcome)
}

async fn find(app: &App, p: &QueryPayOrderParams) -> Result<Option<(PayOrder, i64)>, ApiError> {
    Ok(match p.order_no.as_deref().filter(|s| !s.is_empty()) {
        Some(order_no) => app.store.pay_order(order_no).await?,
        None => match p.biz_order_no.as_deref() {
            Some(biz) => app.store.pay_order_by_biz(biz).await?,
            None => None,
        },
    })
}

/// `POST /unipay/query/allocatable` (ours, SPEC §4.10): what can still be split, by our
/// records and by the channel's own figure, and when the channel releases the frozen funds.
pub async fn allocatable(
    app: App,
    req: Verified<QueryPayOrderParams>,
) -> Result<Outcome, ApiError> {
    let Some((pay, _)) = find(&app, &req.params).await? else {
        return Ok(Refusal::PayOrderNotFound.into());
    };
    let allocation = match &pay.allocation_no {
        Some(no) => app.store.allocation(no).await?,
        None => None,
    };
    let split = allocation
        .as_ref()
        .map_or(Split::default(), |s| Split::of(&s.allocation));
    let channel = match (
        app.channels
            .for_account(pay.channel, pay.account.as_deref()),
        pay.trade_no(),
    ) {
        (Ok(client), Ok(trade_no)) => Some(client.unsplit(trade_no, app.clock.now()).await),
        _ => None,
    };
    let (channel_allocatable, channel_error) = match channel {
        None => (
            None,
            Some(
                "支付通道未配置或缺少通道交易号 (channel not configured, or no outOrderNo)"
                    .to_owned(),
            ),
        ),
        Some(Ok(fen)) => (Some(fen), None),
        Some(Err(ChannelError::Rejected { code, msg })) => (None, Some(format!("{code} {msg}"))),
        Some(Err(e)) => {
            tracing::warn!(cause = %e, "the channel's unsplit figure is not available");
            let why = match e {
                ChannelError::Pending { .. } => {
                    "订单处理中 (the channel is still settling the payment; ask again later)"
                }
                _ => "通道暂时不可用 (the channel did not answer clearly; ask again later)",
            };
            (None, Some(why.to_owned()))
        }
    };
    let view = our_views::AllocatableView {
        order_no: &pay.order_no,
        biz_order_no: &pay.biz_order_no,
        channel: pay.channel,
        amount: pay.amount,
        refunded: pay.refunded,
        allocation_no: pay.allocation_no.as_deref(),
        allocated: split.allocated,
        allocatable: if split.released {
            0
        } else {
            (pay.splittable() - split.allocated).max(0)
        },
        channel_allocatable,
        channel_error: channel_error.as_deref(),
        freeze_deadline: pay
            .pay_time
            .filter(|_| pay.allocation)
            .map(|t| app.jobs.freeze_deadline(t)),
    };
    Ok(Outcome::Ok(views::data(&view, req.common.spelling)))
}

/// What an allocation took from its pay order.
#[derive(Debug, Default)]
struct Split {
    /// Fen split or being split (details pending or successful).
    allocated: i64,
    /// Finished: the channel released the rest to the merchant.
    released: bool,
}

impl Split {
    fn of(a: &Allocation) -> Self {
        Self {
            allocated: a
                .details
                .iter()
                .filter(|d| matches!(d.result, DetailResult::Pending | DetailResult::Success))
                .map(|d| d.amount)
                .sum(),
            released: a.order.status == AllocationStatus::Finish,
        }
    }
}

/// `POST /unipay/query/payOrder` (ours): the pay order as the feed stored it.
pub async fn query(app: App, req: Verified<QueryPayOrderParams>) -> Result<Outcome, ApiError> {
    Ok(match find(&app, &req.params).await? {
        Some((order, _)) => Outcome::Ok(views::data(
            &our_views::PayOrderView::from(&order),
            req.common.spelling,
        )),
        None => Refusal::PayOrderNotFound.into(),
    })
}
