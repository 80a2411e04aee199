//! Receivers, groups and the default group of each channel (SPEC §4.8).
//!
//! A group item holds its members (with a copy of each receiver's account: receivers never
//! change), so one read gives everything a start needs. Each receiver counts the groups that
//! list it; a receiver is removed only while that count is 0, and group membership changes
//! update the counts in the same transaction.

use super::item::{Item, get_n, get_s, n, need, s};
use super::keys::Scope;
use super::keys::{default_group_key, group_key, groups_of, receiver_key, receivers_of};
use super::schema::{GSI1, GSI1_PK, GSI1_SK};
use super::{Store, StoreError, db_err};
use crate::domain::{BindState, Channel, Group, GroupMember, Receiver, ReceiverType, RelationType};
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem, Update};
use serde_json::{Value, json};

fn receiver_to_item(sc: &Scope, r: &Receiver) -> Item {
    let mut item = receiver_key(sc, &r.receiver_no);
    item.insert("type".into(), s("receiver"));
    item.insert("receiverNo".into(), s(&r.receiver_no));
    item.insert("channel".into(), s(r.channel.code()));
    item.insert("receiverType".into(), s(r.receiver_type.code()));
    item.insert("receiverAccount".into(), s(&r.receiver_account));
    item.insert("relationType".into(), s(r.relation_type.code()));
    if let Some(v) = &r.receiver_name {
        item.insert("receiverName".into(), s(v));
    }
    if let Some(v) = &r.relation_name {
        item.insert("relationName".into(), s(v));
    }
    item.insert("groupCount".into(), n(r.group_count));
    item.insert("bindState".into(), s(r.state.code()));
    item.insert(GSI1_PK.into(), s(receivers_of(sc, r.channel)));
    item.insert(GSI1_SK.into(), s(&r.receiver_no));
    item
}

pub(super) fn receiver_from_item(item: &Item) -> Result<Receiver, StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    Ok(Receiver {
        receiver_no: code("receiverNo")?,
        channel: need(Channel::from_code(&code("channel")?), "channel")?,
        receiver_type: need(
            ReceiverType::from_code(&code("receiverType")?),
            "receiverType",
        )?,
        receiver_account: code("receiverAccount")?,
        receiver_name: get_s(item, "receiverName"),
        relation_type: need(
            RelationType::from_code(&code("relationType")?),
            "relationType",
        )?,
        relation_name: get_s(item, "relationName"),
        group_count: get_n(item, "groupCount").unwrap_or_default(),
        state: need(
            BindState::from_code(get_s(item, "bindState").as_deref()),
            "bindState",
        )?,
    })
}

/// A receiver a start or a group may use: bound at the channel.
pub(super) fn usable_receiver(item: &Item) -> Option<Result<Receiver, StoreError>> {
    match receiver_from_item(item) {
        Ok(r) if r.state != BindState::Bound => None,
        other => Some(other),
    }
}

/// Only a bound receiver (or one stored before states were) may join a group.
const USABLE: &str = "(attribute_not_exists(bindState) OR bindState = :bound)";

fn members_json(members: &[GroupMember]) -> String {
    Value::Array(
        members
            .iter()
            .map(|m| {
                json!({"receiverNo": m.receiver_no, "rate": m.rate, "receiverType": m.receiver_type.code(),
                       "receiverAccount": m.receiver_account, "receiverName": m.receiver_name})
            })
            .collect(),
    )
    .to_string()
}

fn members_from_json(text: &str) -> Result<Vec<GroupMember>, StoreError> {
    let bad = || StoreError::Db("group members are not readable".into());
    let value: Value = serde_json::from_str(text).map_err(|_| bad())?;
    let mut out = Vec::new();
    for m in value.as_array().ok_or_else(bad)? {
        let str_of = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        out.push(GroupMember {
            receiver_no: str_of("receiverNo").ok_or_else(bad)?,
            rate: m.get("rate").and_then(Value::as_i64).ok_or_else(bad)?,
            receiver_type: str_of("receiverType")
                .and_then(|t| ReceiverType::from_code(&t))
                .ok_or_else(bad)?,
            receiver_account: str_of("receiverAccount").ok_or_else(bad)?,
            receiver_name: str_of("receiverName"),
        });
    }
    Ok(out)
}

