//! Tenancy (SPEC §8.1): merchants and their apps. An app is who a merchant request speaks
//! for; everything the merchant API touches belongs to one app.

use std::fmt;

/// The longest merchant number or app id (DaxPay's `@Size(max = 32)`).
pub const MAX_ID: usize = 32;

/// Why an id is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1 to {MAX_ID} characters of letters, digits, _ and -")]
pub struct BadId;

fn check_id(text: &str) -> Result<(), BadId> {
    let ok = !text.is_empty()
        && text.len() <= MAX_ID
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(()).ok_or(BadId)
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, BadId> {
                check_id(text).map(|()| Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// An app id (`appId`): letters, digits, `_` and `-`, at most 32.
    AppId
);
id_type!(
    /// A merchant number (`mchNo`): letters, digits, `_` and `-`, at most 32.
    MchNo
);

/// Whether a merchant or an app may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantStatus {
    Enabled,
    Disabled,
}

impl TenantStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code {
            "enabled" => Some(Self::Enabled),
            "disabled" => Some(Self::Disabled),
            _ => None,
        }
    }
}

/// The id the stack's default app has unless configured otherwise (`DEFAULT_APP_ID`).
pub const DEFAULT_APP_ID: &str = "default";
/// The merchant number of the default app unless configured otherwise (`DEFAULT_MCH_NO`).
pub const DEFAULT_MCH_NO: &str = "default";

/// Who a request or a job speaks for: an app of a merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub app_id: AppId,
    pub mch_no: MchNo,
    /// The stack's default app: configured by the stack's own settings, its data kept under
    /// the single-merchant keys, and its jobs' messages name no app.
    pub is_default: bool,
    /// The app's code in the numbers it makes (`None`: the default app, whose numbers have the
    /// single-merchant shape).
    pub code: Option<String>,
}

impl Tenant {
    /// The default app under the default ids.
    pub fn default_app() -> Self {
        Self {
            app_id: AppId(DEFAULT_APP_ID.to_owned()),
            mch_no: MchNo(DEFAULT_MCH_NO.to_owned()),
            is_default: true,
            code: None,
        }
    }

    /// The app id a job message names (`None`: the default app's).
    pub fn message_app(&self) -> Option<String> {
        (!self.is_default).then(|| self.app_id.as_str().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_short_plain_text() {
        assert!(AppId::parse("app_1-A").is_ok());
        assert!(AppId::parse(&"a".repeat(32)).is_ok());
        for bad in ["", "a b", "a#b", "a/b", "应用", &"a".repeat(33)] {
            assert_eq!(AppId::parse(bad), Err(BadId), "{bad}");
        }
        assert_eq!(
            MchNo::parse("M1").map(|m| m.to_string()).as_deref(),
            Ok("M1")
        );
    }
}
