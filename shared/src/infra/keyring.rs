//! Envelope encryption of an app's secrets with the stack's KMS key (SPEC §8.3): each sealing
//! asks KMS for a fresh AES-256 data key (`GenerateDataKey`), encrypts the secrets with it
//! (AES-256-GCM) and keeps only the data key as KMS encrypted it. Opening asks KMS to decrypt
//! that key (`Decrypt`). Both name the app in KMS's encryption context and in the cipher's
//! associated data, so a sealed blob copied onto another app's item does not open there.
//! Plain secrets never leave this process: not in logs, errors or answers.

use super::aws::SdkClient;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_sdk_kms::Client;
use aws_sdk_kms::error::DisplayErrorContext;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

/// The encryption-context member naming the app a sealed blob belongs to.
const CONTEXT_APP: &str = "appId";

/// Why secrets could not be sealed or opened. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// KMS failed or refused (throttled, the key disabled, no permission...).
    #[error("kms: {0}")]
    Kms(String),
    /// The blob does not open with its key for this app (tampered, or another app's).
    #[error("sealed secrets do not open for this app")]
    Corrupt,
}

/// Secrets sealed under a data key: what the table keeps.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The data key, encrypted by KMS.
    pub key: Vec<u8>,
    pub nonce: [u8; NONCE_LEN],
    /// The secrets, encrypted, with the GCM tag at the end.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealed({} bytes)", self.data.len())
    }
}

/// The stack's KMS key and a client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Keyring {
    kms: SdkClient<Client>,
    key_id: String,
}

impl Keyring {
    /// `key_id`: the key's id, ARN or alias (`KMS_KEY_ID`).
    pub fn new(kms: Client, key_id: impl Into<String>) -> Self {
        Self {
            kms: SdkClient::made(kms),
            key_id: key_id.into(),
        }
    }

    /// A keyring whose client is built from `sdk` when it is first needed (a sandbox that
    /// never meets another app's request never builds it).
    pub fn lazy(sdk: aws_types::SdkConfig, key_id: impl Into<String>) -> Self {
        Self {
            kms: SdkClient::on_first_use(&sdk),
            key_id: key_id.into(),
        }
    }

    fn kms(&self) -> &Client {
        self.kms.get(Client::new)
    }

    /// Seals `plain` for the app `app_id` under a fresh data key.
    pub async fn seal(&self, app_id: &str, plain: &[u8]) -> Result<Sealed, KeyringError> {
        let out = self
            .kms()
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_APP, app_id)
            .send()
            .await
            .map_err(|e| KeyringError::Kms(DisplayErrorContext(e).to_string()))?;
        let (Some(data_key), Some(encrypted)) = (out.plaintext, out.ciphertext_blob) else {
            return Err(KeyringError::Kms("GenerateDataKey answered no key".into()));
        };
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| KeyringError::Kms("no randomness".into()))?;
        let mut data = plain.to_vec();
        cipher(data_key.as_ref())?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(app_id.as_bytes()),
                &mut data,
            )
            .map_err(|_| KeyringError::Corrupt)?;
        Ok(Sealed {
            key: encrypted.into_inner(),
            nonce,
            data,
        })
    }

    /// Opens secrets sealed for the app `app_id`.
    pub async fn open(&self, app_id: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
        let out = self
            .kms()
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(Blob::new(sealed.key.clone()))
            .encryption_context(CONTEXT_APP, app_id)
            .send()
            .await
            .map_err(|e| {
                let invalid = e
                    .as_service_error()
                    .is_some_and(|se| se.is_invalid_ciphertext_exception());
                if invalid {
                    KeyringError::Corrupt
                } else {
                    KeyringError::Kms(DisplayErrorContext(e).to_string())
                }
            })?;
        let data_key = out
            .plaintext
            .ok_or_else(|| KeyringError::Kms("Decrypt answered no key".into()))?;
        open_with(data_key.as_ref(), app_id, sealed)
    }
}

fn cipher(data_key: &[u8]) -> Result<LessSafeKey, KeyringError> {
    UnboundKey::new(&AES_256_GCM, data_key)
        .map(LessSafeKey::new)
        .map_err(|_| KeyringError::Kms("the data key is not an AES-256 key".into()))
}

/// Opens `sealed` with its (plain) data key.
fn open_with(data_key: &[u8], app_id: &str, sealed: &Sealed) -> Result<Vec<u8>, KeyringError> {
    let mut data = sealed.data.clone();
    let plain = cipher(data_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(sealed.nonce),
            Aad::from(app_id.as_bytes()),
            &mut data,
        )
        .map_err(|_| KeyringError::Corrupt)?;
    let len = plain.len();
    data.truncate(len);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_with(key: &[u8; 32], app: &str, plain: &[u8]) -> Sealed {
        let nonce = [7u8; NONCE_LEN];
        let mut data = plain.to_vec();
        let sealing = cipher(key).unwrap_or_else(|e| panic!("{e}"));
        if sealing
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(app.as_bytes()),
                &mut data,
            )
            .is_err()
        {
            panic!("seal");
        }
        Sealed {
            key: Vec::new(),
            nonce,
            data,
        }
    }

    #[test]
    fn a_blob_opens_only_for_its_own_app_and_only_untouched() {
        let key = [1u8; 32];
        let sealed = sealed_with(&key, "shop-1", b"{\"signSecret\":\"s\"}");
        assert_eq!(
            open_with(&key, "shop-1", &sealed).ok().as_deref(),
            Some(&b"{\"signSecret\":\"s\"}"[..])
        );
        assert!(matches!(
            open_with(&key, "shop-2", &sealed),
            Err(KeyringError::Corrupt)
        ));
        let mut tampered = sealed.clone();
        tampered.data[0] ^= 1;
        assert!(matches!(
            open_with(&key, "shop-1", &tampered),
            Err(KeyringError::Corrupt)
        ));
        assert!(matches!(
            open_with(&[2u8; 32], "shop-1", &sealed),
            Err(KeyringError::Corrupt)
        ));
        assert!(!format!("{sealed:?}").contains("signSecret"));
    }
}
