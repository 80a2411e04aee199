//! Request nonces (SPEC §3): a (nonceStr, reqTime) pair is claimed once, by a conditional put,
//! and expires through TTL.

use super::item::n;
use super::keys::nonce_key;
use super::schema::TTL;
use super::{Store, StoreError, conditional};

impl Store {
    /// Records a (nonceStr, reqTime) pair. `Ok(false)`: seen before, the request is a replay.
    /// The item expires through TTL after `expires_at`; until TTL removes it, the `reqTime`
    /// window already refuses anything that old.
    pub async fn use_nonce(
        &self,
        nonce: &str,
        req_time: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let mut item = nonce_key(&self.scope, nonce, req_time);
        item.insert(TTL.into(), n(expires_at));
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional(result)
    }
}
