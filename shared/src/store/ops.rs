//! Operations reads (SPEC §4.12): the orders flagged for a human, and the orders of a status
//! created on a day, newest first, a page at a time through the sparse `flagged` and `byDay`
//! indexes; and many orders at once by number. No Scan.

use super::allocations::order_from_item;
use super::item::{Item, get_n, get_s, n, s};
use super::keys::{Scope, alloc_pk, allocation_no_of, day_pk, flagged_mark, order_key};
use super::schema::{BY_DAY_INDEX, BY_DAY_PK, CREATED_AT, FLAGGED_INDEX, FLAGGED_PK, PK};
use super::{Store, StoreError, db_err};
use crate::domain::numbers::beijing_day;
use crate::domain::{AllocationOrder, AllocationStatus};

/// The `dayPk` of an order of `status` created at `created_at` (within its scope).
pub(super) fn day_key(sc: &Scope, status: AllocationStatus, created_at: i64) -> String {
    day_pk(
        sc,
        &format!("{}#{}", status.code(), beijing_day(created_at)),
    )
}

/// Where the next page of a list of orders starts. Its text (`<createdAt>.<allocationNo>`) is
/// what the operator passes back; it only positions the read, so a forged one reads from
/// elsewhere in the same list and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCursor {
    created_at: i64,
    allocation_no: String,
}

impl OrderCursor {
    pub fn parse(text: &str) -> Option<Self> {
        let (at, no) = text.split_once('.')?;
        let ok_no = !no.is_empty()
            && no.len() <= 32
            && no
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        Some(Self {
            created_at: at.parse().ok().filter(|t| *t >= 0)?,
            allocation_no: ok_no.then(|| no.to_owned())?,
        })
    }

    pub fn text(&self) -> String {
        format!("{}.{}", self.created_at, self.allocation_no)
    }

    fn key(&self, sc: &Scope, (hash, value): (&str, &str)) -> Item {
        let mut key = order_key(sc, &self.allocation_no);
        key.insert(hash.into(), s(value));
        key.insert(CREATED_AT.into(), n(self.created_at));
        key
    }

    fn of_key(sc: &Scope, key: &Item) -> Option<Self> {
        Some(Self {
            created_at: get_n(key, CREATED_AT)?,
            allocation_no: allocation_no_of(sc.strip(&get_s(key, PK)?)?)?.to_owned(),
        })
    }
}

/// One list of orders: an index and the value of its hash key.
struct List {
    index: &'static str,
    hash: (&'static str, String),
}

impl Store {
    /// One page of at most `limit` orders flagged for a human and still processing, newest
    /// first, and where the next page starts (`None`: this was the last).
    pub async fn flagged_page(
        &self,
        limit: usize,
        after: Option<&OrderCursor>,
    ) -> Result<(Vec<AllocationOrder>, Option<OrderCursor>), StoreError> {
        let list = List {
            index: FLAGGED_INDEX,
            hash: (FLAGGED_PK, flagged_mark(&self.scope)),
        };
        let (orders, next) = self.order_page(&list, limit, after).await?;
        // The index is eventually consistent: an order settled since it was read is left out.
        let orders = orders
            .into_iter()
            .filter(|o| o.flagged && o.status == AllocationStatus::Processing)
            .collect();
        Ok((orders, next))
    }

    /// One page of at most `limit` orders of `status` created on the Beijing `day`
    /// (`yyyy-MM-dd`), newest first, and where the next page starts. Empty where the
    /// deployment keeps no order lists.
    pub async fn day_page(
        &self,
        status: AllocationStatus,
        day: &str,
        limit: usize,
        after: Option<&OrderCursor>,
    ) -> Result<(Vec<AllocationOrder>, Option<OrderCursor>), StoreError> {
        let list = List {
            index: BY_DAY_INDEX,
            hash: (
                BY_DAY_PK,
                day_pk(&self.scope, &format!("{}#{day}", status.code())),
            ),
        };
        let (orders, next) = self.order_page(&list, limit, after).await?;
        // An order whose status changed since the index was read is left out.
        let orders = orders.into_iter().filter(|o| o.status == status).collect();
        Ok((orders, next))
    }

    /// A page of `list`, newest first: one Query of the keys-only index, one batch read.
    async fn order_page(
        &self,
        list: &List,
        limit: usize,
        after: Option<&OrderCursor>,
    ) -> Result<(Vec<AllocationOrder>, Option<OrderCursor>), StoreError> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(list.index)
            .key_condition_expression("#h = :h")
            .expression_attribute_names("#h", list.hash.0)
            .expression_attribute_values(":h", s(&list.hash.1))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(|c| c.key(&self.scope, (list.hash.0, &list.hash.1))))
            .send()
            .await
            .map_err(db_err)?;
        let numbers: Vec<String> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|k| Some(allocation_no_of(self.scope.strip(&get_s(k, PK)?)?)?.to_owned()))
            .collect();
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .and_then(|k| OrderCursor::of_key(&self.scope, &k));
        let orders = self.orders(&numbers).await?.into_iter().flatten().collect();
        Ok((orders, next))
    }

    /// The orders of these numbers, in their order (`None` for a number with no order), in
    /// one batch read. At most 100 numbers.
    pub async fn orders(
        &self,
        numbers: &[String],
    ) -> Result<Vec<Option<AllocationOrder>>, StoreError> {
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let found = self
            .get_many(
                numbers
                    .iter()
                    .map(|no| order_key(&self.scope, no))
                    .collect(),
            )
            .await?;
        numbers
            .iter()
            .map(|no| match found.get(&alloc_pk(&self.scope, no)) {
                Some(item) => order_from_item(item).map(|(order, _, _)| Some(order)),
                None => Ok(None),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_refuse_what_is_not_one() {
        let c = OrderCursor::parse("1719475200.DEVA2406011713000003");
        assert_eq!(
            c.as_ref().map(OrderCursor::text).as_deref(),
            Some("1719475200.DEVA2406011713000003")
        );
        for bad in [
            "",
            "1719475200",
            ".A1",
            "-1.A1",
            "x.A1",
            "1.A 1",
            "1.",
            &format!("1.{}", "A".repeat(33)),
        ] {
            assert_eq!(OrderCursor::parse(bad), None, "{bad}");
        }
    }
}
