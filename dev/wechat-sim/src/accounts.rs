//! The accounts one simulator serves, all in one namespace of merchant numbers (WeChat's mchids
//! are global):
//!
//! - direct merchants, keyed by `mchid`: each with its own API key (verifies the requests whose
//!   `Authorization` names that `mchid`), serial, `appid` and optionally its own APIv3 key. A
//!   direct merchant acts for itself.
//! - service providers (服务商), keyed by `sp_mchid`: the same kind of credentials (their key
//!   signs every partner request), their `sp_appid`, optionally their APIv3 key.
//! - sub-merchants (特约商户), keyed by `sub_mchid`, each under one provider, with its
//!   `sub_appid` (if any) and the maximum ratio it authorised to that provider. A sub-merchant
//!   never signs: its provider does, naming it in `sub_mchid`.
//!
//! The merchant a call acts for is the signer itself (direct), or the `sub_mchid` it carries
//! (partner, checked to be one of the provider's); the business methods take that merchant and
//! its mode, and a transaction records the mode it was paid in (direct, or provider + sub-merchant)
//! so that a call in the other mode can be answered 交易模式不匹配.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use sim_kit::Verifier;

use crate::{SimError, crypto};

/// A merchant registered at run time ([`crate::WechatSim::add_merchant`],
/// `POST /__sim/merchants`, the binary's `--extra-merchants`). JSON:
/// `{"mchid","appid","merchant_public_key","merchant_serial","apiv3_key"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MerchantAccount {
    pub mchid: String,
    /// The `appid` this merchant's bodies must carry.
    pub appid: String,
    /// Base64 SubjectPublicKeyInfo of the merchant API key: verifies its requests.
    pub merchant_public_key: String,
    /// The `serial_no` its `Authorization` must carry.
    pub merchant_serial: String,
    /// This merchant's APIv3 key (32 ASCII characters), sealing the notifications of its
    /// orders. In reality every merchant sets its own; None uses the simulator's
    /// ([`crate::SimConfig::apiv3_key`]).
    #[serde(default)]
    pub apiv3_key: Option<String>,
}

/// A service provider (服务商) registered at run time ([`crate::WechatSim::add_provider`],
/// `POST /__sim/providers`, the binary's `--providers`). JSON:
/// `{"sp_mchid","sp_appid","sp_public_key","sp_serial","apiv3_key"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProviderAccount {
    pub sp_mchid: String,
    /// The provider's `appid`: the `appid` partner bodies carry (receivers, and splits to
    /// `PERSONAL_OPENID`).
    pub sp_appid: String,
    /// Base64 SubjectPublicKeyInfo of the provider's API key: verifies the requests whose
    /// `Authorization` names `sp_mchid`.
    pub sp_public_key: String,
    /// The `serial_no` its `Authorization` must carry.
    pub sp_serial: String,
    /// The provider's APIv3 key (32 ASCII characters): seals the notifications of its
    /// sub-merchants' orders. None uses the simulator's.
    #[serde(default)]
    pub apiv3_key: Option<String>,
}

/// What a sub-merchant authorises its provider to split when it says nothing: 30%, the cap
/// integrators meet by default ("一般最大不超过30%",
/// developers.weixin.qq.com/community/develop/doc/0008003fc683f8229193489f961400).
pub const DEFAULT_MAX_RATIO: u32 = 3000;

/// The whole transaction, in the 1/10000 units of `max_ratio`.
pub(crate) const FULL_RATIO: u32 = 10_000;

fn default_max_ratio() -> u32 {
    DEFAULT_MAX_RATIO
}

/// A sub-merchant (特约商户) of a provider ([`crate::WechatSim::add_sub_merchant`],
/// `POST /__sim/sub-merchants`, the binary's `--sub-merchants`). JSON:
/// `{"sp_mchid","sub_mchid","sub_appid"?,"max_ratio"?}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubMerchantAccount {
    /// Its provider (registered first).
    pub sp_mchid: String,
    pub sub_mchid: String,
    /// The sub-merchant's own `appid`: the `sub_appid` partner bodies must carry for
    /// `PERSONAL_SUB_OPENID` receivers. None: it has none, and such receivers are refused.
    #[serde(default)]
    pub sub_appid: Option<String>,
    /// The most the provider may split away from one of its transactions, in 1/10000 of the
    /// paid amount (3000 = 30%), as the sub-merchant set it in 商户平台 产品中心 - 授权的产品 -
    /// 分账授权. Default [`DEFAULT_MAX_RATIO`].
    #[serde(default = "default_max_ratio")]
    pub max_ratio: u32,
}

