//! RSA primitives on aws-lc-rs (constant-time, no OpenSSL). Keys are given Java-style, as the
//! channels' consoles hand them out: private keys as base64 PKCS#8 DER, public keys as base64
//! SubjectPublicKeyInfo DER (PEM armour is accepted and stripped).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair;
use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;
use std::sync::OnceLock;

pub use alloc_protocol::{Secret, SignType};

/// A key that could not be read. Never contains key material.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("{0}: not valid base64")]
    Base64(&'static str),
    #[error("{0}: not a usable RSA key ({1})")]
    Key(&'static str, &'static str),
    #[error("signing failed")]
    Sign,
}

/// Strips PEM armour and whitespace, then decodes base64.
fn der_from_text(what: &'static str, text: &str) -> Result<Vec<u8>, CryptoError> {
    let mut body = Vec::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_ascii();
        if !line.starts_with("-----") {
            body.extend(line.bytes().filter(|b| !b.is_ascii_whitespace()));
        }
    }
    B64.decode(body).map_err(|_| CryptoError::Base64(what))
}

/// The DER of an RSA key in PKCS#8 (`rsaEncryption`, OID 1.2.840.113549.1.1.1, near the start).
const RSA_ENCRYPTION_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// A SEQUENCE whose first member is `INTEGER 0` (PKCS#8's version: a SubjectPublicKeyInfo
/// starts with its algorithm instead) and that names `rsaEncryption` (PKCS#1's `RSAPrivateKey`
/// does not).
fn looks_like_pkcs8_rsa(der: &[u8]) -> bool {
    let header = match der.get(1) {
        Some(len) if len & 0x80 == 0 => 2,
        Some(len) => 2 + usize::from(len & 0x7f),
        None => return false,
    };
    der.len() > 64
        && der[0] == 0x30
        && der.get(header..header + 3) == Some(&[0x02, 0x01, 0x00][..])
        && der[..40.min(der.len())]
            .windows(RSA_ENCRYPTION_OID.len())
            .any(|w| w == RSA_ENCRYPTION_OID)
}

/// An RSA private key that signs with PKCS#1 v1.5 SHA-256 ("RSA2", "SHA256withRSA").
///
/// Reading a private key (aws-lc checks it, a few milliseconds of a cold start for each) waits
/// for its first signature: a sandbox pays only for the channels it calls. At start-up the text
/// is decoded, its shape checked and its numbers checked against each other (microseconds), so
/// a key pasted in the wrong place or corrupt fails init, naming its setting.
pub struct RsaSigner {
    what: &'static str,
    der: Vec<u8>,
    key: OnceLock<Result<KeyPair, &'static str>>,
    rng: SystemRandom,
}

impl fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaSigner(***)")
    }
}

impl RsaSigner {
    /// `what` names the setting in errors.
    pub fn from_pkcs8_base64(what: &'static str, text: &str) -> Result<Self, CryptoError> {
        let der = der_from_text(what, text)?;
        if !looks_like_pkcs8_rsa(&der) {
            return Err(CryptoError::Key(what, "not a PKCS#8 RSA private key"));
        }
        if let Some(why) = super::rsa_check::inconsistency(&der) {
            return Err(CryptoError::Key(what, why));
        }
        Ok(Self {
            what,
            der,
            key: OnceLock::new(),
            rng: SystemRandom::new(),
        })
    }

    /// The key, read on first use.
    fn key(&self) -> Result<&KeyPair, CryptoError> {
        self.key
            .get_or_init(|| KeyPair::from_pkcs8(&self.der).map_err(|e| e.description_()))
            .as_ref()
            .map_err(|why| CryptoError::Key(self.what, why))
    }

    /// Reads the key now (tests, or a caller that wants a bad key reported early).
    pub fn check(&self) -> Result<(), CryptoError> {
        self.key().map(|_| ())
    }

    /// Base64 of the signature of `message`.
    pub fn sign_base64(&self, message: &[u8]) -> Result<String, CryptoError> {
        let key = self.key()?;
        let mut sig = vec![0u8; key.public_modulus_len()];
        key.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|_| CryptoError::Sign)?;
        Ok(B64.encode(sig))
    }
}

/// An RSA public key that verifies PKCS#1 v1.5 SHA-256 signatures (2048 to 8192 bits).
#[derive(Clone)]
pub struct RsaVerifier {
    /// Parsed once: every channel answer and notification is verified with it.
    key: signature::ParsedPublicKey,
    der: Vec<u8>,
}

impl fmt::Debug for RsaVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaVerifier")
    }
}

impl RsaVerifier {
    pub fn from_spki_base64(what: &'static str, text: &str) -> Result<Self, CryptoError> {
        Self::from_spki_der(what, &der_from_text(what, text)?)
    }

    /// From SubjectPublicKeyInfo DER, as a certificate carries it.
    pub fn from_spki_der(what: &'static str, der: &[u8]) -> Result<Self, CryptoError> {
        // A bad key fails at init rather than on the first answer.
        let key = signature::ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|_| CryptoError::Key(what, "unreadable public key"))?;
        Ok(Self {
            key,
            der: der.to_vec(),
        })
    }

    /// True when `signature_b64` is a valid signature of `message`.
    pub fn verify_base64(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(sig) = B64.decode(signature_b64.trim()) else {
            return false;
        };
        self.key.verify_sig(message, &sig).is_ok()
    }
}

