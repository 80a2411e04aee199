//! Receivers and groups (SPEC §4.8). Receivers are bound at the channel before they are
//! stored, and unbound before they are deleted.

use super::allocation::account_of;
use crate::api::store_error;
use crate::api::{App, Outcome};
use crate::channel::{Account, ChannelError};
use crate::daxpay::{Spelling, views};
use crate::error::ApiError;
use crate::model::{Group, GroupMember, Receiver};
use crate::params::{
    FULL_RATE, GroupBindParams, GroupRef, GroupSaveParams, GroupUnbindParams, MAX_RECEIVERS,
    QueryGroupParams, QueryReceiverParams, ReceiverAddParams, ReceiverRemoveParams,
};
use crate::request::Verified;
use crate::rules;
use crate::store::receivers::Written;

const RACES: usize = 5;

/// An accepted answer from its view (these endpoints name no allocation, so the spelling
/// does not matter).
fn ok<T: serde::Serialize>(view: &T) -> Outcome {
    Outcome::Ok(views::data(view, Spelling::V207))
}

fn channel_refusal(action: &str, e: ChannelError) -> Outcome {
    match e {
        ChannelError::Rejected { code, msg } => {
            Outcome::Refused(format!("{action}失败: {code} {msg}"))
        }
        ChannelError::Ambiguous(why) => {
            tracing::warn!(reason = %why, "{action}: channel outcome unknown");
            Outcome::Refused(format!(
                "{action}失败: 通道暂时不可用，请重试 (channel did not answer clearly; retry)"
            ))
        }
        ChannelError::NotConfigured(c) => {
            Outcome::Refused(format!("支付通道 {c} 未配置分账 (channel not configured)"))
        }
    }
}

/// `POST /unipay/allocation/receiver/add`.
pub async fn add(app: App, req: Verified<ReceiverAddParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    if app
        .store
        .receiver(&p.receiver_no)
        .await
        .map_err(store_error)?
        .is_some()
    {
        return Ok(Outcome::Refused(format!(
            "分账接收方编号已存在 (receiver {} exists)",
            p.receiver_no
        )));
    }
    if !app.channels.is_configured(p.channel) {
        return Ok(channel_refusal(
            "绑定分账接收方",
            ChannelError::NotConfigured(p.channel),
        ));
    }
    let now = app.clock.now();
    let account = Account {
        receiver_type: p.receiver_type,
        account: p.receiver_account.clone(),
        name: p.receiver_name.clone(),
    };
    let request_no = rules::new_request_no('B', now);
    let relation = crate::channel::Relation {
        relation_type: p.relation_type,
        custom: p.relation_name.clone(),
    };
    if let Err(e) = app
        .channels
        .bind(p.channel, &account, &relation, &request_no, now)
        .await
    {
        let e = e.masked(&[account.account.as_str()]);
        return Ok(channel_refusal("绑定分账接收方", e));
    }
    let receiver = Receiver {
        receiver_no: p.receiver_no.clone(),
        channel: p.channel,
        receiver_type: p.receiver_type,
        receiver_account: p.receiver_account,
        receiver_name: p.receiver_name,
        relation_type: p.relation_type,
        relation_name: p.relation_name,
        group_count: 0,
    };
    Ok(
        match app
            .store
            .add_receiver(&receiver)
            .await
            .map_err(store_error)?
        {
            Written::Done => {
                tracing::info!(receiverNo = %receiver.receiver_no, channel = %receiver.channel, "receiver added");
                // AllocReceiverAddModel: the common members only
                ok(&views::Common {})
            }
            Written::Conflict => Outcome::Refused(format!(
                "分账接收方编号已存在 (receiver {} exists)",
                receiver.receiver_no
            )),
        },
    )
}

/// `POST /unipay/allocation/receiver/remove`.
pub async fn remove(app: App, req: Verified<ReceiverRemoveParams>) -> Result<Outcome, ApiError> {
    let no = req.params.receiver_no;
    let Some(r) = app.store.receiver(&no).await.map_err(store_error)? else {
        return Ok(Outcome::Refused(format!(
            "分账接收方不存在 (receiver {no} not found)"
        )));
    };
    if r.group_count > 0 {
        return Ok(Outcome::Refused(format!(
            "分账接收方已被分账组使用，不可删除 (receiver {no} is in {} group(s))",
            r.group_count
        )));
    }
    let now = app.clock.now();
    let account = account_of(&r);
    let request_no = rules::new_request_no('U', now);
    if let Err(e) = app
        .channels
        .unbind(r.channel, &account, &request_no, now)
        .await
    {
        let e = e.masked(&[account.account.as_str()]);
        return Ok(channel_refusal("解绑分账接收方", e));
    }
    Ok(
        match app.store.remove_receiver(&no).await.map_err(store_error)? {
            Written::Done => {
                tracing::info!(receiverNo = %no, "receiver removed");
                // AllocReceiverRemoveModel: the common members only
                ok(&views::Common {})
            }
            Written::Conflict => Outcome::Refused(format!(
                "分账接收方已被分账组使用，不可删除 (receiver {no} joined a group meanwhile)"
            )),
        },
    )
}

