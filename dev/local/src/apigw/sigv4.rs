//! API Gateway's `AWS_IAM` route authorization, locally: a request to a protected path must be
//! signed with Signature Version 4 by the front door's own credentials, for service
//! `execute-api` and the front door's region, within five minutes of now; anything else is
//! answered 403 before the function is invoked.
//!
//! Written from the SigV4 specification (AWS IAM User Guide, "Create a signed AWS API request"),
//! not with a signing library, so that the clients' signer (`aws-sigv4`) is checked by an
//! independent implementation:
//!
//! - `Authorization: AWS4-HMAC-SHA256 Credential=<key id>/<yyyyMMdd>/<region>/execute-api/aws4_request,
//!   SignedHeaders=<names;…>, Signature=<hex>`, each component once;
//! - `x-amz-date` (`yyyyMMddTHHmmssZ`) within 5 minutes of now ("a request must reach AWS within
//!   five minutes of the time stamp in the request"), its day the credential's;
//! - `host` and `x-amz-date` among the signed headers, every signed header present;
//! - the canonical request: method; the path as received with dot segments and empty segments
//!   removed, each byte outside RFC 3986's unreserved set and `/` percent-encoded (API Gateway
//!   does not decode the path first, so an encoded path is encoded once more, as every AWS
//!   signer but S3's does); the query members decoded (form encoding, as the AWS SDKs read
//!   them), encoded, sorted; the signed headers' values trimmed with inner runs of spaces
//!   collapsed, repeated headers joined with `,`; the list of signed headers; the hex SHA-256 of
//!   the body (an `x-amz-content-sha256` header must name the same digest);
//! - the string to sign, the signing key (`AWS4<secret>` → date → region → service →
//!   `aws4_request`) and the signature, compared in constant time.
//!
//! The local credentials are long-term keys: like AWS, the front door refuses a session token
//! sent with them.

use std::fmt;

use hmac::{Hmac, Mac};
use http::{HeaderMap, Method, Uri};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::runtime::ACCOUNT_ID;

/// Paths under this prefix are routed with `AWS_IAM` authorization (`/admin/{proxy+}`). Route
/// paths are case-sensitive in API Gateway: `/Admin/x` is another route.
pub const ADMIN_PREFIX: &str = "/admin/";
/// The service name invocations are signed for.
pub const SERVICE: &str = "execute-api";
/// How far `x-amz-date` may be from now, either way.
pub const MAX_SKEW_SECS: i64 = 300;
/// The front door's access key id, secret and region are read from these (default `test`,
/// `test`, and `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`).
pub const ACCESS_KEY_ENV: &str = "LOCAL_ADMIN_ACCESS_KEY_ID";
pub const SECRET_KEY_ENV: &str = "LOCAL_ADMIN_SECRET_ACCESS_KEY";
/// The local caller's identity, as `requestContext.authorizer.iam` gives it to the function.
pub const USER_ARN: &str = "arn:aws:iam::000000000000:user/local-admin";
pub const USER_ID: &str = "AIDALOCALADMIN";

const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// Why a request to a protected path was refused (logged; the caller only sees 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no authorization header")]
    Unsigned,
    #[error("malformed authorization header: {0}")]
    Malformed(String),
    #[error("unknown access key id `{0}`")]
    UnknownKey(String),
    #[error("credential scope `{0}` is not <date>/{1}/execute-api/aws4_request")]
    Scope(String, String),
    #[error("x-amz-date: {0}")]
    Date(String),
    #[error("x-amz-date {0} is more than 5 minutes from now")]
    Stale(String),
    #[error("signed headers: {0}")]
    SignedHeaders(String),
    #[error("x-amz-content-sha256 is not the body's SHA-256")]
    PayloadHash,
    #[error("a session token was sent with long-term credentials")]
    SessionToken,
    #[error("the signature does not match")]
    Signature,
}

/// The credentials the front door accepts on protected paths, and its region.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminAuth {
    access_key_id: String,
    secret_access_key: String,
    region: String,
    service: &'static str,
}

impl fmt::Debug for AdminAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminAuth")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"***")
            .field("region", &self.region)
            .finish()
    }
}