impl RsaVerifier {
    /// RSA-OAEP (SHA-1, MGF1-SHA-1, no label) encryption with this public key, base64: how
    /// WeChat Pay wants sensitive fields such as a receiver's name.
    pub fn oaep_sha1_encrypt_base64(&self, plaintext: &[u8]) -> Result<String, CryptoError> {
        use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
        let unusable = CryptoError::Key("public key", "cannot encrypt with it");
        let key = PublicEncryptingKey::from_der(&self.der).map_err(|_| unusable.clone())?;
        let key = OaepPublicEncryptingKey::new(key).map_err(|_| unusable)?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let ciphertext = key
            .encrypt(&OAEP_SHA1_MGF1SHA1, plaintext, &mut out, None)
            .map_err(|_| CryptoError::Sign)?;
        Ok(B64.encode(ciphertext))
    }
}

/// `len` random letters and digits (nonces, trace ids).
pub fn random_alnum(len: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// AEAD_AES_256_GCM decryption as WeChat Pay uses it: the key is the 32 ASCII bytes of the
/// APIv3 key, the nonce the 12 bytes of the given string, the ciphertext base64 of
/// ciphertext‖tag. `None` if anything does not fit or authenticate.
pub fn aes256gcm_open(key: &[u8], nonce: &str, aad: &str, ciphertext_b64: &str) -> Option<Vec<u8>> {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).ok()?;
    let mut data = B64.decode(ciphertext_b64.trim()).ok()?;
    let plain = key
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
        .ok()?;
    Some(plain.to_vec())
}

/// A fresh RSA-2048 key pair as (base64 PKCS#8 private, base64 SPKI public), for tests and the
/// local run's simulators.
pub fn generate_rsa_keypair() -> Result<(String, String), CryptoError> {
    let what = "generated key";
    let key = KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| CryptoError::Key(what, "generation failed"))?;
    let private = key
        .as_der()
        .map_err(|_| CryptoError::Key(what, "pkcs8 encoding failed"))?;
    let public = aws_lc_rs::signature::KeyPair::public_key(&key)
        .as_der()
        .map_err(|_| CryptoError::Key(what, "spki encoding failed"))?;
    Ok((B64.encode(private.as_ref()), B64.encode(public.as_ref())))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_private_key_is_checked_at_once_and_read_on_first_use() {
        let Ok((private, public)) = generate_rsa_keypair() else {
            panic!("keygen")
        };
        // a public key (or PKCS#1, or garbage) where the private key belongs fails at once
        let e = RsaSigner::from_pkcs8_base64("WECHAT_PRIVATE_KEY", &public).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.to_string().contains("WECHAT_PRIVATE_KEY")),
            "{e:?}"
        );
        let Ok(good) = RsaSigner::from_pkcs8_base64("K", &private) else {
            panic!("good key refused")
        };
        assert!(good.check().is_ok() && good.sign_base64(b"m").is_ok());
        // the right shape with broken numbers fails init too, named, before any order is
        // written on its strength (a first signature failing would come too late)
        let mut der = der_from_text("K", &private).unwrap_or_default();
        let mid = der.len() / 2;
        for b in &mut der[mid..mid + 8] {
            *b ^= 0x5a;
        }
        let broken = B64.encode(&der);
        let e = RsaSigner::from_pkcs8_base64("ALIPAY_PRIVATE_KEY", &broken).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.to_string().starts_with("ALIPAY_PRIVATE_KEY")),
            "{e:?}"
        );
    }

    use super::*;

    #[test]
    fn a_key_is_read_bare_or_armoured_wrapped_and_spaced() {
        let bare = "MIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw";
        let want = B64.decode(bare).unwrap_or_default();
        let armoured = format!(
            "-----BEGIN PUBLIC KEY-----\r\n{}\r\n  {} {} \n\t{}\n-----END PUBLIC KEY-----\n",
            &bare[..20],
            &bare[20..30],
            &bare[30..40],
            &bare[40..]
        );
        assert_eq!(der_from_text("K", bare).ok(), Some(want.clone()));
        assert_eq!(der_from_text("K", &armoured).ok(), Some(want));
        assert!(der_from_text("K", "not base64!").is_err());
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let (private, public) = match generate_rsa_keypair() {
            Ok(k) => k,
            Err(e) => panic!("{e}"),
        };
        let signer = RsaSigner::from_pkcs8_base64("k", &private);
        let verifier = RsaVerifier::from_spki_base64("p", &public);
        let (Ok(signer), Ok(verifier)) = (signer, verifier) else {
            panic!("keys do not load");
        };
        let sig = signer.sign_base64(b"a=1&b=2").unwrap_or_default();
        assert!(verifier.verify_base64(b"a=1&b=2", &sig));
        assert!(!verifier.verify_base64(b"a=1&b=3", &sig));
        assert!(!verifier.verify_base64(b"a=1&b=2", "not base64!"));
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{public}\n-----END PUBLIC KEY-----\n");
        assert!(
            RsaVerifier::from_spki_base64("p", &pem)
                .is_ok_and(|v| v.verify_base64(b"a=1&b=2", &sig))
        );
    }

    #[test]
    fn bad_keys_are_named_without_material() {
        let e = RsaSigner::from_pkcs8_base64("ALIPAY_PRIVATE_KEY", "c2VjcmV0").err();
        assert!(
            e.is_some_and(|e| e.to_string().starts_with("ALIPAY_PRIVATE_KEY")
                && !e.to_string().contains("c2VjcmV0"))
        );
        assert_eq!(
            RsaVerifier::from_spki_base64("ALIPAY_PUBLIC_KEY", "%%%").err(),
            Some(CryptoError::Base64("ALIPAY_PUBLIC_KEY"))
        );
    }
}