/// `POST /unipay/query/allocationReceiver`: by receiverNo and/or channel; accounts masked.
pub async fn query_receivers(
    app: App,
    req: Verified<QueryReceiverParams>,
) -> Result<Outcome, ApiError> {
    let p = req.params;
    let list: Vec<Receiver> = match p.receiver_no.as_deref().filter(|n| !n.is_empty()) {
        Some(no) => app
            .store
            .receiver(no)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|r| p.channel.is_none_or(|c| c == r.channel))
            .collect(),
        None => match p.channel {
            Some(c) => app.store.receivers_of(c).await.map_err(store_error)?,
            None => Vec::new(),
        },
    };
    Ok(ok(&views::ReceiversView {
        receivers: list.iter().map(views::ReceiverView::from).collect(),
    }))
}

/// `POST /unipay/allocation/group/create`.
pub async fn group_create(app: App, req: Verified<GroupSaveParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let group = Group {
        group_no: p.group_no.clone(),
        name: p.name,
        channel: p.channel,
        remark: p.remark,
        members: Vec::new(),
    };
    Ok(
        match app.store.create_group(&group).await.map_err(store_error)? {
            Written::Done => ok(&views::GroupNoView {
                group_no: &group.group_no,
            }),
            Written::Conflict => Outcome::Refused(format!(
                "分账组编号已存在 (group {} exists)",
                group.group_no
            )),
        },
    )
}

fn no_group(group_no: &str) -> Outcome {
    Outcome::Refused(format!("分账组不存在 (group {group_no} not found)"))
}

/// Re-reads the group and applies `change` until the versioned write wins. `change` returns
/// the receivers that join and leave, or a refusal.
async fn change_group<F>(app: &App, group_no: &str, mut change: F) -> Result<Outcome, ApiError>
where
    F: FnMut(&mut Group) -> Result<(Vec<String>, Vec<String>), String>,
{
    for _ in 0..RACES {
        let Some((mut group, version)) = app.store.group(group_no).await.map_err(store_error)?
        else {
            return Ok(no_group(group_no));
        };
        let (joined, left) = match change(&mut group) {
            Ok(x) => x,
            Err(why) => return Ok(Outcome::Refused(why)),
        };
        match app
            .store
            .save_group(&group, version, &joined, &left)
            .await
            .map_err(store_error)?
        {
            Written::Done => {
                return Ok(ok(&views::GroupRatesView {
                    group_no: &group.group_no,
                    total_rate: group.total_rate(),
                }));
            }
            Written::Conflict => continue,
        }
    }
    Err(ApiError::System(format!("group {group_no} kept changing")))
}

/// `POST /unipay/allocation/group/update`: name and remark (the channel stays).
pub async fn group_update(app: App, req: Verified<GroupSaveParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    change_group(&app, &p.group_no, |g| {
        if g.channel != p.channel {
            return Err(format!(
                "分账组通道不可修改 (group {} belongs to {})",
                g.group_no, g.channel
            ));
        }
        g.name = p.name.clone();
        g.remark = p.remark.clone();
        Ok((Vec::new(), Vec::new()))
    })
    .await
}

