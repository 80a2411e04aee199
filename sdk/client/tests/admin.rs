//! The admin client against a local server that checks SigV4 itself. The check below is
//! written from the specification (canonical request, string to sign, signing key), not with
//! the `aws-sigv4` crate the client signs with, so the two implementations check each other.

use alloc_client::RetryPolicy;
use alloc_client::admin::*;
use alloc_testkit::{Hit, Mock, Reply};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const KEY_ID: &str = "AKIDLOCALTEST";
const SECRET: &str = "local/secret+key";
const REGION: &str = "eu-west-1";

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// RFC 3986 unreserved characters stay, every other byte is `%XX` (upper case); `/` stays
/// when `slash` (the path).
fn uri_encode(bytes: &[u8], slash: bool) -> String {
    bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (slash && b == b'/') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex
            .filter(|_| bytes[i] == b'%')
            .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// Checks `hit`'s SigV4 signature against `secret`; the reason when it does not verify.
fn verify(hit: &Hit, secret: &str) -> Result<(), String> {
    let auth = match hit.header("authorization")[..] {
        [one] => one,
        _ => return Err("one authorization header".into()),
    };
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 ").ok_or("algorithm")?;
    let mut parts = std::collections::HashMap::new();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=').ok_or("component")?;
        parts.insert(k, v);
    }
    let credential = parts.get("Credential").ok_or("Credential")?;
    let signed_headers = parts.get("SignedHeaders").ok_or("SignedHeaders")?;
    let signature = parts.get("Signature").ok_or("Signature")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key_id, date, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("credential {credential}"));
    };
    if key_id != KEY_ID || region != REGION || service != "execute-api" {
        return Err(format!("scope {credential}"));
    }
    let amz_date = match hit.header("x-amz-date")[..] {
        [one] => one,
        _ => return Err("one x-amz-date".into()),
    };
    if !amz_date.starts_with(date) || amz_date.len() != 16 {
        return Err(format!("date {amz_date} against {date}"));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-amz-date") {
        return Err(format!("signed headers {signed_headers}"));
    }
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "signed headers are sorted");

    let canonical_uri = uri_encode(hit.path.as_bytes(), true);
    let mut query: Vec<(String, String)> = hit
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in &names {
        let values = hit.header(name);
        if values.is_empty() {
            return Err(format!("signed header {name} missing"));
        }
        let values: Vec<String> = values
            .iter()
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = hex::encode(Sha256::digest(&hit.raw));
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload}",
        hit.method
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/execute-api/aws4_request\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = hmac(format!("AWS4{secret}").as_bytes(), date);
    let key = hmac(&key, region);
    let key = hmac(&key, "execute-api");
    let key = hmac(&key, "aws4_request");
    let expected = hex::encode(hmac(&key, &string_to_sign));
    if expected == *signature {
        Ok(())
    } else {
        Err(format!("signature mismatch over\n{canonical_request}"))
    }
}

/// `x-amz-date` as epoch seconds.
fn amz_epoch(amz_date: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| amz_date[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(4..6), n(6..8));
    // days from civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + n(9..11) * 3600 + n(11..13) * 60 + n(13..15)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn merchant(no: &str, status: &str) -> Value {
    json!({"mchNo": no, "name": "Shop one", "status": status, "createdAt": 1_700_000_000,
        "updatedAt": 1_700_000_100})
}

fn app(id: &str) -> Value {
    json!({"appId": id, "mchNo": "M1", "name": "web", "status": "enabled",
        "signType": "HMAC_SHA256", "reqSign": true, "secretRotatedAt": null,
        "previousSecretValidUntil": null, "settings": {"reqSign": true, "fieldNames": "2.0.7"},
        "overrides": {}, "channels": {}, "createdAt": 1_700_000_000, "updatedAt": 1_700_000_000})
}

fn provider(channels: Value) -> Value {
    json!({"providerId": "sp-1", "name": "服务商", "channels": channels,
        "createdAt": 1_700_000_000, "updatedAt": 1_700_000_050})
}

fn reply(status: u16, body: Value) -> Reply {
    Reply::Raw(status, body.to_string())
}

