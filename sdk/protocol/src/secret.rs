//! The deployment's sign type and secret (SPEC §3).

use std::fmt;
use std::str::FromStr;

/// The digest used to sign. One per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignType {
    HmacSha256,
    Md5,
}

impl FromStr for SignType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "HMAC_SHA256" => Ok(Self::HmacSha256),
            "MD5" => Ok(Self::Md5),
            other => Err(format!(
                "unsupported sign type `{other}` (expected HMAC_SHA256 or MD5)"
            )),
        }
    }
}

impl fmt::Display for SignType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HmacSha256 => "HMAC_SHA256",
            Self::Md5 => "MD5",
        })
    }
}

/// The deployment's sign secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}
