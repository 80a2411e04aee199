//! The tenant registry (SPEC §8.1, §8.4): merchants, the list of their apps and the audit
//! trail of every administrative change (the apps themselves: `apps.rs`). These items are the stack's, not an app's: their keys start with
//! `TENANT#`, which no key of an app's data does. Every change is a transaction that writes
//! its audit record with it.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | merchant | `TENANT#MCH#<mchNo>` | `MCH` (`gsi1`: `TENANT#MCHS` / mchNo) |
//! | an app of a merchant | `TENANT#MCH#<mchNo>` | `APP#<appId>` |
//! | app | `TENANT#APP#<appId>` | `APP` |
//! | app number code | `TENANT#APPCODE#<code>` | `APPCODE` |
//! | audit record | `TENANT#AUDIT` and `TENANT#AUDIT#<target>` | `<nanoseconds>#<random>` |

use super::item::{Item, get_n, get_s, key, n, need, s};
use super::schema::{GSI1, GSI1_PK, GSI1_SK, PK, SK};
use super::{Store, StoreError, db_err};
use crate::domain::{MchNo, TenantStatus};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

const MERCHANTS: &str = "TENANT#MCHS";
const AUDIT: &str = "TENANT#AUDIT";

pub(super) fn merchant_pk(mch_no: &str) -> String {
    format!("TENANT#MCH#{mch_no}")
}
pub(super) fn merchant_key(mch_no: &str) -> Item {
    key(merchant_pk(mch_no), "MCH")
}
pub(super) fn member_key(mch_no: &str, app_id: &str) -> Item {
    key(merchant_pk(mch_no), &format!("APP#{app_id}"))
}
/// The partition key of an app's record, before its id.
pub(super) const APP_PK_PREFIX: &str = "TENANT#APP#";

pub(super) fn app_key(app_id: &str) -> Item {
    key(format!("{APP_PK_PREFIX}{app_id}"), "APP")
}

/// A merchant (SPEC §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merchant {
    pub mch_no: MchNo,
    pub name: String,
    pub status: TenantStatus,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One administrative change: who, what, on what, when. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub at: i64,
    pub principal: String,
    pub action: String,
    /// `merchant:<mchNo>` or `app:<appId>`.
    pub target: String,
    /// What changed, as JSON text.
    pub detail: String,
}

fn merchant_to_item(m: &Merchant) -> Item {
    let mut item = merchant_key(m.mch_no.as_str());
    item.insert("type".into(), s("merchant"));
    item.insert("mchNo".into(), s(m.mch_no.as_str()));
    item.insert("name".into(), s(&m.name));
    item.insert("status".into(), s(m.status.code()));
    item.insert("createdAt".into(), n(m.created_at));
    item.insert("updatedAt".into(), n(m.updated_at));
    item.insert(GSI1_PK.into(), s(MERCHANTS));
    item.insert(GSI1_SK.into(), s(m.mch_no.as_str()));
    item
}

fn merchant_from_item(item: &Item) -> Result<Merchant, StoreError> {
    let text = |name: &str| need(get_s(item, name), name);
    Ok(Merchant {
        mch_no: MchNo::parse(&text("mchNo")?).map_err(|e| StoreError::Db(e.to_string()))?,
        name: get_s(item, "name").unwrap_or_default(),
        status: need(TenantStatus::from_code(&text("status")?), "status")?,
        created_at: get_n(item, "createdAt").unwrap_or_default(),
        updated_at: get_n(item, "updatedAt").unwrap_or_default(),
    })
}

/// The sort key of an audit record: the moment it was written (nanoseconds of the system
/// clock, so the records of one second keep their order), and a random tail.
fn audit_sk() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:020}#{}", crate::infra::crypto::random_alnum(8))
}

fn audit_items(r: &AuditRecord) -> [Item; 2] {
    let sk = audit_sk();
    let one = |pk: String| {
        let mut item = key(pk, &sk);
        item.insert("type".into(), s("audit"));
        item.insert("at".into(), n(r.at));
        item.insert("principal".into(), s(&r.principal));
        item.insert("action".into(), s(&r.action));
        item.insert("target".into(), s(&r.target));
        item.insert("detail".into(), s(&r.detail));
        item
    };
    [one(AUDIT.to_owned()), one(format!("{AUDIT}#{}", r.target))]
}

fn audit_from_item(item: &Item) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        at: need(get_n(item, "at"), "at")?,
        principal: get_s(item, "principal").unwrap_or_default(),
        action: need(get_s(item, "action"), "action")?,
        target: get_s(item, "target").unwrap_or_default(),
        detail: get_s(item, "detail").unwrap_or_default(),
    })
}

/// Where the next page of a registry list starts: the last key read, as text
/// (`<sk>`), which only positions the read within the same list.
fn page_cursor(last: Option<&Item>, name: &str) -> Option<String> {
    last.and_then(|k| get_s(k, name))
}

