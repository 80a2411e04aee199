//! What the fuzz targets share: the test keys they sign channel messages with (made once per
//! process), and a verifier for merchant requests.

use shared::daxpay::request::Verifier;
use shared::daxpay::sign::{Secret, SignType, Signer};
use shared::infra::crypto::{RsaSigner, RsaVerifier, generate_rsa_keypair};
use std::sync::OnceLock;

pub const SECRET: &str = "fuzz-secret";
pub const NOW: i64 = 1_764_000_000;

pub fn signer(sign_type: SignType) -> Signer {
    Signer::new(sign_type, Secret::new(SECRET))
}

pub fn verifier(require_sign: bool) -> Verifier {
    Verifier {
        signer: signer(SignType::HmacSha256),
        require_sign,
        req_timeout_secs: 300,
        previous: None,
    }
}

/// A channel's key pair: the fuzz target signs with the private half what the code under test
/// verifies with the public half.
pub struct Keys {
    pub private: RsaSigner,
    pub public: RsaVerifier,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let made = generate_rsa_keypair().and_then(|(private, public)| {
            Ok(Keys {
                private: RsaSigner::from_pkcs8_base64("FUZZ_PRIVATE", &private)?,
                public: RsaVerifier::from_spki_base64("FUZZ_PUBLIC", &public)?,
            })
        });
        match made {
            Ok(keys) => keys,
            Err(e) => panic!("the fuzz keys could not be made: {e}"),
        }
    })
}

/// Splits fuzz input into up to `N` parts at 0xFF bytes (the rest stays in the last part).
pub fn parts<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut out = [&data[..0]; N];
    let mut rest = data;
    for slot in out.iter_mut().take(N - 1) {
        match rest.iter().position(|b| *b == 0xFF) {
            Some(i) => {
                *slot = &rest[..i];
                rest = &rest[i + 1..];
            }
            None => {
                *slot = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    out[N - 1] = rest;
    out
}
