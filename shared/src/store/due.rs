//! Due work through the sparse `due` index (SPEC §5, §7): a page of what is due, each item
//! told in domain terms with an opaque lease, and the lease itself (its due time moved on, so
//! the next scheduler run does not queue it again while its job waits).

use super::item::{Item, get_n, get_s, key, n, s};
use super::keys::{
    Scope, allocation_no_of, notice_topic_of, order_no_of, return_no_of, statement_subject_of,
};
use super::schema::{DUE_AT, DUE_INDEX, DUE_PK, PK, SK};
use super::{Store, StoreError, conditional, db_err};
use crate::domain::{DueKind, Topic};

/// What a due item is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DueSubject {
    /// An allocation order (a sync or a finish).
    Allocation(String),
    /// A pay order (its auto allocation).
    PayOrder(String),
    /// A merchant notice: its subject (allocationNo, orderNo, or a statement's channel and day)
    /// and topic.
    Notice(String, Topic),
    /// A return (allocationNo, returnNo).
    Return(String, String),
    /// An app of the registry (its merchant's authorisation).
    App(String),
    /// An app's reconciliation with a channel.
    Reconcile(crate::domain::Channel),
}

/// The right to move one due item's time: only the store reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pk: String,
    sk: String,
    at: i64,
}

/// A due item: its kind, the app it belongs to, what it is about (`None`: an item of a shape
/// we do not know) and its lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueItem {
    pub kind: DueKind,
    pub scope: Scope,
    pub subject: Option<DueSubject>,
    pub lease: Lease,
}

/// Where the next page starts: the index itself is the cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor(Item);

/// What a due item of `kind` with these (unscoped) keys is about.
fn subject_of(kind: DueKind, pk: &str, sk: &str) -> Option<DueSubject> {
    match kind {
        DueKind::Sync | DueKind::Finish => {
            Some(DueSubject::Allocation(allocation_no_of(pk)?.to_owned()))
        }
        DueKind::AutoAllocate | DueKind::Deadline => {
            Some(DueSubject::PayOrder(order_no_of(pk)?.to_owned()))
        }
        DueKind::ReturnSync => Some(DueSubject::Return(
            allocation_no_of(pk)?.to_owned(),
            return_no_of(sk)?.to_owned(),
        )),
        DueKind::AppAuthRefresh => Some(DueSubject::App(
            pk.strip_prefix(super::tenants::APP_PK_PREFIX)?.to_owned(),
        )),
        DueKind::Reconcile => Some(DueSubject::Reconcile(super::reconcile::cursor_channel(
            pk, sk,
        )?)),
        DueKind::Notify => {
            let topic = notice_topic_of(sk)?;
            let subject = match topic {
                Topic::Expiring => order_no_of(pk)?,
                Topic::ReconcileDiscrepancy => statement_subject_of(pk)?,
                _ => allocation_no_of(pk)?,
            };
            Some(DueSubject::Notice(subject.to_owned(), topic))
        }
    }
}

impl Store {
    /// Items whose `kind` work is due at `now`, oldest first, one page of at most `limit`.
    pub async fn due_page(
        &self,
        kind: DueKind,
        now: i64,
        limit: i32,
        cursor: Option<Cursor>,
    ) -> Result<(Vec<DueItem>, Option<Cursor>), StoreError> {
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("#p = :p AND #a <= :now")
            .expression_attribute_names("#p", DUE_PK)
            .expression_attribute_names("#a", DUE_AT)
            .expression_attribute_values(":p", s(kind.partition()))
            .expression_attribute_values(":now", n(now))
            .limit(limit)
            .set_exclusive_start_key(cursor.map(|c| c.0))
            .send()
            .await
            .map_err(db_err)?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|i| {
                let (pk, sk, at) = (get_s(i, PK)?, get_s(i, SK)?, get_n(i, DUE_AT)?);
                let (scope, subject) = match Scope::split(&pk) {
                    Some((scope, rest)) => (scope, subject_of(kind, rest, &sk)),
                    None => (Scope::default_app(), None),
                };
                Some(DueItem {
                    kind,
                    scope,
                    subject,
                    lease: Lease { pk, sk, at },
                })
            })
            .collect();
        let next = out.last_evaluated_key.filter(|k| !k.is_empty()).map(Cursor);
        Ok((items, next))
    }

    /// Leases a due item until `until`. `false`: it changed meanwhile (done, or leased by
    /// someone else).
    pub async fn lease(&self, lease: &Lease, until: i64) -> Result<bool, StoreError> {
        let result = self
            .db
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(lease.pk.clone(), &lease.sk)))
            .update_expression("SET dueAt = :until")
            .condition_expression("dueAt = :at")
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":at", n(lease.at))
            .send()
            .await;
        conditional(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AllocationStatus, ReturnStatus};
    use crate::store::item::get_s;
    use crate::store::keys::{alloc_pk, notice_key, pay_pk};

    /// The keys the store writes lead back to what they are about.
    #[test]
    fn due_items_name_their_subjects() {
        let d = Scope::default_app();
        let a = alloc_pk(&d, "A1");
        let order = Some(DueSubject::Allocation("A1".into()));
        assert_eq!(subject_of(DueKind::Sync, &a, "ORDER"), order);
        assert_eq!(subject_of(DueKind::Finish, &a, "ORDER"), order);
        assert_eq!(
            subject_of(DueKind::AutoAllocate, &pay_pk(&d, "P1"), "PAY"),
            Some(DueSubject::PayOrder("P1".into()))
        );
        let topics = [
            ("A1", Topic::Status(AllocationStatus::End)),
            (
                "A1",
                Topic::Return {
                    return_no: "R1".into(),
                    status: ReturnStatus::Failed,
                },
            ),
            ("P1", Topic::Expiring),
            ("wechat_pay#2026-12-01", Topic::ReconcileDiscrepancy),
        ];
        for (subject, topic) in topics {
            let key = notice_key(&d, subject, &topic);
            let (pk, sk) = (get_s(&key, PK), get_s(&key, SK));
            assert_eq!(
                subject_of(
                    DueKind::Notify,
                    &pk.unwrap_or_default(),
                    &sk.unwrap_or_default()
                ),
                Some(DueSubject::Notice(subject.into(), topic))
            );
        }
        assert_eq!(subject_of(DueKind::Sync, &pay_pk(&d, "P1"), "PAY"), None);
        assert_eq!(subject_of(DueKind::Notify, &a, "NOTICE#nonsense"), None);
        let not_a_statement = subject_of(DueKind::Notify, &a, "NOTICE#reconcile_discrepancy");
        assert_eq!(not_a_statement, None);
    }
}