impl Store {
    pub(super) fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        self.put(item, Some("attribute_not_exists(pk)"))
    }

    /// A record written over the version before its own (`version - 1`), with its audit
    /// record: the items of the transaction.
    pub(super) fn versioned_with_audit(
        &self,
        item: Item,
        version: i64,
        audit: &AuditRecord,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("ver = :ver")
            .expression_attribute_values(":ver", n(version - 1))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        items.extend(self.audit_puts(audit)?);
        Ok(items)
    }

    pub(super) fn audit_puts(&self, r: &AuditRecord) -> Result<Vec<TransactWriteItem>, StoreError> {
        audit_items(r)
            .into_iter()
            .map(|item| self.put_new(item))
            .collect()
    }

    /// Writes an audit record of its own: a change that is not a write of the registry (a
    /// request to the stack, such as a reconciliation re-run).
    pub async fn record_audit(&self, r: &AuditRecord) -> Result<(), StoreError> {
        match self.transact(self.audit_puts(r)?).await? {
            None => Ok(()),
            // a fresh key each time: only a clash of two random tails in one nanosecond
            Some(_) => Err(StoreError::Conflict(
                "the audit record's key was taken".into(),
            )),
        }
    }

    /// Creates a merchant with its audit record. `Ok(false)`: the mchNo is taken.
    pub async fn create_merchant(
        &self,
        m: &Merchant,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.put_new(merchant_to_item(m))?];
        items.extend(self.audit_puts(audit)?);
        Ok(self.transact(items).await?.is_none())
    }

    pub async fn merchant(&self, mch_no: &str) -> Result<Option<Merchant>, StoreError> {
        self.get(merchant_key(mch_no))
            .await?
            .map(|i| merchant_from_item(&i))
            .transpose()
    }

    /// A page of merchants by mchNo, and the mchNo after which the next page starts.
    pub async fn merchants_page(
        &self,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<Merchant>, Option<String>), StoreError> {
        let start = after.map(|mch| {
            let mut k = merchant_key(mch);
            k.insert(GSI1_PK.into(), s(MERCHANTS));
            k.insert(GSI1_SK.into(), s(mch));
            k
        });
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .index_name(GSI1)
            .key_condition_expression("#h = :h")
            .expression_attribute_names("#h", GSI1_PK)
            .expression_attribute_values(":h", s(MERCHANTS))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(db_err)?;
        let merchants = out
            .items
            .unwrap_or_default()
            .iter()
            .map(merchant_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .and_then(|k| page_cursor(Some(&k), GSI1_SK));
        Ok((merchants, next))
    }

    /// The ids of a merchant's apps (strongly consistent: an app created a moment ago is
    /// among them).
    pub async fn merchant_app_ids(&self, mch_no: &str) -> Result<Vec<String>, StoreError> {
        let items = self.query_all(None, PK, &merchant_pk(mch_no), true).await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, SK)?.strip_prefix("APP#").map(str::to_owned))
            .collect())
    }

    /// Sets a merchant's status (with its audit record) and then its apps' copies of it.
    /// `Ok(None)`: no such merchant. A failure between the two leaves the apps to a retry of
    /// the same change, which writes them again.
    pub async fn set_merchant_status(
        &self,
        mch_no: &str,
        status: TenantStatus,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<Option<Merchant>, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(merchant_key(mch_no)))
            .update_expression("SET #status = :s, updatedAt = :now")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":s", s(status.code()))
            .expression_attribute_values(":now", n(now))
            .build()
            .map_err(db_err)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        items.extend(self.audit_puts(audit)?);
        if self.transact(items).await?.is_some() {
            return Ok(None);
        }
        for app_id in self.merchant_app_ids(mch_no).await? {
            self.db
                .update_item()
                .table_name(&self.table)
                .set_key(Some(app_key(&app_id)))
                .update_expression("SET mchStatus = :s, ver = ver + :one, updatedAt = :now")
                .condition_expression("attribute_exists(pk)")
                .expression_attribute_values(":s", s(status.code()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now))
                .send()
                .await
                .map_err(db_err)?;
        }
        self.merchant(mch_no).await
    }

    /// A page of audit records, newest first (of one target when given), and where the next
    /// page starts.
    pub async fn audit_page(
        &self,
        target: Option<&str>,
        limit: i32,
        after: Option<&str>,
    ) -> Result<(Vec<AuditRecord>, Option<String>), StoreError> {
        let pk = match target {
            Some(t) => format!("{AUDIT}#{t}"),
            None => AUDIT.to_owned(),
        };
        let start = after.map(|sk| key(pk.clone(), sk));
        let out = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("#h = :h")
            .expression_attribute_names("#h", PK)
            .expression_attribute_values(":h", s(&pk))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(db_err)?;
        let records = out
            .items
            .unwrap_or_default()
            .iter()
            .map(audit_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key
            .filter(|k| !k.is_empty())
            .and_then(|k| page_cursor(Some(&k), SK));
        Ok((records, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_record_is_kept_twice_and_reads_back() {
        let audit = AuditRecord {
            at: 5,
            principal: "arn:aws:iam::1:user/a".into(),
            action: "app.create".into(),
            target: "app:shop-1".into(),
            detail: "{}".into(),
        };
        let [all, one] = audit_items(&audit);
        assert_eq!(get_s(&all, PK).as_deref(), Some("TENANT#AUDIT"));
        assert_eq!(get_s(&one, PK).as_deref(), Some("TENANT#AUDIT#app:shop-1"));
        assert_eq!(audit_from_item(&one).ok(), Some(audit));
    }
}
