//! Alipay's answers and settle notifications. Unsigned input must be refused without a panic;
//! input signed with the test key goes on to the node's code and the typed parsers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::channel::alipay::notify::verify_notification;
use shared::channel::alipay::royalty::RoyaltyDetails;
use shared::channel::alipay::wire::{SettleAnswer, Status, classify, sign_content, verify_answer};

const METHODS: [&str; 3] = [
    "alipay.trade.order.settle",
    "alipay.trade.order.settle.query",
    "alipay.trade.royalty.relation.bind",
];
const APP_ID: &str = "2021000000000001";

fn json_trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let keys = fuzz::keys();
    let text = String::from_utf8_lossy(rest);
    let method = METHODS[usize::from(which >> 4) % METHODS.len()];
    match which % 3 {
        0 => {
            // an answer as it came: unsigned, or signed by someone else
            let cert = (which & 8 != 0).then_some("cert-sn");
            let _ = verify_answer(&text, method, &keys.public, cert);
        }
        1 => {
            // an answer whose node we sign: it verifies exactly when the node is an object
            let node = json_trim(&text);
            if serde_json::from_str::<serde::de::IgnoredAny>(node).is_err() {
                return;
            }
            let Ok(sign) = keys.private.sign_base64(node.as_bytes()) else {
                panic!("signing failed");
            };
            let name = format!("{}_response", method.replace('.', "_"));
            let body = format!("{{\"{name}\":{node},\"sign\":\"{sign}\"}}");
            match verify_answer(&body, method, &keys.public, None) {
                Ok(verified) => {
                    let _ = verified.parse::<Status>(method);
                    let _ = verified.parse::<SettleAnswer>(method);
                    let _ = verified.parse::<RoyaltyDetails>(method).map(|d| d.results());
                    let _ = classify(method, verified);
                }
                Err(e) => assert!(!node.starts_with('{'), "{e}"),
            }
        }
        _ => {
            // a settle notification carrying `biz_content`, signed
            let timestamp = (fuzz::NOW * 1000).to_string();
            let mut pairs: Vec<(String, String)> = vec![
                ("app_id".into(), APP_ID.into()),
                ("msg_method".into(), "alipay.trade.order.settle.notify".into()),
                ("utc_timestamp".into(), timestamp),
                ("biz_content".into(), text.into_owned()),
            ];
            let content = sign_content(
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                &["sign", "sign_type"],
            );
            let Ok(sign) = keys.private.sign_base64(content.as_bytes()) else {
                panic!("signing failed");
            };
            pairs.push(("sign".into(), sign));
            pairs.push(("sign_type".into(), "RSA2".into()));
            let read = verify_notification(&pairs, &keys.public, APP_ID, fuzz::NOW);
            let direct = serde_json::from_str::<RoyaltyDetails>(&pairs[3].1);
            assert_eq!(read.is_ok(), direct.is_ok(), "{:?}", read.err());
            if let Ok(details) = read {
                let _ = details.results();
            }
        }
    }
});
