//! Groups (ours; DaxPay had them in its admin UI only): receivers with rates, of one channel,
//! at most one default group per channel (SPEC §4.8). Every change is a versioned write;
//! membership changes update the receivers' group counts in the same transaction.

use super::Outcome;
use super::receivers::ok;
use crate::app::App;
use crate::daxpay::receiver_params::{
    GroupBindParams, GroupRef, GroupSaveParams, GroupUnbindParams, QueryGroupParams,
};
use crate::daxpay::request::Verified;
use crate::daxpay::{ApiError, our_views};
use crate::domain::money::{FULL_RATE, MAX_RECEIVERS};
use crate::domain::receivers::check_receivers;
use crate::domain::{Group, GroupMember, RACES, Refusal};
use crate::store::Written;

/// `POST /unipay/allocation/group/create`.
pub async fn create(app: App, req: Verified<GroupSaveParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let group = Group {
        group_no: p.group_no.clone(),
        name: p.name,
        channel: p.channel,
        remark: p.remark,
        members: Vec::new(),
    };
    Ok(match app.store.create_group(&group).await? {
        Written::Done => ok(&our_views::GroupNoView {
            group_no: &group.group_no,
        }),
        Written::Conflict => Refusal::GroupExists(group.group_no).into(),
    })
}

fn no_group(group_no: &str) -> Outcome {
    Refusal::GroupNotFound(group_no.to_owned()).into()
}

/// Re-reads the group and applies `change` until the versioned write wins. `change` returns
/// the receivers that join and leave, or a refusal.
async fn change_group<F>(app: &App, group_no: &str, mut change: F) -> Result<Outcome, ApiError>
where
    F: FnMut(&mut Group) -> Result<(Vec<String>, Vec<String>), Refusal>,
{
    for _ in 0..RACES {
        let Some((mut group, version)) = app.store.group(group_no).await? else {
            return Ok(no_group(group_no));
        };
        let (joined, left) = match change(&mut group) {
            Ok(x) => x,
            Err(why) => return Ok(why.into()),
        };
        match app
            .store
            .save_group(&group, version, &joined, &left)
            .await?
        {
            Written::Done => {
                return Ok(ok(&our_views::GroupRatesView {
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
pub async fn update(app: App, req: Verified<GroupSaveParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    change_group(&app, &p.group_no, |g| {
        if g.channel != p.channel {
            return Err(Refusal::GroupChannelFixed {
                group_no: g.group_no.clone(),
                channel: g.channel,
            });
        }
        g.name = p.name.clone();
        g.remark = p.remark.clone();
        Ok((Vec::new(), Vec::new()))
    })
    .await
}

/// `POST /unipay/allocation/group/bind`: adds receivers (or changes their rates).
pub async fn bind(app: App, req: Verified<GroupBindParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let nos: Vec<String> = p.receivers.iter().map(|r| r.receiver_no.clone()).collect();
    let found = app.store.receivers(&nos).await?;
    change_group(&app, &p.group_no, |g| {
        let chosen = check_receivers(g.channel, nos.iter().map(String::as_str), &found)?;
        let mut joined = Vec::new();
        for (want, r) in p.receivers.iter().zip(chosen) {
            match g
                .members
                .iter_mut()
                .find(|m| m.receiver_no == want.receiver_no)
            {
                Some(m) => m.rate = want.rate.get(),
                None => {
                    joined.push(r.receiver_no.clone());
                    g.members.push(GroupMember {
                        receiver_no: r.receiver_no.clone(),
                        rate: want.rate.get(),
                        receiver_type: r.receiver_type,
                        receiver_account: r.receiver_account.clone(),
                        receiver_name: r.receiver_name.clone(),
                    });
                }
            }
        }
        if g.members.len() > MAX_RECEIVERS {
            return Err(Refusal::GroupTooLarge);
        }
        let total = g.total_rate();
        if total > FULL_RATE {
            return Err(Refusal::RatesOverFull(total));
        }
        Ok((joined, Vec::new()))
    })
    .await
}

/// `POST /unipay/allocation/group/unbind`: removes receivers from a group.
pub async fn unbind(app: App, req: Verified<GroupUnbindParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    change_group(&app, &p.group_no, |g| {
        for no in &p.receiver_nos {
            if !g.members.iter().any(|m| &m.receiver_no == no) {
                return Err(Refusal::NotAMember {
                    receiver_no: no.clone(),
                    group_no: g.group_no.clone(),
                });
            }
        }
        g.members
            .retain(|m| !p.receiver_nos.contains(&m.receiver_no));
        Ok((Vec::new(), p.receiver_nos.clone()))
    })
    .await
}

/// `POST /unipay/allocation/group/delete` (not while it is its channel's default).
pub async fn delete(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    for _ in 0..RACES {
        let Some((group, version)) = app.store.group(&no).await? else {
            return Ok(no_group(&no));
        };
        if app.store.default_group_no(group.channel).await?.as_deref() == Some(no.as_str()) {
            return Ok(Refusal::DefaultGroupUndeletable {
                group_no: no,
                channel: group.channel,
            }
            .into());
        }
        if app.store.delete_group(&group, version).await? == Written::Done {
            return Ok(ok(&our_views::GroupNoView { group_no: &no }));
        }
    }
    Err(ApiError::System(format!("group {no} kept changing")))
}

/// `POST /unipay/allocation/group/setDefault`.
pub async fn set_default(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    let Some((group, _)) = app.store.group(&no).await? else {
        return Ok(no_group(&no));
    };
    Ok(match app.store.set_default_group(&group).await? {
        Written::Done => ok(&our_views::DefaultGroupView {
            group_no: &no,
            channel: group.channel,
        }),
        Written::Conflict => no_group(&no),
    })
}

/// `POST /unipay/allocation/group/clearDefault`.
pub async fn clear_default(app: App, req: Verified<GroupRef>) -> Result<Outcome, ApiError> {
    let no = req.params.group_no;
    let Some((group, _)) = app.store.group(&no).await? else {
        return Ok(no_group(&no));
    };
    Ok(
        match app.store.clear_default_group(group.channel, &no).await? {
            Written::Done => ok(&our_views::DefaultGroupView {
                group_no: &no,
                channel: group.channel,
            }),
            Written::Conflict => Refusal::NotTheDefault(no).into(),
        },
    )
}

/// `POST /unipay/allocation/group/query`: by groupNo and/or channel.
pub async fn query(app: App, req: Verified<QueryGroupParams>) -> Result<Outcome, ApiError> {
    let p = req.params;
    let groups: Vec<Group> = match p.group_no.as_deref().filter(|g| !g.is_empty()) {
        Some(no) => app
            .store
            .group(no)
            .await?
            .map(|(g, _)| g)
            .into_iter()
            .filter(|g| p.channel.is_none_or(|c| c == g.channel))
            .collect(),
        None => match p.channel {
            Some(c) => app.store.groups_of(c).await?,
            None => Vec::new(),
        },
    };
    // every group listed is of one channel (one group, or the groups of one channel)
    let default_no = match groups.first() {
        Some(g) => app.store.default_group_no(g.channel).await?,
        None => None,
    };
    Ok(ok(&our_views::GroupsView {
        groups: groups
            .iter()
            .map(|g| our_views::GroupView::new(g, default_no.as_deref()))
            .collect(),
    }))
}
