//! SigV4 for the admin API: API Gateway's `AWS_IAM` authorization checks each request's
//! signature (service `execute-api`, the stack's region) before the function sees it. The
//! signing itself is the official `aws-sigv4` crate's, with its defaults for every service but
//! S3: the path is encoded once more as the canonical URI (API Gateway does not decode it
//! before checking), dot segments are removed, and the body's SHA-256 is signed without an
//! `x-amz-content-sha256` header.

use super::AdminError;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// The service name API Gateway's invocations are signed for.
pub const SERVICE: &str = "execute-api";

/// The caller's AWS credentials: an access key id, its secret and, for temporary credentials,
/// the session token. `Debug` shows the key id only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            // An empty token is no token (an exported but empty `AWS_SESSION_TOKEN`).
            session_token: session_token.filter(|t| !t.is_empty()),
        }
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn has_session_token(&self) -> bool {
        self.session_token.is_some()
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("session_token", &self.session_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The headers that sign one request for `execute-api` in `region` at `time`: `x-amz-date`,
/// `x-amz-security-token` (with temporary credentials) and `authorization`, to be sent with
/// the request besides `headers`.
///
/// `url` is the full URL as it will be sent (path and query already percent-encoded);
/// `headers` are the headers to sign besides those (`host` is taken from the URL when absent;
/// the request must then carry the same `host`); `body` the exact bytes sent.
pub fn signature_headers(
    credentials: &Credentials,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>, AdminError> {
    // aws-sigv4 takes `host` from the URL when the headers have none, and panics when the
    // URL has no authority either.
    let has_host = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"));
    let uri: http::Uri = url
        .parse()
        .map_err(|_| AdminError::Config(format!("`{url}` is not a URL")))?;
    if !has_host && uri.authority().is_none() {
        return Err(AdminError::Config(format!(
            "`{url}` has no host and no host header is given"
        )));
    }
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.clone(),
        credentials.session_token.clone(),
        None,
        "alloc-client",
    )
    .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SERVICE)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| AdminError::Config(format!("signing: {e}")))?
        .into();
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().copied(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| AdminError::Config(format!("signing: {e}")))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| AdminError::Config(format!("signing: {e}")))?
        .into_parts();
    let (signed, _) = instructions.into_parts();
    Ok(signed
        .into_iter()
        .map(|h| (h.name(), h.value().to_owned()))
        .collect())
}
