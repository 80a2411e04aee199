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
use crate::domain::{BindState, ChannelError, Receiver, Refusal, Relation};
use crate::store::Written;

/// An accepted answer from its view (these endpoints name no allocation, so the spelling does
/// not matter).
pub(crate) fn ok<T: serde::Serialize>(view: &T) -> Outcome {
    Outcome::Ok(views::data(view, Spelling::V207))
}

/// A channel's answer to a bind or unbind, as the merchant is told it.
fn channel_refusal(action: &'static str, e: ChannelError) -> Refusal {
    match e {
        ChannelError::Rejected { code, msg } | ChannelError::Unsent { code, msg } => {
            Refusal::ChannelRefused { action, code, msg }
        }
        e @ (ChannelError::Ambiguous(_) | ChannelError::Pending { .. }) => {
            tracing::warn!(reason = %e, "{action}: channel outcome unknown");
            Refusal::ChannelUnclear(action)
        }
        ChannelError::NotConfigured(c) => Refusal::ChannelNotConfigured(c),
    }
}

/// `POST /unipay/allocation/receiver/add`: `AllocReceiverAddModel` (common members only).
///
/// The receiverNo is taken first (stored `binding`, by a conditional write), then the channel
/// binds, then the receiver becomes usable: two adds of one number never both bind, and a bind
/// cut short (an unclear answer, a crash) is finished by the same add repeated. A refused bind
/// gives the number back.
pub async fn add(app: App, req: Verified<ReceiverAddParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let receiver = Receiver {
        receiver_no: p.receiver_no,
        channel: p.channel,
        receiver_type: p.receiver_type,
        receiver_account: p.receiver_account,
        receiver_name: p.receiver_name,
        relation_type: p.relation_type,
        relation_name: p.relation_name,
        group_count: 0,
        state: BindState::Binding,
    };
    let no = receiver.receiver_no.clone();
    let channel = match app.channels.get(receiver.channel) {
        Ok(c) => c,
        Err(e) => return Ok(channel_refusal(BIND, e).into()),
    };
    if app.store.add_receiver(&receiver).await? == Written::Conflict {
        match app.store.receiver(&no).await? {
            // the same add, cut short before: finish it
            Some(r) if r.state == BindState::Binding && r.same_binding(&receiver) => {
                tracing::info!(receiverNo = %no, "finishing a bind cut short");
            }
            _ => return Ok(Refusal::ReceiverExists(no).into()),
        }
    }
    let now = app.clock.now();
    let account = receiver.account();
    let relation = Relation {
        relation_type: receiver.relation_type,
        custom: receiver.relation_name.clone(),
    };
    let request_no = new_request_no('B', now);
    match channel.bind(&account, &relation, &request_no, now).await {
        Ok(()) => {}
        Err(e) if e.is_unknown() => {
            // it stays `binding`: the same add repeated finishes it
            return Ok(channel_refusal(BIND, e.masked(&[account.account.as_str()])).into());
        }
        Err(e) => {
            app.store.remove_receiver(&no, BindState::Binding).await?;
            return Ok(channel_refusal(BIND, e.masked(&[account.account.as_str()])).into());
        }
    }
    app.store.receiver_bound(&no).await?;
    tracing::info!(receiverNo = %no, channel = %receiver.channel, "receiver added");
    Ok(Outcome::Model(Box::new(Model::Done)))
}

/// `POST /unipay/allocation/receiver/remove`: `AllocReceiverRemoveModel` (common members only).
///
/// The receiver is marked `unbinding` first (by a conditional write that needs no group to
/// list it, after which none may), then the channel unbinds, then it is deleted: a receiver a
/// group lists is never unbound at the channel. A refused unbind leaves it usable; an unclear
/// one is finished by the same remove repeated.
pub async fn remove(app: App, req: Verified<ReceiverRemoveParams>) -> Result<Outcome, ApiError> {
    let no = req.params.receiver_no;
    let Some(r) = app.store.start_unbinding(&no).await? else {
        return Ok(match app.store.receiver(&no).await? {
            Some(r) if r.group_count > 0 => Refusal::ReceiverInGroups {
                receiver_no: no,
                groups: r.group_count,
            },
            _ => Refusal::ReceiverNotFound(no),
        }
        .into());
    };
    let now = app.clock.now();
    let account = r.account();
    let request_no = new_request_no('U', now);
    let unbound = match app.channels.get(r.channel) {
        Ok(c) => c.unbind(&account, &request_no, now).await,
        Err(e) => Err(e),
    };
    match unbound {
        Ok(()) => {}
        Err(e) if e.is_unknown() => {
            // it stays `unbinding`: the same remove repeated finishes it
            return Ok(channel_refusal(UNBIND, e.masked(&[account.account.as_str()])).into());
        }
        Err(e) => {
            app.store.unbinding_refused(&no).await?;
            return Ok(channel_refusal(UNBIND, e.masked(&[account.account.as_str()])).into());
        }
    }
    app.store.remove_receiver(&no, BindState::Unbinding).await?;
    tracing::info!(receiverNo = %no, "receiver removed");
    Ok(Outcome::Model(Box::new(Model::Done)))
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