impl AdminAuth {
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            region: region.into(),
            service: SERVICE,
        }
    }

    /// From the front door's environment: `LOCAL_ADMIN_ACCESS_KEY_ID` and
    /// `LOCAL_ADMIN_SECRET_ACCESS_KEY` (default `test` / `test`, the emulator's), the region as
    /// the functions get it.
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "test".to_owned())
        };
        Self::new(
            var(ACCESS_KEY_ENV),
            var(SECRET_KEY_ENV),
            crate::runtime::default_region(),
        )
    }

    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// Checks the request's signature now.
    pub fn verify(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), Refusal> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.verify_at(method, uri, headers, body, now)
    }

    /// Checks the request's signature at `now` (epoch seconds).
    pub fn verify_at(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<(), Refusal> {
        let authorization = match one(headers, "authorization")? {
            Some(value) => value,
            None => return Err(Refusal::Unsigned),
        };
        let auth = Authorization::parse(authorization)?;

        let scope: Vec<&str> = auth.credential.split('/').collect();
        let [key_id, day, region, service, terminator] = scope[..] else {
            return Err(Refusal::Malformed(format!(
                "Credential `{}` has not five parts",
                auth.credential
            )));
        };
        if key_id != self.access_key_id {
            return Err(Refusal::UnknownKey(key_id.to_owned()));
        }
        let scope = format!("{day}/{region}/{service}/{terminator}");
        if region != self.region || service != self.service || terminator != "aws4_request" {
            return Err(Refusal::Scope(scope, self.region.clone()));
        }

        let amz_date = one(headers, "x-amz-date")?.ok_or(Refusal::Date("missing".into()))?;
        let signed_at = parse_amz_date(amz_date)
            .ok_or_else(|| Refusal::Date(format!("`{amz_date}` is not yyyyMMddTHHmmssZ")))?;
        if !amz_date.starts_with(day) || day.len() != 8 {
            return Err(Refusal::Scope(scope, self.region.clone()));
        }
        if (now - signed_at).abs() > MAX_SKEW_SECS {
            return Err(Refusal::Stale(amz_date.to_owned()));
        }

        let names: Vec<&str> = auth.signed_headers.split(';').collect();
        for required in ["host", "x-amz-date"] {
            if !names.contains(&required) {
                return Err(Refusal::SignedHeaders(format!("{required} is not signed")));
            }
        }
        if headers.contains_key("x-amz-security-token") {
            return Err(Refusal::SessionToken);
        }

        let payload_hash = hex::encode(Sha256::digest(body));
        if let Some(claimed) = one(headers, "x-amz-content-sha256")?
            && !claimed.eq_ignore_ascii_case(&payload_hash)
        {
            return Err(Refusal::PayloadHash);
        }

        let mut canonical_headers = String::new();
        for name in &names {
            let values: Vec<&http::HeaderValue> = headers.get_all(*name).iter().collect();
            if name.is_empty() || values.is_empty() {
                return Err(Refusal::SignedHeaders(format!(
                    "`{name}` is not in the request"
                )));
            }
            canonical_headers.push_str(name);
            canonical_headers.push(':');
            for (i, value) in values.iter().enumerate() {
                let text = std::str::from_utf8(value.as_bytes())
                    .map_err(|_| Refusal::SignedHeaders(format!("`{name}` is not text")))?;
                if i > 0 {
                    canonical_headers.push(',');
                }
                canonical_headers.push_str(&text.split_whitespace().collect::<Vec<_>>().join(" "));
            }
            canonical_headers.push('\n');
        }

        let canonical_request = format!(
            "{method}\n{}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
            canonical_uri(uri.path()),
            canonical_query(uri.query().unwrap_or("")),
            auth.signed_headers,
        );
        let string_to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical_request.as_bytes()))
        );
        let mut key = hmac(format!("AWS4{}", self.secret_access_key).as_bytes(), day);
        for part in [region, service, terminator] {
            key = hmac(&key, part);
        }
        let signature = hex::decode(auth.signature).map_err(|_| Refusal::Signature)?;
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| Refusal::Signature)?;
        mac.update(string_to_sign.as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&signature).map_err(|_| Refusal::Signature)
    }

    #[cfg(test)]
    fn for_service(mut self, service: &'static str) -> Self {
        self.service = service;
        self
    }
}