fn group_to_item(sc: &Scope, g: &Group, version: i64) -> Item {
    let mut item = group_key(sc, &g.group_no);
    item.insert("type".into(), s("group"));
    item.insert("groupNo".into(), s(&g.group_no));
    item.insert("name".into(), s(&g.name));
    item.insert("channel".into(), s(g.channel.code()));
    if let Some(r) = &g.remark {
        item.insert("remark".into(), s(r));
    }
    item.insert("members".into(), s(members_json(&g.members)));
    item.insert("ver".into(), n(version));
    item.insert(GSI1_PK.into(), s(groups_of(sc, g.channel)));
    item.insert(GSI1_SK.into(), s(&g.group_no));
    item
}

pub(super) fn group_from_item(item: &Item) -> Result<(Group, i64), StoreError> {
    let code = |name: &str| need(get_s(item, name), name);
    let group = Group {
        group_no: code("groupNo")?,
        name: get_s(item, "name").unwrap_or_default(),
        channel: need(Channel::from_code(&code("channel")?), "channel")?,
        remark: get_s(item, "remark"),
        members: members_from_json(&get_s(item, "members").unwrap_or_else(|| "[]".into()))?,
    };
    Ok((group, need(get_n(item, "ver"), "ver")?))
}

/// How a receiver or group change was decided by the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Done,
    /// A condition failed: the thing exists already, does not exist, or changed meanwhile.
    Conflict,
}

impl Store {
    /// A transaction whose failed condition means "exists already / gone / changed".
    pub(super) async fn write(&self, items: Vec<TransactWriteItem>) -> Result<Written, StoreError> {
        Ok(match self.transact(items).await? {
            None => Written::Done,
            Some(_) => Written::Conflict,
        })
    }