/// The admin API: refuses what does not verify with `SECRET` as API Gateway does, answers
/// each route with its view.
fn service() -> Mock {
    Mock::start(|hit: &Hit, _| {
        if verify(hit, SECRET).is_err() {
            return reply(403, json!({"message": "Forbidden"}));
        }
        let route = (hit.method.as_str(), hit.path.as_str());
        match route {
            ("POST", "/admin/merchants") => {
                reply(200, json!({"merchant": merchant("M1", "enabled")}))
            }
            ("GET", "/admin/merchants") => reply(
                200,
                json!({"merchants": [merchant("M1", "enabled"), merchant("M2", "disabled")], "next": "c2"}),
            ),
            ("GET", "/admin/merchants/M404") => reply(
                404,
                json!({"code": "not_found", "message": "no merchant M404"}),
            ),
            ("GET", p) if p.starts_with("/admin/merchants/") && p.ends_with("/apps") => {
                reply(200, json!({"apps": [app("A1"), app("A2")]}))
            }
            ("GET", p) if p.starts_with("/admin/merchants/") => {
                reply(200, json!({"merchant": merchant("M1", "enabled")}))
            }
            ("POST", p) if p.ends_with("/disable") && p.starts_with("/admin/merchants/") => {
                reply(200, json!({"merchant": merchant("M1", "disabled")}))
            }
            ("POST", p) if p.ends_with("/enable") && p.starts_with("/admin/merchants/") => {
                reply(200, json!({"merchant": merchant("M1", "enabled")}))
            }
            ("POST", "/admin/apps") | ("POST", "/admin/apps/A1/rotate-secret") => reply(
                200,
                json!({"app": app("A1"), "signSecret": "ab".repeat(32)}),
            ),
            ("GET", "/admin/audit") => reply(
                200,
                json!({"records": [{"at": 1_700_000_200, "principal": "arn:aws:iam::000000000000:user/local-admin",
                    "action": "merchant.create", "target": "merchant:M1", "detail": {"name": "Shop one"}}],
                    "next": null}),
            ),
            ("GET", "/admin/broken") => reply(503, json!({"message": "Service Unavailable"})),
            ("POST", "/admin/broken") => {
                reply(500, json!({"code": "system", "message": "system error"}))
            }
            ("POST", "/admin/apps/A1/reconcile") => reply(
                202,
                json!({"queued": {"job": "reconcile", "appId": "A1", "channel": "wechat_pay",
                    "day": "2026-12-01"}}),
            ),
            (_, p) if p.starts_with("/admin/apps/") => reply(200, json!({"app": app("A1")})),
            ("POST", "/admin/providers") | ("GET", "/admin/providers/sp-1") => {
                reply(200, json!({"provider": provider(json!({}))}))
            }
            (_, p) if p.starts_with("/admin/providers/") => reply(
                200,
                json!({"provider": provider(json!({"wechat_pay": {"mchid": "1900000100",
                    "appid": "wx8888888888880100", "merchantSerial": "5157F09E",
                    "publicKeyId": "PUB_KEY_ID_SP", "baseUrl": "http://127.0.0.1:9200",
                    "timeoutMs": 8000}}))}),
            ),
            _ => reply(404, json!({"message": "Not Found"})),
        }
    })
}

fn client(url: &str, secret: &str, token: Option<&str>) -> AdminClient {
    let credentials = Credentials::new(KEY_ID, secret, token.map(str::to_owned));
    AdminClient::builder(url, credentials)
        .region(REGION)
        .timeout(Duration::from_secs(5))
        .retry(RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        })
        .build()
        .expect("admin client")
}

fn last(mock: &Mock) -> Hit {
    mock.hits().pop().expect("a request was sent")
}

