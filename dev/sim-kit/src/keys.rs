//! RSASSA-PKCS1-v1_5 + SHA-256 with base64 DER keys: PKCS#8 private keys, SubjectPublicKeyInfo
//! public keys. Each simulator decides which text forms of a key it accepts.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKey};
use aws_lc_rs::signature::{
    KeyPair as _, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Decodes base64 DER; keys pasted from a console are often wrapped, and whitespace is never
/// part of base64. `what` names the key in the error.
pub fn decode_key(what: &str, b64: &str) -> Result<Vec<u8>, Error> {
    let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(compact)
        .map_err(|e| Error::Key(format!("{what}: not base64: {e}")))
}

/// Signs with an RSA private key.
pub struct Signer(KeyPair);

impl Signer {
    pub fn from_pkcs8(what: &str, der: &[u8]) -> Result<Self, Error> {
        KeyPair::from_pkcs8(der)
            .map(Signer)
            .map_err(|e| Error::Key(format!("{what}: not an RSA PKCS#8 key: {e}")))
    }

    /// Base64 of the PKCS#1 v1.5 SHA-256 signature over `msg`.
    pub fn sign_b64(&self, msg: &[u8]) -> Result<String, Error> {
        let mut sig = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .map_err(|_| Error::Crypto("RSA signing failed".into()))?;
        Ok(STANDARD.encode(sig))
    }
}

/// Verifies signatures with an RSA public key.
pub struct Verifier(UnparsedPublicKey<Vec<u8>>);

impl Verifier {
    pub fn from_spki(what: &str, der: Vec<u8>) -> Result<Self, Error> {
        PublicKey::from_der(&der).map_err(|e| Error::Key(format!("{what}: {e}")))?;
        Ok(Verifier(UnparsedPublicKey::new(
            &RSA_PKCS1_2048_8192_SHA256,
            der,
        )))
    }

    /// True iff `sig_b64` is strict standard base64 of a valid signature over `msg`.
    pub fn verify_b64(&self, msg: &[u8], sig_b64: &str) -> bool {
        STANDARD
            .decode(sig_b64)
            .is_ok_and(|sig| self.0.verify(msg, &sig).is_ok())
    }
}

/// A fresh RSA-2048 pair: (base64 PKCS#8 private key, base64 SPKI public key).
pub fn generate_keypair() -> Result<(String, String), Error> {
    let failed = |_| Error::Crypto("RSA key generation failed".into());
    let pair = KeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
    let private = pair.as_der().map_err(failed)?;
    let public = pair.public_key().as_der().map_err(failed)?;
    Ok((
        STANDARD.encode(private.as_ref()),
        STANDARD.encode(public.as_ref()),
    ))
}

/// Random bytes from the system RNG, for nonces and ids that must not repeat across restarts.
/// It does not fail in practice; if it did, they would only be less random, so the error is
/// ignored.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    let _ = aws_lc_rs::rand::fill(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_pair_signs_and_verifies() {
        let (private, public) = generate_keypair().expect("keygen");
        let signer = Signer::from_pkcs8("private", &decode_key("private", &private).expect("b64"))
            .expect("pkcs8");
        let verifier = Verifier::from_spki("public", decode_key("public", &public).expect("b64"))
            .expect("spki");
        let sig = signer.sign_b64(b"message").expect("sign");
        assert!(verifier.verify_b64(b"message", &sig));
        assert!(!verifier.verify_b64(b"other", &sig));
        assert!(!verifier.verify_b64(b"message", &format!(" {sig}")));

        let wrapped: String = private
            .as_bytes()
            .chunks(64)
            .map(|line| format!("{}\n", String::from_utf8_lossy(line)))
            .collect();
        assert_eq!(
            decode_key("private", &wrapped).expect("wrapped"),
            decode_key("private", &private).expect("plain")
        );
        let swapped = decode_key("public", &public).expect("b64");
        assert!(Signer::from_pkcs8("public", &swapped).is_err());
        assert!(matches!(decode_key("k", "not base64!"), Err(Error::Key(_))));
    }
}
