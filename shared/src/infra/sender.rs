//! Delivering merchant notices (SPEC §4.7): `POST` the stored signed JSON, delivered only when
//! the answer body is exactly `SUCCESS`, 5 s per attempt. Only `http`/`https` URLs, and never
//! to loopback, private, link-local (cloud metadata) or otherwise internal addresses unless
//! the deployment allows them: every address the host resolves to is checked, the connection
//! is pinned to a checked address, and redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the host's address may take to find, within the attempt's time (the system
/// resolver has no deadline of its own).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub delivered: bool,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Delivery {
    fn failed(error: impl Into<String>) -> Self {
        Self {
            delivered: false,
            status: None,
            error: Some(error.into()),
        }
    }
}

/// Addresses a notice may never reach (unless allowed for local runs).
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return internal_v4(v4);
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local (fd00:ec2::254 is EC2 metadata)
                || (first & 0xffc0) == 0xfe80 // link-local
                || v6 == Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0) // NAT64 prefix base
        }
    }
}

/// Cloud metadata and credential endpoints, refused even when internal targets are allowed for
/// a local run: the whole IPv4 link-local range (169.254.169.254 instance metadata,
/// 169.254.170.2 container credentials, ...) and EC2's IPv6 metadata prefix `fd00:ec2::/32`.
pub fn is_metadata(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return v4.is_link_local();
            }
            let s = v6.segments();
            s[0] == 0xfd00 && s[1] == 0x0ec2
        }
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254.0.0/16, includes 169.254.169.254 metadata
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..=127).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || a >= 240 // reserved
}

/// Checks the URL and finds the address to connect to, within [`LOOKUP_TIMEOUT`]. `Err`: why
/// the URL is refused.
pub async fn resolve_target(
    url: &str,
    allow_internal: bool,
) -> Result<(url::Url, SocketAddr), String> {
    resolve_with(
        url,
        allow_internal,
        LOOKUP_TIMEOUT,
        |host, port| async move {
            tokio::net::lookup_host((host.as_str(), port))
                .await
                .map(Iterator::collect)
        },
    )
    .await
}

/// [`resolve_target`] with the lookup and its time limit given.
async fn resolve_with<F, Fut>(
    url: &str,
    allow_internal: bool,
    limit: Duration,
    lookup: F,
) -> Result<(url::Url, SocketAddr), String>
where
    F: FnOnce(String, u16) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<Vec<SocketAddr>>>,
{
    let parsed = url::Url::parse(url).map_err(|_| "notifyUrl is not a valid URL".to_owned())?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err("notifyUrl must be http or https".into());
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| "notifyUrl has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed
        .port_or_known_default()
        .ok_or_else(|| "notifyUrl has no port".to_owned())?;
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(limit, lookup(host.clone(), port)).await
    {
        Ok(Ok(addrs)) => addrs,
        Ok(Err(_)) => return Err(format!("cannot resolve {host}")),
        Err(_) => {
            return Err(format!(
                "cannot resolve {host}: no answer within {} ms",
                limit.as_millis()
            ));
        }
    };
    if addrs.is_empty() {
        return Err(format!("cannot resolve {host}"));
    }
    if addrs.iter().any(|a| is_metadata(a.ip())) {
        return Err(format!(
            "notifyUrl {host} resolves to a cloud metadata address; refused"
        ));
    }
    if !allow_internal && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(format!(
            "notifyUrl {host} resolves to an internal address; refused"
        ));
    }
    Ok((parsed, addrs[0]))
}

/// One delivery attempt of `body` to `url`.
pub async fn deliver(url: &str, body: &str, allow_internal: bool) -> Delivery {
    let (parsed, addr) = match resolve_target(url, allow_internal).await {
        Ok(t) => t,
        Err(why) => return Delivery::failed(why),
    };
    let request = match super::http::request(
        http::Method::POST,
        parsed.as_str(),
        &[(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )],
        body.to_owned(),
    ) {
        Ok(r) => r,
        Err(e) => return Delivery::failed(e.to_string()),
    };
    match super::http::HttpClient::pinned(addr)
        .send(request, ATTEMPT_TIMEOUT)
        .await
    {
        Err(e) => Delivery::failed(e.to_string()),
        Ok(answer) => {
            let text = answer.text();
            let status = Some(answer.status.as_u16());
            if text == "SUCCESS" {
                Delivery {
                    delivered: true,
                    status,
                    error: None,
                }
            } else {
                Delivery {
                    delivered: false,
                    status,
                    error: Some(text.chars().take(100).collect()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lookup_that_never_answers_ends_the_attempt_in_time() {
        let hung = resolve_with(
            "https://merchant.example/notify",
            false,
            Duration::from_millis(50),
            |_, _| std::future::pending(),
        )
        .await;
        assert_eq!(
            hung.err().as_deref(),
            Some("cannot resolve merchant.example: no answer within 50 ms")
        );
        let answered = resolve_with(
            "https://merchant.example/notify",
            false,
            Duration::from_millis(50),
            |_, port| async move { Ok(vec![SocketAddr::from(([93, 184, 216, 34], port))]) },
        )
        .await;
        assert_eq!(answered.map(|(_, a)| a.port()), Ok(443));
    }

    #[test]
    fn internal_ranges() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
        ] {
            let Ok(ip) = ip.parse::<IpAddr>() else {
                panic!("{ip}")
            };
            assert!(is_internal(ip), "{ip}");
        }
        for ip in ["203.0.113.10", "8.8.8.8", "2001:db8::1", "172.32.0.1"] {
            let Ok(ip) = ip.parse::<IpAddr>() else {
                panic!("{ip}")
            };
            assert!(!is_internal(ip), "{ip}");
        }
    }

    #[tokio::test]
    async fn refuses_internal_targets_and_bad_schemes() {
        // refused by the guard, never tried (a connection attempt would fail differently)
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]:80/",
            "http://localhost:8080/cb",
        ] {
            let d = deliver(url, "{}", false).await;
            let error = d.error.unwrap_or_default();
            assert!(
                error.contains("internal address; refused"),
                "{url}: {error}"
            );
            // the same URL passes the guard when internal targets are allowed
            assert!(resolve_target(url, true).await.is_ok(), "{url}");
        }
        // metadata endpoints stay refused even when internal targets are allowed
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.170.2/v2/credentials",
            "http://[fd00:ec2::254]/latest/meta-data",
            "http://[::ffff:169.254.169.254]/",
        ] {
            for allow in [false, true] {
                let d = deliver(url, "{}", allow).await;
                let error = d.error.unwrap_or_default();
                assert!(
                    error.contains("cloud metadata address; refused"),
                    "{url} (allow_internal={allow}): {error}"
                );
            }
        }
        for (url, why) in [
            ("ftp://example.com/", "must be http or https"),
            ("not a url", "is not a valid URL"),
        ] {
            let d = deliver(url, "{}", false).await;
            assert!(!d.delivered, "{url}");
            assert_eq!(d.error.unwrap_or_default(), format!("notifyUrl {why}"));
        }
    }
}
