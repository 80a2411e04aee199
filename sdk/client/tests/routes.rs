//! The client names every merchant endpoint of the service's route table, and no other: a
//! `POST /unipay/...` route added under `shared/src/http/` without a client call fails here.

use alloc_client::endpoint;
use std::collections::BTreeSet;

#[test]
fn the_client_covers_the_route_table() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/src/http");
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("the service's http adapter") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        // the routes, not the tests' odd paths
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for after in code.split("\"POST\",").skip(1) {
            let Some(literal) = after.trim_start().strip_prefix('"') else {
                continue;
            };
            let path = literal.split('"').next().unwrap_or_default();
            if path.starts_with("/unipay/") {
                routes.insert(path.trim_end_matches('/').to_ascii_lowercase());
            }
        }
    }
    let ours: BTreeSet<String> = endpoint::ALL
        .iter()
        .map(|e| e.path.to_ascii_lowercase())
        .collect();
    assert!(routes.len() >= 20, "read the table: {routes:?}");
    assert_eq!(ours, routes);
}
