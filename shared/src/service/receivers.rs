//! Receivers (SPEC §4.8): bound at the channel before they are stored, unbound before they are
//! deleted, never removed while a group lists them.

use super::{Model, Outcome};
use crate::app::App;
use crate::daxpay::receiver_params::{
    QueryReceiverParams, ReceiverAddParams, ReceiverRemoveParams,
};
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, Spelling, views};
use crate::domain::numbers::new_request_no;
use crate::domain::refusal::{BIND, UNBIND};
use crate::domain::{ChannelError, Receiver, Refusal, Relation};
use crate::store::Written;

/// An accepted answer from its view (these endpoints name no allocation, so the spelling does
/// not matter).
pub(crate) fn ok<T: serde::Serialize>(view: &T) -> Outcome {
    Outcome::Ok(views::data(view, Spelling::V207))
}

/// A channel's answer to a bind or unbind, as the merchant is told it.
fn channel_refusal(action: &'static str, e: ChannelError) -> Refusal {
    match e {
        ChannelError::Rejected { code, msg } => Refusal::ChannelRefused { action, code, msg },
        ChannelError::Ambiguous(why) => {
            tracing::warn!(reason = %why, "{action}: channel outcome unknown");
            Refusal::ChannelUnclear(action)
        }
        ChannelError::NotConfigured(c) => Refusal::ChannelNotConfigured(c),
    }
}

/// `POST /unipay/allocation/receiver/add`: `AllocReceiverAddModel` (common members only).
pub async fn add(app: App, req: Verified<ReceiverAddParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    if app.store.receiver(&p.receiver_no).await?.is_some() {
        return Ok(Refusal::ReceiverExists(p.receiver_no).into());
    }
    let receiver = Receiver {
        receiver_no: p.receiver_no,
        channel: p.channel,
        receiver_type: p.receiver_type,
        receiver_account: p.receiver_account,
        receiver_name: p.receiver_name,
        relation_type: p.relation_type,
        relation_name: p.relation_name,
        group_count: 0,
    };
    let channel = match app.channels.get(receiver.channel) {
        Ok(c) => c,
        Err(e) => return Ok(channel_refusal(BIND, e).into()),
    };
    let now = app.clock.now();
    let account = receiver.account();
    let relation = Relation {
        relation_type: receiver.relation_type,
        custom: receiver.relation_name.clone(),
    };
    let request_no = new_request_no('B', now);
    if let Err(e) = channel.bind(&account, &relation, &request_no, now).await {
        let e = e.masked(&[account.account.as_str()]);
        return Ok(channel_refusal(BIND, e).into());
    }
    Ok(match app.store.add_receiver(&receiver).await? {
        Written::Done => {
            tracing::info!(receiverNo = %receiver.receiver_no, channel = %receiver.channel, "receiver added");
            Outcome::Model(Box::new(Model::Done))
        }
        Written::Conflict => Refusal::ReceiverExists(receiver.receiver_no).into(),
    })
}

/// `POST /unipay/allocation/receiver/remove`: `AllocReceiverRemoveModel` (common members only).
pub async fn remove(app: App, req: Verified<ReceiverRemoveParams>) -> Result<Outcome, ApiError> {
    let no = req.params.receiver_no;
    let Some(r) = app.store.receiver(&no).await? else {
        return Ok(Refusal::ReceiverNotFound(no).into());
    };
    if r.group_count > 0 {
        return Ok(Refusal::ReceiverInGroups {
            receiver_no: no,
            groups: r.group_count,
        }
        .into());
    }
    let now = app.clock.now();
    let account = r.account();
    let request_no = new_request_no('U', now);
    let unbound = match app.channels.get(r.channel) {
        Ok(c) => c.unbind(&account, &request_no, now).await,
        Err(e) => Err(e),
    };
    if let Err(e) = unbound {
        let e = e.masked(&[account.account.as_str()]);
        return Ok(channel_refusal(UNBIND, e).into());
    }
    Ok(match app.store.remove_receiver(&no).await? {
        Written::Done => {
            tracing::info!(receiverNo = %no, "receiver removed");
            Outcome::Model(Box::new(Model::Done))
        }
        Written::Conflict => Refusal::ReceiverJoinedGroup(no).into(),
    })
}

/// `POST /unipay/query/allocationReceiver`: `AllocReceiversModel`, by receiverNo and/or
/// channel; accounts masked.
pub async fn query(app: App, req: Verified<QueryReceiverParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let list: Vec<Receiver> = match p.receiver_no.as_deref().filter(|n| !n.is_empty()) {
        Some(no) => app
            .store
            .receiver(no)
            .await?
            .into_iter()
            .filter(|r| p.channel.is_none_or(|c| c == r.channel))
            .collect(),
        None => match p.channel {
            Some(c) => app.store.receivers_of(c).await?,
            None => Vec::new(),
        },
    };
    Ok(Outcome::Model(Box::new(Model::Receivers(list))))
}
