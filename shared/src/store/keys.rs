//! Every key of the table, built and read back here only: the rest of the store asks for
//! items in domain terms. Every key of a merchant's data starts with its app's [`Scope`]
//! (SPEC §8.1): no number one app sends can name another app's item.

use super::item::{Item, key};
use crate::domain::{AppId, Channel, Topic};
use std::sync::Arc;

/// The app whose data a key names: the prefix of every key (and every index key) of that
/// app's items. The stack's default app keeps today's keys (an empty prefix), so a stack
/// upgraded in place reads everything it wrote before as its default app's; every other app
/// has `APP#<appId>#`. No key of the default layout starts with `APP#` (each starts with its
/// item type), and an app id cannot contain `#`, so no two apps share a key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Scope(Arc<str>);

const APP_PREFIX: &str = "APP#";

impl Scope {
    /// The default app's scope: the keys a single-merchant stack has always written.
    pub fn default_app() -> Self {
        Self::default()
    }

    /// The scope of an app that is not the stack's default app.
    pub fn app(app_id: &AppId) -> Self {
        Self(format!("{APP_PREFIX}{}#", app_id.as_str()).into())
    }

    /// The app id this scope names (`None`: the default app).
    pub fn app_id(&self) -> Option<&str> {
        self.0.strip_prefix(APP_PREFIX)?.strip_suffix('#')
    }

    /// `rest` under this scope.
    pub(super) fn pk(&self, rest: &str) -> String {
        let mut pk = String::with_capacity(self.0.len() + rest.len());
        pk.push_str(&self.0);
        pk.push_str(rest);
        pk
    }

    /// The unscoped rest of a key of this scope (`None`: another app's key).
    pub(super) fn strip<'k>(&self, pk: &'k str) -> Option<&'k str> {
        let rest = pk.strip_prefix(&*self.0)?;
        // the default scope is empty: a scoped key is not the default app's
        (!self.0.is_empty() || !rest.starts_with(APP_PREFIX)).then_some(rest)
    }

    /// The scope a key belongs to, and the unscoped rest of it.
    pub(super) fn split(pk: &str) -> Option<(Scope, &str)> {
        let Some(scoped) = pk.strip_prefix(APP_PREFIX) else {
            return Some((Scope::default_app(), pk));
        };
        let (id, rest) = scoped.split_once('#')?;
        let scope = Scope::app(&AppId::parse(id).ok()?);
        Some((scope, rest))
    }
}

const PAY_PREFIX: &str = "PAY#";
const ALLOC_PREFIX: &str = "ALLOC#";
const NOTICE_PREFIX: &str = "NOTICE#";
pub(super) const PAY_SK: &str = "PAY";
const PAY_BIZ_SK: &str = "PAYBIZ";
const NONCE_SK: &str = "NONCE";
pub(super) const ORDER_SK: &str = "ORDER";
pub(super) const DETAIL_PREFIX: &str = "DETAIL#";
const CLAIM_SK: &str = "BIZALLOC";
const RECEIVER_SK: &str = "RECEIVER";
const GROUP_SK: &str = "GROUP";
const DEFAULT_GROUP_SK: &str = "DEFAULTGROUP";

