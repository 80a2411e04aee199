//! The freeze-deadline watch (SPEC §4.11): a channel releases a payment's frozen funds to the
//! merchant if nothing is split in time. Every pay order fed with funds frozen gets a due item
//! at its deadline less a margin; when it comes and the pay order is still unsplit, it is
//! allocated with the default group (`FREEZE_DEADLINE_ACTION=allocate`) or the merchant is sent
//! a signed `allocation_expiring` notice, and an alarm is raised. Nothing is scanned.

use super::return_life::queue_notice;
use super::start;
use crate::app::App;
use crate::daxpay::ApiError;
use crate::daxpay::params::StartParams;
use crate::domain::numbers::deadline_biz_allocation_no;
use crate::domain::{Notice, PayOrder, PayStatus, Topic};
use serde_json::{Value, json};

/// Whether the pay order's frozen funds are watched, and from when.
pub fn watch_at(app: &App, pay: &PayOrder) -> Option<i64> {
    if !(pay.allocation && pay.status == PayStatus::Success && pay.allocation_no.is_none()) {
        return None;
    }
    let paid = pay.pay_time?;
    Some(app.jobs.freeze_deadline(paid) - app.jobs.freeze_deadline_margin_secs)
}

/// The watch of `order_no` is due.
pub async fn watch(app: &App, order_no: &str) -> Result<(), ApiError> {
    let Some((pay, _)) = app.store.pay_order(order_no).await? else {
        return app
            .store
            .end_deadline_watch(order_no, None)
            .await
            .map_err(Into::into);
    };
    if pay.allocation_no.is_some() || !pay.allocation || pay.status != PayStatus::Success {
        return app
            .store
            .end_deadline_watch(order_no, None)
            .await
            .map_err(Into::into);
    }
    let deadline = pay.pay_time.map(|t| app.jobs.freeze_deadline(t));
    if app.jobs.freeze_deadline_allocates {
        let params = StartParams {
            biz_allocation_no: deadline_biz_allocation_no(order_no),
            order_no: Some(order_no.to_owned()),
            biz_order_no: None,
            description: Some("冻结到期前自动分账".into()),
            group_no: None,
            receivers: None,
            notify_url: None,
            attach: None,
            not_notify: None,
            title: None,
        };
        match start::run(app, &params, app.jobs.default_spelling, None).await? {
            Ok(order) => {
                tracing::warn!(alert = "allocation_expiring", allocationNo = %order.allocation_no, deadline, "pay order near its freeze deadline: allocated with the default group");
                return app
                    .store
                    .end_deadline_watch(order_no, None)
                    .await
                    .map_err(Into::into);
            }
            Err(refusal) => {
                tracing::error!(alert = "allocation_expiring", reason = %refusal, deadline, "pay order near its freeze deadline could not be allocated; the merchant is told");
            }
        }
    } else {
        tracing::error!(
            alert = "allocation_expiring",
            deadline,
            "pay order near its freeze deadline is still unsplit; the merchant is told"
        );
    }
    let notice = notice_for(app, &pay, deadline);
    app.store
        .end_deadline_watch(order_no, notice.as_ref())
        .await?;
    queue_notice(app, notice.as_ref()).await;
    Ok(())
}

/// The signed `allocation_expiring` notice, to the default notify URL (a pay order has no
/// notifyUrl of its own).
fn notice_for(app: &App, pay: &PayOrder, deadline: Option<i64>) -> Option<Notice> {
    let url = app.jobs.default_notify_url.clone()?;
    let now = app.clock.now();
    let mut body = json!({
        "orderNo": pay.order_no, "bizOrderNo": pay.biz_order_no, "outOrderNo": pay.out_order_no,
        "title": pay.title, "channel": pay.channel, "amount": pay.amount,
        "refunded": pay.refunded, "allocatable": pay.splittable(), "payTime": pay.pay_time,
        "freezeDeadline": deadline, "status": crate::domain::notice::EXPIRING,
        "code": 0, "resTime": now,
    });
    if let Value::Object(m) = &mut body {
        m.retain(|_, v| !v.is_null());
        app.verifier.signer.sign_in_place(m);
    }
    Some(Notice::new(
        pay.order_no.clone(),
        Topic::Expiring,
        url,
        body.to_string(),
        app.jobs.notice_schedule(),
        now,
    ))
}
