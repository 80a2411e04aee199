//! Tests of the strict parser and of the tree: agreement with serde_json on what is JSON and
//! what each value is, duplicates refused, and parameters read from a tree as from values.

use super::*;
use serde_json::Value;

/// `parse_tree` into an arena that lives as long as the test (leaked, as only a test may).
fn tree(bytes: &[u8]) -> Result<Object<'_>, JsonError> {
    parse_tree(bytes, Box::leak(Box::new(Arena::for_body(bytes.len()))))
}

#[test]
fn accepts_objects_and_keeps_values() {
    let m = parse_object(br#"{"a":1,"b":[{"c":"x"}],"d":null}"#);
    assert_eq!(m.map(|m| m.len()), Ok(3));
    let body = br#"{"s":"plain","e":"a\"b","n":-2.5,"t":true}"#;
    let read = tree(body);
    let Ok(tree) = read else {
        panic!("refused: {read:?}");
    };
    let Some(Node::Str(plain)) = tree.get("s") else {
        panic!("s is not a string: {tree:?}");
    };
    assert_eq!(*plain, "plain");
    assert!(
        body.as_ptr_range().contains(&plain.as_ptr()),
        "a string without escapes is borrowed from the body"
    );
    assert_eq!(tree.get("e"), Some(&Node::Str("a\"b")));
    assert_eq!(
        tree.get("n"),
        Number::from_f64(-2.5).map(Node::Number).as_ref()
    );
    assert_eq!(tree.get("t"), Some(&Node::Bool(true)));
}

#[test]
fn refuses_duplicates_at_any_depth_and_size() {
    assert_eq!(
        parse_object(br#"{"a":1,"a":2}"#),
        Err(JsonError::DuplicateKey("a".into()))
    );
    assert_eq!(
        parse_object(br#"{"r":[{"n":"1","n":"2"}]}"#),
        Err(JsonError::DuplicateKey("n".into()))
    );
    // an escaped name is the same name
    assert_eq!(
        parse_object(br#"{"ab":1,"a\u0062":2}"#),
        Err(JsonError::DuplicateKey("ab".into()))
    );
    // past the linear check: a repeat among forty members, and forty distinct ones
    let mut many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
    let distinct = format!("{{{}}}", many.join(","));
    assert_eq!(parse_object(distinct.as_bytes()).map(|m| m.len()), Ok(40));
    many.push("\"k3\":0".into());
    let repeated = format!("{{{}}}", many.join(","));
    assert_eq!(
        parse_object(repeated.as_bytes()),
        Err(JsonError::DuplicateKey("k3".into()))
    );
}

#[test]
fn refuses_non_objects_and_trailing_garbage() {
    assert_eq!(parse_object(b"[1]"), Err(JsonError::NotAnObject));
    assert!(matches!(parse_object(b"{} x"), Err(JsonError::Syntax(_))));
    assert!(matches!(
        parse_object(b"{\"a\":"),
        Err(JsonError::Syntax(_))
    ));
    assert!(matches!(parse_object(b""), Err(JsonError::Syntax(_))));
}

#[test]
fn a_tree_deserialises_like_serde_json_values() {
    use serde::Deserialize;
    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct P {
        a: Option<String>,
        n: i64,
        list: Vec<Inner>,
    }
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Inner {
        x: bool,
    }
    let body = br#"{"a":null,"n":7,"list":[{"x":true}]}"#;
    let parsed = tree(body).unwrap_or_default();
    let node = Node::Object(parsed);
    let from_tree = P::deserialize(&node);
    let from_value = serde_json::from_slice::<P>(body);
    assert_eq!(from_tree.as_ref().ok(), from_value.as_ref().ok());
    assert!(from_tree.is_ok());
    for bad in [
        &br#"{"n":"7","list":[]}"#[..],
        br#"{"n":1.5,"list":[]}"#,
        br#"{"n":1,"list":{}}"#,
        br#"{"n":1,"list":[],"b":1}"#,
        br#"{"list":[]}"#,
    ] {
        let node = Node::Object(tree(bad).unwrap_or_default());
        let from_tree = P::deserialize(&node).map_err(|e| e.to_string());
        let from_value = serde_json::from_slice::<Value>(bad)
            .and_then(P::deserialize)
            .map_err(|e| e.to_string());
        assert!(from_tree.is_err());
        assert_eq!(from_tree, from_value);
    }
}

/// What serde_json makes of `text` (`None` when it refuses it), and what we make of it.
fn both(text: &str) -> (Option<Value>, Option<Value>) {
    let theirs = serde_json::from_str::<Value>(text).ok();
    let ours = tree(text.as_bytes())
        .ok()
        .map(|o| Value::Object(object_to_map(o)));
    (theirs, ours)
}

#[test]
fn agrees_with_serde_json_on_valid_and_invalid_text() {
    let cases = [
        r#"{}"#,
        r#" { "a" : [ 1 , 2 ] } "#,
        r#"{"a":"plain","b":"tab\tquote\"slash\/back\\","c":"\u00e9\u4e2d\ud83d\ude00"}"#,
        r#"{"n":[0,-0,1,-1,18446744073709551615,18446744073709551616,-9223372036854775808,-9223372036854775809,1.5,-2.25e3,1E2,1e-7,0.0]}"#,
        r#"{"t":true,"f":false,"z":null,"e":[],"o":{}}"#,
        "{\"a\":\"中文 emoji 😀\"}",
        "{\"a\":1}\n",
        // refused
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":.5}"#,
        r#"{"a":-}"#,
        r#"{"a":1e}"#,
        r#"{"a":+1}"#,
        r#"{"a":1,}"#,
        r#"{"a":[1,]}"#,
        r#"{"a" 1}"#,
        r#"{a:1}"#,
        r#"{"a":tru}"#,
        r#"{"a":nul}"#,
        r#"{"a":"\x"}"#,
        r#"{"a":"\ud83d"}"#,
        r#"{"a":"\ude00"}"#,
        r#"{"a":"\ud83d\u0041"}"#,
        r#"{"a":"\u12"}"#,
        "{\"a\":\"line\nbreak\"}",
        r#"{"a":1e400}"#,
        r#"{"a":"unterminated}"#,
        r#"{"a":1"#,
        r#"{"a":[1"#,
        r#"{"a":1} {}"#,
        r#"{"a":NaN}"#,
        "\u{feff}{}",
    ];
    for text in cases {
        let (theirs, ours) = both(text);
        assert_eq!(ours, theirs, "{text}");
    }
}

#[test]
fn nesting_is_limited_as_serde_json_limits_it() {
    for depth in [100, 127, 128, 129, 200] {
        let text = format!(
            "{}{}",
            "{\"a\":".repeat(depth),
            "1".to_owned() + &"}".repeat(depth)
        );
        let (theirs, ours) = both(&text);
        assert_eq!(ours.is_some(), theirs.is_some(), "depth {depth}");
    }
}

#[test]
fn bytes_that_are_not_utf8_are_refused() {
    assert!(matches!(
        tree(b"{\"a\":\"\xff\"}"),
        Err(JsonError::Syntax(_))
    ));
}

#[test]
fn mutated_bodies_agree_with_serde_json() {
    let body = r#"{"bizAllocationNo":"A1","orderNo":"P1","receivers":[{"receiverNo":"r\u00e9","amount":6000},{"receiverNo":"s","amount":1.25e2}],"description":"测试","reqTime":1719475200,"ok":true,"x":null,"sign":"00"}"#;
    let alphabet = b"{}[]\",:\\u0123456789-+.eE tfnrl\"a\xc3\xa9";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut agreed = 0;
    for _ in 0..20_000 {
        let mut bytes = body.as_bytes().to_vec();
        for _ in 0..(next() % 3 + 1) {
            let pos = (next() as usize) % bytes.len();
            let b = alphabet[(next() as usize) % alphabet.len()];
            match next() % 3 {
                0 => bytes[pos] = b,
                1 => bytes.insert(pos, b),
                _ => {
                    bytes.remove(pos);
                }
            }
        }
        let theirs = serde_json::from_slice::<Value>(&bytes).ok();
        let arena = Arena::for_body(bytes.len());
        let ours = parse_tree(&bytes, &arena);
        match ours {
            // serde_json keeps the last of two equal names, so it accepts what we refuse
            Err(JsonError::DuplicateKey(_)) => assert!(theirs.is_some()),
            Err(JsonError::NotAnObject) => {
                assert!(theirs.is_some_and(|v| !v.is_object()));
            }
            Err(JsonError::Syntax(_)) => assert_eq!(theirs, None, "{bytes:?}"),
            Ok(o) => {
                assert_eq!(Some(Value::Object(object_to_map(o))), theirs, "{bytes:?}");
                agreed += 1;
            }
        }
    }
    // the mutations must leave enough valid bodies for the comparison to mean something
    assert!(agreed > 1000, "only {agreed} valid mutants");
}

/// Found by the `json_tree` fuzz target: a repeated name is refused where it is read, even when
/// the text breaks further on.
#[test]
fn a_repeated_name_is_refused_before_later_syntax_errors() {
    assert_eq!(
        tree(br#"{"attach":"1","attach":"2"6"x":}"#),
        Err(JsonError::DuplicateKey("attach".into()))
    );
}

/// Found by the `sign_roundtrip` fuzz target: a number too large for an integer is read as the
/// nearest double (serde_json's `float_roundtrip`), so the text we write for it reads back as
/// the same number and an answer carrying it still verifies.
#[test]
fn large_numbers_read_back_as_the_number_written() {
    let body = br#"{"allocNo":"A1","nonceStr":17194763000005200476300000521300000300}"#;
    let secret = crate::sign::Secret::new("k");
    let first = parse_object(body).unwrap_or_default();
    let written = Value::Object(first.clone()).to_string();
    let again = tree(written.as_bytes()).unwrap_or_default();
    assert_eq!(
        crate::sign::sign_string(&first, &secret),
        crate::sign::sign_string(&again, &secret)
    );
    assert_eq!(Value::Object(first), Value::Object(object_to_map(again)));
}
