//! WeChat Pay's signatures on answers and notifications (timestamp within 5 minutes, serial =
//! our public key id), and notifications' AES-256-GCM resource, opened with the APIv3 key.

use crate::infra::crypto::{RsaVerifier, aes256gcm_open};
use serde::Deserialize;
use std::fmt;

/// How far an answer's or notification's timestamp may be from our clock.
pub const MAX_SKEW_SECS: i64 = 300;

/// The headers a signed answer or notification carries.
pub const SIGNATURE_HEADERS: [&str; 4] = [
    "wechatpay-timestamp",
    "wechatpay-nonce",
    "wechatpay-signature",
    "wechatpay-serial",
];

/// The APIv3 key (32 ASCII characters). `Debug` never shows it.
#[derive(Clone)]
pub struct ApiV3Key(String);

impl ApiV3Key {
    pub fn new(key: impl Into<String>) -> Result<Self, &'static str> {
        let key = key.into();
        if key.len() != 32 || !key.is_ascii() {
            return Err("must be the 32-character APIv3 key");
        }
        Ok(Self(key))
    }
}

impl fmt::Debug for ApiV3Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiV3Key(***)")
    }
}

/// The signature headers of an answer or notification.
#[derive(Debug, Clone, Default)]
pub struct SignatureHeaders {
    pub timestamp: String,
    pub nonce: String,
    pub signature: String,
    pub serial: String,
}

impl SignatureHeaders {
    /// From header (lowercase name, value) pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut h = Self::default();
        for (name, value) in pairs {
            let slot = match name.to_ascii_lowercase().as_str() {
                "wechatpay-timestamp" => &mut h.timestamp,
                "wechatpay-nonce" => &mut h.nonce,
                "wechatpay-signature" => &mut h.signature,
                "wechatpay-serial" => &mut h.serial,
                _ => continue,
            };
            *slot = value.to_owned();
        }
        h
    }

    /// Reads `Wechatpay-Timestamp/Nonce/Signature/Serial` (case-insensitive names).
    pub fn from_headers(headers: &http::HeaderMap) -> Self {
        Self::from_pairs(
            SIGNATURE_HEADERS
                .iter()
                .filter_map(|k| Some((*k, headers.get(*k)?.to_str().ok()?))),
        )
    }
}

/// Verifies a signed answer or notification body. `Err` says why, without key material.
pub fn verify_signed(
    h: &SignatureHeaders,
    body: &[u8],
    key: &RsaVerifier,
    key_id: &str,
    now: i64,
) -> Result<(), String> {
    if h.serial != key_id {
        return Err(format!("signed with an unknown key `{}`", h.serial));
    }
    let ts: i64 = h
        .timestamp
        .parse()
        .map_err(|_| "no valid Wechatpay-Timestamp".to_owned())?;
    if (now - ts).abs() > MAX_SKEW_SECS {
        return Err(format!(
            "timestamp {ts} is more than {MAX_SKEW_SECS} s from now"
        ));
    }
    let mut message = Vec::with_capacity(body.len() + 64);
    message.extend_from_slice(h.timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(h.nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    if !key.verify_base64(&message, &h.signature) {
        return Err("signature does not verify".into());
    }
    Ok(())
}

/// A notification's envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    resource: Resource,
}

#[derive(Debug, Deserialize)]
struct Resource {
    algorithm: String,
    #[serde(default)]
    nonce: String,
    #[serde(default)]
    associated_data: String,
    #[serde(default)]
    ciphertext: String,
}

/// The decrypted resource of a profit-sharing notification.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SharingNotice {
    /// Partner mode: the provider and the sub-merchant it is about (instead of `mchid`).
    #[serde(default)]
    pub sp_mchid: Option<String>,
    #[serde(default)]
    pub sub_mchid: Option<String>,
    pub out_order_no: String,
    pub transaction_id: Option<String>,
    pub order_id: Option<String>,
    pub receiver: Option<NoticeReceiver>,
}

/// The one receiver a notification speaks for.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct NoticeReceiver {
    #[serde(rename = "type")]
    pub kind: String,
    pub account: String,
    pub amount: Option<i64>,
    pub description: Option<String>,
}

/// Verifies and decrypts a WeChat Pay notification (AEAD_AES_256_GCM resource).
pub fn open_notification(
    h: &SignatureHeaders,
    body: &[u8],
    key: &RsaVerifier,
    key_id: &str,
    apiv3_key: &ApiV3Key,
    now: i64,
) -> Result<SharingNotice, String> {
    verify_signed(h, body, key, key_id, now)?;
    let outer: Envelope =
        serde_json::from_slice(body).map_err(|_| "body is not a notification".to_owned())?;
    let r = outer.resource;
    if r.algorithm != "AEAD_AES_256_GCM" {
        return Err("resource is not AEAD_AES_256_GCM".into());
    }
    let plain = aes256gcm_open(
        apiv3_key.0.as_bytes(),
        &r.nonce,
        &r.associated_data,
        &r.ciphertext,
    )
    .ok_or_else(|| "resource does not decrypt".to_owned())?;
    serde_json::from_slice(&plain).map_err(|_| "resource is not a sharing notice".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apiv3_key_must_be_32_ascii() {
        assert!(ApiV3Key::new("x".repeat(31)).is_err());
        assert!(ApiV3Key::new("x".repeat(32)).is_ok_and(|k| !format!("{k:?}").contains('x')));
    }

    #[test]
    fn signature_headers_read_case_insensitively() {
        let h = SignatureHeaders::from_pairs([("Wechatpay-Serial", "S"), ("wechatpay-nonce", "n")]);
        assert_eq!((h.serial.as_str(), h.nonce.as_str()), ("S", "n"));
    }
}