#[tokio::test]
async fn every_route_is_sent_signed_and_read() {
    let mock = service();
    let c = client(mock.url(), SECRET, None);

    let m = c.create_merchant("M1", "Shop one").await.expect("create");
    assert_eq!(
        (m.data.mch_no.as_str(), m.data.status.as_str()),
        ("M1", "enabled")
    );
    let hit = last(&mock);
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("POST", "/admin/merchants")
    );
    assert_eq!(hit.json(), json!({"mchNo": "M1", "name": "Shop one"}));
    assert_eq!(hit.header("content-type"), ["application/json"]);
    assert!(hit.header("x-amz-security-token").is_empty());
    let auth = hit.header("authorization")[0].to_owned();
    assert!(
        auth.contains("SignedHeaders=content-type;host;x-amz-date,"),
        "{auth}"
    );
    let date = hit.header("x-amz-date")[0];
    assert!((amz_epoch(date) - now()).abs() <= 5, "signed now: {date}");

    let page = c
        .list_merchants(&Page {
            limit: Some(2),
            cursor: Some("c/1=".into()),
        })
        .await
        .expect("list");
    assert_eq!(page.data.merchants.len(), 2);
    assert_eq!(page.data.next.as_deref(), Some("c2"));
    let hit = last(&mock);
    assert_eq!(hit.method, "GET");
    assert_eq!(hit.query.as_deref(), Some("limit=2&cursor=c%2F1%3D"));
    assert!(hit.raw.is_empty() && hit.header("content-type").is_empty());
    assert_eq!(page.raw["next"], "c2", "the answer as received");

    let shown = c.merchant("M1").await.expect("show");
    assert_eq!(shown.data.name, "Shop one");
    let off = c.disable_merchant("M1").await.expect("disable");
    assert_eq!(off.data.status, "disabled");
    assert_eq!(last(&mock).path, "/admin/merchants/M1/disable");
    assert!(last(&mock).raw.is_empty(), "no body");
    let on = c.enable_merchant("M1").await.expect("enable");
    assert_eq!(on.data.status, "enabled");
    let apps = c.merchant_apps("M1").await.expect("apps");
    assert_eq!(apps.data.len(), 2);

    let created = c
        .create_app(&NewApp {
            mch_no: "M1".into(),
            sign_type: Some("MD5".into()),
            ..NewApp::default()
        })
        .await
        .expect("create app");
    assert_eq!(created.data.sign_secret.len(), 64);
    assert!(!format!("{:?}", created.data).contains(&"ab".repeat(32)));
    assert_eq!(
        last(&mock).json(),
        json!({"mchNo": "M1", "signType": "MD5"})
    );
    let rotated = c.rotate_secret("A1", Some(3600)).await.expect("rotate");
    assert_eq!(rotated.data.app.app_id, "A1");
    assert_eq!(last(&mock).json(), json!({"graceSecs": 3600}));
    c.rotate_secret("A1", None).await.expect("rotate");
    assert_eq!(last(&mock).json(), json!({}));

    let got = c.app("A1").await.expect("app");
    assert_eq!(got.data.settings["fieldNames"], "2.0.7");
    c.disable_app("A1").await.expect("disable app");
    assert_eq!(last(&mock).path, "/admin/apps/A1/disable");
    c.enable_app("A1").await.expect("enable app");
    let mut settings = Map::new();
    settings.insert("reqTimeoutSecs".into(), json!(600));
    settings.insert("notifyUrl".into(), Value::Null);
    c.update_settings("A1", &settings).await.expect("settings");
    let hit = last(&mock);
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("POST", "/admin/apps/A1/settings")
    );
    assert_eq!(
        hit.json(),
        json!({"settings": {"reqTimeoutSecs": 600, "notifyUrl": null}})
    );

    let alipay = ChannelAccount::Alipay(AlipayAccount {
        app_id: "2021000000000001".into(),
        private_key: "MIIEvQ".into(),
        public_key: Some("MIIBIj".into()),
        gateway_url: Some("http://127.0.0.1:9100/gateway.do".into()),
        ..AlipayAccount::default()
    });
    assert!(!format!("{alipay:?}").contains("MIIEvQ"));
    c.set_channel("A1", &alipay).await.expect("set ali_pay");
    let hit = last(&mock);
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("PUT", "/admin/apps/A1/channels/ali_pay")
    );
    assert_eq!(
        hit.json(),
        json!({"mode": "direct", "appId": "2021000000000001", "privateKey": "MIIEvQ",
            "publicKey": "MIIBIj", "gatewayUrl": "http://127.0.0.1:9100/gateway.do"})
    );
    let wechat = ChannelAccount::Wechat(WechatAccount {
        mchid: "1900000001".into(),
        appid: "wx1".into(),
        merchant_serial: "5157F09E".into(),
        public_key_id: "PUB_KEY_ID_1".into(),
        private_key: "MIIEvA".into(),
        public_key: "MIIBIk".into(),
        api_v3_key: "k".repeat(32),
        ..WechatAccount::default()
    });
    assert!(!format!("{wechat:?}").contains(&"k".repeat(32)));
    c.set_channel("A1", &wechat).await.expect("set wechat_pay");
    let hit = last(&mock);
    assert_eq!(hit.path, "/admin/apps/A1/channels/wechat_pay");
    assert_eq!(hit.json()["apiV3Key"], json!("k".repeat(32)));
    assert_eq!(hit.json()["mode"], "direct");
    c.remove_channel("A1", "ali_pay").await.expect("remove");
    let hit = last(&mock);
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str()),
        ("DELETE", "/admin/apps/A1/channels/ali_pay")
    );

    let queued = c
        .rerun_reconcile("A1", "wechat_pay", "2026-12-01")
        .await
        .expect("a 202 is an answer");
    assert_eq!(
        (queued.data.job.as_str(), queued.data.day.as_str()),
        ("reconcile", "2026-12-01")
    );
    let hit = last(&mock);
    assert_eq!(
        (hit.method.as_str(), hit.path.as_str(), hit.json()),
        (
            "POST",
            "/admin/apps/A1/reconcile",
            json!({"channel": "wechat_pay", "day": "2026-12-01"})
        )
    );

    let audit = c
        .audit(&AuditQuery {
            page: Page {
                limit: Some(5),
                cursor: None,
            },
            target: Some("app:A1".into()),
        })
        .await
        .expect("audit");
    assert_eq!(audit.data.records[0].action, "merchant.create");
    assert_eq!(
        last(&mock).query.as_deref(),
        Some("limit=5&target=app%3AA1")
    );

    // every request verified with the secret, and none with another
    let hits = mock.hits();
    assert_eq!(hits.len(), 18);
    for hit in &hits {
        assert_eq!(verify(hit, SECRET), Ok(()), "{} {}", hit.method, hit.path);
        assert!(verify(hit, "another secret").is_err());
        assert_eq!(
            hit.header("host"),
            [mock.url().trim_start_matches("http://")]
        );
    }
}

