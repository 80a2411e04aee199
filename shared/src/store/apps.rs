//! Apps in the tenant registry (SPEC §8.1, §8.3): an app's record (settings, channel accounts,
//! its secrets sealed), the code in its numbers, its place under its merchant, and the index
//! from a channel account to the apps that use it (`TENANT#ACCT#<channel>#<account>` /
//! `APP#<appId>`). Created and
//! changed only in transactions that write their audit record too.

use super::item::{Item, get_n, get_s, insert_due, key, n, need, s};
use super::schema::{PK, SK};
use super::tenants::{AuditRecord, app_key, member_key, merchant_key};
use super::{Store, StoreError, db_err};
use crate::domain::{AppId, Channel, Due, DueKind, MchNo, TenantStatus};
use crate::infra::app_settings::AppSettings;
use crate::infra::config::{AlipaySettings, WechatSettings};
use crate::infra::keyring::Sealed;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Delete, TransactWriteItem};

fn account_pk(channel: &str, account: &str) -> String {
    format!("TENANT#ACCT#{channel}#{account}")
}

/// An app's entry in the account index (SPEC §8.2: a channel's notification is routed by the
/// account it names).
fn account_key(channel: &str, account: &str, app_id: &str) -> Item {
    key(account_pk(channel, account), &format!("APP#{app_id}"))
}

/// Each channel of an app and the account it has there, if any.
///
/// An account under a provider is named as its notifications name it: `app_id/auth_app_id` (the
/// provider's Alipay app and the authorising merchant's app), `sp_mchid/sub_mchid`.
fn accounts(a: &AppRecord) -> [(&'static str, Option<String>); 2] {
    [
        (
            Channel::AliPay.code(),
            a.alipay.as_ref().map(AlipaySettings::account_key),
        ),
        (
            Channel::WechatPay.code(),
            a.wechat.as_ref().map(WechatSettings::account_key),
        ),
    ]
}

fn code_key(code: &str) -> Item {
    key(format!("TENANT#APPCODE#{code}"), "APPCODE")
}

/// An app as the registry keeps it. Its secrets stay sealed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppRecord {
    pub app_id: AppId,
    pub mch_no: MchNo,
    pub name: String,
    pub status: TenantStatus,
    /// Its merchant's status, kept on the app so one read decides whether a request may pass.
    pub mch_status: TenantStatus,
    /// Six digits in every allocation and return number the app makes: numbers of two apps
    /// never meet, so they stay unique across the stack (SPEC §8.1).
    pub code: String,
    pub settings: AppSettings,
    pub alipay: Option<AlipaySettings>,
    pub wechat: Option<WechatSettings>,
    /// The app's secrets (sign secrets, channel keys) under the stack's KMS key.
    pub sealed: Sealed,
    pub secret_rotated_at: Option<i64>,
    /// Until when the previous sign secret still verifies (during a rotation).
    pub previous_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// Why creating an app did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppConflict {
    /// The app id is taken.
    AppIdTaken,
    /// The number code is taken (draw another).
    CodeTaken,
    /// The merchant does not exist or is disabled.
    MerchantUnavailable,
}

fn blob(item: &Item, name: &str) -> Option<Vec<u8>> {
    match item.get(name) {
        Some(AttributeValue::B(b)) => Some(b.clone().into_inner()),
        _ => None,
    }
}

/// JSON text of settings kept on a record.
pub(super) fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Db(e.to_string()))
}

/// Settings kept on a record as JSON text, if any.
pub(super) fn settings_of<T: serde::de::DeserializeOwned>(
    item: &Item,
    name: &str,
) -> Result<Option<T>, StoreError> {
    get_s(item, name)
        .map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Db(format!("stored {name}: {e}")))
        })
        .transpose()
}

