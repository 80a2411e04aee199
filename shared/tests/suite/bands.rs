//! The shape of the library (ARCHITECTURE: four bands, one direction): each band imports only
//! the bands below it, so a change to an adapter never reaches the rules, and the domain stays
//! pure. Read from the source, so a new upward import fails here.

use std::collections::BTreeSet;
use std::path::Path;

/// What each top-level module of `shared/src` may name through `crate::`.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &["domain"]),
    ("daxpay", &["daxpay", "domain", "infra"]),
    ("reconcile", &["reconcile", "domain"]),
    ("infra", &["infra", "domain"]),
    ("store", &["store", "domain", "infra"]),
    ("channel", &["channel", "domain", "infra"]),
    (
        "app",
        &["app", "channel", "daxpay", "domain", "infra", "store"],
    ),
    (
        "service",
        &[
            "service",
            "app",
            "channel",
            "daxpay",
            "domain",
            "infra",
            "reconcile",
            "store",
        ],
    ),
];

/// Crates the pure domain must not use (AWS, HTTP, the wire format's JSON maps).
const NOT_IN_DOMAIN: &[&str] = &[
    "aws_sdk",
    "aws_lambda",
    "lambda_http",
    "hyper",
    "rustls",
    "serde_json::Map",
];

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The modules a file names as `crate::<module>`.
fn named(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let before = text[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let module: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !module.is_empty() {
            found.insert(module);
        }
    }
    found
}

#[test]
fn no_band_imports_a_band_above_it() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"));
    let mut wrong = Vec::new();
    for (band, allowed) in ALLOWED {
        let mut files = Vec::new();
        let dir = src.join(band);
        if dir.is_dir() {
            sources(&dir, &mut files);
        } else {
            files.push(src.join(format!("{band}.rs")));
        }
        assert!(!files.is_empty(), "no sources for {band}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
            for module in named(&text) {
                if !allowed.contains(&module.as_str()) {
                    wrong.push(format!("{} names crate::{module}", file.display()));
                }
            }
            if *band == "domain" {
                for krate in NOT_IN_DOMAIN {
                    if text.contains(krate) {
                        wrong.push(format!("{} uses {krate}", file.display()));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the bands:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    let sample = "use crate::http::handle;\nfn f() { crate::domain::x(); }\n// not_crate::store";
    let found: Vec<String> = named(sample).into_iter().collect();
    assert_eq!(found, ["domain", "http"]);
}

/// Every file says what it is on its first line and stays around 400 lines or less.
#[test]
fn every_file_opens_with_what_it_is_and_stays_small() {
    let mut files = Vec::new();
    sources(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut files,
    );
    let mut wrong = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        if !text.starts_with("//! ") {
            wrong.push(format!("{}: no opening line", file.display()));
        }
        let lines = text.lines().count();
        if lines > 420 {
            wrong.push(format!("{}: {lines} lines", file.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
