//! Every vector of `tests/fixtures/sign.json` (copied from the product's signing vectors; three come
//! from the seed documents' HTTP examples) must reproduce its sign string and both digests.

use serde_json::{Map, Value};
use shared::daxpay::sign::{Secret, SignType, Signer, sign_string};

fn vectors_of(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    doc["vectors"].as_array().cloned().unwrap_or_default()
}

fn vectors() -> Vec<Value> {
    vectors_of(include_str!("../fixtures/sign.json"))
}

/// Hutool's escaping of nested JSON text, one vector per escaped range and per boundary that
/// stays literal, computed by `fixtures/hutool-escape/make_vectors.py` from the rule alone.
fn hutool_vectors() -> Vec<Value> {
    vectors_of(include_str!("../fixtures/hutool-escape/vectors.json"))
}

fn object(v: &Value) -> Map<String, Value> {
    v["object"].as_object().cloned().unwrap_or_default()
}

#[test]
fn fixture_holds_all_vectors() {
    let names: Vec<String> = vectors()
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), 13, "{names:?}");
    for seed in [
        "seed000-sync-request",
        "seed001-start-request",
        "seed002-finish-request",
    ] {
        assert!(names.iter().any(|n| n == seed), "missing {seed}");
    }
}

#[test]
fn hutool_escape_vectors_cover_every_range() {
    let names: Vec<String> = hutool_vectors()
        .iter()
        .filter_map(|v| v["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names.len(), 25, "{names:?}");
    for range in [
        "range1-00a0-nbsp",
        "range2-2010",
        "range3-2028",
        "range4-206f",
        "control-001f",
    ] {
        assert!(names.iter().any(|n| n == range), "missing {range}");
    }
}

#[test]
fn every_vector_reproduces_string_and_digests() {
    for v in vectors().into_iter().chain(hutool_vectors()) {
        let name = v["name"].as_str().unwrap_or("?");
        let secret = Secret::new(v["secret"].as_str().unwrap_or_default());
        let obj = object(&v);
        assert_eq!(
            sign_string(&obj, &secret),
            v["signString"].as_str().unwrap_or_default(),
            "sign string of {name}"
        );
        for (sign_type, field) in [
            (SignType::HmacSha256, "HMAC_SHA256"),
            (SignType::Md5, "MD5"),
        ] {
            let signer = Signer::new(sign_type, secret.clone());
            let expected = v[field].as_str().unwrap_or_default();
            assert_eq!(signer.sign(&obj), expected, "{field} of {name}");
            let mut signed = obj.clone();
            signed.insert("sign".into(), Value::String(expected.to_owned()));
            assert!(signer.verify(&signed), "{name} verifies with {field}");
            // one flipped hex digit fails
            let mut flipped: Vec<char> = expected.chars().collect();
            flipped[0] = if flipped[0] == '0' { '1' } else { '0' };
            signed.insert("sign".into(), Value::String(flipped.into_iter().collect()));
            assert!(!signer.verify(&signed), "{name} refuses a flipped digit");
        }
    }
}

#[test]
fn seed_http_examples_verify_as_sent() {
    // The request bodies exactly as printed in the seeds (member order as printed).
    let bodies = [
        r#"{"bizOrderNo":"SDK_1715341621498","sign":"8bcaee4a71a9ca6b7a3ab8a7caa35a7604d2a84753763c2f7e984ab4b9f5c6cd","reqTime":1715500231}"#,
        r#"{"bizAllocationNo":"A29729","orderNo":"DEVP24060123574963000003","description":"测试分账","receivers":[{"receiverNo":"123","amount":6000}],"attach":"88899","clientIp":"127.0.0.1","sign":"fbe24cb131ee86ff76b66b8d7909169b26b805ac2195969caf18d0079ba4beea","reqTime":1717261696}"#,
        r#"{"allocationNo":"DEVA24060117191963000003","sign":"84cf593c322809a4edb86df248f81e09d01b5c8403d1efb061531784d0201553","reqTime":1717327448}"#,
        // response data of seeds 000, 001 and 002
        r#"{"code":1,"msg":"支付订单不存在","resTime":1715499295,"sign":"48145bb659db3a337ecbba4e46d3b57b5da6ef8006c1342ebbc9320d619bbad4"}"#,
        r#"{"allocationNo":"DEVA24060201494863000002","bizAllocationNo":"A60434","status":"allocation_processing","code":0,"resTime":1717264189,"sign":"a29b68e5d89ec6c7f2985a2680bd22b40cbffd79b4e0d8d0ec331e9b6337e1b1"}"#,
        r#"{"code":1,"msg":"该订单已分账完成","resTime":1717261697,"sign":"bd3fef1a43a017edf57359035a3f8fce2dbd3c32f5bfb43360e9ef3d913c6413"}"#,
        r#"{"code":1,"msg":"分账单状态错误","resTime":1717327448,"sign":"613a86d9cb51538f3c74c69fe014bce0ad27f46bd60c0df23702e8fe6316540b"}"#,
    ];
    let signer = Signer::new(SignType::HmacSha256, Secret::new("123456"));
    for body in bodies {
        let obj = shared::daxpay::json::parse_object(body.as_bytes()).unwrap_or_default();
        assert!(signer.verify(&obj), "{body}");
        let wrong = Signer::new(SignType::HmacSha256, Secret::new("1234567"));
        assert!(!wrong.verify(&obj), "wrong secret must fail: {body}");
    }
}