/// Secrets sealed on a record: the data key, nonce and data as binary attributes.
pub(super) fn insert_sealed(item: &mut Item, sealed: &Sealed) {
    item.insert(
        "secretKey".into(),
        AttributeValue::B(Blob::new(sealed.key.clone())),
    );
    item.insert(
        "secretNonce".into(),
        AttributeValue::B(Blob::new(sealed.nonce.to_vec())),
    );
    item.insert(
        "secretData".into(),
        AttributeValue::B(Blob::new(sealed.data.clone())),
    );
}

/// The sealed secrets of a record.
pub(super) fn sealed_of(item: &Item) -> Result<Sealed, StoreError> {
    let nonce = need(blob(item, "secretNonce"), "secretNonce")?;
    Ok(Sealed {
        key: need(blob(item, "secretKey"), "secretKey")?,
        nonce: nonce
            .try_into()
            .map_err(|_| StoreError::Db("stored record: secretNonce".into()))?,
        data: need(blob(item, "secretData"), "secretData")?,
    })
}

fn app_to_item(a: &AppRecord) -> Result<Item, StoreError> {
    let mut item = app_key(a.app_id.as_str());
    item.insert("type".into(), s("app"));
    item.insert("appId".into(), s(a.app_id.as_str()));
    item.insert("mchNo".into(), s(a.mch_no.as_str()));
    item.insert("name".into(), s(&a.name));
    item.insert("status".into(), s(a.status.code()));
    item.insert("mchStatus".into(), s(a.mch_status.code()));
    item.insert("code".into(), s(&a.code));
    item.insert("settings".into(), s(a.settings.stored()));
    if let Some(alipay) = &a.alipay {
        item.insert("alipay".into(), s(json(alipay)?));
    }
    if let Some(wechat) = &a.wechat {
        item.insert("wechat".into(), s(json(wechat)?));
    }
    insert_sealed(&mut item, &a.sealed);
    if let Some(t) = a.secret_rotated_at {
        item.insert("secretRotatedAt".into(), n(t));
    }
    if let Some(t) = a.previous_until {
        item.insert("previousUntil".into(), n(t));
    }
    item.insert("createdAt".into(), n(a.created_at));
    item.insert("updatedAt".into(), n(a.updated_at));
    item.insert("ver".into(), n(a.version));
    // a merchant's Alipay authorisation is refreshed before it runs out (SPEC §6.5)
    if let Some(auth) = a.alipay.as_ref().and_then(|x| x.app_auth.as_ref()) {
        insert_due(
            &mut item,
            Some(Due {
                kind: DueKind::AppAuthRefresh,
                at: auth.refresh_at(),
            }),
        );
    }
    Ok(item)
}

fn app_from_item(item: &Item) -> Result<AppRecord, StoreError> {
    let text = |name: &str| need(get_s(item, name), name);
    let bad = |e: &dyn std::fmt::Display| StoreError::Db(format!("stored app: {e}"));
    Ok(AppRecord {
        app_id: AppId::parse(&text("appId")?).map_err(|e| bad(&e))?,
        mch_no: MchNo::parse(&text("mchNo")?).map_err(|e| bad(&e))?,
        name: get_s(item, "name").unwrap_or_default(),
        status: need(TenantStatus::from_code(&text("status")?), "status")?,
        mch_status: need(TenantStatus::from_code(&text("mchStatus")?), "mchStatus")?,
        code: text("code")?,
        settings: AppSettings::from_stored(&get_s(item, "settings").unwrap_or_default()),
        alipay: settings_of(item, "alipay")?,
        wechat: settings_of(item, "wechat")?,
        sealed: sealed_of(item)?,
        secret_rotated_at: get_n(item, "secretRotatedAt"),
        previous_until: get_n(item, "previousUntil"),
        created_at: get_n(item, "createdAt").unwrap_or_default(),
        updated_at: get_n(item, "updatedAt").unwrap_or_default(),
        version: need(get_n(item, "ver"), "ver")?,
    })
}

