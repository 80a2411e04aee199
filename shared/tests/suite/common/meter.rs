//! DynamoDB capacity units of what the code under test sent, by DynamoDB's published rules:
//! an item's size is the UTF-8 length of its attribute names plus its values (strings by
//! bytes, numbers about one byte per two significant digits plus one, booleans and nulls one
//! byte, lists and maps three bytes plus one per element); a write costs one unit per KB of the
//! larger of the item before and after it (at least one), twice inside a transaction; a
//! strongly consistent read one unit per 4 KB of each item read (a Query: of all it returned
//! together), an eventually consistent one half that. A write that adds, moves or removes an
//! item on the keys-only `due` index costs one more unit per index item written or removed.
//!
//! The interceptor records each request and answer; [`Meter::units`] then replays the writes
//! over the table as it was before (a snapshot) and after (read back), so an update's "before"
//! is the last state this meter saw.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// One request with its answer, as JSON.
#[derive(Debug, Clone)]
pub struct Call {
    pub operation: String,
    pub request: Value,
    pub answer: Value,
}

/// Records every DynamoDB call made through the client it is installed on.
#[derive(Debug, Clone, Default)]
pub struct Meter(Arc<Mutex<Vec<Call>>>);

impl Meter {
    /// The calls recorded since the last take.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "Meter"
    }
    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = ctx.request();
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_owned();
        let body = request
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Call {
                operation,
                request: body,
                answer: Value::Null,
            });
        Ok(())
    }
    fn read_before_deserialization(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let answer = ctx
            .response()
            .body()
            .bytes()
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        if let Some(last) = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last_mut()
        {
            last.answer = answer;
        }
        Ok(())
    }
}

/// The size of a number: about one byte per two significant digits, plus one.
fn number_size(text: &str) -> usize {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .len()
        .max(1);
    significant.div_ceil(2) + 1
}