/// A registered merchant with its key parsed.
pub(crate) struct Merchant {
    pub mchid: String,
    pub appid: String,
    pub serial: String,
    pub verifier: Verifier,
    pub apiv3_key: Option<[u8; 32]>,
}

fn require_non_empty(fields: &[(&str, &str)]) -> Result<(), SimError> {
    match fields.iter().find(|(_, value)| value.is_empty()) {
        Some((name, _)) => Err(SimError::Config(format!("{name} is empty"))),
        None => Ok(()),
    }
}

impl Merchant {
    pub(crate) fn new(account: MerchantAccount) -> Result<Self, SimError> {
        require_non_empty(&[
            ("mchid", &account.mchid),
            ("appid", &account.appid),
            ("merchant_serial", &account.merchant_serial),
        ])?;
        Ok(Merchant {
            verifier: crypto::merchant_verifier(&account.merchant_public_key)?,
            apiv3_key: account.apiv3_key.as_deref().map(apiv3_key).transpose()?,
            mchid: account.mchid,
            appid: account.appid,
            serial: account.merchant_serial,
        })
    }
}

/// A registered provider with its key parsed. It has the credentials of a merchant (mchid,
/// appid, key, serial, APIv3 key), so it is one, kept apart because it acts for others.
pub(crate) struct Provider(pub Merchant);

impl Provider {
    pub(crate) fn new(account: ProviderAccount) -> Result<Self, SimError> {
        require_non_empty(&[
            ("sp_mchid", &account.sp_mchid),
            ("sp_appid", &account.sp_appid),
            ("sp_serial", &account.sp_serial),
        ])?;
        Ok(Provider(Merchant {
            verifier: crypto::merchant_verifier(&account.sp_public_key)?,
            apiv3_key: account.apiv3_key.as_deref().map(apiv3_key).transpose()?,
            mchid: account.sp_mchid,
            appid: account.sp_appid,
            serial: account.sp_serial,
        }))
    }

    pub(crate) fn sp_mchid(&self) -> &str {
        &self.0.mchid
    }
}

/// A registered sub-merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubMerchant {
    pub sub_mchid: String,
    pub sp_mchid: String,
    pub sub_appid: Option<String>,
    pub max_ratio: u32,
}

pub(crate) fn check_ratio(max_ratio: u32) -> Result<(), SimError> {
    if max_ratio > FULL_RATIO {
        return Err(SimError::Config(format!(
            "max_ratio {max_ratio} is above {FULL_RATIO} (100%)"
        )));
    }
    Ok(())
}

impl SubMerchant {
    fn new(account: SubMerchantAccount) -> Result<Self, SimError> {
        require_non_empty(&[
            ("sp_mchid", &account.sp_mchid),
            ("sub_mchid", &account.sub_mchid),
        ])?;
        check_ratio(account.max_ratio)?;
        Ok(SubMerchant {
            sub_mchid: account.sub_mchid,
            sp_mchid: account.sp_mchid,
            // An empty sub_appid is no sub_appid, like an empty field in a request.
            sub_appid: account.sub_appid.filter(|a| !a.is_empty()),
            max_ratio: account.max_ratio,
        })
    }
}

/// An APIv3 key: exactly 32 ASCII characters, used as the raw AES-256 key.
pub(crate) fn apiv3_key(text: &str) -> Result<[u8; 32], SimError> {
    text.as_bytes()
        .try_into()
        .ok()
        .filter(|k: &[u8; 32]| k.is_ascii())
        .ok_or_else(|| SimError::Config("apiv3_key must be 32 ASCII characters".into()))
}

/// Who signed a request: the `mchid` its `Authorization` names.
#[derive(Clone)]
pub(crate) enum Signer {
    Direct(Arc<Merchant>),
    Provider(Arc<Provider>),
}

impl Signer {
    /// The credentials that verify the request.
    pub(crate) fn merchant(&self) -> &Merchant {
        match self {
            Signer::Direct(m) => m,
            Signer::Provider(p) => &p.0,
        }
    }
}

/// The kinds of account a merchant number can be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Direct,
    Provider,
    Sub,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Direct => "a direct merchant",
            Kind::Provider => "a provider",
            Kind::Sub => "a sub-merchant",
        }
    }
}

pub(crate) struct Merchants {
    /// The merchant of `SimConfig`: the one the helpers without a mchid (`seed_transaction`,
    /// `is_receiver`, ...) act for. Never removed.
    first: String,
    by_id: BTreeMap<String, Arc<Merchant>>,
    providers: BTreeMap<String, Arc<Provider>>,
    subs: BTreeMap<String, SubMerchant>,
}

