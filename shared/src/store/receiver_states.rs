//! A receiver's binding with its channel, step by step (SPEC §4.8, §9): each step moves its
//! `bindState` by a conditional write, so an add and a remove, or two adds, never leave the
//! store and the channel disagreeing about a usable receiver.

use super::item::{n, s};
use super::keys::receiver_key;
use super::receivers::{Written, receiver_from_item};
use super::{Store, StoreError, conditional, db_err};
use crate::domain::{BindState, Receiver};
use aws_sdk_dynamodb::types::{Delete, ReturnValue, TransactWriteItem};

impl Store {
    /// Moves a receiver from `from` to `to`, under `extra` conditions; the receiver as it now
    /// is, or `None` if it is not there in that state.
    async fn move_receiver(
        &self,
        receiver_no: &str,
        from: &[BindState],
        to: BindState,
        extra: &str,
    ) -> Result<Option<Receiver>, StoreError> {
        let mut states: Vec<String> = (0..from.len())
            .map(|i| format!("bindState = :from{i}"))
            .collect();
        if from.contains(&BindState::Bound) {
            states.push("attribute_not_exists(bindState)".into());
        }
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(receiver_key(&self.scope, receiver_no)))
            .update_expression("SET bindState = :to")
            .condition_expression(format!(
                "attribute_exists(pk) AND ({}){extra}",
                states.join(" OR ")
            ))
            .expression_attribute_values(":to", s(to.code()))
            .return_values(ReturnValue::AllNew);
        for (i, state) in from.iter().enumerate() {
            update = update.expression_attribute_values(format!(":from{i}"), s(state.code()));
        }
        if !extra.is_empty() {
            update = update.expression_attribute_values(":zero", n(0));
        }
        match update.send().await {
            Ok(out) => out.attributes.as_ref().map(receiver_from_item).transpose(),
            // the condition did not hold: not there in that state
            Err(e) => conditional::<(), _>(Err(e)).map(|_| None),
        }
    }

    /// The channel bound it: usable from now on.
    pub async fn receiver_bound(&self, receiver_no: &str) -> Result<Option<Receiver>, StoreError> {
        self.move_receiver(receiver_no, &[BindState::Binding], BindState::Bound, "")
            .await
    }

    /// Starts a receiver's removal: no group lists it, and none may from now on.
    pub async fn start_unbinding(&self, receiver_no: &str) -> Result<Option<Receiver>, StoreError> {
        self.move_receiver(
            receiver_no,
            &[BindState::Bound, BindState::Unbinding],
            BindState::Unbinding,
            " AND groupCount = :zero",
        )
        .await
    }

    /// The channel refused to unbind it: it stays, usable.
    pub async fn unbinding_refused(
        &self,
        receiver_no: &str,
    ) -> Result<Option<Receiver>, StoreError> {
        self.move_receiver(receiver_no, &[BindState::Unbinding], BindState::Bound, "")
            .await
    }

    /// Deletes a receiver in `state` (`Binding`: the channel refused to bind it; `Unbinding`:
    /// the channel unbound it); `Conflict` if it is not there in that state.
    pub async fn remove_receiver(
        &self,
        receiver_no: &str,
        state: BindState,
    ) -> Result<Written, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(receiver_key(&self.scope, receiver_no)))
            .condition_expression("bindState = :state AND groupCount = :zero")
            .expression_attribute_values(":state", s(state.code()))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(db_err)?;
        self.write(vec![TransactWriteItem::builder().delete(delete).build()])
            .await
    }
}
