//! RSA2 keys as the Alipay console hands them out (Java style): base64 PKCS#8 DER private keys
//! and base64 SubjectPublicKeyInfo DER public keys, no PEM armour.

use sim_kit::{Signer, Verifier, decode_key};

use crate::SimError;

/// DER of the `rsaEncryption` OID (1.2.840.113549.1.1.1), which an SPKI carries in its
/// AlgorithmIdentifier and a bare PKCS#1 `RSAPublicKey` does not.
const RSA_ENCRYPTION_OID: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];

/// The Alipay private key: signs answers and notifications.
pub(crate) fn alipay_signer(b64: &str) -> Result<Signer, SimError> {
    const WHAT: &str = "alipay_private_key";
    Ok(Signer::from_pkcs8(WHAT, &decode_key(WHAT, b64)?)?)
}

/// The app (merchant) public key: verifies requests. Accepts an SPKI only: aws-lc-rs would also
/// take a bare PKCS#1 key, but the console format (and what our client's configuration must
/// hold) is SPKI.
pub(crate) fn app_verifier(b64: &str) -> Result<Verifier, SimError> {
    const WHAT: &str = "app_public_key";
    let der = decode_key(WHAT, b64)?;
    let head = &der[..der.len().min(32)];
    if !head
        .windows(RSA_ENCRYPTION_OID.len())
        .any(|w| w == RSA_ENCRYPTION_OID)
    {
        return Err(SimError::Key(format!(
            "{WHAT}: not an RSA SubjectPublicKeyInfo"
        )));
    }
    Ok(Verifier::from_spki(WHAT, der)?)
}

pub(crate) fn random_u64() -> u64 {
    u64::from_le_bytes(sim_kit::random_bytes())
}
