//! The client names every merchant endpoint of the service, and no other. The service's
//! OpenAPI document is held equal to its route table by the service's own test, so a
//! `POST /unipay/...` route added without a client call fails here. DaxPay 3.0.0-beta4's
//! endpoints (`/unipay/alloc/...`) are another dialect, which its own Java SDK speaks: this
//! client speaks DaxPay 2.0.x's (the CLI signs a beta4 body with `alloc sign --beta4`).

use alloc_client::endpoint;
use std::collections::BTreeSet;

#[test]
fn the_client_covers_every_merchant_route_of_the_contract() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/openapi.json");
    let text = std::fs::read_to_string(path).expect("the service's OpenAPI document");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let routes: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(path, item)| path.starts_with("/unipay/") && item.get("post").is_some())
        .filter(|(path, _)| !path.starts_with("/unipay/alloc/"))
        .map(|(path, _)| path.to_ascii_lowercase())
        .collect();
    let ours: BTreeSet<String> = endpoint::ALL
        .iter()
        .map(|e| e.path.to_ascii_lowercase())
        .collect();
    assert!(routes.len() >= 20, "read the document: {routes:?}");
    assert_eq!(ours, routes);
}
