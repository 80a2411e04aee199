//! Reconciliation's side of the table (SPEC §4.13): our splits and returns of a day, read
//! through the `byDay` index and batched reads (no per-row round trip), and each app's cursor
//! per channel: the next day to reconcile, due on the `due` index from 10:00 the day after.
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | cursor | `RECON#<channel>` | `CURSOR` | `day`; `duePk` `DUE#reconcile` / `dueAt` |
//!
//! Every allocation order and return carries `dayPk` from its creation: `ALL#<yyyy-MM-dd>`
//! (its day in Beijing time) where the deployment keeps no order lists, its status and day
//! where it does (`store::ops`); the key never changes, so it costs one index write per order.

use super::allocations::order_from_item;
use super::item::{Item, get_n, get_s, key, n, s};
use super::keys::{ORDER_SK, RETURN_PREFIX, Scope};
use super::returns::return_from_item;
use super::schema::{BY_DAY_INDEX, BY_DAY_PK, DUE_AT, DUE_PK, PK, SK};
use super::{Store, StoreError, conditional};
use crate::domain::numbers::beijing_day;
use crate::domain::{Allocation, AllocationStatus, Channel, DueKind, ReturnOrder};

const CURSOR_SK: &str = "CURSOR";
const CURSOR_PREFIX: &str = "RECON#";
/// Keys per batched read (DynamoDB's limit).
const BATCH: usize = 100;

fn cursor_key(sc: &Scope, channel: Channel) -> Item {
    key(sc.pk(&format!("{CURSOR_PREFIX}{channel}")), CURSOR_SK)
}

/// The channel of a cursor item's (unscoped) keys.
pub(super) fn cursor_channel(pk: &str, sk: &str) -> Option<Channel> {
    (sk == CURSOR_SK)
        .then(|| pk.strip_prefix(CURSOR_PREFIX))
        .flatten()
        .and_then(Channel::from_code)
}

/// The `dayPk` every order and return of this scope created at `created_at` carries where no
/// order lists are kept.
pub(super) fn all_day_key(sc: &Scope, created_at: i64) -> String {
    sc.pk(&format!("ALL#{}", beijing_day(created_at)))
}

/// Our records of one day: the allocation orders and the returns created on it.
#[derive(Debug, Default)]
pub struct DayRecords {
    pub orders: Vec<Allocation>,
    pub returns: Vec<ReturnOrder>,
}

/// Where an app's reconciliation with a channel stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileCursor {
    /// The next day to reconcile, `yyyy-MM-dd`.
    pub day: String,
    /// How many times this day was tried.
    pub attempts: i64,
}

impl Store {
    /// Every allocation order and return of this app created on `day` (`yyyy-MM-dd`): the
    /// day's `byDay` partitions (keys only), then the items in batches of 100.
    pub async fn day_records(&self, day: &str) -> Result<DayRecords, StoreError> {
        let mut partitions = vec![self.scope.pk(&format!("ALL#{day}"))];
        partitions.extend(
            AllocationStatus::ALL
                .iter()
                .map(|st| self.scope.pk(&format!("{}#{day}", st.code()))),
        );
        let mut records = DayRecords::default();
        let mut keys: Vec<Item> = Vec::new();
        for partition in partitions {
            // keys only: a page holds thousands
            let found = self
                .query_all(Some(BY_DAY_INDEX), BY_DAY_PK, &partition, false)
                .await?;
            keys.extend(
                found
                    .iter()
                    .filter_map(|i| Some(key(get_s(i, PK)?, &get_s(i, SK)?))),
            );
        }
        keys.sort_by_key(|k| (get_s(k, PK), get_s(k, SK)));
        keys.dedup();
        for batch in keys.chunks(BATCH) {
            let items = self.read_batch(batch.to_vec(), false).await?;
            for item in items {
                let sk = get_s(&item, SK).unwrap_or_default();
                if sk == ORDER_SK {
                    let (order, details, _) = order_from_item(&item)?;
                    records.orders.push(Allocation {
                        order,
                        details: details.unwrap_or_default(),
                    });
                } else if sk.starts_with(RETURN_PREFIX) {
                    records.returns.push(return_from_item(&item)?.0);
                }
            }
        }
        Ok(records)
    }

    /// The app's reconciliation cursor for `channel` (`None`: not reconciled).
    pub async fn reconcile_cursor(
        &self,
        channel: Channel,
    ) -> Result<Option<ReconcileCursor>, StoreError> {
        Ok(self
            .get(cursor_key(&self.scope, channel))
            .await?
            .and_then(|item| {
                Some(ReconcileCursor {
                    day: get_s(&item, "day")?,
                    attempts: get_n(&item, "attempts").unwrap_or_default(),
                })
            }))
    }

    /// Starts reconciling `channel` from `first_day`, due at `due_at`, unless it already is
    /// (`false`: the cursor was there, unchanged).
    pub async fn start_reconciling(
        &self,
        channel: Channel,
        first_day: &str,
        due_at: i64,
    ) -> Result<bool, StoreError> {
        let mut item = cursor_key(&self.scope, channel);
        item.insert("day".into(), s(first_day));
        item.insert("attempts".into(), n(0));
        item.insert(DUE_PK.into(), s(DueKind::Reconcile.partition()));
        item.insert(DUE_AT.into(), n(due_at));
        conditional(
            self.db
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await,
        )
    }

    /// Moves the cursor from `from` to `to`, due at `due_at`, if it still stands at `from`
    /// (`false`: someone moved it first). `attempts` is `to`'s: 0 for a new day, one more for
    /// the same day tried again.
    pub async fn move_cursor(
        &self,
        channel: Channel,
        from: &str,
        to: &str,
        attempts: i64,
        due_at: i64,
        last_error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(cursor_key(&self.scope, channel)))
            .condition_expression("#day = :from")
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#due", DUE_AT)
            .expression_attribute_names("#att", "attempts")
            .expression_attribute_names("#err", "lastError")
            .expression_attribute_values(":from", s(from))
            .expression_attribute_values(":to", s(to))
            .expression_attribute_values(":due", n(due_at))
            .expression_attribute_values(":att", n(attempts));
        update = match last_error {
            Some(e) => update
                .update_expression("SET #day = :to, #due = :due, #att = :att, #err = :err")
                .expression_attribute_values(":err", s(e)),
            None => {
                update.update_expression("SET #day = :to, #due = :due, #att = :att REMOVE #err")
            }
        };
        conditional(update.send().await)
    }
}
