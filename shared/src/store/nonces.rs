//! Request nonces (SPEC §3): a (nonceStr, reqTime) pair is claimed once, by a conditional put,
//! and expires through TTL.

use super::item::{get_s, n, s};
use super::keys::nonce_key;
use super::schema::TTL;
use super::{Store, StoreError, db_err};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use rand::Rng;

/// The attribute naming the put that claimed a pair.
const CLAIM: &str = "claim";

impl Store {
    /// Records a (nonceStr, reqTime) pair. `Ok(false)`: seen before, the request is a replay.
    /// The item expires through TTL after `expires_at`; until TTL removes it, the `reqTime`
    /// window already refuses anything that old.
    ///
    /// The put carries a random claim of its own: when DynamoDB applied it and its answer was
    /// lost, the SDK sends the same put again, which finds that claim and is no replay (SPEC §9).
    pub async fn use_nonce(
        &self,
        nonce: &str,
        req_time: i64,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let claim = format!("{:016x}", rand::rng().random::<u64>());
        let mut item = nonce_key(&self.scope, nonce, req_time);
        item.insert(TTL.into(), n(expires_at));
        item.insert(CLAIM.into(), s(&claim));
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let earlier = failed.item().and_then(|old| get_s(old, CLAIM));
                    Ok(earlier.as_deref() == Some(claim.as_str()))
                }
                _ => Err(db_err(e)),
            },
        }
    }
}
