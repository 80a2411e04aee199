//! Operations reads (SPEC §4.12): the orders flagged for a human, newest first, a page at a time
//! through the sparse `flagged` index, and many orders at once by number. No Scan.

use super::allocations::order_from_item;
use super::item::{Item, get_n, get_s, n, s};
use super::keys::{alloc_pk, allocation_no_of, order_key};
use super::schema::{CREATED_AT, FLAGGED_INDEX, FLAGGED_PK, PK};
use super::{Store, StoreError, db_err};
use crate::domain::{AllocationOrder, AllocationStatus};

/// The value of `flaggedPk` on an order flagged for a human and still processing.
pub const FLAGGED_MARK: &str = "FLAGGED";

/// Where the next page of flagged orders starts. Its text (`<createdAt>.<allocationNo>`) is
/// what the operator passes back; it only positions the read, so a forged one reads from
/// elsewhere in the same index and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedCursor {
    created_at: i64,
    allocation_no: String,
}

impl FlaggedCursor {
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

    fn key(&self) -> Item {
        let mut key = order_key(&self.allocation_no);
        key.insert(FLAGGED_PK.into(), s(FLAGGED_MARK));
        key.insert(CREATED_AT.into(), n(self.created_at));
        key
    }

    fn of_key(key: &Item) -> Option<Self> {
        Some(Self {
            created_at: get_n(key, CREATED_AT)?,
            allocation_no: allocation_no_of(&get_s(key, PK)?)?.to_owned(),
        })
    }
}

impl Store {
    /// One page of at most `limit` orders flagged for a human and still processing, newest
    /// first, and where the next page starts (`None`: this was the last).
    pub async fn flagged_page(
        &self,
        limit: usize,
        after: Option<&FlaggedCursor>,
    ) -> Result<(Vec<AllocationOrder>, Option<FlaggedCursor>), StoreError> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(FLAGGED_INDEX)
            .key_condition_expression("#f = :f")
            .expression_attribute_names("#f", FLAGGED_PK)
            .expression_attribute_values(":f", s(FLAGGED_MARK))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(after.map(FlaggedCursor::key))
            .send()
            .await
            .map_err(db_err)?;
        let numbers: Vec<String> = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|k| Some(allocation_no_of(&get_s(k, PK)?)?.to_owned()))
            .collect();
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .and_then(|k| FlaggedCursor::of_key(&k));
        // The index is eventually consistent: an order settled since it was read is left out.
        let orders = self
            .orders(&numbers)
            .await?
            .into_iter()
            .flatten()
            .filter(|o| o.flagged && o.status == AllocationStatus::Processing)
            .collect();
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
            .get_many(numbers.iter().map(|no| order_key(no)).collect())
            .await?;
        numbers
            .iter()
            .map(|no| match found.get(&alloc_pk(no)) {
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
        let c = FlaggedCursor::parse("1719475200.DEVA2406011713000003");
        assert_eq!(
            c.as_ref().map(FlaggedCursor::text).as_deref(),
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
            assert_eq!(FlaggedCursor::parse(bad), None, "{bad}");
        }
    }
}
