//! WeChat Pay v3 crypto against fixed vectors computed outside this project (Python
//! `cryptography`, cross-checked with openssl), and the notification path against the
//! simulator. The key in `tests/fixtures/TEST-ONLY-*` is public test material.

use crate::common::harness::{APIV3_KEY, Harness, Kind, Sim, WX_KEY_ID};
use serde_json::{Value, json};
use shared::channel::wechat::{ApiV3Key, SignatureHeaders, open_notification, verify_signed};
use shared::infra::crypto::{RsaSigner, RsaVerifier, aes256gcm_open};
use std::time::Duration;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../fixtures/wechat-vectors.json")).unwrap_or(Value::Null)
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

#[test]
fn a_known_key_signs_a_known_message_to_a_known_signature() {
    let v = vectors();
    let signer = RsaSigner::from_pkcs8_base64(
        "test key",
        include_str!("../fixtures/TEST-ONLY-merchant-key.pkcs8.b64"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let message = s(&v["rsa_sign"]["message"]);
    let expected = s(&v["rsa_sign"]["signature_b64"]);
    assert!(!expected.is_empty());
    assert_eq!(
        signer.sign_base64(message.as_bytes()).ok().as_deref(),
        Some(expected)
    );
    let verifier = RsaVerifier::from_spki_base64(
        "test key",
        include_str!("../fixtures/TEST-ONLY-merchant-key.spki.b64"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(verifier.verify_base64(message.as_bytes(), expected));
    assert!(
        !verifier.verify_base64(message.trim_end().as_bytes(), expected),
        "the final newline is signed"
    );
}

#[test]
fn an_aes_gcm_resource_decrypts_to_known_json() {
    let v = &vectors()["aes_gcm"];
    let plain = aes256gcm_open(
        s(&v["key"]).as_bytes(),
        s(&v["nonce"]),
        s(&v["associated_data"]),
        s(&v["ciphertext_b64"]),
    )
    .unwrap_or_else(|| panic!("does not decrypt"));
    let got: Value = serde_json::from_slice(&plain).unwrap_or(Value::Null);
    let want: Value = match &v["plaintext"] {
        Value::String(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        other => other.clone(),
    };
    assert_eq!(got, want);
    assert!(
        got["out_order_no"].is_string() || got["receiver"].is_object(),
        "{got}"
    );
    // another associated data, key or nonce does not authenticate
    assert!(
        aes256gcm_open(
            s(&v["key"]).as_bytes(),
            s(&v["nonce"]),
            "certificate",
            s(&v["ciphertext_b64"])
        )
        .is_none()
    );
    assert!(
        aes256gcm_open(
            &[b'x'; 32],
            s(&v["nonce"]),
            s(&v["associated_data"]),
            s(&v["ciphertext_b64"])
        )
        .is_none()
    );
    assert!(
        aes256gcm_open(
            s(&v["key"]).as_bytes(),
            "TESTnonce013",
            s(&v["associated_data"]),
            s(&v["ciphertext_b64"])
        )
        .is_none()
    );
}

#[tokio::test]
async fn receiver_names_travel_oaep_encrypted_and_arrive_readable() {
    let h = Harness::new(Kind::Wechat, Duration::from_secs(5)).await;
    h.ok("/unipay/allocation/receiver/add", json!({"receiverNo": "m1", "channel": "wechat_pay",
        "receiverType": "wx_merchant", "receiverAccount": "1900000110", "receiverName": "深圳某某科技有限公司",
        "relationType": "SUPPLIER"})).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat harness")
    };
    assert_eq!(
        sim.receiver_name("MERCHANT_ID", "1900000110").as_deref(),
        Some("深圳某某科技有限公司")
    );
    // a merchant receiver needs its full name
    let env = h.post("/unipay/allocation/receiver/add", json!({"receiverNo": "m2", "channel": "wechat_pay",
        "receiverType": "wx_merchant", "receiverAccount": "1900000111", "relationType": "SUPPLIER"})).await;
    assert_eq!(env["code"], 10006);
    assert!(s(&env["msg"]).contains("receiverName"), "{env}");
}

#[tokio::test]
async fn notifications_verify_and_decrypt_and_tampering_is_refused() {
    let h = Harness::new(Kind::Wechat, Duration::from_secs(5)).await;
    h.receiver("m1", "wx_merchant", "1900000110").await;
    let trade = h.paid("P1", 10000).await;
    let d = h
        .ok(
            "/unipay/allocation/start",
            json!({"bizAllocationNo": "A1", "orderNo": "P1",
        "receivers": [{"receiverNo": "m1", "amount": 100}]}),
        )
        .await;
    let no = s(&d["allocationNo"]).to_owned();
    h.settle(&trade, &no, &[]).await;
    let Sim::Wechat(sim) = &h.sim else {
        panic!("wechat harness")
    };
    let n = sim
        .notification(&trade, &no, "1900000110")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut headers = http::HeaderMap::new();
    for (k, v) in &n.headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    let sig = SignatureHeaders::from_headers(&headers);
    let Some(key) = h.wechat_key.as_ref() else {
        panic!("no WeChat Pay key")
    };
    let apiv3 = ApiV3Key::new(APIV3_KEY).unwrap_or_else(|e| panic!("{e}"));
    let now = crate::common::now();
    let opened = open_notification(&sig, n.body.as_bytes(), key, WX_KEY_ID, &apiv3, now);
    let resource = opened.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resource.out_order_no, no);
    assert_eq!(resource.transaction_id.as_deref(), Some(trade.as_str()));
    assert_eq!(
        resource.receiver.map(|r| r.account).as_deref(),
        Some("1900000110")
    );

    let tampered = n.body.replacen("分账", "分帐", 1);
    assert!(open_notification(&sig, tampered.as_bytes(), key, WX_KEY_ID, &apiv3, now).is_err());
    assert!(
        verify_signed(&sig, n.body.as_bytes(), key, WX_KEY_ID, now + 301)
            .is_err_and(|e| e.contains("timestamp"))
    );
    assert!(
        verify_signed(&sig, n.body.as_bytes(), key, "PUB_KEY_ID_OTHER", now)
            .is_err_and(|e| e.contains("unknown key"))
    );
    let probe = SignatureHeaders {
        signature: "WECHATPAY/SIGNTEST/abc".into(),
        ..sig.clone()
    };
    assert!(verify_signed(&probe, n.body.as_bytes(), key, WX_KEY_ID, now).is_err());
    let wrong_key = ApiV3Key::new("b".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        open_notification(&sig, n.body.as_bytes(), key, WX_KEY_ID, &wrong_key, now)
            .is_err_and(|e| e.contains("decrypt"))
    );
}
