//! Reading and writing attribute values, and the sparse `due` attributes.

use super::StoreError;
use super::schema::{DUE_AT, DUE_PK, PK, SK};
use crate::domain::{Due, DueKind};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// One DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

pub(super) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(super) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(super) fn get_s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}
pub(super) fn get_n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}
pub(super) fn get_bool(item: &Item, name: &str) -> Option<bool> {
    match item.get(name) {
        Some(AttributeValue::Bool(v)) => Some(*v),
        _ => None,
    }
}
pub(super) fn need<T>(v: Option<T>, what: &str) -> Result<T, StoreError> {
    v.ok_or_else(|| StoreError::Db(format!("stored item lacks a valid `{what}`")))
}

pub(super) fn opt_s(v: &Option<String>) -> AttributeValue {
    v.as_deref().map_or(AttributeValue::Null(true), s)
}

/// Sets the sparse `due` index attributes (absent when nothing is due).
pub(super) fn insert_due(item: &mut Item, due: Option<Due>) {
    if let Some(d) = due {
        item.insert(DUE_PK.into(), s(d.kind.partition()));
        item.insert(DUE_AT.into(), n(d.at));
    }
}

pub(super) fn due_of(item: &Item) -> Option<Due> {
    Some(Due {
        kind: DueKind::from_partition(&get_s(item, DUE_PK)?)?,
        at: get_n(item, DUE_AT)?,
    })
}