    fn count_update(&self, receiver_no: &str, delta: i64) -> Result<TransactWriteItem, StoreError> {
        // Leaving needs the count to stay ≥ 0; joining needs the receiver to exist, bound.
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(receiver_key(&self.scope, receiver_no)))
            .update_expression("SET groupCount = groupCount + :d")
            .expression_attribute_values(":d", n(delta))
            .expression_attribute_values(":min", n(if delta < 0 { -delta } else { 0 }));
        update = if delta > 0 {
            update
                .condition_expression(format!(
                    "attribute_exists(pk) AND groupCount >= :min AND {USABLE}"
                ))
                .expression_attribute_values(":bound", s(BindState::Bound.code()))
        } else {
            update.condition_expression("attribute_exists(pk) AND groupCount >= :min")
        };
        let update = update.build().map_err(db_err)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    pub async fn receiver(&self, receiver_no: &str) -> Result<Option<Receiver>, StoreError> {
        match self.get(receiver_key(&self.scope, receiver_no)).await? {
            Some(item) => receiver_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// Stores a new receiver (in the state it carries: `Binding` while the channel is asked);
    /// `Conflict` if the receiverNo exists.
    pub async fn add_receiver(&self, r: &Receiver) -> Result<Written, StoreError> {
        let item = self.put(
            receiver_to_item(&self.scope, r),
            Some("attribute_not_exists(pk)"),
        )?;
        self.write(vec![item]).await
    }

    /// The bound receivers of a channel, by receiverNo (paged through the `gsi1` index).
    pub async fn receivers_of(&self, channel: Channel) -> Result<Vec<Receiver>, StoreError> {
        self.query_gsi1(&receivers_of(&self.scope, channel))
            .await?
            .iter()
            .filter_map(usable_receiver)
            .collect()
    }

    async fn query_gsi1(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.query_all(Some(GSI1), GSI1_PK, pk, false).await
    }

    /// Bound receivers by number (one batch read); missing ones (and those being bound or
    /// unbound) are simply absent.
    pub async fn receivers(&self, receiver_nos: &[String]) -> Result<Vec<Receiver>, StoreError> {
        if receiver_nos.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .get_many(
                receiver_nos
                    .iter()
                    .map(|no| receiver_key(&self.scope, no))
                    .collect(),
            )
            .await?;
        found.values().filter_map(usable_receiver).collect()
    }

    pub async fn group(&self, group_no: &str) -> Result<Option<(Group, i64)>, StoreError> {
        match self.get(group_key(&self.scope, group_no)).await? {
            Some(item) => group_from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    pub async fn groups_of(&self, channel: Channel) -> Result<Vec<Group>, StoreError> {
        self.query_gsi1(&groups_of(&self.scope, channel))
            .await?
            .iter()
            .map(|i| group_from_item(i).map(|(g, _)| g))
            .collect()
    }

    /// The default group number of a channel.
    pub async fn default_group_no(&self, channel: Channel) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(default_group_key(&self.scope, channel))
            .await?
            .and_then(|item| get_s(&item, "groupNo")))
    }

    /// Creates a group (no members); `Conflict` if the groupNo exists.
    pub async fn create_group(&self, g: &Group) -> Result<Written, StoreError> {
        let item = self.put(
            group_to_item(&self.scope, g, 1),
            Some("attribute_not_exists(pk)"),
        )?;
        self.write(vec![item]).await
    }

    /// Saves a group at `version`: its name, remark and members. Receivers that join or leave
    /// have their group counts changed in the same transaction. `Conflict`: the group changed
    /// meanwhile, or a joining receiver is gone.
    pub async fn save_group(
        &self,
        group: &Group,
        version: i64,
        joined: &[String],
        left: &[String],
    ) -> Result<Written, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(group_to_item(&self.scope, group, version + 1)))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        for no in joined {
            items.push(self.count_update(no, 1)?);
        }
        for no in left {
            items.push(self.count_update(no, -1)?);
        }
        self.write(items).await
    }

    /// Deletes a group at `version`, releasing its members, unless it is its channel's default.
    pub async fn delete_group(&self, group: &Group, version: i64) -> Result<Written, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(group_key(&self.scope, &group.group_no)))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version))
            .build()
            .map_err(db_err)?;
        let not_default = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(default_group_key(&self.scope, group.channel)))
            .condition_expression("attribute_not_exists(pk) OR groupNo <> :g")
            .expression_attribute_values(":g", s(&group.group_no))
            .build()
            .map_err(db_err)?;
        let mut items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            TransactWriteItem::builder()
                .condition_check(not_default)
                .build(),
        ];
        for m in &group.members {
            items.push(self.count_update(&m.receiver_no, -1)?);
        }
        self.write(items).await
    }

    /// Makes `group` the default of its channel (replacing any other), if it still exists.
    pub async fn set_default_group(&self, group: &Group) -> Result<Written, StoreError> {
        let mut pointer = default_group_key(&self.scope, group.channel);
        pointer.insert("groupNo".into(), s(&group.group_no));
        let exists = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(group_key(&self.scope, &group.group_no)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(db_err)?;
        let items = vec![
            self.put(pointer, None)?,
            TransactWriteItem::builder().condition_check(exists).build(),
        ];
        self.write(items).await
    }

    /// Clears the channel's default group if it is `group_no`.
    pub async fn clear_default_group(
        &self,
        channel: Channel,
        group_no: &str,
    ) -> Result<Written, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(default_group_key(&self.scope, channel)))
            .condition_expression("groupNo = :g")
            .expression_attribute_values(":g", s(group_no))
            .build()
            .map_err(db_err)?;
        self.write(vec![TransactWriteItem::builder().delete(delete).build()])
            .await
    }
}
