//! The WeChat Pay v3 primitives: RSASSA-PKCS1-v1_5 + SHA-256 signatures, RSAES-OAEP with
//! SHA-1/MGF1-SHA-1 for sensitive fields and AEAD_AES_256_GCM for notification resources.
//! Keys are base64 DER (PKCS#8 private, SubjectPublicKeyInfo public); PEM armour is tolerated.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPrivateDecryptingKey, PrivateDecryptingKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sim_kit::{Signer, Verifier, random_bytes};

use crate::SimError;

/// Base64 DER, optionally inside PEM armour; whitespace and line breaks are ignored.
fn decode_key(what: &str, text: &str) -> Result<Vec<u8>, SimError> {
    let unarmoured: String = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("-----"))
        .collect();
    Ok(sim_kit::decode_key(what, &unarmoured)?)
}

/// The "WeChat Pay" private key: signs answers and notifications, decrypts OAEP fields.
pub(crate) struct WechatKey {
    signer: Signer,
    oaep: OaepPrivateDecryptingKey,
}

impl WechatKey {
    pub(crate) fn from_pkcs8(text: &str) -> Result<Self, SimError> {
        const WHAT: &str = "wechat_private_key";
        let der = decode_key(WHAT, text)?;
        let signer = Signer::from_pkcs8(WHAT, &der)?;
        let rejected = |e: String| SimError::Key(format!("{WHAT}: {e}"));
        let oaep = PrivateDecryptingKey::from_pkcs8(&der)
            .map_err(|e| rejected(e.to_string()))
            .and_then(|k| OaepPrivateDecryptingKey::new(k).map_err(|e| rejected(e.to_string())))?;
        Ok(WechatKey { signer, oaep })
    }

    /// Base64 of the PKCS#1 v1.5 SHA-256 signature over `msg`.
    pub(crate) fn sign_b64(&self, msg: &[u8]) -> Result<String, SimError> {
        Ok(self.signer.sign_b64(msg)?)
    }

    /// Decrypts a base64 OAEP (SHA-1, MGF1-SHA-1, no label) ciphertext to UTF-8 text.
    pub(crate) fn decrypt_oaep_b64(&self, ciphertext_b64: &str) -> Option<String> {
        let ciphertext = STANDARD.decode(ciphertext_b64).ok()?;
        let mut out = vec![0u8; self.oaep.min_output_size()];
        let plain = self
            .oaep
            .decrypt(&OAEP_SHA1_MGF1SHA1, &ciphertext, &mut out, None)
            .ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

/// The merchant API public key: verifies request signatures.
pub(crate) fn merchant_verifier(text: &str) -> Result<Verifier, SimError> {
    const WHAT: &str = "merchant_public_key";
    Ok(Verifier::from_spki(WHAT, decode_key(WHAT, text)?)?)
}

/// AES-256-GCM with a 12-byte nonce: returns ciphertext ‖ 16-byte tag.
pub(crate) fn aes_gcm_seal(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, SimError> {
    let failed = |what: &str| SimError::Crypto(format!("AES-256-GCM: {what}"));
    let key = UnboundKey::new(&AES_256_GCM, key).map_err(|_| failed("key must be 32 bytes"))?;
    let nonce: [u8; NONCE_LEN] = nonce
        .try_into()
        .map_err(|_| failed("nonce must be 12 bytes"))?;
    let mut in_out = plaintext.to_vec();
    LessSafeKey::new(key)
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .map_err(|_| failed("sealing failed"))?;
    Ok(in_out)
}

/// `len` characters from `alphabet`, uniformly enough for nonces and ids.
pub(crate) fn random_text(len: usize, alphabet: &[u8]) -> String {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<32>() {
            // Reject the biased tail so every character is equally likely.
            let limit = 256 - 256 % alphabet.len();
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    out
}

pub(crate) const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
pub(crate) const DIGITS: &[u8] = b"0123456789";
pub(crate) const HEX_UPPER: &[u8] = b"0123456789ABCDEF";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const MERCHANT_PKCS8: &str = include_str!("../tests/fixtures/TEST-ONLY-merchant-key.pkcs8.b64");
    const MERCHANT_SPKI: &str = include_str!("../tests/fixtures/TEST-ONLY-merchant-key.spki.b64");
    const VECTORS: &str = include_str!("../tests/fixtures/vectors.json");

    fn vectors() -> Value {
        serde_json::from_str(VECTORS).expect("vectors.json")
    }

    #[test]
    fn rsa_vector_is_reproduced_and_verifies() {
        let v = &vectors()["rsa_sign"];
        let message = v["message"].as_str().expect("message");
        let expected = v["signature_b64"].as_str().expect("signature");
        let key = WechatKey::from_pkcs8(MERCHANT_PKCS8).expect("key");
        assert_eq!(key.sign_b64(message.as_bytes()).expect("sign"), expected);
        let verifier = merchant_verifier(MERCHANT_SPKI).expect("spki");
        assert!(verifier.verify_b64(message.as_bytes(), expected));
        assert!(!verifier.verify_b64(b"other", expected));
    }

    #[test]
    fn aes_gcm_vector_is_reproduced() {
        let v = &vectors()["aes_gcm"];
        let s = |k: &str| v[k].as_str().expect(k).as_bytes().to_vec();
        let sealed = aes_gcm_seal(
            &s("key"),
            &s("nonce"),
            &s("associated_data"),
            &s("plaintext"),
        )
        .expect("seal");
        assert_eq!(STANDARD.encode(sealed), v["ciphertext_b64"]);
    }

    #[test]
    fn pem_armour_is_accepted() {
        let body: Vec<String> = MERCHANT_SPKI
            .trim()
            .as_bytes()
            .chunks(64)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            body.join("\n")
        );
        assert!(merchant_verifier(&pem).is_ok());
        assert!(merchant_verifier(MERCHANT_PKCS8).is_err());
        assert!(WechatKey::from_pkcs8(MERCHANT_SPKI).is_err());
    }

    #[test]
    fn random_text_uses_the_alphabet() {
        let t = random_text(100, DIGITS);
        assert_eq!(t.len(), 100);
        assert!(t.bytes().all(|b| b.is_ascii_digit()));
        assert_ne!(random_text(32, ALNUM), random_text(32, ALNUM));
    }
}
