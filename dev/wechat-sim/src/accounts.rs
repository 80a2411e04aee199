//! The merchants one simulator serves, keyed by `mchid`: each with its own API key (verifies the
//! requests whose `Authorization` names that `mchid`), serial, `appid` and optionally its own
//! APIv3 key. Transactions, split orders, returns, refunds and receivers belong to a merchant.
//!
//! Every merchant today is a direct merchant acting for itself, so the merchant a call acts for
//! is the one that signed it. Partner (service-provider) mode would add another kind of entry:
//! a provider (`sp_mchid`, with the key that signs) and the sub-merchants it serves. A partner
//! request would then act for its `sub_mchid` (checked to be one of the provider's), and a
//! transaction would record the mode it was paid in (direct, or provider + sub-merchant), so a
//! split in the other mode can answer 交易模式不匹配. The business methods already take the
//! merchant a call acts for and would not change.

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

/// A registered merchant with its key parsed.
pub(crate) struct Merchant {
    pub mchid: String,
    pub appid: String,
    pub serial: String,
    pub verifier: Verifier,
    pub apiv3_key: Option<[u8; 32]>,
}

impl Merchant {
    pub(crate) fn new(account: MerchantAccount) -> Result<Self, SimError> {
        for (name, value) in [
            ("mchid", &account.mchid),
            ("appid", &account.appid),
            ("merchant_serial", &account.merchant_serial),
        ] {
            if value.is_empty() {
                return Err(SimError::Config(format!("{name} is empty")));
            }
        }
        Ok(Merchant {
            verifier: crypto::merchant_verifier(&account.merchant_public_key)?,
            apiv3_key: account.apiv3_key.as_deref().map(apiv3_key).transpose()?,
            mchid: account.mchid,
            appid: account.appid,
            serial: account.merchant_serial,
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

pub(crate) struct Merchants {
    /// The merchant of `SimConfig`: the one the helpers without a mchid (`seed_transaction`,
    /// `is_receiver`, ...) act for. Never removed.
    first: String,
    by_id: BTreeMap<String, Arc<Merchant>>,
}

impl Merchants {
    pub(crate) fn new(first: Merchant) -> Self {
        let id = first.mchid.clone();
        let mut by_id = BTreeMap::new();
        by_id.insert(id.clone(), Arc::new(first));
        Merchants { first: id, by_id }
    }

    pub(crate) fn first_id(&self) -> &str {
        &self.first
    }

    pub(crate) fn get(&self, mchid: &str) -> Option<Arc<Merchant>> {
        self.by_id.get(mchid).cloned()
    }

    /// Adds a merchant, or replaces the appid, key, serial and APIv3 key of a known one (key
    /// rotation); its transactions, orders and receivers stay.
    pub(crate) fn insert(&mut self, merchant: Merchant) {
        self.by_id
            .insert(merchant.mchid.clone(), Arc::new(merchant));
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Merchant> {
        self.by_id.values().map(Arc::as_ref)
    }
}
