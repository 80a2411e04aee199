//! RSA2 (RSASSA-PKCS1-v1_5 + SHA-256) with Java-style keys: base64 PKCS#8 DER private keys and
//! base64 SubjectPublicKeyInfo DER public keys, as the Alipay console hands them out.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKey};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::SimError;

/// DER of the `rsaEncryption` OID (1.2.840.113549.1.1.1), which an SPKI carries in its
/// AlgorithmIdentifier and a bare PKCS#1 `RSAPublicKey` does not.
const RSA_ENCRYPTION_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// Keys pasted from a console are often wrapped; whitespace is never part of base64.
fn decode_key(what: &str, b64: &str) -> Result<Vec<u8>, SimError> {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|e| SimError::Key(format!("{what}: not base64: {e}")))
}

/// Signs with the Alipay private key.
pub(crate) struct Signer(KeyPair);

impl Signer {
    pub(crate) fn from_pkcs8_b64(b64: &str) -> Result<Self, SimError> {
        let der = decode_key("alipay_private_key", b64)?;
        KeyPair::from_pkcs8(&der)
            .map(Signer)
            .map_err(|e| SimError::Key(format!("alipay_private_key: not an RSA PKCS#8 key: {e}")))
    }

    /// Base64 of the RSA2 signature over `msg`.
    pub(crate) fn sign_b64(&self, msg: &[u8]) -> Result<String, SimError> {
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .map_err(|_| SimError::Crypto("RSA signing failed".into()))?;
        Ok(STANDARD.encode(sig))
    }
}

/// Verifies with the app (merchant) public key.
pub(crate) struct Verifier(UnparsedPublicKey<Vec<u8>>);

impl Verifier {
    /// Accepts an SPKI only: aws-lc-rs would also take a bare PKCS#1 key, but the console format
    /// (and what our client's configuration must hold) is SPKI.
    pub(crate) fn from_spki_b64(b64: &str) -> Result<Self, SimError> {
        let der = decode_key("app_public_key", b64)?;
        let head = &der[..der.len().min(32)];
        if !head
            .windows(RSA_ENCRYPTION_OID.len())
            .any(|w| w == RSA_ENCRYPTION_OID)
        {
            return Err(SimError::Key(
                "app_public_key: not an RSA SubjectPublicKeyInfo".into(),
            ));
        }
        PublicKey::from_der(&der).map_err(|e| SimError::Key(format!("app_public_key: {e}")))?;
        Ok(Verifier(UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            der,
        )))
    }

    /// True iff `sign_b64` is strict standard base64 of a valid RSA2 signature over `msg`.
    pub(crate) fn verify_b64(&self, msg: &[u8], sign_b64: &str) -> bool {
        STANDARD
            .decode(sign_b64)
            .is_ok_and(|sig| self.0.verify(msg, &sig).is_ok())
    }
}

/// A fresh RSA-2048 pair: (base64 PKCS#8 private key, base64 SPKI public key).
pub fn generate_keypair() -> Result<(String, String), SimError> {
    let failed = |_| SimError::Crypto("RSA key generation failed".into());
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
    let private = pair.as_der().map_err(failed)?;
    let public = pair.public_key().as_der().map_err(failed)?;
    Ok((
        STANDARD.encode(private.as_ref()),
        STANDARD.encode(public.as_ref()),
    ))
}

/// Random bytes for ids that must not repeat across restarts. The system RNG does not fail in
/// practice; if it did, ids would merely be less unique, so the error is ignored.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    let _ = aws_lc_rs::rand::fill(&mut buf);
    buf
}

pub(crate) fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes())
}
