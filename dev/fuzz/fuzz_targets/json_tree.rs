//! The strict parser against serde_json: the same value or the same refusal for every input
//! (but a repeated member name, which only we refuse, as soon as it is read), and a parsed tree
//! signs exactly as the `serde_json` map of the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::daxpay::json::{Arena, JsonError, parse_object, parse_tree};
use shared::daxpay::sign::{Secret, sign_string};

fuzz_target!(|data: &[u8]| {
    let theirs = serde_json::from_slice::<Value>(data).ok();
    let arena = Arena::for_body(data.len());
    match parse_tree(data, &arena) {
        Ok(tree) => {
            let map = parse_object(data);
            let Ok(map) = map else {
                panic!("the tree parsed but the map did not: {map:?}");
            };
            assert_eq!(Some(Value::Object(map.clone())), theirs);
            let secret = Secret::new("k");
            assert_eq!(sign_string(&tree, &secret), sign_string(&map, &secret));
        }
        // the first repeated name is refused where it is read, before any later syntax error
        Err(JsonError::DuplicateKey(_)) => {}
        Err(JsonError::NotAnObject) => assert!(theirs.is_some_and(|v| !v.is_object())),
        Err(JsonError::Syntax(_)) => assert!(theirs.is_none()),
    }
});
