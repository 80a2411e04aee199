//! WeChat Pay's notifications and answers. Unsigned input must be refused without a panic; a
//! notification sealed (AES-256-GCM) and signed with the test keys opens exactly when its
//! resource is a sharing notice; answer bodies go through the typed readers.
#![no_main]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use shared::channel::wechat::notify::SharingNotice;
use shared::channel::wechat::wire::{ErrorBody, OrderEntity, ReturnEntity};
use shared::channel::wechat::{ApiV3Key, SignatureHeaders, open_notification, verify_signed};

const APIV3: &str = "fuzzfuzzfuzzfuzzfuzzfuzzfuzzfuzz";
const KEY_ID: &str = "PUB_KEY_ID_FUZZ";
const NONCE: &str = "0123456789ab";

fn seal(plain: &[u8]) -> String {
    let Ok(key) = UnboundKey::new(&AES_256_GCM, APIV3.as_bytes()) else {
        panic!("key");
    };
    let key = LessSafeKey::new(key);
    let Ok(nonce) = Nonce::try_assume_unique_for_key(NONCE.as_bytes()) else {
        panic!("nonce");
    };
    let mut data = plain.to_vec();
    if key
        .seal_in_place_append_tag(nonce, Aad::from(b"profitsharing".as_slice()), &mut data)
        .is_err()
    {
        panic!("seal");
    }
    base64::engine::general_purpose::STANDARD.encode(data)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let keys = fuzz::keys();
    let now = fuzz::NOW;
    match which % 3 {
        0 => {
            // headers and body as they came
            let [ts, nonce, sig, body] = fuzz::parts::<4>(rest);
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let h = SignatureHeaders {
                timestamp: text(ts),
                nonce: text(nonce),
                signature: text(sig),
                serial: KEY_ID.into(),
            };
            let _ = verify_signed(&h, body, &keys.public, KEY_ID, now);
            if let Ok(apiv3) = ApiV3Key::new(APIV3) {
                let _ = open_notification(&h, body, &keys.public, KEY_ID, &apiv3, now);
            }
        }
        1 => {
            // a notification we seal and sign around the input
            let body = format!(
                r#"{{"id":"EV-1","event_type":"PROFITSHARING.SUCCESS","resource":{{"algorithm":"AEAD_AES_256_GCM","nonce":"{NONCE}","associated_data":"profitsharing","ciphertext":"{}"}}}}"#,
                seal(rest)
            );
            let ts = now.to_string();
            let message = format!("{ts}\nn0nce\n{body}\n");
            let Ok(signature) = keys.private.sign_base64(message.as_bytes()) else {
                panic!("signing failed");
            };
            let h = SignatureHeaders {
                timestamp: ts,
                nonce: "n0nce".into(),
                signature,
                serial: KEY_ID.into(),
            };
            let Ok(apiv3) = ApiV3Key::new(APIV3) else {
                panic!("apiv3 key");
            };
            let opened = open_notification(&h, body.as_bytes(), &keys.public, KEY_ID, &apiv3, now);
            let direct = serde_json::from_slice::<SharingNotice>(rest);
            assert_eq!(opened.ok(), direct.ok());
        }
        _ => {
            if let Ok(order) = serde_json::from_slice::<OrderEntity>(rest) {
                let _ = order.results();
            }
            if let Ok(ret) = serde_json::from_slice::<ReturnEntity>(rest) {
                let _ = ret.answer();
            }
            let _ = serde_json::from_slice::<ErrorBody>(rest);
        }
    }
});