/// Whether `path` (as received) is under the protected prefix. A percent-encoded spelling of
/// it (`/%61dmin/`) is protected too: the route must not be reachable around the check.
pub fn is_protected(path: &str) -> bool {
    path.starts_with(ADMIN_PREFIX)
        || percent_decode(path, false).starts_with(ADMIN_PREFIX.as_bytes())
}

/// `requestContext.authorizer` of an IAM-authorized request, as API Gateway sets it (the
/// member names `aws_lambda_events`' `ApiGatewayRequestAuthorizerIamDescription` reads).
pub fn iam_authorizer(access_key_id: &str) -> Value {
    json!({
        "iam": {
            "accessKey": access_key_id,
            "accountId": ACCOUNT_ID,
            "callerId": USER_ID,
            "cognitoIdentity": null,
            "principalOrgId": null,
            "userArn": USER_ARN,
            "userId": USER_ID,
        }
    })
}

/// The components of an `Authorization` header.
struct Authorization<'a> {
    credential: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

impl<'a> Authorization<'a> {
    fn parse(header: &'a str) -> Result<Self, Refusal> {
        let rest = header
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with([' ', '\t']))
            .ok_or_else(|| Refusal::Malformed(format!("the algorithm is not {ALGORITHM}")))?;
        let (mut credential, mut signed_headers, mut signature) = (None, None, None);
        for component in rest.split(',') {
            let (name, value) = component
                .trim()
                .split_once('=')
                .ok_or_else(|| Refusal::Malformed(format!("`{}`", component.trim())))?;
            let slot = match name {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                other => return Err(Refusal::Malformed(format!("unknown component `{other}`"))),
            };
            if slot.replace(value).is_some() {
                return Err(Refusal::Malformed(format!("{name} given twice")));
            }
        }
        let missing = |name: &str| Refusal::Malformed(format!("no {name}"));
        Ok(Self {
            credential: credential.ok_or_else(|| missing("Credential"))?,
            signed_headers: signed_headers.ok_or_else(|| missing("SignedHeaders"))?,
            signature: signature.ok_or_else(|| missing("Signature"))?,
        })
    }
}

/// The value of a header that may appear at most once.
fn one<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::Malformed(format!("{name} given twice")));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Refusal::Malformed(format!("{name} is not text")))
}

/// `yyyyMMddTHHmmssZ` → epoch seconds.
fn parse_amz_date(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, format).ok()?;
    Some(parsed.assume_utc().unix_timestamp())
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC takes keys of any length; the error arm is unreachable.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Every byte outside RFC 3986's unreserved characters (and `/` when `slash`) as `%XX`.
fn uri_encode(bytes: &[u8], slash: bool, out: &mut String) {
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// The canonical URI: the path as received, normalized (RFC 3986 dot segments and empty
/// segments removed, a trailing slash kept), encoded once more.
fn canonical_uri(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    let normalized = if path.contains('.') || path.contains("//") {
        let mut segments: Vec<&str> = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                other => segments.push(other),
            }
        }
        let mut joined = format!("/{}", segments.join("/"));
        let trailing = ["/", "/.", "/..", "/./", "/../"]
            .iter()
            .any(|end| path.ends_with(end));
        if trailing && !joined.ends_with('/') {
            joined.push('/');
        }
        joined
    } else {
        path.to_owned()
    };
    let mut out = String::with_capacity(normalized.len());
    uri_encode(normalized.as_bytes(), true, &mut out);
    out
}

/// The canonical query: each member decoded and encoded again, sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut members: Vec<(String, String)> = query
        .split('&')
        .filter(|m| !m.is_empty())
        .map(|member| {
            let (name, value) = member.split_once('=').unwrap_or((member, ""));
            let (mut n, mut v) = (String::new(), String::new());
            uri_encode(&percent_decode(name, true), false, &mut n);
            uri_encode(&percent_decode(value, true), false, &mut v);
            (n, v)
        })
        .collect();
    members.sort();
    let joined: Vec<String> = members.iter().map(|(n, v)| format!("{n}={v}")).collect();
    joined.join("&")
}

