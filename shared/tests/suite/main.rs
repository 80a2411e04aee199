//! The library's integration tests, as one test binary: each module below was a binary of its
//! own, and every one of them linked the whole AWS SDK again (time and disk). A new test file
//! here must be declared below (the test at the end fails otherwise, here and in
//! `dev/local/tests/suite`).

mod common;

mod after_split;
mod alipay_cert_mode;
mod allocation_e2e;
mod api;
mod async_jobs;
mod bands;
mod beta4_contract;
mod chaos_found;
mod cost;
mod daxpay_contract;
mod events;
mod fairness;
mod isolation;
mod ops;
mod provider_calls;
mod providers;
mod reconcile;
mod reconcile_api;
mod reconcile_days;
mod reconcile_notice;
mod review;
mod sign_vectors;
mod store_layout;
mod table_schema;
mod tenancy;
mod tls;
mod upgrade;
mod wechat_crypto;

/// A file in a one-binary test folder that no `mod` line names would silently never run. The
/// workspace has two such folders: this one and the local runner's.
#[test]
fn every_test_file_is_declared() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut undeclared = Vec::new();
    for suite in ["shared/tests/suite", "dev/local/tests/suite"] {
        let dir = format!("{root}/{suite}");
        let main = std::fs::read_to_string(format!("{dir}/main.rs"))
            .unwrap_or_else(|e| panic!("{dir}/main.rs: {e}"));
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let module = match name.strip_suffix(".rs") {
                Some(stem) => stem.to_owned(),
                None if entry.path().is_dir() => name.clone(),
                None => continue,
            };
            if module != "main" && !main.contains(&format!("\nmod {module};")) {
                undeclared.push(format!("{suite}/{name}"));
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "not declared in their main.rs: {undeclared:?}"
    );
}
