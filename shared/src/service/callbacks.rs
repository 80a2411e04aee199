//! Channel notifications (SPEC §6.3): verified again as of their arrival, then applied through
//! the same sync transition as a poll. The channel's own client says what a notification is
//! about; nothing here knows channels.

use super::lifecycle::sync_order;
use crate::app::App;
use crate::channel::Inbound;
use crate::daxpay::ApiError;
use crate::domain::Channel;

/// Why a queued notification was not applied.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The channel is not configured here: the message can never be applied.
    #[error("{0} is not configured")]
    NotConfigured(Channel),
    #[error(transparent)]
    Failed(#[from] ApiError),
}

/// Applies a queued notification. One that no longer verifies is dropped (logged).
pub async fn apply(
    app: &App,
    channel: Channel,
    inbound: &Inbound<'_>,
    received_at: i64,
) -> Result<(), CallbackError> {
    let client = app
        .channels
        .get(channel)
        .map_err(|_| CallbackError::NotConfigured(channel))?;
    let notice = match client.verify_notification(inbound, received_at) {
        Ok(Some(notice)) => notice,
        Ok(None) => return Ok(()),
        Err(why) => {
            tracing::error!(reason = %why, "queued notification does not verify; dropped");
            return Ok(());
        }
    };
    let Some(stored) = app
        .store
        .allocation(&notice.allocation_no)
        .await
        .map_err(ApiError::from)?
    else {
        // a finish (allocationNo + "F") or an order we do not know: nothing to apply
        tracing::info!(request_no = %notice.allocation_no, "notification for no open allocation");
        return Ok(());
    };
    super::record_numbers(
        Some(&stored.order().allocation_no),
        Some(&stored.order().biz_allocation_no),
    );
    sync_order(app, stored, notice.rows).await?;
    Ok(())
}
