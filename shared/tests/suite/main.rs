//! The library's integration tests, as one test binary: each module below was a binary of its
//! own, and every one of them linked the whole AWS SDK again (time and disk). A new test file
//! here must be declared below (the test at the end fails otherwise).

mod common;

mod alipay_cert_mode;
mod allocation_e2e;
mod api;
mod async_jobs;
mod events;
mod sign_vectors;
mod table_schema;
mod wechat_crypto;

/// A file in this folder that no `mod` line names would silently never run.
#[test]
fn every_test_file_here_is_declared() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/suite");
    let main = include_str!("main.rs");
    let mut undeclared = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name
            .strip_suffix(".rs")
            .or(entry.path().is_dir().then_some(&name))
        else {
            continue;
        };
        if module != "main" && !main.contains(&format!("\nmod {module};")) {
            undeclared.push(name);
        }
    }
    assert!(
        undeclared.is_empty(),
        "not declared in tests/suite/main.rs: {undeclared:?}"
    );
}
