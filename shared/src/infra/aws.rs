//! The AWS SDK's configuration, from the environment Lambda gives every function: `AWS_REGION`,
//! the execution role's `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`,
//! and optionally `AWS_ENDPOINT_URL` (the local emulator). Nothing else is looked at: no profile
//! files, no instance metadata, no SSO or STS (aws-config's default chain did all of that at
//! every cold start, and linked an STS client for it). Requests go through the shared HTTP
//! stack ([`super::sdk_http`]); retries and timeouts are the SDK's defaults for its latest
//! behaviour version.

use super::setting::ConfigError;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// The SDK configuration the settings `get` describes (the process environment in Lambda).
pub fn sdk_config(get: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, ConfigError> {
    let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let region = get("AWS_REGION")
        .or_else(|| get("AWS_DEFAULT_REGION"))
        .ok_or_else(|| ConfigError::new("AWS_REGION", "is required (Lambda sets it)"))?;
    let need = |name: &'static str| {
        get(name).ok_or_else(|| {
            ConfigError::new(
                name,
                "is required (Lambda sets it from the function's role)",
            )
        })
    };
    let credentials = Credentials::new(
        need("AWS_ACCESS_KEY_ID")?,
        need("AWS_SECRET_ACCESS_KEY")?,
        get("AWS_SESSION_TOKEN"),
        None,
        "environment",
    );
    let mut builder = SdkConfig::builder()
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .behavior_version(BehaviorVersion::latest())
        .http_client(super::sdk_http::client());
    if let Some(url) = get("AWS_ENDPOINT_URL") {
        super::setting::url_setting("AWS_ENDPOINT_URL", &url)?;
        builder = builder.endpoint_url(url);
    }
    Ok(builder.build())
}

/// An AWS SDK client: given, or made from the functions' SDK configuration when first used.
/// Making one parses the SDK's partition table (about 0.4 ms), so a client that not every
/// request needs (SQS, S3, KMS) is not made at a function's init. Cheap to clone: clones share
/// the one client.
///
/// How to make it is said where it is used ([`SdkClient::get`]), not kept here: a binary that
/// never uses a client then never links its making (the S3 client's, 0.34 MB, stays out of the
/// api and the scheduler, which hold the bill archive but never keep a bill).
pub(crate) struct SdkClient<C>(std::sync::Arc<Source<C>>);

enum Source<C> {
    Made(C),
    OnFirstUse(Box<SdkConfig>, std::sync::OnceLock<C>),
}

impl<C> SdkClient<C> {
    pub(crate) fn made(client: C) -> Self {
        Self(std::sync::Arc::new(Source::Made(client)))
    }

    /// A client made from `sdk` when it is first asked for.
    pub(crate) fn on_first_use(sdk: &SdkConfig) -> Self {
        Self(std::sync::Arc::new(Source::OnFirstUse(
            Box::new(sdk.clone()),
            std::sync::OnceLock::new(),
        )))
    }

    /// The client, made by `make` if this is the first use.
    pub(crate) fn get(&self, make: impl FnOnce(&SdkConfig) -> C) -> &C {
        match &*self.0 {
            Source::Made(client) => client,
            Source::OnFirstUse(sdk, cell) => cell.get_or_init(|| make(sdk)),
        }
    }
}

impl<C> Clone for SdkClient<C> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<C> std::fmt::Debug for SdkClient<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let made = match &*self.0 {
            Source::Made(_) => true,
            Source::OnFirstUse(_, cell) => cell.get().is_some(),
        };
        f.debug_struct("SdkClient").field("made", &made).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<SdkConfig, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        sdk_config(|k| map.get(k).map(|v| (*v).to_owned()))
    }

    #[test]
    fn region_credentials_and_endpoint_come_from_the_environment() {
        let c = config(&[
            ("AWS_REGION", "ap-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
        ]);
        let Ok(c) = c else { panic!("{c:?}") };
        assert_eq!(c.region().map(|r| r.as_ref()), Some("ap-east-1"));
        assert_eq!(c.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert!(c.credentials_provider().is_some());
    }

    #[test]
    fn a_missing_region_or_key_is_named_and_no_secret_is_shown() {
        let e = config(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
        ])
        .err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.to_string().contains("AWS_REGION:")),
            "{e:?}"
        );
        let e = config(&[
            ("AWS_REGION", "us-east-1"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t"),
        ])
        .err();
        let text = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            text.contains("AWS_ACCESS_KEY_ID:") && !text.contains("s3cr3t"),
            "{text}"
        );
        let e = config(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
            ("AWS_ENDPOINT_URL", "not a url"),
        ])
        .err();
        assert!(e.is_some_and(|e| e.to_string().contains("AWS_ENDPOINT_URL:")));
    }

    /// A client made on first use is made once, when first asked for, and clones share it.
    #[test]
    fn a_client_on_first_use_is_made_once_when_asked_for() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        fn make(sdk: &SdkConfig) -> String {
            MADE.fetch_add(1, Ordering::SeqCst);
            sdk.region().map(|r| r.to_string()).unwrap_or_default()
        }
        let Ok(sdk) = config(&[
            ("AWS_REGION", "cn-north-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "s"),
        ]) else {
            panic!("config")
        };
        let client = SdkClient::on_first_use(&sdk);
        let clone = client.clone();
        assert_eq!(MADE.load(Ordering::SeqCst), 0, "nothing made before use");
        assert!(format!("{client:?}").contains("made: false"));
        assert_eq!(clone.get(make), "cn-north-1");
        assert_eq!(client.get(make), "cn-north-1");
        assert_eq!(
            MADE.load(Ordering::SeqCst),
            1,
            "made once, shared by the clone"
        );
        assert!(format!("{client:?}").contains("made: true"));
        assert_eq!(SdkClient::made("given".to_owned()).get(make), "given");
    }
}
