//! The table has one definition (`shared::store::schema::TABLE`). The SAM template must declare the
//! same keys, attributes, indexes and TTL, and the table the code creates locally must too.

use serde_yaml::Value as Yaml;
use shared::store::schema::TABLE;
use std::collections::BTreeSet;

fn template_table() -> Yaml {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let doc: Yaml = serde_yaml::from_str(&text).unwrap_or(Yaml::Null);
    doc["Resources"]["Table"]["Properties"].clone()
}

fn s(v: &Yaml) -> String {
    v.as_str().unwrap_or("").to_owned()
}

fn keys(schema: &Yaml) -> (String, String) {
    let mut hash = String::new();
    let mut range = String::new();
    for k in schema.as_sequence().cloned().unwrap_or_default() {
        match s(&k["KeyType"]).as_str() {
            "HASH" => hash = s(&k["AttributeName"]),
            "RANGE" => range = s(&k["AttributeName"]),
            _ => {}
        }
    }
    (hash, range)
}

#[test]
fn template_declares_the_code_schema() {
    let t = template_table();
    assert_eq!(s(&t["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(
        keys(&t["KeySchema"]),
        (TABLE.hash.to_owned(), TABLE.range.to_owned())
    );
    let attrs: BTreeSet<(String, String)> = t["AttributeDefinitions"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|a| (s(&a["AttributeName"]), s(&a["AttributeType"])))
        .collect();
    let expected: BTreeSet<(String, String)> = TABLE
        .attributes
        .iter()
        .map(|(n, k)| ((*n).to_owned(), k.code().to_owned()))
        .collect();
    assert_eq!(attrs, expected);
    let gsis: BTreeSet<(String, (String, String), String)> = t["GlobalSecondaryIndexes"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|g| {
            (
                s(&g["IndexName"]),
                keys(&g["KeySchema"]),
                s(&g["Projection"]["ProjectionType"]),
            )
        })
        .collect();
    let expected: BTreeSet<(String, (String, String), String)> = TABLE
        .gsis
        .iter()
        .map(|g| {
            (
                g.name.to_owned(),
                (g.hash.to_owned(), g.range.to_owned()),
                if g.keys_only { "KEYS_ONLY" } else { "ALL" }.to_owned(),
            )
        })
        .collect();
    assert_eq!(gsis, expected);
    assert_eq!(
        s(&t["TimeToLiveSpecification"]["AttributeName"]),
        TABLE.ttl_attribute
    );
    assert_eq!(
        t["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

#[tokio::test]
async fn created_table_matches_the_schema() {
    let store = crate::common::fresh_store().await;
    let client = aws_sdk_dynamodb::Client::new(&crate::common::sdk().await);
    let described = client
        .describe_table()
        .table_name(store.table())
        .send()
        .await;
    let table = match described.ok().and_then(|d| d.table) {
        Some(t) => t,
        None => panic!("table not described"),
    };
    let key_names: Vec<String> = table
        .key_schema()
        .iter()
        .map(|k| format!("{}:{}", k.attribute_name(), k.key_type().as_str()))
        .collect();
    assert_eq!(
        key_names,
        vec![
            format!("{}:HASH", TABLE.hash),
            format!("{}:RANGE", TABLE.range)
        ]
    );
    let mut index_names: Vec<String> = table
        .global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name().map(str::to_owned))
        .collect();
    index_names.sort();
    let mut expected: Vec<String> = TABLE.gsis.iter().map(|g| g.name.to_owned()).collect();
    expected.sort();
    assert_eq!(index_names, expected);
    let ttl = client
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await;
    let attr = ttl
        .ok()
        .and_then(|t| t.time_to_live_description)
        .and_then(|d| d.attribute_name);
    assert_eq!(attr.as_deref(), Some(TABLE.ttl_attribute));
}
