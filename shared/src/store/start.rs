//! What a start needs to read (SPEC §4.2 steps 3-4), in at most two round trips: the pay order
//! (through its bizOrderNo pointer when named that way) and its receivers: the listed ones, the
//! named group, or the default groups of every channel that shares (the pay order's channel is
//! not known before it is read). The bizAllocationNo claim is not read here: the create
//! transaction's condition on it decides (`service::start::run`).

use super::item::{Item, get_s, need};
use super::keys::{
    default_group_key, default_group_pk, group_key, group_pk, pay_biz_key, pay_biz_pk, pay_key,
    pay_pk, receiver_key, receiver_pk,
};
use super::pay_orders::pay_order_from_item;
use super::receivers::{group_from_item, usable_receiver};
use super::{Store, StoreError};
use crate::domain::{Channel, Group, PayOrder, Receiver};
use std::collections::HashMap;

/// How the start names its pay order.
#[derive(Debug, Clone, Copy)]
pub enum PayOrderRef<'a> {
    OrderNo(&'a str),
    BizOrderNo(&'a str),
}

/// Where the start's receivers come from (SPEC §4.2 step 4).
#[derive(Debug, Clone, Copy)]
pub enum ReceiversRef<'a> {
    Listed(&'a [String]),
    Group(&'a str),
    DefaultGroup,
}

#[derive(Debug, Clone, Copy)]
pub struct StartLookup<'a> {
    pub pay_order: PayOrderRef<'a>,
    pub receivers: ReceiversRef<'a>,
}

/// What was found.
#[derive(Debug, Clone, Default)]
pub struct StartSnapshot {
    pub pay_order: Option<PayOrder>,
    /// The listed receivers that exist.
    pub receivers: Vec<Receiver>,
    /// The named group.
    pub group: Option<Group>,
    /// The default group of each sharing channel that has one.
    pub default_groups: Vec<Group>,
}

impl StartSnapshot {
    pub fn default_group(&self, channel: Channel) -> Option<&Group> {
        self.default_groups.iter().find(|g| g.channel == channel)
    }
}

fn sharing_channels() -> impl Iterator<Item = Channel> {
    Channel::ALL
        .iter()
        .copied()
        .filter(|c| c.supports_sharing())
}

impl Store {
    /// Reads everything a start decides on: one batch read, and a second only for a pay order
    /// behind a bizOrderNo pointer or a default group behind its pointer.
    pub async fn load_start(&self, q: &StartLookup<'_>) -> Result<StartSnapshot, StoreError> {
        let mut keys = Vec::new();
        match q.pay_order {
            PayOrderRef::OrderNo(o) => keys.push(pay_key(&self.scope, o)),
            PayOrderRef::BizOrderNo(b) => keys.push(pay_biz_key(&self.scope, b)),
        }
        match q.receivers {
            ReceiversRef::Listed(nos) => {
                keys.extend(nos.iter().map(|no| receiver_key(&self.scope, no)))
            }
            ReceiversRef::Group(g) => keys.push(group_key(&self.scope, g)),
            ReceiversRef::DefaultGroup => {
                keys.extend(sharing_channels().map(|c| default_group_key(&self.scope, c)))
            }
        }
        let first = self.get_many(keys).await?;
        let mut snapshot = StartSnapshot::default();

        let mut second = Vec::new();
        let pointed = match q.pay_order {
            PayOrderRef::BizOrderNo(b) => first
                .get(&pay_biz_pk(&self.scope, b))
                .map(order_no_in)
                .transpose()?,
            PayOrderRef::OrderNo(_) => None,
        };
        if let Some(o) = &pointed {
            second.push(pay_key(&self.scope, o));
        }
        let mut default_nos = Vec::new();
        if let ReceiversRef::DefaultGroup = q.receivers {
            for channel in sharing_channels() {
                if let Some(g) = first
                    .get(&default_group_pk(&self.scope, channel))
                    .and_then(|i| get_s(i, "groupNo"))
                {
                    second.push(group_key(&self.scope, &g));
                    default_nos.push(g);
                }
            }
        }
        let second: HashMap<String, Item> = if second.is_empty() {
            HashMap::new()
        } else {
            self.get_many(second).await?
        };

        let pay_item = match (q.pay_order, &pointed) {
            (PayOrderRef::OrderNo(o), _) => first.get(&pay_pk(&self.scope, o)),
            (PayOrderRef::BizOrderNo(_), Some(o)) => second.get(&pay_pk(&self.scope, o)),
            (PayOrderRef::BizOrderNo(_), None) => None,
        };
        snapshot.pay_order = pay_item
            .map(|i| pay_order_from_item(i).map(|(p, _)| p))
            .transpose()?;
        match q.receivers {
            ReceiversRef::Listed(nos) => {
                snapshot.receivers = nos
                    .iter()
                    .filter_map(|no| first.get(&receiver_pk(&self.scope, no)))
                    .filter_map(usable_receiver)
                    .collect::<Result<_, _>>()?;
            }
            ReceiversRef::Group(g) => {
                snapshot.group = first
                    .get(&group_pk(&self.scope, g))
                    .map(|i| group_from_item(i).map(|(g, _)| g))
                    .transpose()?;
            }
            ReceiversRef::DefaultGroup => {
                for no in default_nos {
                    if let Some(item) = second.get(&group_pk(&self.scope, &no)) {
                        snapshot.default_groups.push(group_from_item(item)?.0);
                    }
                }
            }
        }
        Ok(snapshot)
    }
}

fn order_no_in(pointer: &Item) -> Result<String, StoreError> {
    need(get_s(pointer, "orderNo"), "orderNo")
}
