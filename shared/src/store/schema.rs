//! The one DynamoDB table: its definition lives here and only here. The local run and the tests
//! create it from [`TABLE`]; a test checks that `template.yaml` declares exactly the same.
//!
//! Item keys (`pk` / `sk`), one item type per prefix. Every key of a merchant's data (and the
//! hash key of its `gsi1`, `flagged` and `byDay` entries) starts with its app's scope (SPEC
//! §8.1): nothing for the stack's default app (the single-merchant layout, so a stack upgraded in
//! place keeps its data), `APP#<appId>#` for every other app (`store::Scope`):
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | pay order | `PAY#<orderNo>` | `PAY` | written by the feed; `allocationNo` marks it allocated |
//! | pay order by bizOrderNo | `PAYBIZ#<bizOrderNo>` | `PAYBIZ` | pointer holding `orderNo`, written with the pay order |
//! | allocation order | `ALLOC#<allocationNo>` | `ORDER` | status, result, version |
//! | allocation detail | `ALLOC#<allocationNo>` | `DETAIL#<receiverNo>` | one query reads order + details |
//! | notice outbox / attempts | `ALLOC#<allocationNo>` | `NOTICE#<status>` | due work on the `due` index |
//! | bizAllocationNo claim | `BIZALLOC#<bizAllocationNo>` | `BIZALLOC` | holds `allocationNo` and the request digest |
//! | receiver | `RECEIVER#<receiverNo>` | `RECEIVER` | `gsi1`: `RECEIVERS#<channel>` / receiverNo |
//! | group | `GROUP#<groupNo>` | `GROUP` | members (with rates and account copies) inline; `gsi1`: `GROUPS#<channel>` / groupNo |
//! | default group of a channel | `DEFAULTGROUP#<channel>` | `DEFAULTGROUP` | holds `groupNo` |
//! | request nonce | `NONCE#<reqTime>#<nonceStr>` | `NONCE` | expires through TTL |
//! | reconciliation cursor, statement | `RECON#<channel>` | `CURSOR`, `DAY#<day>` | `store::reconcile`, `store::statements` |
//! | discrepancy | `RECONDISC#<channel>#<day>` | `<run>#<seq>` | expires through TTL |
//! | reconciliation notice | `RECONNOTICE#<channel>#<day>` | `NOTICE#reconcile_discrepancy` | with its statement |
//!
//! The `due` index is sparse: an item carries `duePk` (`DUE#<kind>`) and `dueAt` (epoch seconds)
//! only while work on it is due; the scheduler queries `duePk = DUE#<kind> AND dueAt <= now`.
//! The `flagged` index is sparse too: an allocation order carries `flaggedPk` (`FLAGGED`) only
//! while it is flagged for a human and still processing; operators list those newest first
//! (`createdAt` descending). An order writes the index when it is flagged and when it leaves
//! that state, never otherwise.
//! The `byDay` index lists orders by day: where the deployment keeps order lists
//! (`ORDER_LISTS`), every allocation order carries `dayPk` `<status>#<yyyy-MM-dd>` (the day of
//! its creation in China Standard Time) and is found newest first (`createdAt` descending);
//! without them, `ALL#<yyyy-MM-dd>`, a key that never changes. Every return carries
//! `ALL#<yyyy-MM-dd>`. Reconciliation reads a day's orders and returns through it (SPEC §4.13).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

/// A key attribute's DynamoDB type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    S,
    N,
}

impl AttrType {
    pub fn code(self) -> &'static str {
        match self {
            Self::S => "S",
            Self::N => "N",
        }
    }
    fn sdk(self) -> ScalarAttributeType {
        match self {
            Self::S => ScalarAttributeType::S,
            Self::N => ScalarAttributeType::N,
        }
    }
}

/// A global secondary index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: &'static str,
    /// `true`: keys only; `false`: all attributes.
    pub keys_only: bool,
}

/// The table definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSchema {
    pub hash: &'static str,
    pub range: &'static str,
    pub attributes: &'static [(&'static str, AttrType)],
    pub gsis: &'static [Gsi],
    pub ttl_attribute: &'static str,
}

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const GSI1: &str = "gsi1";
pub const GSI1_PK: &str = "gsi1pk";
pub const GSI1_SK: &str = "gsi1sk";
pub const DUE_INDEX: &str = "due";
pub const DUE_PK: &str = "duePk";
pub const DUE_AT: &str = "dueAt";
pub const FLAGGED_INDEX: &str = "flagged";
pub const FLAGGED_PK: &str = "flaggedPk";
pub const CREATED_AT: &str = "createdAt";
pub const BY_DAY_INDEX: &str = "byDay";
pub const BY_DAY_PK: &str = "dayPk";
pub const TTL: &str = "expiresAt";

pub const TABLE: TableSchema = TableSchema {
    hash: PK,
    range: SK,
    attributes: &[
        (PK, AttrType::S),
        (SK, AttrType::S),
        (GSI1_PK, AttrType::S),
        (GSI1_SK, AttrType::S),
        (DUE_PK, AttrType::S),
        (DUE_AT, AttrType::N),
        (FLAGGED_PK, AttrType::S),
        (CREATED_AT, AttrType::N),
        (BY_DAY_PK, AttrType::S),
    ],
    gsis: &[
        Gsi {
            name: GSI1,
            hash: GSI1_PK,
            range: GSI1_SK,
            keys_only: false,
        },
        Gsi {
            name: DUE_INDEX,
            hash: DUE_PK,
            range: DUE_AT,
            keys_only: true,
        },
        Gsi {
            name: FLAGGED_INDEX,
            hash: FLAGGED_PK,
            range: CREATED_AT,
            keys_only: true,
        },
        Gsi {
            name: BY_DAY_INDEX,
            hash: BY_DAY_PK,
            range: CREATED_AT,
            keys_only: true,
        },
    ],
    ttl_attribute: TTL,
};

/// Why the table could not be created.
#[derive(Debug, thiserror::Error)]
#[error("creating table {table}: {cause}")]
pub struct CreateTableError {
    table: String,
    cause: String,
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, CreateTableError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| CreateTableError {
            table: String::new(),
            cause: e.to_string(),
        })
}

/// Creates the table (pay per request) with its indexes and TTL, for local runs and tests.
/// In AWS the SAM template creates it.
pub async fn create_table(client: &Client, table: &str) -> Result<(), CreateTableError> {
    let fail = |cause: String| CreateTableError {
        table: table.to_owned(),
        cause,
    };
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(TABLE.hash, KeyType::Hash)?)
        .key_schema(key(TABLE.range, KeyType::Range)?);
    for (name, kind) in TABLE.attributes {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(kind.sdk())
                .build()
                .map_err(|e| fail(e.to_string()))?,
        );
    }
    for gsi in TABLE.gsis {
        let projection = Projection::builder()
            .projection_type(if gsi.keys_only {
                ProjectionType::KeysOnly
            } else {
                ProjectionType::All
            })
            .build();
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(gsi.name)
                .key_schema(key(gsi.hash, KeyType::Hash)?)
                .key_schema(key(gsi.range, KeyType::Range)?)
                .projection(projection)
                .build()
                .map_err(|e| fail(e.to_string()))?,
        );
    }
    req.send()
        .await
        .map_err(|e| fail(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TABLE.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(|e| fail(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| fail(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    Ok(())
}