pub(super) fn pay_pk(sc: &Scope, order_no: &str) -> String {
    sc.pk(&format!("{PAY_PREFIX}{order_no}"))
}
/// The orderNo an unscoped pay order partition key names.
pub(super) fn order_no_of(rest: &str) -> Option<&str> {
    rest.strip_prefix(PAY_PREFIX)
}
pub(super) fn pay_key(sc: &Scope, order_no: &str) -> Item {
    key(pay_pk(sc, order_no), PAY_SK)
}
pub(super) const REFUND_PREFIX: &str = "REFUND#";
pub(super) fn refund_sk(refund_no: &str) -> String {
    format!("{REFUND_PREFIX}{refund_no}")
}
pub(super) fn refund_key(sc: &Scope, order_no: &str, refund_no: &str) -> Item {
    key(pay_pk(sc, order_no), &refund_sk(refund_no))
}
/// The freeze-deadline watch of a frozen pay order (its own due item: the pay order's is
/// its auto allocation's).
pub(super) fn deadline_key(sc: &Scope, order_no: &str) -> Item {
    key(pay_pk(sc, order_no), "DEADLINE")
}
pub(super) fn pay_biz_pk(sc: &Scope, biz_order_no: &str) -> String {
    sc.pk(&format!("PAYBIZ#{biz_order_no}"))
}
pub(super) fn pay_biz_key(sc: &Scope, biz_order_no: &str) -> Item {
    key(pay_biz_pk(sc, biz_order_no), PAY_BIZ_SK)
}
pub(super) fn nonce_key(sc: &Scope, nonce: &str, req_time: i64) -> Item {
    key(sc.pk(&format!("NONCE#{req_time}#{nonce}")), NONCE_SK)
}
pub(super) fn alloc_pk(sc: &Scope, allocation_no: &str) -> String {
    sc.pk(&format!("{ALLOC_PREFIX}{allocation_no}"))
}
/// The allocationNo an unscoped order partition key names.
pub(super) fn allocation_no_of(rest: &str) -> Option<&str> {
    rest.strip_prefix(ALLOC_PREFIX)
}
pub(super) fn order_key(sc: &Scope, allocation_no: &str) -> Item {
    key(alloc_pk(sc, allocation_no), ORDER_SK)
}
pub(super) const RETURN_PREFIX: &str = "RETURN#";
pub(super) const RETURNED_PREFIX: &str = "RETURNED#";
pub(super) fn return_key(sc: &Scope, allocation_no: &str, return_no: &str) -> Item {
    key(
        alloc_pk(sc, allocation_no),
        &format!("{RETURN_PREFIX}{return_no}"),
    )
}
/// The return a return item's sort key names.
pub(super) fn return_no_of(sk: &str) -> Option<&str> {
    sk.strip_prefix(RETURN_PREFIX)
}
/// What one receiver of an order has returned (the tally every return is checked against).
pub(super) fn returned_key(sc: &Scope, allocation_no: &str, receiver_no: &str) -> Item {
    key(
        alloc_pk(sc, allocation_no),
        &format!("{RETURNED_PREFIX}{receiver_no}"),
    )
}
/// Points from a returnNo to its order (and makes the number unique).
pub(super) fn return_no_key(sc: &Scope, return_no: &str) -> Item {
    key(sc.pk(&format!("RETURNNO#{return_no}")), "RETURNNO")
}
pub(super) fn return_claim_key(sc: &Scope, biz_return_no: &str) -> Item {
    key(sc.pk(&format!("BIZRETURN#{biz_return_no}")), "BIZRETURN")
}
pub(super) fn claim_pk(sc: &Scope, biz_allocation_no: &str) -> String {
    sc.pk(&format!("BIZALLOC#{biz_allocation_no}"))
}
pub(super) fn claim_key(sc: &Scope, biz_allocation_no: &str) -> Item {
    key(claim_pk(sc, biz_allocation_no), CLAIM_SK)
}
pub(super) fn is_notice_sk(sk: &str) -> bool {
    sk.starts_with(NOTICE_PREFIX)
}
/// The topic a notice's sort key names.
pub(super) fn notice_topic_of(sk: &str) -> Option<Topic> {
    Topic::parse(sk.strip_prefix(NOTICE_PREFIX)?)
}
/// A day's statement notice has a partition of its own, named by its subject (channel and day).
const STATEMENT_NOTICE_PREFIX: &str = "RECONNOTICE#";
/// The subject (`<channel>#<day>`) an unscoped statement notice partition key names.
pub(super) fn statement_subject_of(rest: &str) -> Option<&str> {
    rest.strip_prefix(STATEMENT_NOTICE_PREFIX)
}
/// A notice lives with its subject: an order's in the order's partition, a pay order's in the
/// pay order's, a day's statement's in one of its own.
pub(super) fn notice_key(sc: &Scope, subject: &str, topic: &Topic) -> Item {
    let pk = match topic {
        Topic::Expiring => pay_pk(sc, subject),
        Topic::ReconcileDiscrepancy => sc.pk(&format!("{STATEMENT_NOTICE_PREFIX}{subject}")),
        _ => alloc_pk(sc, subject),
    };
    key(pk, &format!("{NOTICE_PREFIX}{}", topic.code()))
}
pub(super) fn receiver_pk(sc: &Scope, receiver_no: &str) -> String {
    sc.pk(&format!("RECEIVER#{receiver_no}"))
}
pub(super) fn receiver_key(sc: &Scope, receiver_no: &str) -> Item {
    key(receiver_pk(sc, receiver_no), RECEIVER_SK)
}
pub(super) fn receivers_of(sc: &Scope, channel: Channel) -> String {
    sc.pk(&format!("RECEIVERS#{channel}"))
}
pub(super) fn group_pk(sc: &Scope, group_no: &str) -> String {
    sc.pk(&format!("GROUP#{group_no}"))
}
pub(super) fn group_key(sc: &Scope, group_no: &str) -> Item {
    key(group_pk(sc, group_no), GROUP_SK)
}
pub(super) fn groups_of(sc: &Scope, channel: Channel) -> String {
    sc.pk(&format!("GROUPS#{channel}"))
}
pub(super) fn default_group_pk(sc: &Scope, channel: Channel) -> String {
    sc.pk(&format!("DEFAULTGROUP#{channel}"))
}
pub(super) fn default_group_key(sc: &Scope, channel: Channel) -> Item {
    key(default_group_pk(sc, channel), DEFAULT_GROUP_SK)
}
/// The value of `flaggedPk` on an order of this scope flagged for a human and still
/// processing.
pub(super) fn flagged_mark(sc: &Scope) -> String {
    sc.pk("FLAGGED")
}
/// The `dayPk` of this scope's orders of a status created on a day.
pub(super) fn day_pk(sc: &Scope, status_day: &str) -> String {
    sc.pk(status_day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str) -> Scope {
        Scope::app(&AppId::parse(id).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn the_default_app_keeps_the_single_merchant_keys() {
        let d = Scope::default_app();
        assert_eq!(alloc_pk(&d, "A1"), "ALLOC#A1");
        assert_eq!(pay_pk(&d, "P1"), "PAY#P1");
        assert_eq!(flagged_mark(&d), "FLAGGED");
        assert_eq!(d.app_id(), None);
    }

    #[test]
    fn every_other_app_has_its_own_prefix_and_keys_split_back() {
        let b = app("app-B_2");
        assert_eq!(alloc_pk(&b, "A1"), "APP#app-B_2#ALLOC#A1");
        assert_eq!(
            receivers_of(&b, Channel::AliPay),
            "APP#app-B_2#RECEIVERS#ali_pay"
        );
        assert_eq!(b.app_id(), Some("app-B_2"));
        let (scope, rest) = Scope::split("APP#app-B_2#ALLOC#A1").unwrap_or_else(|| panic!());
        assert_eq!((scope, rest), (b.clone(), "ALLOC#A1"));
        let (scope, rest) = Scope::split("ALLOC#A1").unwrap_or_else(|| panic!());
        assert_eq!((scope, rest), (Scope::default_app(), "ALLOC#A1"));
        assert_eq!(Scope::split("APP#no-end"), None);
        assert_eq!(Scope::split("APP#bad id#ALLOC#A1"), None);
    }

    #[test]
    fn a_key_of_one_app_is_never_another_apps() {
        let (d, a, b) = (Scope::default_app(), app("a"), app("ab"));
        let key = alloc_pk(&a, "A1");
        assert_eq!(a.strip(&key), Some("ALLOC#A1"));
        assert_eq!(b.strip(&key), None);
        assert_eq!(d.strip(&key), None);
        assert_eq!(a.strip(&alloc_pk(&d, "A1")), None);
        assert_eq!(a.strip(&alloc_pk(&b, "A1")), None);
    }
}