impl Store {
    /// Creates an app under an enabled merchant, with its number code and audit record.
    pub async fn create_app(
        &self,
        a: &AppRecord,
        audit: &AuditRecord,
    ) -> Result<Result<(), AppConflict>, StoreError> {
        let mut code = code_key(&a.code);
        code.insert("appId".into(), s(a.app_id.as_str()));
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(merchant_key(a.mch_no.as_str())))
            .condition_expression("attribute_exists(pk) AND #status = :enabled")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":enabled", s(TenantStatus::Enabled.code()))
            .build()
            .map_err(db_err)?;
        let mut items = vec![
            self.put_new(app_to_item(a)?)?,
            self.put_new(code)?,
            TransactWriteItem::builder().condition_check(check).build(),
            self.put(member_key(a.mch_no.as_str(), a.app_id.as_str()), None)?,
        ];
        items.extend(self.audit_puts(audit)?);
        Ok(match self.transact(items).await? {
            None => Ok(()),
            Some(0) => Err(AppConflict::AppIdTaken),
            Some(1) => Err(AppConflict::CodeTaken),
            Some(_) => Err(AppConflict::MerchantUnavailable),
        })
    }

    /// An app's record (strongly consistent: a change made a moment ago is seen).
    pub async fn app_record(&self, app_id: &str) -> Result<Option<AppRecord>, StoreError> {
        self.get(app_key(app_id))
            .await?
            .map(|i| app_from_item(&i))
            .transpose()
    }

    /// Saves an app's record if it is still at `a.version - 1` (as `before`), with the audit
    /// record, and moves its entries in the account index where its accounts changed.
    /// `Ok(false)`: it changed meanwhile (read it again and decide again).
    pub async fn save_app(
        &self,
        a: &AppRecord,
        before: &AppRecord,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let mut items = self.versioned_with_audit(app_to_item(a)?, a.version, audit)?;
        let id = a.app_id.as_str();
        for ((channel, old), (_, new)) in accounts(before).into_iter().zip(accounts(a)) {
            if old == new {
                continue;
            }
            if let Some(old) = old {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(account_key(channel, &old, id)))
                    .build()
                    .map_err(db_err)?;
                items.push(TransactWriteItem::builder().delete(delete).build());
            }
            if let Some(new) = new {
                items.push(self.put(account_key(channel, &new, id), None)?);
            }
        }
        Ok(self.transact(items).await?.is_none())
    }

    /// The apps whose account at `channel` is `account` (the Alipay app id, the WeChat Pay
    /// merchant number): where a notification naming it goes (strongly consistent).
    pub async fn apps_of_account(
        &self,
        channel: Channel,
        account: &str,
    ) -> Result<Vec<String>, StoreError> {
        let pk = account_pk(channel.code(), account);
        let items = self.query_all(None, PK, &pk, true).await?;
        Ok(items
            .iter()
            .filter_map(|i| get_s(i, SK)?.strip_prefix("APP#").map(str::to_owned))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> AppRecord {
        AppRecord {
            app_id: AppId::parse("shop-1").unwrap_or_else(|e| panic!("{e}")),
            mch_no: MchNo::parse("M1").unwrap_or_else(|e| panic!("{e}")),
            name: "Shop".into(),
            status: TenantStatus::Enabled,
            mch_status: TenantStatus::Enabled,
            code: "004217".into(),
            settings: AppSettings::default(),
            alipay: Some(AlipaySettings {
                app_id: "2021".into(),
                gateway_url: "https://openapi.alipay.com/gateway.do".into(),
                notify_url: None,
                timeout_ms: 8000,
                app_auth: None,
                provider: None,
            }),
            wechat: None,
            sealed: Sealed {
                key: vec![1, 2],
                nonce: [3; 12],
                data: vec![4, 5, 6],
            },
            secret_rotated_at: None,
            previous_until: Some(9),
            created_at: 1,
            updated_at: 2,
            version: 3,
        }
    }

    #[test]
    fn an_app_reads_back_as_written_and_its_keys_are_the_stacks() {
        let a = record();
        let item = app_to_item(&a).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(app_from_item(&item).ok(), Some(a));
        assert_eq!(
            get_s(&item, crate::store::schema::PK).as_deref(),
            Some("TENANT#APP#shop-1")
        );
    }
}