#[tokio::test]
async fn a_tampered_request_no_longer_verifies() {
    let mock = service();
    let c = client(mock.url(), SECRET, None);
    c.create_merchant("M1", "Shop one").await.expect("create");
    let hit = last(&mock);
    assert_eq!(verify(&hit, SECRET), Ok(()));
    let mut body = hit.clone();
    body.raw = bytes::Bytes::from_static(br#"{"mchNo":"M2","name":"Shop one"}"#);
    assert!(verify(&body, SECRET).is_err());
    let mut path = hit.clone();
    path.path = "/admin/merchantz".into();
    assert!(verify(&path, SECRET).is_err());
    let mut query = hit.clone();
    query.query = Some("x=1".into());
    assert!(verify(&query, SECRET).is_err());
    let mut method = hit;
    method.method = "PUT".into();
    assert!(verify(&method, SECRET).is_err());
}

#[tokio::test]
async fn ids_and_query_members_are_encoded_and_signed_as_sent() {
    let mock = service();
    let c = client(mock.url(), SECRET, None);
    let _ = c.merchant("M 1/é").await.expect("show");
    let hit = last(&mock);
    assert_eq!(hit.path, "/admin/merchants/M%201%2F%C3%A9");
    assert_eq!(verify(&hit, SECRET), Ok(()));
    let raw = c
        .call(
            http::Method::GET,
            "/admin/merchants",
            &[("cursor", "a+b c*(x)!"), ("limit", "1")],
            None,
        )
        .await
        .expect("call");
    assert!(raw["merchants"].is_array());
    let hit = last(&mock);
    assert_eq!(
        hit.query.as_deref(),
        Some("cursor=a%2Bb%20c%2A%28x%29%21&limit=1")
    );
    assert_eq!(verify(&hit, SECRET), Ok(()));
    let bad = c.call(http::Method::GET, "admin/x", &[], None).await;
    assert!(matches!(bad, Err(AdminError::Config(_))), "{bad:?}");
}

#[tokio::test]
async fn temporary_credentials_sign_their_session_token() {
    let mock = service();
    let c = client(mock.url(), SECRET, Some("FwoGZXIvYXdzEXAMPLETOKEN"));
    c.merchant("M1").await.expect("show");
    let hit = last(&mock);
    assert_eq!(
        hit.header("x-amz-security-token"),
        ["FwoGZXIvYXdzEXAMPLETOKEN"]
    );
    let auth = hit.header("authorization")[0];
    assert!(
        auth.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"),
        "{auth}"
    );
    assert_eq!(verify(&hit, SECRET), Ok(()));
}

#[tokio::test]
async fn a_wrong_secret_is_forbidden() {
    let mock = service();
    let c = client(mock.url(), "not the secret", None);
    let got = c.merchant("M1").await;
    let Err(e) = got else {
        panic!("a wrong secret must be refused: {got:?}");
    };
    assert!(matches!(e, AdminError::Forbidden { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "forbidden: the caller's AWS credentials were refused"
    );
    assert!(e.is_refusal() && !e.is_retryable());
    assert_eq!(mock.hits().len(), 1, "a refusal is not sent again");
    let other_region = AdminClient::builder(mock.url(), Credentials::new(KEY_ID, SECRET, None))
        .region("us-east-1")
        .build()
        .expect("client");
    let got = other_region.merchant("M1").await;
    assert!(matches!(got, Err(AdminError::Forbidden { .. })), "{got:?}");
}

#[tokio::test]
async fn refusals_failures_and_retries() {
    let mock = service();
    let c = client(mock.url(), SECRET, None);
    let missing = c.merchant("M404").await;
    assert_eq!(
        missing.as_ref().map(|_| ()),
        Err(&AdminError::Refused {
            status: 404,
            code: Some("not_found".into()),
            message: "no merchant M404".into()
        })
    );
    assert_eq!(mock.count("/admin/merchants/M404"), 1);

    // a read is sent again after a 5xx (signed anew), a POST once
    let got = c.call(http::Method::GET, "/admin/broken", &[], None).await;
    assert!(
        matches!(&got, Err(AdminError::Server { status: 503, .. })),
        "{got:?}"
    );
    assert!(got.is_err_and(|e| e.is_retryable()));
    assert_eq!(mock.count("/admin/broken"), 3);
    let got = c
        .call(http::Method::POST, "/admin/broken", &[], Some(&json!({})))
        .await;
    assert_eq!(
        got,
        Err(AdminError::Server {
            status: 500,
            message: "system error".into()
        })
    );
    assert_eq!(mock.count("/admin/broken"), 4);

    // no answer: a transport error
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let nobody = client(&format!("http://127.0.0.1:{port}"), SECRET, None);
    let got = nobody.merchant("M1").await;
    assert!(matches!(got, Err(AdminError::Transport(_))), "{got:?}");
}

/// The last request, which must be `method path`.
fn sent(mock: &Mock, method: &str, path: &str) -> Hit {
    let hit = last(mock);
    assert_eq!((hit.method.as_str(), hit.path.as_str()), (method, path));
    hit
}

#[tokio::test]
async fn providers_and_accounts_under_them_are_sent_signed_and_read() {
    let mock = service();
    let c = client(mock.url(), SECRET, None);

    let created = c
        .create_provider("sp-1", Some("服务商"))
        .await
        .expect("create");
    assert_eq!(
        (
            created.data.provider_id.as_str(),
            created.data.name.as_str()
        ),
        ("sp-1", "服务商")
    );
    assert!(created.data.channels.is_empty());
    let hit = sent(&mock, "POST", "/admin/providers");
    assert_eq!(hit.json(), json!({"providerId": "sp-1", "name": "服务商"}));
    c.create_provider("sp-2", None).await.expect("create");
    let hit = sent(&mock, "POST", "/admin/providers");
    assert_eq!(hit.json(), json!({"providerId": "sp-2"}));

    let shown = c.provider("sp-1").await.expect("show");
    assert_eq!(shown.data.created_at, 1_700_000_000);
    sent(&mock, "GET", "/admin/providers/sp-1");

    // a provider's own account: a direct account's members, without `mode`
    let sp = ChannelAccount::Wechat(WechatAccount {
        mchid: "1900000100".into(),
        appid: "wx8888888888880100".into(),
        merchant_serial: "5157F09E".into(),
        public_key_id: "PUB_KEY_ID_SP".into(),
        private_key: "MIIEvA".into(),
        public_key: "MIIBIk".into(),
        api_v3_key: "k".repeat(32),
        base_url: Some("http://127.0.0.1:9200".into()),
        ..WechatAccount::default()
    });
    let set = c.set_provider_channel("sp 1", &sp).await.expect("set");
    assert_eq!(set.data.channels["wechat_pay"]["mchid"], "1900000100");
    let hit = sent(&mock, "PUT", "/admin/providers/sp%201/channels/wechat_pay");
    assert_eq!(
        hit.json(),
        json!({"mchid": "1900000100", "appid": "wx8888888888880100",
            "merchantSerial": "5157F09E", "publicKeyId": "PUB_KEY_ID_SP", "privateKey": "MIIEvA",
            "publicKey": "MIIBIk", "apiV3Key": "k".repeat(32), "baseUrl": "http://127.0.0.1:9200"})
    );
    c.remove_provider_channel("sp-1", "ali_pay")
        .await
        .expect("remove");
    let hit = sent(&mock, "DELETE", "/admin/providers/sp-1/channels/ali_pay");
    assert!(hit.raw.is_empty(), "no body");

    // an app's accounts under the provider: `"mode": "provider"` and the admin API's members
    let sub = ChannelAccount::WechatProvider(WechatSubMerchant {
        provider: "sp-1".into(),
        sub_mchid: "1900000201".into(),
        sub_appid: Some("wx8888888888880201".into()),
    });
    c.set_channel("A1", &sub).await.expect("set wechat_pay");
    let hit = sent(&mock, "PUT", "/admin/apps/A1/channels/wechat_pay");
    assert_eq!(
        hit.json(),
        json!({"mode": "provider", "provider": "sp-1", "subMchid": "1900000201",
            "subAppid": "wx8888888888880201"})
    );
    let auth = AlipayAuthorization {
        provider: "sp-1".into(),
        user_id: "2088000000000201".into(),
        auth_app_id: None,
        app_auth_token: "202601BB-the-token".into(),
        app_refresh_token: "202601BB-the-refresh".into(),
        expires_at: 1_800_000_000,
        refresh_expires_at: 1_810_000_000,
    };
    let shown = format!("{auth:?}");
    assert!(
        shown.contains("2088000000000201") && !shown.contains("the-token"),
        "{shown}"
    );
    assert!(!shown.contains("the-refresh"), "{shown}");
    c.set_channel("A1", &ChannelAccount::AlipayProvider(auth.clone()))
        .await
        .expect("set ali_pay");
    let hit = sent(&mock, "PUT", "/admin/apps/A1/channels/ali_pay");
    assert_eq!(
        hit.json(),
        json!({"mode": "provider", "provider": "sp-1", "userId": "2088000000000201",
            "appAuthToken": "202601BB-the-token", "appRefreshToken": "202601BB-the-refresh",
            "expiresAt": 1_800_000_000, "refreshExpiresAt": 1_810_000_000})
    );

    // an account under a provider is not a provider's own: refused before anything is sent
    let sent = mock.hits().len();
    let got = c.set_provider_channel("sp-1", &sub).await;
    assert!(matches!(got, Err(AdminError::Config(_))), "{got:?}");
    let got = c
        .set_provider_channel("sp-1", &ChannelAccount::AlipayProvider(auth))
        .await;
    assert!(matches!(got, Err(AdminError::Config(_))), "{got:?}");
    assert_eq!(mock.hits().len(), sent, "nothing sent");

    for hit in &mock.hits() {
        assert_eq!(verify(hit, SECRET), Ok(()), "{} {}", hit.method, hit.path);
    }
}