/// `%XX` escapes decoded (a malformed one kept as is); `+` is a space when `plus`.
fn percent_decode(text: &str, plus: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = bytes
            .get(i + 1..i + 3)
            .filter(|_| b == b'%')
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(if plus && b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    /// The AWS SigV4 test suite's credentials and time (`aws-sig-v4-test-suite`).
    fn suite() -> AdminAuth {
        AdminAuth::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        )
        .for_service("service")
    }

    const SUITE_NOW: i64 = 1_440_938_160; // 2015-08-30T12:36:00Z

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = http::HeaderName::from_bytes(name.as_bytes()).expect("name");
            map.append(name, HeaderValue::from_str(value).expect("value"));
        }
        map
    }

    fn authorization(signed: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed}, Signature={signature}"
        )
    }

    fn check(
        method: Method,
        uri: &str,
        extra: &[(&str, &str)],
        signature: &str,
    ) -> Result<(), Refusal> {
        let auth = authorization("host;x-amz-date", signature);
        let mut pairs = vec![
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", auth.as_str()),
        ];
        pairs.extend_from_slice(extra);
        let uri: Uri = uri.parse().expect("uri");
        suite().verify_at(&method, &uri, &headers(&pairs), b"", SUITE_NOW)
    }

    #[test]
    fn the_aws_test_suite_verifies() {
        // get-vanilla
        let vanilla = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(check(Method::GET, "/", &[], vanilla), Ok(()));
        // get-vanilla-query-order-key-case
        let ordered = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        assert_eq!(
            check(Method::GET, "/?Param2=value2&Param1=value1", &[], ordered),
            Ok(())
        );
        // normalize-path: get-relative-relative, get-slashes
        assert_eq!(
            check(Method::GET, "/example1/example2/../..", &[], vanilla),
            Ok(())
        );
        assert_eq!(
            check(
                Method::GET,
                "//example//",
                &[],
                "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"
            ),
            Ok(())
        );
        // a timestamp five minutes and a second away is too old, or too new
        let uri: Uri = "/".parse().expect("uri");
        let auth = authorization("host;x-amz-date", vanilla);
        let h = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", &auth),
        ]);
        for now in [SUITE_NOW + 300, SUITE_NOW - 300] {
            assert_eq!(suite().verify_at(&Method::GET, &uri, &h, b"", now), Ok(()));
        }
        for now in [SUITE_NOW + 301, SUITE_NOW - 301] {
            assert!(matches!(
                suite().verify_at(&Method::GET, &uri, &h, b"", now),
                Err(Refusal::Stale(_))
            ));
        }
    }

    #[test]
    fn everything_signed_is_checked() {
        let vanilla = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(
            check(Method::POST, "/", &[], vanilla),
            Err(Refusal::Signature)
        );
        assert_eq!(
            check(Method::GET, "/x", &[], vanilla),
            Err(Refusal::Signature)
        );
        assert_eq!(
            check(Method::GET, "/?a=1", &[], vanilla),
            Err(Refusal::Signature)
        );
        let wrong = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30";
        assert_eq!(check(Method::GET, "/", &[], wrong), Err(Refusal::Signature));
        assert_eq!(check(Method::GET, "/", &[], "zz"), Err(Refusal::Signature));
        assert_eq!(
            check(Method::GET, "/", &[("x-amz-security-token", "t")], vanilla),
            Err(Refusal::SessionToken)
        );
        assert_eq!(
            check(
                Method::GET,
                "/",
                &[("x-amz-content-sha256", "UNSIGNED-PAYLOAD")],
                vanilla
            ),
            Err(Refusal::PayloadHash)
        );
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            check(
                Method::GET,
                "/",
                &[("x-amz-content-sha256", empty)],
                vanilla
            ),
            Ok(())
        );
        // another secret, key, region or service
        let uri: Uri = "/".parse().expect("uri");
        let auth = authorization("host;x-amz-date", vanilla);
        let h = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
            ("authorization", &auth),
        ]);
        let verify = |a: AdminAuth| a.verify_at(&Method::GET, &uri, &h, b"", SUITE_NOW);
        let other_secret =
            AdminAuth::new("AKIDEXAMPLE", "other", "us-east-1").for_service("service");
        assert_eq!(verify(other_secret), Err(Refusal::Signature));
        let other_key = AdminAuth::new("AKIDOTHER", "x", "us-east-1").for_service("service");
        assert!(matches!(verify(other_key), Err(Refusal::UnknownKey(_))));
        let other_region = suite().clone();
        let other_region = AdminAuth {
            region: "eu-west-1".into(),
            ..other_region
        };
        assert!(matches!(verify(other_region), Err(Refusal::Scope(..))));
        assert!(matches!(
            verify(AdminAuth::new("AKIDEXAMPLE", "x", "us-east-1")),
            Err(Refusal::Scope(..))
        ));
    }

    #[test]
    fn malformed_requests_are_refused() {
        let uri: Uri = "/".parse().expect("uri");
        let verify = |pairs: &[(&str, &str)]| {
            suite().verify_at(&Method::GET, &uri, &headers(pairs), b"", SUITE_NOW)
        };
        let host = ("host", "example.amazonaws.com");
        let date = ("x-amz-date", "20150830T123600Z");
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(verify(&[host, date]), Err(Refusal::Unsigned));
        let good = authorization("host;x-amz-date", sig);
        assert!(matches!(
            verify(&[host, ("authorization", &good)]),
            Err(Refusal::Date(_))
        ));
        assert!(matches!(
            verify(&[
                host,
                ("x-amz-date", "2015-08-30T12:36:00Z"),
                ("authorization", &good)
            ]),
            Err(Refusal::Date(_))
        ));
        let day_off = good.replace("/20150830/", "/20150831/");
        assert!(matches!(
            verify(&[host, date, ("authorization", &day_off)]),
            Err(Refusal::Scope(..))
        ));
        let no_host = authorization("x-amz-date", sig);
        assert!(matches!(
            verify(&[host, date, ("authorization", &no_host)]),
            Err(Refusal::SignedHeaders(_))
        ));
        let absent = authorization("host;x-amz-date;x-extra", sig);
        assert!(matches!(
            verify(&[host, date, ("authorization", &absent)]),
            Err(Refusal::SignedHeaders(_))
        ));
        for bad in [
            "AWS4-HMAC-SHA1 Credential=a, SignedHeaders=host, Signature=00",
            "AWS4-HMAC-SHA256Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, SignedHeaders=host;x-amz-date, Signature=00",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00, Extra=1",
        ] {
            assert!(
                matches!(
                    verify(&[host, date, ("authorization", bad)]),
                    Err(Refusal::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            verify(&[
                host,
                date,
                ("authorization", &good),
                ("authorization", &good)
            ]),
            Err(Refusal::Malformed(_))
        ));
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/admin/merchants/M1"), "/admin/merchants/M1");
        assert_eq!(canonical_uri("/admin/a%20b/é"), "/admin/a%2520b/%C3%A9");
        assert_eq!(canonical_uri("/admin/./x/../y/"), "/admin/y/");
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("target=app%3AX&limit=5&b&a=2&a=1"),
            "a=1&a=2&b=&limit=5&target=app%3AX"
        );
        assert_eq!(canonical_query("c=a+b*"), "c=a%20b%2A");
    }

    #[test]
    fn protected_paths_and_the_authorizer() {
        assert!(is_protected("/admin/merchants"));
        assert!(is_protected("/%61dmin/merchants"));
        assert!(!is_protected("/admin"));
        assert!(!is_protected("/Admin/merchants"));
        assert!(!is_protected("/unipay/admin/x"));
        let authorizer = iam_authorizer("test");
        assert_eq!(authorizer["iam"]["accessKey"], "test");
        assert_eq!(authorizer["iam"]["userArn"], USER_ARN);
        assert!(!format!("{:?}", AdminAuth::new("k", "s3cr3t", "r")).contains("s3cr3t"));
    }
}