impl Merchants {
    pub(crate) fn new(first: Merchant) -> Self {
        let id = first.mchid.clone();
        let mut by_id = BTreeMap::new();
        by_id.insert(id.clone(), Arc::new(first));
        Merchants {
            first: id,
            by_id,
            providers: BTreeMap::new(),
            subs: BTreeMap::new(),
        }
    }

    pub(crate) fn first_id(&self) -> &str {
        &self.first
    }

    /// A direct merchant.
    pub(crate) fn get(&self, mchid: &str) -> Option<Arc<Merchant>> {
        self.by_id.get(mchid).cloned()
    }

    pub(crate) fn provider(&self, sp_mchid: &str) -> Option<Arc<Provider>> {
        self.providers.get(sp_mchid).cloned()
    }

    /// The sub-merchant `sub_mchid` if it is one of `sp_mchid`'s.
    pub(crate) fn sub_of(&self, sp_mchid: &str, sub_mchid: &str) -> Option<SubMerchant> {
        self.subs
            .get(sub_mchid)
            .filter(|s| s.sp_mchid == sp_mchid)
            .cloned()
    }

    /// Whoever `mchid` names in an `Authorization`: a direct merchant or a provider.
    pub(crate) fn signer(&self, mchid: &str) -> Option<Signer> {
        self.get(mchid)
            .map(Signer::Direct)
            .or_else(|| self.provider(mchid).map(Signer::Provider))
    }

    /// Refuses `mchid` as a `kind` when it is already another kind of account: merchant numbers
    /// are one namespace, so one number cannot be a direct merchant and a provider or a
    /// sub-merchant (registering a known one again as the same kind replaces it).
    fn check_free(&self, mchid: &str, kind: Kind) -> Result<(), SimError> {
        let is = if self.by_id.contains_key(mchid) {
            Kind::Direct
        } else if self.providers.contains_key(mchid) {
            Kind::Provider
        } else if self.subs.contains_key(mchid) {
            Kind::Sub
        } else {
            return Ok(());
        };
        if is == kind {
            return Ok(());
        }
        Err(SimError::Config(format!(
            "{mchid} is already {}",
            is.name()
        )))
    }

    /// Adds a merchant, or replaces the appid, key, serial and APIv3 key of a known one (key
    /// rotation); its transactions, orders and receivers stay.
    pub(crate) fn insert(&mut self, merchant: Merchant) -> Result<(), SimError> {
        self.check_free(&merchant.mchid, Kind::Direct)?;
        self.by_id
            .insert(merchant.mchid.clone(), Arc::new(merchant));
        Ok(())
    }

    /// Adds a provider, or replaces the credentials of a known one; its sub-merchants stay.
    pub(crate) fn insert_provider(&mut self, provider: Provider) -> Result<(), SimError> {
        self.check_free(provider.sp_mchid(), Kind::Provider)?;
        self.providers
            .insert(provider.sp_mchid().to_string(), Arc::new(provider));
        Ok(())
    }

    /// Adds a sub-merchant under its provider, or replaces a known one's sub_appid, ratio and
    /// provider (a sub-merchant has one provider at a time; its transactions keep the provider
    /// they were paid under).
    pub(crate) fn insert_sub(&mut self, account: SubMerchantAccount) -> Result<(), SimError> {
        let sub = SubMerchant::new(account)?;
        if !self.providers.contains_key(&sub.sp_mchid) {
            return Err(SimError::UnknownProvider(sub.sp_mchid));
        }
        self.check_free(&sub.sub_mchid, Kind::Sub)?;
        self.subs.insert(sub.sub_mchid.clone(), sub);
        Ok(())
    }

    /// Sets the ratio a sub-merchant of `sp_mchid` authorised to it.
    pub(crate) fn set_max_ratio(
        &mut self,
        sp_mchid: &str,
        sub_mchid: &str,
        max_ratio: u32,
    ) -> Result<(), SimError> {
        check_ratio(max_ratio)?;
        let sub = self
            .subs
            .get_mut(sub_mchid)
            .filter(|s| s.sp_mchid == sp_mchid)
            .ok_or_else(|| SimError::UnknownSubMerchant(sub_mchid.to_string()))?;
        sub.max_ratio = max_ratio;
        Ok(())
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Merchant> {
        self.by_id.values().map(Arc::as_ref)
    }

    pub(crate) fn all_providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.values().map(Arc::as_ref)
    }

    pub(crate) fn all_subs(&self) -> impl Iterator<Item = &SubMerchant> {
        self.subs.values()
    }
}
