//! Service providers in the tenant registry (SPEC §6.5, §8.4): a provider's channel accounts
//! (a WeChat Pay service provider, an Alipay third-party app), stored once and used by every
//! app under it, its keys sealed under the stack's KMS key. Changed only in transactions that
//! write their audit record too.

use super::apps::{insert_sealed, json, sealed_of, settings_of};
use super::item::{Item, get_n, get_s, key, n, need, s};
use super::tenants::AuditRecord;
use super::{Store, StoreError};
use crate::infra::config::{AlipaySettings, WechatSettings};
use crate::infra::keyring::Sealed;

pub(crate) fn provider_key(provider_id: &str) -> Item {
    key(format!("TENANT#PROVIDER#{provider_id}"), "PROVIDER")
}

/// A provider as the registry keeps it. Its keys stay sealed here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderRecord {
    pub provider_id: String,
    pub name: String,
    /// The Alipay third-party app (its app id, gateway, notify URL).
    pub alipay: Option<AlipaySettings>,
    /// The WeChat Pay service provider (`mchid` is its `sp_mchid`, `appid` its `sp_appid`).
    pub wechat: Option<WechatSettings>,
    /// Its keys (the channel keys of [`crate::infra::secrets::AppSecrets`]).
    pub sealed: Sealed,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

fn provider_to_item(p: &ProviderRecord) -> Result<Item, StoreError> {
    let mut item = provider_key(&p.provider_id);
    item.insert("type".into(), s("provider"));
    item.insert("providerId".into(), s(&p.provider_id));
    item.insert("name".into(), s(&p.name));
    if let Some(alipay) = &p.alipay {
        item.insert("alipay".into(), s(json(alipay)?));
    }
    if let Some(wechat) = &p.wechat {
        item.insert("wechat".into(), s(json(wechat)?));
    }
    insert_sealed(&mut item, &p.sealed);
    item.insert("createdAt".into(), n(p.created_at));
    item.insert("updatedAt".into(), n(p.updated_at));
    item.insert("ver".into(), n(p.version));
    Ok(item)
}

fn provider_from_item(item: &Item) -> Result<ProviderRecord, StoreError> {
    Ok(ProviderRecord {
        provider_id: need(get_s(item, "providerId"), "providerId")?,
        name: get_s(item, "name").unwrap_or_default(),
        alipay: settings_of(item, "alipay")?,
        wechat: settings_of(item, "wechat")?,
        sealed: sealed_of(item)?,
        created_at: get_n(item, "createdAt").unwrap_or_default(),
        updated_at: get_n(item, "updatedAt").unwrap_or_default(),
        version: need(get_n(item, "ver"), "ver")?,
    })
}

impl Store {
    /// Creates a provider with its audit record. `Ok(false)`: the id is taken.
    pub async fn create_provider(
        &self,
        p: &ProviderRecord,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let mut items = vec![self.put_new(provider_to_item(p)?)?];
        items.extend(self.audit_puts(audit)?);
        Ok(self.transact(items).await?.is_none())
    }

    /// A provider's record (strongly consistent).
    pub async fn provider_record(
        &self,
        provider_id: &str,
    ) -> Result<Option<ProviderRecord>, StoreError> {
        self.get(provider_key(provider_id))
            .await?
            .map(|i| provider_from_item(&i))
            .transpose()
    }

    /// Saves a provider's record if it is still at `p.version - 1`, with the audit record.
    /// `Ok(false)`: it changed meanwhile.
    pub async fn save_provider(
        &self,
        p: &ProviderRecord,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let items = self.versioned_with_audit(provider_to_item(p)?, p.version, audit)?;
        Ok(self.transact(items).await?.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_reads_back_as_written() {
        let p = ProviderRecord {
            provider_id: "sp-1".into(),
            name: "SP".into(),
            alipay: None,
            wechat: Some(WechatSettings {
                mchid: "1900000100".into(),
                appid: "wx8888888888888888".into(),
                merchant_serial: "SERIAL".into(),
                public_key_id: "PUB_KEY_ID_1".into(),
                base_url: "https://api.mch.weixin.qq.com".into(),
                timeout_ms: 8000,
                sub_mchid: None,
                sub_appid: None,
                provider: None,
            }),
            sealed: Sealed {
                key: vec![1],
                nonce: [2; 12],
                data: vec![3],
            },
            created_at: 1,
            updated_at: 2,
            version: 1,
        };
        let item = provider_to_item(&p).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(provider_from_item(&item).ok(), Some(p));
    }
}