/// The size of one attribute value in DynamoDB JSON (`{"S": ...}`, `{"N": ...}`, ...).
pub fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|m| m.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        ("N", Value::String(s)) => number_size(s),
        // base64 in the JSON: the raw bytes count
        ("B", Value::String(s)) => s.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS", Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::len).sum(),
        ("NS", Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(number_size)
            .sum(),
        ("L", Value::Array(items)) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<usize>(),
        ("M", Value::Object(m)) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// The size of an item in DynamoDB JSON.
pub fn item_size(item: &Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn key_of(item: &Map<String, Value>) -> String {
    let s = |k: &str| {
        item.get(k)
            .and_then(|v| v["S"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    format!("{}|{}", s("pk"), s("sk"))
}

/// The item's key in one global secondary index (`None`: the sparse index holds no entry).
fn index_key(
    gsi: &shared::store::schema::Gsi,
    item: Option<&Map<String, Value>>,
) -> Option<String> {
    let item = item?;
    let text = |name: &str| {
        let v = item.get(name)?;
        v.get("S")
            .or_else(|| v.get("N"))?
            .as_str()
            .map(str::to_owned)
    };
    Some(format!("{}|{}", text(gsi.hash)?, text(gsi.range)?))
}

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// Write and read units of a run of calls.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Units {
    pub write: f64,
    pub read: f64,
    /// Of `write`: what the indexes cost.
    pub index_write: f64,
}

/// The table's items keyed `pk|sk` (a snapshot, or the state after a run).
pub type Table = HashMap<String, Map<String, Value>>;

pub fn table_from(items: Vec<Map<String, Value>>) -> Table {
    items.into_iter().map(|i| (key_of(&i), i)).collect()
}

/// The units of `calls`, over the table as it was before (`before`) and after (`after`).
pub fn units(calls: &[Call], before: &Table, after: &Table) -> Units {
    let mut state: Table = before.clone();
    let mut u = Units::default();
    let write_units = |size: usize| (size.div_ceil(1024)).max(1) as f64;
    let read_units = |size: usize, strong: bool| {
        let units = size.div_ceil(4096).max(1) as f64;
        if strong { units } else { units / 2.0 }
    };
    // One write of `op` (Put, Update, Delete, or a transaction's ConditionCheck) with its
    // request `body`, at `factor` units per KB; a failed condition still costs its units.
    let write =
        |state: &mut Table, op: &str, body: &Value, factor: f64, failed: bool, u: &mut Units| {
            let full = (op == "Put").then(|| object(&body["Item"]));
            let key = full
                .as_ref()
                .map_or_else(|| key_of(&object(&body["Key"])), key_of);
            let old = state.get(&key).cloned();
            if failed || op == "ConditionCheck" {
                u.write += write_units(old.as_ref().map_or(0, item_size)) * factor;
                return;
            }
            let new = match op {
                "Delete" => None,
                _ => full.or_else(|| after.get(&key).cloned()),
            };
            let size = old
                .as_ref()
                .map_or(0, item_size)
                .max(new.as_ref().map_or(0, item_size));
            u.write += write_units(size) * factor;
            // Each index entry written costs a unit (keys-only entries are small; a full
            // projection costs what the item does); a changed key is a delete and a put.
            let index: f64 = shared::store::schema::TABLE
                .gsis
                .iter()
                .map(|gsi| {
                    let per = if gsi.keys_only {
                        1.0
                    } else {
                        write_units(size)
                    };
                    per * match (index_key(gsi, old.as_ref()), index_key(gsi, new.as_ref())) {
                        (None, None) => 0.0,
                        (Some(a), Some(b)) if a == b && gsi.keys_only => 0.0,
                        (Some(a), Some(b)) if a == b => 1.0,
                        (Some(_), Some(_)) => 2.0,
                        _ => 1.0,
                    }
                })
                .sum();
            u.write += index;
            u.index_write += index;
            match new {
                Some(item) => state.insert(key, item),
                None => state.remove(&key),
            };
        };
    for call in calls {
        let r = &call.request;
        let failed = call.answer.get("__type").is_some();
        match call.operation.as_str() {
            op @ ("PutItem" | "UpdateItem" | "DeleteItem") => {
                let op = op.trim_end_matches("Item");
                write(&mut state, op, r, 1.0, failed, &mut u);
            }
            "TransactWriteItems" => {
                for entry in r["TransactItems"].as_array().into_iter().flatten() {
                    if let Some((op, body)) = entry.as_object().and_then(|m| m.iter().next()) {
                        write(&mut state, op, body, 2.0, failed, &mut u);
                    }
                }
            }
            "GetItem" => {
                let strong = r["ConsistentRead"].as_bool() == Some(true);
                let size = call.answer.get("Item").map_or(0, |i| item_size(&object(i)));
                u.read += read_units(size, strong);
            }
            "BatchGetItem" => {
                for (table, ask) in r["RequestItems"].as_object().into_iter().flatten() {
                    let strong = ask["ConsistentRead"].as_bool() == Some(true);
                    let found: Vec<usize> = call.answer["Responses"][table]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|i| item_size(&object(i)))
                        .collect();
                    let asked = ask["Keys"].as_array().map_or(0, Vec::len);
                    // every key asked costs at least one read, found or not
                    let missing = asked.saturating_sub(found.len());
                    u.read += found.iter().map(|s| read_units(*s, strong)).sum::<f64>()
                        + missing as f64 * read_units(0, strong);
                }
            }
            "Query" => {
                let strong = r["ConsistentRead"].as_bool() == Some(true);
                let size: usize = call.answer["Items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|i| item_size(&object(i)))
                    .sum();
                u.read += read_units(size, strong);
            }
            _ => {}
        }
    }
    u
}

/// An SDK attribute value as DynamoDB JSON.
pub fn to_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    use base64::Engine;
    let wrap = |k: &str, v: Value| Value::Object(Map::from_iter([(k.to_owned(), v)]));
    match v {
        A::S(s) => wrap("S", Value::String(s.clone())),
        A::N(n) => wrap("N", Value::String(n.clone())),
        A::Bool(b) => wrap("BOOL", Value::Bool(*b)),
        A::Null(_) => wrap("NULL", Value::Bool(true)),
        A::B(b) => wrap(
            "B",
            Value::String(base64::engine::general_purpose::STANDARD.encode(b.as_ref())),
        ),
        A::Ss(items) => wrap("SS", items.iter().cloned().map(Value::String).collect()),
        A::Ns(items) => wrap("NS", items.iter().cloned().map(Value::String).collect()),
        A::L(items) => wrap("L", items.iter().map(to_json).collect()),
        A::M(m) => wrap(
            "M",
            Value::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        ),
        _ => Value::Null,
    }
}

/// Every item of `table` (a test's own small table), as DynamoDB JSON.
pub async fn snapshot(client: &aws_sdk_dynamodb::Client, table: &str) -> Table {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));
        for item in out.items.unwrap_or_default() {
            items.push(item.iter().map(|(k, v)| (k.clone(), to_json(v))).collect());
        }
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return table_from(items),
        }
    }
}
