//! DynamoDB storage: the only place that knows keys and items; everything else asks in domain
//! terms. Every uniqueness rule and every state change is a conditional write; a writer that
//! loses a race re-reads and decides again. No Scan anywhere.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use item::{get_s, s};
use schema::PK;
use std::collections::HashMap;

pub mod allocations;
pub mod apps;
pub mod conflict;
mod details;
pub mod due;
pub mod item;
mod keys;
pub mod nonces;
pub mod notices;
pub mod ops;
pub mod pay_orders;
pub mod providers;
mod receiver_states;
pub mod receivers;
pub mod reconcile;
pub mod refunds;
pub mod returns;
pub mod schema;
pub mod start;
pub mod statements;
pub mod tenants;

pub use allocations::{Claim, CreateConflict, StoredAllocation};
pub use due::{Cursor, DueItem, DueSubject, Lease};
pub use item::Item;
pub use keys::Scope;
pub use ops::OrderCursor;
pub use pay_orders::FeedOutcome;
pub use receivers::Written;
pub use returns::{ReturnClaim, ReturnConflict};
pub use start::{PayOrderRef, ReceiversRef, StartLookup, StartSnapshot};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data says no (a conflicting write); the message is safe to show the caller.
    #[error("{0}")]
    Conflict(String),
    /// DynamoDB failed or answered something unexpected. Logged, never shown.
    #[error("dynamodb: {0}")]
    Db(String),
}

fn db_err<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Db(DisplayErrorContext(e).to_string())
}

/// The outcome of a conditional write: `Ok(true)` written, `Ok(false)` its condition did not
/// hold (the caller re-reads and decides again), `Err` anything else.
fn conditional<O, E>(
    result: Result<O, aws_sdk_dynamodb::error::SdkError<E>>,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .and_then(|se| se.code())
                .is_some_and(|c| c == "ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(db_err(e)),
    }
}

/// How many rounds a batch read takes to collect keys DynamoDB left unprocessed.
const BATCH_READ_ROUNDS: usize = 8;

/// The table and its client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Client,
    table: String,
    /// Orders carry the `byDay` index key (the deployment's `ORDER_LISTS`).
    order_lists: bool,
    /// The app whose items this store reads and writes: the prefix of every key.
    scope: Scope,
}

impl Store {
    /// A store over `table`. The client is given the retry classifier that sends a write
    /// again when it met a transaction in progress ([`conflict`]).
    pub fn new(db: Client, table: impl Into<String>) -> Self {
        let config = db
            .config()
            .to_builder()
            .retry_classifier(conflict::RetryTransactionConflicts)
            .build();
        Self {
            db: Client::from_conf(config),
            table: table.into(),
            order_lists: false,
            scope: Scope::default_app(),
        }
    }

    /// The same table, for the items of the app of `scope` only.
    pub fn scoped(&self, scope: Scope) -> Self {
        Self {
            scope,
            ..self.clone()
        }
    }

    /// The app whose items this store reads and writes.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether orders are listed by status and day.
    pub fn keeps_order_lists(&self) -> bool {
        self.order_lists
    }

    /// Keeps every order written from now on listed by status and day (`byDay`).
    pub fn with_order_lists(mut self, on: bool) -> Self {
        self.order_lists = on;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let out = self
            .db
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(db_err)?;
        Ok(out.item)
    }

    /// Strongly consistent reads of many items in one round trip (retrying unprocessed keys),
    /// keyed by `pk`. At most 100 keys.
    async fn get_many(&self, mut keys: Vec<Item>) -> Result<HashMap<String, Item>, StoreError> {
        keys.dedup();
        let items = self.read_batch(keys, true).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| Some((get_s(&item, PK)?, item)))
            .collect())
    }

    /// Reads up to 100 items in one batch, retrying the keys DynamoDB leaves unprocessed: the
    /// items found.
    async fn read_batch(&self, keys: Vec<Item>, consistent: bool) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::with_capacity(keys.len());
        let mut pending = keys;
        let mut trips = 0;
        while !pending.is_empty() {
            if trips >= BATCH_READ_ROUNDS {
                return Err(StoreError::Db("batch read left keys unprocessed".into()));
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(consistent)
                .build()
                .map_err(db_err)?;
            let out = self
                .db
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(db_err)?;
            trips += 1;
            found.extend(
                out.responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .unwrap_or_default()
                .remove(&self.table)
                .map(|k| k.keys)
                .unwrap_or_default();
        }
        Ok(found)
    }

    /// Runs a transaction. `Ok(None)`: done. `Ok(Some(i))`: cancelled because the condition of
    /// item `i` failed (the caller re-reads and decides again).
    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<Option<usize>, StoreError> {
        let result = self
            .db
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(e) => {
                let failed = e.as_service_error().and_then(|se| match se {
                    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => c
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed")),
                    _ => None,
                });
                match failed {
                    Some(i) => Ok(Some(i)),
                    None => Err(db_err(e)),
                }
            }
        }
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(db_err)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Every item whose `hash` attribute is `value`, on the table or an index, all pages.
    async fn query_all(
        &self,
        index: Option<&str>,
        hash: &str,
        value: &str,
        consistent: bool,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .db
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#h = :h")
                .expression_attribute_names("#h", hash)
                .expression_attribute_values(":h", s(value))
                .consistent_read(consistent)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(db_err)?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(items),
            }
        }
    }
}