/// `POST /unipay/allocation/group/bind`: adds receivers (or changes their rates).
pub async fn group_bind(app: App, req: Verified<GroupBindParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let nos: Vec<String> = p.receivers.iter().map(|r| r.receiver_no.clone()).collect();
    let found = app.store.receivers(&nos).await.map_err(store_error)?;
    change_group(&app, &p.group_no, |g| {
        let chosen = rules::check_receivers(g.channel, nos.iter().map(String::as_str), &found)?;
        let mut joined = Vec::new();
        for (want, r) in p.receivers.iter().zip(chosen) {
            match g
                .members
                .iter_mut()
                .find(|m| m.receiver_no == want.receiver_no)
            {
                Some(m) => m.rate = want.rate,
                None => {
                    joined.push(r.receiver_no.clone());
                    g.members.push(GroupMember {
                        receiver_no: r.receiver_no.clone(),
                        rate: want.rate,
                        receiver_type: r.receiver_type,
                        receiver_account: r.receiver_account.clone(),
                        receiver_name: r.receiver_name.clone(),
                    });
                }
            }
        }
        if g.members.len() > MAX_RECEIVERS {
            return Err(format!(
                "分账组最多 {MAX_RECEIVERS} 个接收方 (at most {MAX_RECEIVERS} receivers per group)"
            ));
        }
        let total = g.total_rate();
        if total > FULL_RATE {
            return Err(format!(
                "分账比例合计超过 {FULL_RATE} (group rates would add up to {total})"
            ));
        }
        Ok((joined, Vec::new()))
    })
    .await
}

/// `POST /unipay/allocation/group/unbind`: removes receivers from a group.
pub async fn group_unbind(app: App, req: Verified<GroupUnbindParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    change_group(&app, &p.group_no, |g| {
        for no in &p.receiver_nos {
            if !g.members.iter().any(|m| &m.receiver_no == no) {
                return Err(format!("分账接收方 {no} 不在分账组 {} 中", g.group_no));
            }
        }
        g.members
            .retain(|m| !p.receiver_nos.contains(&m.receiver_no));
        Ok((Vec::new(), p.receiver_nos.clone()))
    })
    .await
}

/// `POST /unipay/allocation/group/delete` (not while it is its channel's default).
pub async fn group_delete(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    for _ in 0..RACES {
        let Some((group, version)) = app.store.group(&no).await.map_err(store_error)? else {
            return Ok(no_group(&no));
        };
        if app
            .store
            .default_group_no(group.channel)
            .await
            .map_err(store_error)?
            .as_deref()
            == Some(no.as_str())
        {
            return Ok(Outcome::Refused(format!(
                "默认分账组不可删除，请先取消默认 (group {no} is the default of {})",
                group.channel
            )));
        }
        if app
            .store
            .delete_group(&group, version)
            .await
            .map_err(store_error)?
            == Written::Done
        {
            return Ok(ok(&views::GroupNoView { group_no: &no }));
        }
    }
    Err(ApiError::System(format!("group {no} kept changing")))
}

/// `POST /unipay/allocation/group/setDefault`.
pub async fn group_set_default(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    let Some((group, _)) = app.store.group(&no).await.map_err(store_error)? else {
        return Ok(no_group(&no));
    };
    Ok(
        match app
            .store
            .set_default_group(&group)
            .await
            .map_err(store_error)?
        {
            Written::Done => ok(&views::DefaultGroupView {
                group_no: &no,
                channel: group.channel,
            }),
            Written::Conflict => no_group(&no),
        },
    )
}

/// `POST /unipay/allocation/group/clearDefault`.
pub async fn group_clear_default(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    let Some((group, _)) = app.store.group(&no).await.map_err(store_error)? else {
        return Ok(no_group(&no));
    };
    Ok(
        match app
            .store
            .clear_default_group(group.channel, &no)
            .await
            .map_err(store_error)?
        {
            Written::Done => ok(&views::DefaultGroupView {
                group_no: &no,
                channel: group.channel,
            }),
            Written::Conflict => Outcome::Refused(format!(
                "分账组 {no} 不是默认分账组 (not the default group)"
            )),
        },
    )
}

/// `POST /unipay/allocation/group/query`: by groupNo and/or channel.
pub async fn group_query(app: App, req: Verified<QueryGroupParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let groups: Vec<Group> = match p.group_no.as_deref().filter(|g| !g.is_empty()) {
        Some(no) => app
            .store
            .group(no)
            .await
            .map_err(store_error)?
            .map(|(g, _)| g)
            .into_iter()
            .filter(|g| p.channel.is_none_or(|c| c == g.channel))
            .collect(),
        None => match p.channel {
            Some(c) => app.store.groups_of(c).await.map_err(store_error)?,
            None => Vec::new(),
        },
    };
    // every group listed is of one channel (one group, or the groups of one channel)
    let default_no = match groups.first() {
        Some(g) => app
            .store
            .default_group_no(g.channel)
            .await
            .map_err(store_error)?,
        None => None,
    };
    Ok(ok(&views::GroupsView {
        groups: groups
            .iter()
            .map(|g| views::GroupView::new(g, default_no.as_deref()))
            .collect(),
    }))
}
