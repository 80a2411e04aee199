//! End-to-end tests of the simulator through a minimal, independent Alipay client written here:
//! it signs forms itself, talks raw HTTP/1.1 over TCP and verifies answers by extracting the raw
//! node text from the body.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alipay_sim::{
    AlipaySim, AppAccount, AppAuthorization, AuthTokenState, DEFAULT_EXPIRES_IN,
    DEFAULT_RE_EXPIRES_IN, Fault, NotifyDelivery, Outcome, SimConfig, generate_keypair,
};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sim_kit::testing;
use time::{OffsetDateTime, UtcOffset};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

const APP_ID: &str = "2021000000000001";
const SETTLE: &str = "alipay.trade.order.settle";
const SETTLE_QUERY: &str = "alipay.trade.order.settle.query";
const ONSETTLE_QUERY: &str = "alipay.trade.order.onsettle.query";
const BIND: &str = "alipay.trade.royalty.relation.bind";
const UNBIND: &str = "alipay.trade.royalty.relation.unbind";
const ALICE: &str = "2088101126708402";
const BOB: &str = "2088101126708403";

struct Keys {
    app_private: String,
    app_public: String,
    alipay_private: String,
    alipay_public: String,
    other_private: String,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let pair = || generate_keypair().expect("keygen");
        let (app_private, app_public) = pair();
        let (alipay_private, alipay_public) = pair();
        let (other_private, _) = pair();
        Keys {
            app_private,
            app_public,
            alipay_private,
            alipay_public,
            other_private,
        }
    })
}

// ---------------------------------------------------------------- the independent client

fn rsa2_sign(pkcs8_b64: &str, content: &str) -> String {
    let der = STANDARD.decode(pkcs8_b64).expect("b64");
    let key = RsaKeyPair::from_pkcs8(&der).expect("pkcs8");
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        content.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    STANDARD.encode(sig)
}

fn rsa2_verify(spki_b64: &str, content: &str, sign_b64: &str) -> bool {
    let der = STANDARD.decode(spki_b64).expect("b64");
    let Ok(sig) = STANDARD.decode(sign_b64) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .verify(content.as_bytes(), &sig)
        .is_ok()
}

/// Sorted `k=v&…` over non-empty values, minus the excluded names.
fn content_to_sign(pairs: &[(String, String)], exclude: &[&str]) -> String {
    let mut kept: Vec<_> = pairs
        .iter()
        .filter(|(k, v)| !v.is_empty() && !exclude.contains(&k.as_str()))
        .collect();
    kept.sort();
    kept.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn beijing_timestamp(offset_minutes: i64) -> String {
    let t = OffsetDateTime::now_utc().to_offset(UtcOffset::from_hms(8, 0, 0).expect("offset"))
        + time::Duration::minutes(offset_minutes);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn urlencode(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Raw HTTP/1.1 POST; the whole exchange is bounded by `limit`.
async fn http_post(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &str,
    limit: Duration,
) -> Result<(u16, String), String> {
    let headers = [("Content-Type".to_string(), content_type.to_string())];
    let answer = testing::http_exchange(addr, "POST", path, &headers, body, limit).await?;
    Ok((answer.status, answer.body))
}

async fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let answer = testing::http_exchange(addr, "GET", path, &[], "", Duration::from_secs(5))
        .await
        .expect("get");
    let body = serde_json::from_str(&answer.body).expect("json body");
    (answer.status, body)
}

/// A verified-or-not gateway answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: String,
    node_name: String,
    node: Value,
    /// Some(valid?) when a `sign` member was present, None when unsigned.
    signature_valid: Option<bool>,
}

impl Answer {
    fn code(&self) -> &str {
        self.node["code"].as_str().unwrap_or_default()
    }
    fn sub_code(&self) -> &str {
        self.node["sub_code"].as_str().unwrap_or_default()
    }
    /// A normal signed answer of the method node (or error_response) whose signature verifies.
    fn assert_verified(&self) -> &Self {
        assert_eq!(self.status, 200, "{}", self.body);
        assert_eq!(
            self.signature_valid,
            Some(true),
            "signature must verify: {}",
            self.body
        );
        self
    }
}

/// Finds the node's raw text as the SDKs do: after `"<node>":`, ending before `,"sign":"`.
fn extract(body: &str, node_name: &str) -> Option<(String, Option<String>)> {
    let marker = format!("\"{node_name}\":");
    let start = body.find(&marker)? + marker.len();
    match body.rfind(",\"sign\":\"") {
        Some(end) if end > start => {
            let text = &body[start..end];
            let sign = body[end + 9..].strip_suffix("\"}")?.to_string();
            assert!(!body[end..].contains(&marker), "node name after the node");
            Some((text.to_string(), Some(sign)))
        }
        _ => Some((body[start..].strip_suffix('}')?.to_string(), None)),
    }
}

struct Client {
    addr: SocketAddr,
    app_id: String,
    app_private: String,
    alipay_public: String,
    timeout: Duration,
}

impl Client {
    fn new(sim: &AlipaySim) -> Self {
        let k = keys();
        let addr = sim.base_url()["http://".len()..]
            .split('/')
            .next()
            .expect("host")
            .parse()
            .expect("addr");
        Client {
            addr,
            app_id: APP_ID.into(),
            app_private: k.app_private.clone(),
            alipay_public: k.alipay_public.clone(),
            timeout: Duration::from_secs(5),
        }
    }

    fn signed_params(&self, method: &str, biz: &Value) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &beijing_timestamp(0)),
            ("version", "1.0"),
            ("biz_content", &biz.to_string()),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sign = rsa2_sign(&self.app_private, &content_to_sign(&params, &["sign"]));
        params.push(("sign".into(), sign));
        params
    }

    async fn post(&self, method: &str, params: &[(String, String)]) -> Result<Answer, String> {
        // Java SDK layout: common parameters and sign in the query, biz_content in the body.
        let (body, query): (Vec<_>, Vec<_>) = params
            .iter()
            .cloned()
            .partition(|(k, _)| k == "biz_content");
        let path = format!("/gateway.do?{}", urlencode(&query));
        let (status, body) = http_post(
            self.addr,
            &path,
            "application/x-www-form-urlencoded;charset=utf-8",
            &urlencode(&body),
            self.timeout,
        )
        .await?;
        let node_name = if body.contains("\"error_response\":") {
            "error_response".to_string()
        } else {
            format!("{}_response", method.replace('.', "_"))
        };
        let Some((text, sign)) = extract(&body, &node_name) else {
            return Ok(Answer {
                status,
                body,
                node_name,
                node: Value::Null,
                signature_valid: None,
            });
        };
        let signature_valid = sign.map(|s| rsa2_verify(&self.alipay_public, &text, &s));
        let node = serde_json::from_str(&text).map_err(|e| format!("node {text}: {e}"))?;
        Ok(Answer {
            status,
            body,
            node_name,
            node,
            signature_valid,
        })
    }

    async fn call(&self, method: &str, biz: Value) -> Answer {
        let params = self.signed_params(method, &biz);
        self.post(method, &params).await.expect("gateway call")
    }
}

// ---------------------------------------------------------------- fixtures

async fn start(notify_url: Option<String>) -> (AlipaySim, Client) {
    let k = keys();
    let config = SimConfig {
        app_id: APP_ID.into(),
        app_public_key: k.app_public.clone(),
        alipay_private_key: k.alipay_private.clone(),
        notify_url,
        cert: None,
    };
    let sim = AlipaySim::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let client = Client::new(&sim);
    (sim, client)
}

async fn bind(client: &Client, request_no: &str, accounts: &[&str]) -> Answer {
    let list: Vec<Value> = accounts
        .iter()
        .map(|a| json!({"type": "userId", "account": a}))
        .collect();
    client
        .call(
            BIND,
            json!({"out_request_no": request_no, "receiver_list": list}),
        )
        .await
}

fn settle_biz(trade_no: &str, request_no: &str, rows: &[(&str, &str)]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(to, amount)| json!({"trans_in": to, "trans_in_type": "userId", "amount": amount, "desc": "分账 a+b c%2B"}))
        .collect();
    json!({"out_request_no": request_no, "trade_no": trade_no, "royalty_parameters": rows})
}

async fn ready(request_no: &str) -> (AlipaySim, Client) {
    let (sim, client) = start(None).await;
    assert_eq!(
        bind(&client, request_no, &[ALICE, BOB])
            .await
            .assert_verified()
            .code(),
        "10000"
    );
    sim.seed_trade("T1", 10_000);
    (sim, client)
}

fn detail_for<'a>(node: &'a Value, account: &str) -> &'a Value {
    node["royalty_detail_list"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["trans_in"] == account)
        .expect("detail")
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn signed_sync_settle_round_trip() {
    let (sim, client) = ready("B1").await;
    let a = client
        .call(
            SETTLE,
            settle_biz("T1", "S1", &[(ALICE, "12.34"), (BOB, "0.66")]),
        )
        .await;
    a.assert_verified();
    assert_eq!(a.node_name, "alipay_trade_order_settle_response");
    assert_eq!(
        (a.code(), a.node["msg"].as_str()),
        ("10000", Some("Success"))
    );
    assert_eq!(a.node["trade_no"], "T1");
    let settle_no = a.node["settle_no"].as_str().expect("settle_no");
    assert!(settle_no.len() >= 16 && settle_no.bytes().all(|b| b.is_ascii_digit()));
    assert!(
        a.body
            .starts_with("{\"alipay_trade_order_settle_response\":{")
    );

    let q = client
        .call(SETTLE_QUERY, json!({"settle_no": settle_no}))
        .await;
    q.assert_verified();
    assert_eq!(q.node["out_request_no"], "S1");
    let alice = detail_for(&q.node, ALICE);
    assert_eq!(alice["state"], "SUCCESS");
    assert_eq!(alice["amount"], "12.34");
    assert_eq!(alice["operation_type"], "transfer");
    assert_eq!(alice["trans_out"], "2088000000000001");
    assert!(alice["execute_dt"].as_str().is_some_and(|s| s.len() == 19));
    let by_request = client
        .call(
            SETTLE_QUERY,
            json!({"trade_no": "T1", "out_request_no": "S1"}),
        )
        .await;
    assert_eq!(by_request.node, q.node);

    let o = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    assert_eq!(o.assert_verified().node["unsettled_amount"], "87.00");
    assert_eq!(sim.unsettled_fen("T1"), Some(8_700));
    assert!(sim.calls().iter().all(|c| c.verified));
    let last = sim.calls().pop().expect("call");
    assert_eq!(
        (last.method.as_str(), last.code.as_deref()),
        (ONSETTLE_QUERY, Some("10000"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn request_verification_failures() {
    let (sim, mut client) = ready("B1").await;
    // Everything in the body this time, still decoded properly.
    let params = client.signed_params(SETTLE, &settle_biz("T1", "S1", &[(ALICE, "1.00")]));
    let (status, body) = http_post(
        client.addr,
        "/gateway.do",
        "application/x-www-form-urlencoded",
        &urlencode(&params),
        client.timeout,
    )
    .await
    .expect("post");
    assert_eq!(status, 200);
    assert!(body.contains("\"code\":\"10000\""), "{body}");

    let mut tampered = client.signed_params(SETTLE, &settle_biz("T1", "S2", &[(ALICE, "1.00")]));
    tampered
        .iter_mut()
        .filter(|(k, _)| k == "biz_content")
        .for_each(|(_, v)| *v = v.replace("1.00", "9.00"));
    let a = client.post(SETTLE, &tampered).await.expect("post");
    a.assert_verified();
    assert_eq!(
        (a.node_name.as_str(), a.code(), a.sub_code()),
        ("error_response", "40002", "isv.invalid-signature")
    );

    let missing: Vec<_> = tampered.into_iter().filter(|(k, _)| k != "sign").collect();
    let a = client.post(SETTLE, &missing).await.expect("post");
    assert_eq!((a.code(), a.sub_code()), ("40001", "isv.missing-signature"));

    let mut stale = client.signed_params(ONSETTLE_QUERY, &json!({"trade_no": "T1"}));
    stale
        .iter_mut()
        .filter(|(k, _)| k == "timestamp")
        .for_each(|(_, v)| *v = beijing_timestamp(-11));
    stale.retain(|(k, _)| k != "sign");
    let sign = rsa2_sign(&client.app_private, &content_to_sign(&stale, &["sign"]));
    stale.push(("sign".into(), sign));
    assert_eq!(
        client
            .post(ONSETTLE_QUERY, &stale)
            .await
            .expect("post")
            .sub_code(),
        "isv.invalid-timestamp"
    );

    let unknown = client
        .call("alipay.trade.order.settle.explode", json!({}))
        .await;
    unknown.assert_verified();
    assert_eq!(
        (unknown.node_name.as_str(), unknown.sub_code()),
        ("error_response", "isv.invalid-method")
    );

    client.app_id = "2021999999999999".into();
    assert_eq!(
        client
            .call(ONSETTLE_QUERY, json!({"trade_no": "T1"}))
            .await
            .sub_code(),
        "isv.invalid-app-id"
    );

    client.app_id = APP_ID.into();
    client.app_private = keys().other_private.clone();
    let a = client
        .call(SETTLE, settle_biz("T1", "S3", &[(ALICE, "1.00")]))
        .await;
    a.assert_verified();
    assert_eq!((a.code(), a.sub_code()), ("40002", "isv.invalid-signature"));
    assert!(!sim.calls().last().expect("call").verified);
    assert_eq!(sim.settle_count("T1"), 1);
    assert_eq!(sim.unsettled_fen("T1"), Some(9_900));

    // The simulator's answers do not verify with a key other than the Alipay one.
    client.alipay_public = keys().app_public.clone();
    client.app_private = keys().app_private.clone();
    let a = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    assert_eq!((a.code(), a.signature_valid), ("10000", Some(false)));
    sim.shutdown().await;
}

#[tokio::test]
async fn settle_is_idempotent_per_out_request_no() {
    let (sim, client) = ready("B1").await;
    let first = client
        .call(SETTLE, settle_biz("T1", "SAME_1", &[(ALICE, "10.00")]))
        .await;
    let again = client
        .call(
            SETTLE,
            settle_biz("T1", "SAME_1", &[(ALICE, "20.00"), (BOB, "1.00")]),
        )
        .await;
    assert_eq!(first.assert_verified().code(), "10000");
    assert_eq!(again.assert_verified().node, first.node);
    assert_eq!(sim.settle_count("T1"), 1);
    assert_eq!(sim.unsettled_fen("T1"), Some(9_000));
    let other = client
        .call(SETTLE, settle_biz("T1", "SAME_2", &[(ALICE, "10.00")]))
        .await;
    assert_ne!(other.node["settle_no"], first.node["settle_no"]);
    assert_eq!(sim.settle_count("T1"), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn settle_validation() {
    let (sim, client) = ready("B1").await;
    let cases = [
        (
            settle_biz("T1", "R1", &[(ALICE, "100.01")]),
            "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR",
        ),
        (
            settle_biz("T1", "R2", &[(ALICE, "60.00"), (BOB, "40.01")]),
            "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR",
        ),
        (
            settle_biz("T1", "R3", &[(ALICE, "0.00")]),
            "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR",
        ),
        (
            settle_biz("T1", "R4", &[(ALICE, "1.234")]),
            "ACQ.ALLOC_AMOUNT_VALIDATE_ERROR",
        ),
        (
            settle_biz("T1", "R5", &[("2088000000009999", "1.00")]),
            "ACQ.ROYALTY_RECEIVER_NOT_BIND",
        ),
        (
            settle_biz("NOPE", "R6", &[(ALICE, "1.00")]),
            "ACQ.TRADE_NOT_EXIST",
        ),
        (settle_biz("T1", "R7", &[]), "ACQ.INVALID_PARAMETER"),
        (
            settle_biz("T1", "bad-no", &[(ALICE, "1.00")]),
            "ACQ.INVALID_PARAMETER",
        ),
        (
            settle_biz("T1", &"X".repeat(33), &[(ALICE, "1.00")]),
            "ACQ.INVALID_PARAMETER",
        ),
    ];
    for (biz, sub_code) in cases {
        let a = client.call(SETTLE, biz.clone()).await;
        a.assert_verified();
        assert_eq!(
            (a.code(), a.node["msg"].as_str(), a.sub_code()),
            ("40004", Some("Business Failed"), sub_code),
            "{biz}"
        );
    }
    // A receiver bound as loginName is not bound as userId.
    let login = json!({"out_request_no": "R8", "trade_no": "T1",
        "royalty_parameters": [{"trans_in": "a@b.com", "trans_in_type": "loginName", "amount": "1.00"}]});
    assert_eq!(
        client.call(SETTLE, login).await.sub_code(),
        "ACQ.ROYALTY_RECEIVER_NOT_BIND"
    );
    assert_eq!(
        client
            .call(SETTLE_QUERY, json!({"settle_no": "123"}))
            .await
            .sub_code(),
        "ACQ.TRADE_NOT_EXIST"
    );
    assert_eq!(
        client
            .call(ONSETTLE_QUERY, json!({"trade_no": "NOPE"}))
            .await
            .sub_code(),
        "ACQ.TRADE_NOT_EXIST"
    );
    assert_eq!(sim.settle_count("T1"), 0);
    assert_eq!(sim.unsettled_fen("T1"), Some(10_000));
    sim.shutdown().await;
}

#[tokio::test]
async fn finish_releases_unsettled() {
    let (sim, client) = ready("B1").await;
    let mut biz = settle_biz("T1", "F1", &[(ALICE, "30.00")]);
    biz["extend_params"] = json!({"royalty_finish": "true"});
    assert_eq!(client.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(sim.unsettled_fen("T1"), Some(0));
    let after = client
        .call(SETTLE, settle_biz("T1", "F2", &[(ALICE, "0.01")]))
        .await;
    assert_eq!(after.sub_code(), "ACQ.TRADE_SETTLE_FINISHED");
    let o = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    assert_eq!(o.node["unsettled_amount"], "0.00");

    // A standalone finish: no royalty parameters at all.
    sim.seed_trade("T2", 500);
    let finish = json!({"out_request_no": "F3", "trade_no": "T2", "extend_params": {"royalty_finish": "true"}});
    assert_eq!(client.call(SETTLE, finish).await.code(), "10000");
    assert_eq!(
        (sim.unsettled_fen("T2"), sim.settle_count("T2")),
        (Some(0), 1)
    );

    // Async finish: released once completed.
    sim.seed_trade("T3", 500);
    let mut biz = settle_biz("T3", "F4", &[(ALICE, "1.00")]);
    biz["royalty_mode"] = "async".into();
    biz["extend_params"] = json!({"royalty_finish": "true"});
    assert_eq!(client.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(sim.unsettled_fen("T3"), Some(400));
    let delivery = sim.complete("T3", "F4", &[]).await.expect("complete");
    assert_eq!(delivery, NotifyDelivery::NotConfigured);
    assert_eq!(sim.unsettled_fen("T3"), Some(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn bind_and_unbind() {
    let (sim, client) = start(None).await;
    let a = client
        .call(
            BIND,
            json!({"out_request_no": "B_1", "receiver_list": [
            {"type": "userId", "account": ALICE, "memo": "m"},
            {"type": "loginName", "account": "a@b.com", "name": "张三"}]}),
        )
        .await;
    a.assert_verified();
    assert_eq!(
        (
            a.node_name.as_str(),
            a.code(),
            a.node["result_code"].as_str()
        ),
        (
            "alipay_trade_royalty_relation_bind_response",
            "10000",
            Some("SUCCESS")
        )
    );
    assert!(sim.is_bound("userId", ALICE) && sim.is_bound("loginName", "a@b.com"));
    assert!(!sim.is_bound("userId", BOB));

    let no_name = json!({"out_request_no": "B_2", "receiver_list": [{"type": "loginName", "account": "c@d.com"}]});
    assert_eq!(
        client.call(BIND, no_name).await.sub_code(),
        "ACQ.INVALID_PARAMETER"
    );
    // A repeated out_request_no returns the first result and binds nothing new.
    assert_eq!(bind(&client, "B_1", &[BOB]).await.code(), "10000");
    assert!(!sim.is_bound("userId", BOB));

    let unbind = |no: &str| json!({"out_request_no": no, "receiver_list": [{"type": "userId", "account": ALICE}]});
    let u = client.call(UNBIND, unbind("U_1")).await;
    assert_eq!(
        (u.assert_verified().code(), u.node["result_code"].as_str()),
        ("10000", Some("SUCCESS"))
    );
    assert!(!sim.is_bound("userId", ALICE));
    let again = client.call(UNBIND, unbind("U_2")).await;
    again.assert_verified();
    assert_eq!(
        (
            again.code(),
            again.sub_code(),
            again.node["sub_msg"].as_str()
        ),
        ("40004", "USER_NOT_EXIST", Some("用户不存在"))
    );
    sim.shutdown().await;
}

/// A tiny application gateway: verifies each notification (excluding sign and sign_type) and
/// answers `success` only when it verifies and the app_id is ours.
async fn notify_receiver() -> (
    String,
    mpsc::UnboundedReceiver<(bool, Vec<(String, String)>)>,
) {
    notify_receiver_for(APP_ID).await
}

/// `notify_receiver` of the app `app_id`.
async fn notify_receiver_for(
    app_id: &'static str,
) -> (
    String,
    mpsc::UnboundedReceiver<(bool, Vec<(String, String)>)>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/notify/alipay",
        listener.local_addr().expect("addr")
    );
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let pairs = loop {
                let Ok(n) = stream.read(&mut buf).await else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        assert!(head.starts_with("POST /notify/alipay "), "{head}");
                        break Some(
                            form_urlencoded::parse(body.as_bytes())
                                .into_owned()
                                .collect::<Vec<_>>(),
                        );
                    }
                }
            };
            let Some(pairs) = pairs else { continue };
            let get = |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let ok = get("app_id") == app_id
                && rsa2_verify(
                    &keys().alipay_public,
                    &content_to_sign(&pairs, &["sign", "sign_type"]),
                    &get("sign"),
                );
            let answer = if ok { "success" } else { "fail" };
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = tx.send((ok, pairs));
        }
    });
    (url, rx)
}

#[tokio::test]
async fn async_settle_complete_and_notify() {
    let (url, mut notes) = notify_receiver().await;
    let (sim, client) = start(Some(url)).await;
    bind(&client, "B1", &[ALICE, BOB]).await;
    sim.seed_trade("T1", 10_000);
    let mut biz = settle_biz("T1", "A1", &[(ALICE, "10.00"), (BOB, "5.50")]);
    biz["royalty_mode"] = "async".into();
    let a = client.call(SETTLE, biz).await;
    assert_eq!(a.assert_verified().code(), "10000");
    let settle_no = a.node["settle_no"].as_str().expect("settle_no").to_string();
    let q = client
        .call(
            SETTLE_QUERY,
            json!({"trade_no": "T1", "out_request_no": "A1"}),
        )
        .await;
    assert_eq!(detail_for(&q.node, ALICE)["state"], "PROCESSING");
    assert!(detail_for(&q.node, ALICE).get("execute_dt").is_none());
    assert_eq!(sim.unsettled_fen("T1"), Some(8_450));

    let fail = Outcome::Fail {
        code: "TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH".into(),
        desc: "分账余额不足".into(),
    };
    let delivery = sim
        .complete("T1", "A1", &[(BOB.to_string(), fail)])
        .await
        .expect("complete");
    assert_eq!(delivery, NotifyDelivery::Delivered);
    let (ok, pairs) = tokio::time::timeout(Duration::from_secs(5), notes.recv())
        .await
        .expect("notified")
        .expect("note");
    assert!(ok);
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .expect(k)
    };
    assert_eq!(get("msg_method"), "alipay.trade.order.settle.notify");
    assert_eq!(
        (get("version"), get("charset"), get("sign_type")),
        ("1.1".into(), "utf-8".into(), "RSA2".into())
    );
    assert!(get("utc_timestamp").parse::<u64>().is_ok() && !get("notify_id").is_empty());
    // Including sign_type in the signed content must NOT verify.
    assert!(!rsa2_verify(
        &keys().alipay_public,
        &content_to_sign(&pairs, &["sign"]),
        &get("sign")
    ));
    let note: Value = serde_json::from_str(&get("biz_content")).expect("biz json");
    assert_eq!(
        (
            note["trade_no"].as_str(),
            note["settle_no"].as_str(),
            note["out_request_no"].as_str()
        ),
        (Some("T1"), Some(settle_no.as_str()), Some("A1"))
    );
    assert_eq!(detail_for(&note, ALICE)["state"], "SUCCESS");
    assert_eq!(detail_for(&note, BOB)["state"], "FAIL");

    let q = client
        .call(SETTLE_QUERY, json!({"settle_no": settle_no}))
        .await;
    q.assert_verified();
    assert_eq!(detail_for(&q.node, ALICE)["state"], "SUCCESS");
    let bob = detail_for(&q.node, BOB);
    assert_eq!(
        (
            bob["state"].as_str(),
            bob["error_code"].as_str(),
            bob["error_desc"].as_str()
        ),
        (
            Some("FAIL"),
            Some("TXN_RESULT_ACCOUNT_BALANCE_NOT_ENOUGH"),
            Some("分账余额不足")
        )
    );
    assert!(bob["execute_dt"].is_string());
    assert_eq!(
        sim.unsettled_fen("T1"),
        Some(9_000),
        "the failed 5.50 is splittable again"
    );
    assert!(matches!(
        sim.complete("T1", "A1", &[]).await,
        Err(alipay_sim::SimError::NotPending)
    ));

    // Tampered notifications are refused by the receiver.
    let mut pairs = sim.signed_settle_notify("T1", "A1").expect("pairs");
    pairs
        .iter_mut()
        .filter(|(k, _)| k == "biz_content")
        .for_each(|(_, v)| *v = v.replace("5.50", "55.00"));
    let delivery = sim.post_notify(&pairs).await.expect("post");
    assert_eq!(
        delivery,
        NotifyDelivery::Rejected {
            status: 200,
            body: "fail".into()
        }
    );
    let duplicate = sim.signed_settle_notify("T1", "A1").expect("pairs");
    assert_eq!(
        sim.post_notify(&duplicate).await.expect("post"),
        NotifyDelivery::Delivered
    );
    assert_eq!(
        sim.post_notify(&duplicate).await.expect("post"),
        NotifyDelivery::Delivered
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn faults() {
    let (sim, mut client) = ready("B1").await;
    let biz = |no: &str| settle_biz("T1", no, &[(ALICE, "1.00")]);

    client.timeout = Duration::from_millis(800);
    sim.inject(SETTLE, Fault::Timeout);
    let started = Instant::now();
    assert_eq!(
        client
            .post(SETTLE, &client.signed_params(SETTLE, &biz("X1")))
            .await
            .err()
            .as_deref(),
        Some("client timeout")
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(sim.settle_count("T1"), 0);
    assert_eq!(
        sim.calls()
            .last()
            .map(|c| (c.code.clone(), c.fault.clone())),
        Some((None, Some(Fault::Timeout)))
    );

    sim.inject(SETTLE, Fault::TimeoutAfterApply);
    assert!(
        client
            .post(SETTLE, &client.signed_params(SETTLE, &biz("X2")))
            .await
            .is_err()
    );
    assert_eq!(sim.settle_count("T1"), 1, "applied although unanswered");
    client.timeout = Duration::from_secs(5);
    let retry = client.call(SETTLE, biz("X2")).await;
    assert_eq!(retry.assert_verified().code(), "10000");
    assert_eq!(sim.settle_count("T1"), 1);

    sim.inject(SETTLE, Fault::Unsigned20000);
    let a = client.call(SETTLE, biz("X3")).await;
    assert_eq!(
        (a.status, a.signature_valid, a.code(), a.sub_code()),
        (200, None, "20000", "isp.unknown-error")
    );
    assert_eq!(a.node["sub_msg"], "系统繁忙");
    assert!(!a.body.contains("\"sign\""));

    sim.inject(
        SETTLE,
        Fault::Business {
            sub_code: "ACQ.SYSTEM_ERROR".into(),
            sub_msg: "系统错误".into(),
        },
    );
    let a = client.call(SETTLE, biz("X3")).await;
    a.assert_verified();
    assert_eq!(
        (a.code(), a.sub_code(), a.node["sub_msg"].as_str()),
        ("40004", "ACQ.SYSTEM_ERROR", Some("系统错误"))
    );

    sim.inject(SETTLE, Fault::HttpStatus(502));
    let a = client.call(SETTLE, biz("X3")).await;
    assert_eq!(a.status, 502);
    assert!(a.body.contains("<html>"));
    assert_eq!(
        sim.settle_count("T1"),
        1,
        "Timeout/Unsigned20000/Business/HttpStatus apply nothing"
    );

    sim.inject(SETTLE, Fault::BadSignature);
    let a = client.call(SETTLE, biz("X4")).await;
    assert_eq!(
        (a.status, a.code(), a.signature_valid),
        (200, "10000", Some(false))
    );
    assert!(a.node["settle_no"].is_string());

    sim.inject(ONSETTLE_QUERY, Fault::WhitespaceInNode);
    let a = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    a.assert_verified();
    assert!(a.body.contains('\n'));
    assert_eq!(a.node["unsettled_amount"], "98.00");

    // FIFO per method; other methods unaffected.
    sim.inject(SETTLE_QUERY, Fault::HttpStatus(503));
    sim.inject(SETTLE_QUERY, Fault::Unsigned20000);
    assert_eq!(
        client
            .call(ONSETTLE_QUERY, json!({"trade_no": "T1"}))
            .await
            .code(),
        "10000"
    );
    let q = json!({"trade_no": "T1", "out_request_no": "X2"});
    assert_eq!(client.call(SETTLE_QUERY, q.clone()).await.status, 503);
    assert_eq!(client.call(SETTLE_QUERY, q.clone()).await.code(), "20000");
    assert_eq!(
        client.call(SETTLE_QUERY, q).await.assert_verified().code(),
        "10000"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_held_connections() {
    let (sim, mut client) = ready("B1").await;
    client.timeout = Duration::from_secs(30);
    sim.inject(SETTLE, Fault::Timeout);
    let params = client.signed_params(SETTLE, &settle_biz("T1", "H1", &[(ALICE, "1.00")]));
    let held = tokio::spawn(async move { client.post(SETTLE, &params).await });
    testing::wait_until(|| sim.calls().iter().any(|c| c.method == SETTLE))
        .await
        .expect("call arrived");
    testing::shutdown_releases(sim.local_addr(), sim.clone().shutdown(), held)
        .await
        .expect("shutdown releases the held call");
}

#[tokio::test]
async fn control_api() {
    let (url, _notes) = notify_receiver().await;
    let (sim, client) = start(Some(url)).await;
    let addr = sim.local_addr();
    let post = |path: &'static str, body: Value| async move {
        http_post(
            addr,
            path,
            "application/json",
            &body.to_string(),
            Duration::from_secs(5),
        )
        .await
        .expect("post")
    };
    assert_eq!(
        post(
            "/__sim/trades",
            json!({"trade_no": "T9", "amount_fen": 1000})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        http_get(addr, "/__sim/trades/T9").await,
        (200, json!({"unsettled_fen": 1000, "settles": 0}))
    );
    assert_eq!(http_get(addr, "/__sim/trades/NOPE").await.0, 404);
    bind(&client, "B1", &[ALICE, BOB]).await;

    let inject = json!({"method": SETTLE, "fault": {"business": {"sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "x"}}});
    assert_eq!(post("/__sim/inject", inject).await.0, 200);
    let mut biz = settle_biz("T9", "C1", &[(ALICE, "1.00"), (BOB, "2.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(
        client.call(SETTLE, biz.clone()).await.sub_code(),
        "ACQ.SYSTEM_ERROR"
    );
    assert_eq!(client.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(
        http_get(addr, "/__sim/trades/T9").await.1,
        json!({"unsettled_fen": 700, "settles": 1})
    );

    let complete = json!({"trade_no": "T9", "out_request_no": "C1",
        "outcomes": {ALICE: "success", BOB: {"fail": {"code": "E1", "desc": "d"}}}});
    let (status, body) = post("/__sim/complete", complete.clone()).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&body).expect("json")),
        (200, json!({"result": "delivered"}))
    );
    assert_eq!(post("/__sim/complete", complete).await.0, 409);
    assert_eq!(sim.unsettled_fen("T9"), Some(900));

    let (status, calls) = http_get(addr, "/__sim/calls").await;
    assert_eq!(status, 200);
    let calls = calls.as_array().expect("array");
    assert_eq!(calls.len(), 3);
    assert_eq!(
        calls[1]["fault"],
        json!({"business": {"sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "x"}})
    );
    assert_eq!(
        (
            calls[2]["out_request_no"].as_str(),
            calls[2]["verified"].as_bool(),
            calls[2]["code"].as_str()
        ),
        (Some("C1"), Some(true), Some("10000"))
    );
    assert_eq!(
        post(
            "/__sim/inject",
            json!({"method": SETTLE, "fault": "unsigned_20000"})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post(
            "/__sim/inject",
            json!({"method": SETTLE, "fault": {"http_status": 502}})
        )
        .await
        .0,
        200
    );
    assert_eq!(
        post("/__sim/inject", json!({"method": SETTLE, "fault": "nope"}))
            .await
            .0,
        400
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refuses_non_loopback_and_bad_keys() {
    let k = keys();
    let config = |public: &str| SimConfig {
        app_id: APP_ID.into(),
        app_public_key: public.into(),
        alipay_private_key: k.alipay_private.clone(),
        notify_url: None,
        cert: None,
    };
    let any = "0.0.0.0:0".parse().expect("addr");
    assert!(AlipaySim::start(config(&k.app_public), any).await.is_err());
    let local = "127.0.0.1:0".parse().expect("addr");
    assert!(
        AlipaySim::start(config("not base64!"), local)
            .await
            .is_err()
    );
    assert!(
        AlipaySim::start(config(&k.app_private), local)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn binary_keygen_and_listen() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_alipay-sim");
    let (private, public) = testing::keygen(exe).await.expect("keygen");
    assert!(rsa2_verify(&public, "x", &rsa2_sign(&private, "x")));

    let (mut child, line) = testing::spawn_until_first_line(
        Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--app-id", APP_ID])
            .args(["--app-public-key", &public])
            .args(["--alipay-private-key", &private]),
    )
    .await
    .expect("ready line");
    assert!(
        line.starts_with("listening on http://127.0.0.1:")
            && line.trim_end().ends_with("/gateway.do"),
        "{line}"
    );
    child.kill().await.expect("kill");
}

// ---------------------------------------------------------------- refunds and onsettle

const REFUND: &str = "alipay.trade.refund";

fn refund_biz(request_no: &str, amount: &str, rows: &[(&str, &str)]) -> Value {
    let rows: Vec<Value> = rows
        .iter()
        .map(|(from, amount)| {
            json!({"royalty_type": "transfer", "trans_out_type": "userId", "trans_out": from,
                "amount": amount, "desc": "退分账"})
        })
        .collect();
    let mut biz = json!({"trade_no": "T1", "out_request_no": request_no,
        "refund_amount": amount, "refund_reason": "用户退款"});
    if !rows.is_empty() {
        biz["refund_royalty_parameters"] = Value::Array(rows);
    }
    biz
}

/// Yuan text ("12.34") of a fen amount, the simulator-independent way.
fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

async fn unsettled_amount(client: &Client) -> String {
    let o = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    assert_eq!(o.assert_verified().code(), "10000", "{}", o.body);
    o.node["unsettled_amount"]
        .as_str()
        .expect("unsettled_amount")
        .to_string()
}

fn holding(sim: &AlipaySim, account: &str) -> i64 {
    sim.holding_fen("T1", "userId", account)
        .expect("known trade")
}

#[tokio::test]
async fn onsettle_after_settle_and_refund() {
    let (sim, client) = ready("B1").await;
    let paid = 10_000;
    assert_eq!(unsettled_amount(&client).await, yuan(paid));
    let settle = client
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "12.34")]))
        .await;
    assert_eq!(settle.code(), "10000");
    let settled = 1_234;
    assert_eq!(unsettled_amount(&client).await, yuan(paid - settled));

    let r = client.call(REFUND, refund_biz("RF1", "7.66", &[])).await;
    assert_eq!(r.assert_verified().code(), "10000", "{}", r.body);
    assert_eq!(r.node_name, "alipay_trade_refund_response");
    let refunded = 766;
    assert_eq!(
        unsettled_amount(&client).await,
        yuan(paid - settled - refunded)
    );
    // A processing (async) settle counts as settled until it fails.
    let mut biz = settle_biz("T1", "S2", &[(BOB, "10.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(client.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(
        unsettled_amount(&client).await,
        yuan(paid - settled - refunded - 1_000)
    );
    let fail = [(
        BOB.to_string(),
        Outcome::Fail {
            code: "E".into(),
            desc: "d".into(),
        },
    )];
    sim.complete("T1", "S2", &fail).await.expect("complete");
    assert_eq!(
        unsettled_amount(&client).await,
        yuan(paid - settled - refunded)
    );
    // out_request_no is accepted; an unknown trade is ACQ.TRADE_NOT_EXIST.
    let with_no = client
        .call(
            ONSETTLE_QUERY,
            json!({"trade_no": "T1", "out_request_no": "S1"}),
        )
        .await;
    assert_eq!(
        with_no.node["unsettled_amount"],
        yuan(paid - settled - refunded)
    );
    let unknown = client
        .call(ONSETTLE_QUERY, json!({"trade_no": "T404"}))
        .await;
    assert_eq!(
        (unknown.code(), unknown.sub_code()),
        ("40004", "ACQ.TRADE_NOT_EXIST")
    );
    // royalty_finish releases the rest.
    let finish = json!({"out_request_no": "F1", "trade_no": "T1", "extend_params": {"royalty_finish": "true"}});
    assert_eq!(client.call(SETTLE, finish).await.code(), "10000");
    assert_eq!(unsettled_amount(&client).await, "0.00");
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_with_royalty_rows_reduces_holdings() {
    let (sim, client) = ready("B1").await;
    let s = client
        .call(
            SETTLE,
            settle_biz("T1", "S1", &[(ALICE, "30.00"), (BOB, "20.00")]),
        )
        .await;
    assert_eq!(s.code(), "10000");
    assert_eq!((holding(&sim, ALICE), holding(&sim, BOB)), (3_000, 2_000));
    let unsettled = sim.unsettled_fen("T1").expect("known");

    let r = client
        .call(
            REFUND,
            refund_biz("RF1", "40.00", &[(ALICE, "25.00"), (BOB, "5.00")]),
        )
        .await;
    r.assert_verified();
    assert_eq!(
        (r.code(), r.node["msg"].as_str()),
        ("10000", Some("Success"))
    );
    assert_eq!(
        (
            &r.node["trade_no"],
            &r.node["out_trade_no"],
            &r.node["fund_change"],
            &r.node["buyer_logon_id"]
        ),
        (
            &json!("T1"),
            &json!("MT1"),
            &json!("Y"),
            &json!("159****5620")
        )
    );
    assert_eq!(
        (&r.node["refund_fee"], &r.node["send_back_fee"]),
        (&json!("40.00"), &json!("40.00"))
    );
    assert_eq!((holding(&sim, ALICE), holding(&sim, BOB)), (500, 1_500));
    // 30.00 came back from the receivers, the other 10.00 from the frozen funds.
    assert_eq!(sim.unsettled_fen("T1"), Some(unsettled - 1_000));
    assert_eq!(sim.refunded_fen("T1"), Some(4_000));

    // By out_trade_no; refund_fee is the running total.
    let mut biz = refund_biz("RF2", "5.00", &[(ALICE, "5.00")]);
    biz["trade_no"] = Value::Null;
    biz["out_trade_no"] = "MT1".into();
    let r = client.call(REFUND, biz).await;
    assert_eq!(
        (r.code(), &r.node["refund_fee"], &r.node["send_back_fee"]),
        ("10000", &json!("45.00"), &json!("5.00"))
    );
    assert_eq!(holding(&sim, ALICE), 0);
    assert_eq!(sim.unsettled_fen("T1"), Some(unsettled - 1_000));

    // A settle still PROCESSING is not held yet.
    let mut biz = settle_biz("T1", "S2", &[(BOB, "10.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(client.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(holding(&sim, BOB), 1_500);
    let over = client
        .call(REFUND, refund_biz("RF3", "16.00", &[(BOB, "16.00")]))
        .await;
    assert_eq!(over.sub_code(), "ACQ.REFUND_ROYALTY_AMOUNT_EXCEED");
    sim.complete("T1", "S2", &[]).await.expect("complete");
    assert_eq!(holding(&sim, BOB), 2_500);
    let ok = client
        .call(REFUND, refund_biz("RF3", "16.00", &[(BOB, "16.00")]))
        .await;
    assert_eq!(ok.code(), "10000", "{}", ok.body);
    assert_eq!(holding(&sim, BOB), 900);
    sim.shutdown().await;
}

#[tokio::test]
async fn royalty_row_above_the_holding_is_refused() {
    let (sim, client) = ready("B1").await;
    let s = client
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")]))
        .await;
    assert_eq!(s.code(), "10000");
    let held = holding(&sim, ALICE);
    let above = yuan(held + 1);
    let login = json!({"out_request_no": "RF5", "trade_no": "T1", "refund_amount": "1.00",
        "refund_royalty_parameters": [{"trans_out_type": "loginName", "trans_out": ALICE, "amount": "1.00"}]});
    let cases = [
        refund_biz("RF1", &above, &[(ALICE, &above)]),
        refund_biz("RF2", "12.00", &[(ALICE, "6.00"), (ALICE, "6.00")]),
        refund_biz("RF3", "1.00", &[(BOB, "1.00")]),
        refund_biz("RF4", "1.00", &[("2088000000009999", "1.00")]),
        login,
    ];
    for biz in cases {
        let a = client.call(REFUND, biz.clone()).await;
        a.assert_verified();
        assert_eq!(
            (a.code(), a.node["msg"].as_str(), a.sub_code()),
            (
                "40004",
                Some("Business Failed"),
                "ACQ.REFUND_ROYALTY_AMOUNT_EXCEED"
            ),
            "{biz}"
        );
    }
    let rows_above_refund = client
        .call(REFUND, refund_biz("RF6", "1.00", &[(ALICE, "2.00")]))
        .await;
    assert_eq!(rows_above_refund.sub_code(), "ACQ.INVALID_PARAMETER");
    assert_eq!(holding(&sim, ALICE), held, "nothing taken back");
    assert_eq!(sim.refunded_fen("T1"), Some(0));
    // Exactly the holding is fine.
    let exact = client
        .call(
            REFUND,
            refund_biz("RF1", &yuan(held), &[(ALICE, &yuan(held))]),
        )
        .await;
    assert_eq!(exact.code(), "10000", "{}", exact.body);
    assert_eq!(holding(&sim, ALICE), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_above_unsettled_without_rows_is_refused() {
    let (sim, client) = ready("B1").await;
    let s = client
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "90.00")]))
        .await;
    assert_eq!(s.code(), "10000");
    let unsettled = sim.unsettled_fen("T1").expect("known");
    let a = client
        .call(REFUND, refund_biz("RF1", &yuan(unsettled + 1), &[]))
        .await;
    a.assert_verified();
    assert_eq!(
        (a.code(), a.sub_code(), a.node["sub_msg"].as_str()),
        (
            "40004",
            "ACQ.UNSETTLED_AMOUNT_NOT_ENOUGH",
            Some("申请退款金额大于剩余未分账金额")
        )
    );
    assert_eq!(sim.unsettled_fen("T1"), Some(unsettled));
    assert_eq!(sim.refunded_fen("T1"), Some(0));
    // Rows can cover what the frozen funds cannot.
    let covered = client
        .call(
            REFUND,
            refund_biz("RF1", &yuan(unsettled + 1), &[(ALICE, "0.01")]),
        )
        .await;
    assert_eq!(covered.code(), "10000", "{}", covered.body);
    assert_eq!(sim.unsettled_fen("T1"), Some(0));
    let none_left = client.call(REFUND, refund_biz("RF2", "0.01", &[])).await;
    assert_eq!(none_left.sub_code(), "ACQ.UNSETTLED_AMOUNT_NOT_ENOUGH");

    // Above what is still refundable; unknown trade; bad parameters.
    let refundable = 10_000 - sim.refunded_fen("T1").expect("known");
    let too_much = client
        .call(
            REFUND,
            refund_biz("RF3", &yuan(refundable + 1), &[(ALICE, "1.00")]),
        )
        .await;
    assert_eq!(too_much.sub_code(), "ACQ.REASON_TRADE_REFUND_FEE_ERR");
    let mut unknown = refund_biz("RF3", "1.00", &[]);
    unknown["trade_no"] = "T404".into();
    assert_eq!(
        client.call(REFUND, unknown).await.sub_code(),
        "ACQ.TRADE_NOT_EXIST"
    );
    let mut no_trade = refund_biz("RF3", "1.00", &[]);
    no_trade["trade_no"] = Value::Null;
    let mut no_request_no = refund_biz("RF3", "1.00", &[]);
    no_request_no["out_request_no"] = Value::Null;
    let mut number = refund_biz("RF3", "1.00", &[]);
    number["refund_amount"] = json!(1.0);
    for biz in [
        refund_biz("RF3", "0.00", &[]),
        refund_biz("RF3", "1.001", &[]),
        refund_biz("RF3", "1.00", &[(ALICE, "-1")]),
        no_trade,
        no_request_no,
        number,
    ] {
        assert_eq!(
            client.call(REFUND, biz.clone()).await.sub_code(),
            "ACQ.INVALID_PARAMETER",
            "{biz}"
        );
    }

    // After royalty_finish the part not covered by rows comes from the seller's balance.
    let finish = json!({"out_request_no": "F1", "trade_no": "T1", "extend_params": {"royalty_finish": "true"}});
    assert_eq!(client.call(SETTLE, finish).await.code(), "10000");
    let after_finish = client.call(REFUND, refund_biz("RF4", "1.00", &[])).await;
    assert_eq!(after_finish.code(), "10000", "{}", after_finish.body);
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_is_idempotent_per_out_request_no() {
    let (sim, client) = ready("B1").await;
    let s = client
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")]))
        .await;
    assert_eq!(s.code(), "10000");
    let first = client
        .call(REFUND, refund_biz("RF1", "5.00", &[(ALICE, "2.00")]))
        .await;
    assert_eq!(first.assert_verified().code(), "10000");
    let state = (
        sim.refunded_fen("T1"),
        sim.unsettled_fen("T1"),
        holding(&sim, ALICE),
    );
    // The same number answers the first result, whatever else is sent, and applies nothing.
    let again = client
        .call(REFUND, refund_biz("RF1", "9.00", &[(ALICE, "8.00")]))
        .await;
    assert_eq!(again.assert_verified().node, first.node);
    let replay = sim.refund("T1", "RF1", 100, &[]).expect("replayed");
    assert_eq!(
        (replay.refund_fee_fen, replay.send_back_fee_fen),
        (500, 500)
    );
    let (status, body) = http_post(
        sim.local_addr(),
        "/__sim/refund",
        "application/json",
        &json!({"trade_no": "T1", "out_request_no": "RF1", "refund_amount_fen": 700}).to_string(),
        Duration::from_secs(5),
    )
    .await
    .expect("post");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        first.node
    );
    assert_eq!(
        (
            sim.refunded_fen("T1"),
            sim.unsettled_fen("T1"),
            holding(&sim, ALICE)
        ),
        state
    );
    // A refused number is not remembered: it can be retried.
    let refused = client.call(REFUND, refund_biz("RF2", "500.00", &[])).await;
    assert_eq!(refused.sub_code(), "ACQ.REASON_TRADE_REFUND_FEE_ERR");
    let retried = client.call(REFUND, refund_biz("RF2", "1.00", &[])).await;
    assert_eq!(
        (retried.code(), &retried.node["refund_fee"]),
        ("10000", &json!("6.00"))
    );
    // The same out_request_no on another trade is another refund.
    sim.seed_trade("T2", 1_000);
    let mut other = refund_biz("RF1", "1.00", &[]);
    other["trade_no"] = "T2".into();
    let other = client.call(REFUND, other).await;
    assert_eq!(
        (other.code(), &other.node["refund_fee"]),
        ("10000", &json!("1.00"))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn settling_trade_answers_system_error() {
    let (sim, client) = ready("B1").await;
    sim.set_settling("T1", true).expect("known");
    let a = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    a.assert_verified();
    assert_eq!(
        (a.code(), a.sub_code(), a.node["sub_msg"].as_str()),
        ("40004", "ACQ.SYSTEM_ERROR", Some("订单处理中"))
    );
    assert!(a.node.get("unsettled_amount").is_none());
    let (status, _) = http_post(
        sim.local_addr(),
        "/__sim/settling",
        "application/json",
        &json!({"trade_no": "T1", "settling": false}).to_string(),
        Duration::from_secs(5),
    )
    .await
    .expect("post");
    assert_eq!(status, 200);
    assert_eq!(unsettled_amount(&client).await, "100.00");
    assert!(matches!(
        sim.set_settling("T404", true),
        Err(alipay_sim::SimError::UnknownTrade)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_control_api_and_faults() {
    let (sim, mut client) = ready("B1").await;
    let addr = sim.local_addr();
    let post = |path: &'static str, body: Value| async move {
        let (status, text) = http_post(
            addr,
            path,
            "application/json",
            &body.to_string(),
            Duration::from_secs(5),
        )
        .await
        .expect("post");
        (
            status,
            serde_json::from_str::<Value>(&text).unwrap_or(Value::Null),
        )
    };
    let seeded = json!({"trade_no": "T5", "out_trade_no": "ORDER_5", "amount_fen": 1_000});
    assert_eq!(post("/__sim/trades", seeded).await.0, 200);
    let s = client
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")]))
        .await;
    assert_eq!(s.code(), "10000");
    assert_eq!(
        http_get(addr, &format!("/__sim/trades/T1/holdings/userId/{ALICE}")).await,
        (200, json!({"holding_fen": 1_000}))
    );
    let refund = json!({"trade_no": "T1", "out_request_no": "RF1", "refund_amount_fen": 600,
        "royalty": [{"trans_out_type": "userId", "trans_out": ALICE, "amount_fen": 400}]});
    let (status, node) = post("/__sim/refund", refund).await;
    assert_eq!(
        (status, &node["code"], &node["send_back_fee"]),
        (200, &json!("10000"), &json!("6.00"))
    );
    assert_eq!(
        http_get(addr, "/__sim/trades/T1/refunded").await,
        (200, json!({"refunded_fen": 600}))
    );
    assert_eq!(
        http_get(addr, &format!("/__sim/trades/T1/holdings/userId/{ALICE}")).await,
        (200, json!({"holding_fen": 600}))
    );
    assert_eq!(
        http_get(addr, "/__sim/trades/T1").await,
        (200, json!({"unsettled_fen": 8_800, "settles": 1}))
    );
    assert_eq!(http_get(addr, "/__sim/trades/T404/refunded").await.0, 404);
    let over = json!({"trade_no": "T1", "out_request_no": "RF2", "refund_amount_fen": 601,
        "royalty": [{"trans_out": ALICE, "amount_fen": 601}]});
    let (status, node) = post("/__sim/refund", over).await;
    assert_eq!(
        (status, &node["sub_code"]),
        (409, &json!("ACQ.REFUND_ROYALTY_AMOUNT_EXCEED"))
    );
    let zero = json!({"trade_no": "T1", "out_request_no": "RF2", "refund_amount_fen": 0});
    assert_eq!(
        post("/__sim/refund", zero).await.1["sub_code"],
        "ACQ.INVALID_PARAMETER"
    );
    let rows = [alipay_sim::RoyaltyRefund {
        trans_out_type: "userId".into(),
        trans_out: ALICE.into(),
        amount_fen: 601,
    }];
    let refusal = sim.refund("T1", "RF2", 601, &rows).expect_err("refused");
    assert_eq!(refusal.sub_code, "ACQ.REFUND_ROYALTY_AMOUNT_EXCEED");
    let by_out = client
        .call(
            REFUND,
            json!({"out_trade_no": "ORDER_5", "out_request_no": "RF1", "refund_amount": "1.00"}),
        )
        .await;
    assert_eq!(
        (by_out.code(), &by_out.node["trade_no"]),
        ("10000", &json!("T5"))
    );

    // Faults on the new methods, like on the others.
    client.timeout = Duration::from_millis(500);
    sim.inject(REFUND, Fault::Timeout);
    let params = client.signed_params(REFUND, &refund_biz("RF3", "1.00", &[]));
    assert!(client.post(REFUND, &params).await.is_err());
    assert_eq!(sim.refunded_fen("T1"), Some(600), "nothing applied");
    sim.inject(REFUND, Fault::TimeoutAfterApply);
    let params = client.signed_params(REFUND, &refund_biz("RF3", "1.00", &[]));
    assert!(client.post(REFUND, &params).await.is_err());
    assert_eq!(
        sim.refunded_fen("T1"),
        Some(700),
        "applied although unanswered"
    );
    client.timeout = Duration::from_secs(5);
    let retried = client.call(REFUND, refund_biz("RF3", "1.00", &[])).await;
    assert_eq!(retried.assert_verified().node["refund_fee"], "7.00");
    assert_eq!(sim.refunded_fen("T1"), Some(700));
    sim.inject(
        REFUND,
        Fault::Business {
            sub_code: "ACQ.SYSTEM_ERROR".into(),
            sub_msg: "系统错误".into(),
        },
    );
    let a = client.call(REFUND, refund_biz("RF4", "1.00", &[])).await;
    assert_eq!(a.sub_code(), "ACQ.SYSTEM_ERROR");
    assert_eq!(sim.refunded_fen("T1"), Some(700));
    sim.inject(REFUND, Fault::BadSignature);
    let a = client.call(REFUND, refund_biz("RF4", "1.00", &[])).await;
    assert_eq!((a.code(), a.signature_valid), ("10000", Some(false)));
    sim.inject(ONSETTLE_QUERY, Fault::Unsigned20000);
    let a = client.call(ONSETTLE_QUERY, json!({"trade_no": "T1"})).await;
    assert_eq!((a.code(), a.signature_valid), ("20000", None));
    let inject = json!({"method": REFUND, "fault": {"http_status": 502}});
    assert_eq!(post("/__sim/inject", inject).await.0, 200);
    assert_eq!(
        client
            .call(REFUND, refund_biz("RF5", "1.00", &[]))
            .await
            .status,
        502
    );
    let last = sim.calls().pop().expect("call");
    assert_eq!(
        (last.method.as_str(), last.out_request_no.as_deref()),
        (REFUND, Some("RF5"))
    );
    sim.shutdown().await;
}

// ---------------------------------------------------------------- several apps at once

const APP_B: &str = "2021000000000002";
const UNKNOWN_APP: &str = "2021000000000099";

/// The second app's key pair: (private, public).
fn app_b_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_keypair().expect("keygen"))
}

fn app_b() -> AppAccount {
    AppAccount {
        app_id: APP_B.into(),
        app_public_key: app_b_keys().1.clone(),
        notify_url: None,
        cert: None,
    }
}

/// A client naming `app_id` and signing with `private`.
fn client_as(sim: &AlipaySim, app_id: &str, private: &str) -> Client {
    let mut client = Client::new(sim);
    client.app_id = app_id.into();
    client.app_private = private.into();
    client
}

/// APP_ID and APP_B served at once, each with ALICE bound; T1 paid to APP_ID, T2 to APP_B.
async fn two_apps() -> (AlipaySim, Client, Client) {
    let (sim, a) = start(None).await;
    sim.add_app(app_b()).expect("add app");
    let b = client_as(&sim, APP_B, &app_b_keys().0);
    for client in [&a, &b] {
        let bound = bind(client, "B1", &[ALICE]).await;
        assert_eq!(bound.assert_verified().code(), "10000");
    }
    sim.seed_trade("T1", 10_000);
    sim.seed_trade_for(APP_B, "T2", 5_000).expect("seed");
    (sim, a, b)
}

#[tokio::test]
async fn two_apps_each_with_their_own_key() {
    let (sim, a, b) = two_apps().await;
    let settled = a
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")]))
        .await;
    assert_eq!(settled.assert_verified().code(), "10000");
    let settled = b
        .call(SETTLE, settle_biz("T2", "S1", &[(ALICE, "20.00")]))
        .await;
    assert_eq!(settled.assert_verified().code(), "10000");
    let q = b.call(ONSETTLE_QUERY, json!({"trade_no": "T2"})).await;
    assert_eq!(q.assert_verified().node["unsettled_amount"], "30.00");
    assert_eq!(
        (sim.unsettled_fen("T1"), sim.unsettled_fen("T2")),
        (Some(9_000), Some(3_000))
    );
    assert_eq!(
        (sim.trade_app_id("T1"), sim.trade_app_id("T2")),
        (Some(APP_ID.to_string()), Some(APP_B.to_string()))
    );
    assert_eq!(sim.app_ids(), [APP_ID, APP_B]);
    let calls: Vec<(String, String, bool)> = sim
        .calls()
        .into_iter()
        .map(|c| (c.app_id, c.method, c.verified))
        .collect();
    let expected = [
        (APP_ID, BIND),
        (APP_B, BIND),
        (APP_ID, SETTLE),
        (APP_B, SETTLE),
        (APP_B, ONSETTLE_QUERY),
    ]
    .map(|(app, method)| (app.to_string(), method.to_string(), true));
    assert_eq!(calls, expected);
    assert!(matches!(
        sim.seed_trade_for(UNKNOWN_APP, "T3", 100),
        Err(alipay_sim::SimError::UnknownApp(_))
    ));
    assert_eq!(sim.unsettled_fen("T3"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn signed_by_one_app_naming_another_is_refused() {
    let (sim, _a, _b) = two_apps().await;
    // APP_ID's key, APP_B's app_id (and the other way round).
    for (app_id, private, trade_no) in [
        (APP_B, keys().app_private.clone(), "T2"),
        (APP_ID, app_b_keys().0.clone(), "T1"),
    ] {
        let forged = client_as(&sim, app_id, &private);
        let a = forged
            .call(SETTLE, settle_biz(trade_no, "S1", &[(ALICE, "1.00")]))
            .await;
        a.assert_verified();
        assert_eq!(
            (a.node_name.as_str(), a.code(), a.sub_code()),
            ("error_response", "40002", "isv.invalid-signature")
        );
        let last = sim.calls().pop().expect("call");
        assert_eq!((last.app_id.as_str(), last.verified), (app_id, false));
    }
    let stranger = client_as(&sim, UNKNOWN_APP, &app_b_keys().0);
    let a = stranger
        .call(ONSETTLE_QUERY, json!({"trade_no": "T2"}))
        .await;
    assert_eq!(a.assert_verified().sub_code(), "isv.invalid-app-id");
    assert!(!sim.calls().pop().expect("call").verified);
    assert_eq!((sim.settle_count("T1"), sim.settle_count("T2")), (0, 0));
    assert_eq!(
        (sim.unsettled_fen("T1"), sim.unsettled_fen("T2")),
        (Some(10_000), Some(5_000))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn trade_of_another_app_is_not_revealed() {
    let (sim, a, b) = two_apps().await;
    let settled = a
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")]))
        .await;
    assert_eq!(settled.code(), "10000");
    let settle_no = settled.node["settle_no"]
        .as_str()
        .expect("settle_no")
        .to_string();
    let snapshot = |sim: &AlipaySim| {
        (
            sim.unsettled_fen("T1"),
            sim.settle_count("T1"),
            holding(sim, ALICE),
            sim.refunded_fen("T1"),
        )
    };
    let before = snapshot(&sim);
    assert_eq!(before, (Some(9_000), 1, 1_000, Some(0)));

    // APP_B on APP_ID's trade: a new out_request_no, the one APP_ID used (not a replay of
    // APP_ID's answer), a finish-only settle, the queries and refunds.
    let finish = json!({"out_request_no": "F1", "trade_no": "T1",
        "extend_params": {"royalty_finish": "true"}});
    let calls = [
        (SETTLE, settle_biz("T1", "S2", &[(ALICE, "1.00")])),
        (SETTLE, settle_biz("T1", "S1", &[(ALICE, "10.00")])),
        (SETTLE, finish),
        (
            SETTLE_QUERY,
            json!({"trade_no": "T1", "out_request_no": "S1"}),
        ),
        (SETTLE_QUERY, json!({"settle_no": settle_no})),
        (ONSETTLE_QUERY, json!({"trade_no": "T1"})),
        (REFUND, refund_biz("RF1", "1.00", &[])),
        (
            REFUND,
            json!({"out_trade_no": "MT1", "out_request_no": "RF1", "refund_amount": "1.00"}),
        ),
        (REFUND, refund_biz("RF2", "1.00", &[(ALICE, "1.00")])),
    ];
    for (method, biz) in calls {
        let answer = b.call(method, biz.clone()).await;
        answer.assert_verified();
        assert_eq!(
            (answer.code(), answer.sub_code()),
            ("40004", "ACQ.TRADE_NOT_EXIST"),
            "{method} {biz}"
        );
    }
    assert_eq!(snapshot(&sim), before, "nothing changed");

    // APP_ID still sees its trade and settle; it cannot touch APP_B's.
    let q = a.call(SETTLE_QUERY, json!({"settle_no": settle_no})).await;
    assert_eq!(q.code(), "10000");
    assert_eq!(unsettled_amount(&a).await, "90.00");
    let a_on_b = a
        .call(SETTLE, settle_biz("T2", "S9", &[(ALICE, "1.00")]))
        .await;
    assert_eq!(a_on_b.sub_code(), "ACQ.TRADE_NOT_EXIST");
    assert_eq!(
        (sim.unsettled_fen("T2"), sim.settle_count("T2")),
        (Some(5_000), 0)
    );

    // out_trade_no is the merchant's own number: two apps may use the same one.
    sim.seed_trade_with("T3", "ORDER_1", 1_000);
    sim.seed_trade_with_for(APP_B, "T4", "ORDER_1", 2_000)
        .expect("seed");
    let by_out =
        json!({"out_trade_no": "ORDER_1", "out_request_no": "RF3", "refund_amount": "1.00"});
    let refunded = b.call(REFUND, by_out).await;
    assert_eq!(
        (refunded.code(), &refunded.node["trade_no"]),
        ("10000", &json!("T4"))
    );
    assert_eq!(
        (sim.refunded_fen("T3"), sim.refunded_fen("T4")),
        (Some(0), Some(100))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn receiver_relations_are_per_app() {
    let (sim, a, b) = two_apps().await;
    assert_eq!(bind(&a, "B2", &[BOB]).await.code(), "10000");
    assert!(sim.is_bound("userId", BOB) && sim.is_bound_for(APP_ID, "userId", BOB));
    assert!(!sim.is_bound_for(APP_B, "userId", BOB));
    let refused = b
        .call(SETTLE, settle_biz("T2", "S1", &[(BOB, "1.00")]))
        .await;
    assert_eq!(
        (refused.code(), refused.sub_code()),
        ("40004", "ACQ.ROYALTY_RECEIVER_NOT_BIND")
    );
    assert_eq!(
        (sim.unsettled_fen("T2"), sim.settle_count("T2")),
        (Some(5_000), 0)
    );
    let unbind =
        json!({"out_request_no": "U1", "receiver_list": [{"type": "userId", "account": BOB}]});
    let a_unbound = b.call(UNBIND, unbind.clone()).await;
    assert_eq!(a_unbound.sub_code(), "USER_NOT_EXIST");
    assert!(sim.is_bound("userId", BOB), "APP_ID's relation stays");

    // The out_request_no APP_ID used is APP_B's to use too: executed, not replayed.
    assert_eq!(bind(&b, "B2", &[BOB]).await.code(), "10000");
    assert!(sim.is_bound_for(APP_B, "userId", BOB));
    let settled = b
        .call(SETTLE, settle_biz("T2", "S1", &[(BOB, "1.00")]))
        .await;
    assert_eq!(settled.code(), "10000");
    assert_eq!(a.call(UNBIND, unbind).await.code(), "10000");
    assert!(!sim.is_bound("userId", BOB) && sim.is_bound_for(APP_B, "userId", BOB));
    sim.shutdown().await;
}

#[tokio::test]
async fn notification_goes_to_the_app_of_the_trade() {
    let (url_a, mut notes_a) = notify_receiver().await;
    let (url_b, mut notes_b) = notify_receiver_for(APP_B).await;
    let (sim, _a) = start(Some(url_a)).await;
    sim.add_app(AppAccount {
        notify_url: Some(url_b),
        ..app_b()
    })
    .expect("add app");
    let b = client_as(&sim, APP_B, &app_b_keys().0);
    bind(&b, "B1", &[ALICE]).await;
    sim.seed_trade_for(APP_B, "T2", 5_000).expect("seed");
    let mut biz = settle_biz("T2", "A1", &[(ALICE, "10.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(b.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(
        sim.complete("T2", "A1", &[]).await.expect("complete"),
        NotifyDelivery::Delivered
    );
    let (ok, pairs) = tokio::time::timeout(Duration::from_secs(5), notes_b.recv())
        .await
        .expect("notified")
        .expect("note");
    assert!(ok);
    let app_id = pairs
        .iter()
        .find(|(k, _)| k == "app_id")
        .map(|(_, v)| v.as_str());
    assert_eq!(app_id, Some(APP_B));
    assert!(
        notes_a.try_recv().is_err(),
        "nothing sent to APP_ID's gateway"
    );

    // post_notify follows the app_id of the form: APP_ID's receiver would refuse APP_B's.
    let pairs = sim.signed_settle_notify("T2", "A1").expect("pairs");
    assert_eq!(
        sim.post_notify(&pairs).await.expect("post"),
        NotifyDelivery::Delivered
    );
    // An app without a notify_url gets nothing.
    sim.add_app(app_b()).expect("replace");
    let mut biz = settle_biz("T2", "A2", &[(ALICE, "1.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(b.call(SETTLE, biz).await.code(), "10000");
    assert_eq!(
        sim.complete("T2", "A2", &[]).await.expect("complete"),
        NotifyDelivery::NotConfigured
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_adds_apps() {
    let (sim, _a) = start(None).await;
    let addr = sim.local_addr();
    let post = |path: &'static str, body: Value| async move {
        http_post(
            addr,
            path,
            "application/json",
            &body.to_string(),
            Duration::from_secs(5),
        )
        .await
        .expect("post")
        .0
    };
    let (b_private, b_public) = app_b_keys();
    let app = json!({"app_id": APP_B, "app_public_key": b_public});
    assert_eq!(post("/__sim/apps", app).await, 200);
    for bad in [
        json!({"app_id": UNKNOWN_APP, "app_public_key": "not a key"}),
        json!({"app_id": UNKNOWN_APP, "app_public_key": keys().app_private}),
        json!({"app_id": "", "app_public_key": b_public}),
        json!({"app_id": UNKNOWN_APP}),
    ] {
        assert_eq!(post("/__sim/apps", bad.clone()).await, 400, "{bad}");
    }
    let (status, apps) = http_get(addr, "/__sim/apps").await;
    assert_eq!(
        (status, apps),
        (
            200,
            json!([{"app_id": APP_ID, "notify_url": null, "cert": null},
                {"app_id": APP_B, "notify_url": null, "cert": null}])
        )
    );
    let seed = json!({"app_id": APP_B, "trade_no": "T2", "amount_fen": 5_000});
    assert_eq!(post("/__sim/trades", seed).await, 200);
    let seed = json!({"app_id": UNKNOWN_APP, "trade_no": "T3", "amount_fen": 5_000});
    assert_eq!(post("/__sim/trades", seed).await, 404);
    assert_eq!(sim.trade_app_id("T2").as_deref(), Some(APP_B));
    assert_eq!(sim.unsettled_fen("T3"), None);

    let b = client_as(&sim, APP_B, b_private);
    assert_eq!(bind(&b, "B1", &[ALICE]).await.code(), "10000");
    let settled = b
        .call(SETTLE, settle_biz("T2", "S1", &[(ALICE, "1.00")]))
        .await;
    assert_eq!(settled.assert_verified().code(), "10000");
    let (_, calls) = http_get(addr, "/__sim/calls").await;
    assert_eq!(calls[1]["app_id"], APP_B);

    // Adding a known app again replaces its key (rotation); its trade stays.
    let (new_private, new_public) = generate_keypair().expect("keygen");
    let rotated = json!({"app_id": APP_B, "app_public_key": new_public});
    assert_eq!(post("/__sim/apps", rotated).await, 200);
    let old = b.call(ONSETTLE_QUERY, json!({"trade_no": "T2"})).await;
    assert_eq!(old.sub_code(), "isv.invalid-signature");
    let b = client_as(&sim, APP_B, &new_private);
    let q = b.call(ONSETTLE_QUERY, json!({"trade_no": "T2"})).await;
    assert_eq!(q.node["unsettled_amount"], "49.00");
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_serves_extra_apps() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_alipay-sim");
    let k = keys();
    let extra = json!([{"app_id": APP_B, "app_public_key": app_b_keys().1}]).to_string();
    let (mut child, line) = testing::spawn_until_first_line(
        Command::new(exe)
            .args(["--listen", "127.0.0.1:0", "--app-id", APP_ID])
            .args(["--app-public-key", &k.app_public])
            .args(["--alipay-private-key", &k.alipay_private])
            .args(["--extra-apps", &extra]),
    )
    .await
    .expect("ready line");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix("/gateway.do"))
        .expect("url")
        .parse()
        .expect("addr");
    let (status, apps) = http_get(addr, "/__sim/apps").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = apps
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["app_id"].as_str())
        .collect();
    assert_eq!(ids, [APP_ID, APP_B]);
    child.kill().await.expect("kill");

    for bad in ["not json", r#"[{"app_id":"X","app_public_key":"nope"}]"#] {
        let out = tokio::time::timeout(
            Duration::from_secs(10),
            Command::new(exe)
                .args(["--listen", "127.0.0.1:0", "--app-id", APP_ID])
                .args(["--app-public-key", &k.app_public])
                .args(["--alipay-private-key", &k.alipay_private])
                .args(["--extra-apps", bad])
                .output(),
        )
        .await
        .expect("exits")
        .expect("output");
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

// ---------------------------------------------------------------- third-party (ISV) apps

const TOKEN_APP: &str = "alipay.open.auth.token.app";
const ISV_APP: &str = "2021000000000010";
/// Merchant M authorised ISV_APP; its trade TM1 was paid through it.
const MERCHANT_M: &str = "2088000000000021";
const M_APP: &str = "2021000000000031";
const TOKEN_M: &str = "202501BB00000000000000000000000000000m01";
const REFRESH_M: &str = "202501BB00000000000000000000000000000m02";
/// Merchant N authorised ISV_APP too; its trade is TN1.
const MERCHANT_N: &str = "2088000000000022";
const TOKEN_N: &str = "202501BB00000000000000000000000000000n01";
const REFRESH_N: &str = "202501BB00000000000000000000000000000n02";

fn isv_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_keypair().expect("keygen"))
}

fn isv_app(notify_url: Option<String>) -> AppAccount {
    AppAccount {
        app_id: ISV_APP.into(),
        app_public_key: isv_keys().1.clone(),
        notify_url,
        cert: None,
    }
}

fn authorization(user_id: &str, token: &str, refresh: &str) -> AppAuthorization {
    AppAuthorization {
        isv_app_id: ISV_APP.into(),
        user_id: user_id.into(),
        auth_app_id: (user_id == MERCHANT_M).then(|| M_APP.to_string()),
        app_auth_token: token.into(),
        app_refresh_token: refresh.into(),
        expires_in: DEFAULT_EXPIRES_IN,
        re_expires_in: DEFAULT_RE_EXPIRES_IN,
    }
}

impl Client {
    /// A call carrying `app_auth_token` (a common, signed parameter) when given.
    async fn call_as(&self, method: &str, biz: Value, app_auth_token: Option<&str>) -> Answer {
        let mut params = self.signed_params(method, &biz);
        if let Some(token) = app_auth_token {
            params.retain(|(k, _)| k != "sign");
            params.push(("app_auth_token".into(), token.into()));
            let sign = rsa2_sign(&self.app_private, &content_to_sign(&params, &["sign"]));
            params.push(("sign".into(), sign));
        }
        self.post(method, &params).await.expect("gateway call")
    }
}

/// `refund_biz` of M's trade TM1.
fn refund_tm1(request_no: &str, amount: &str, rows: &[(&str, &str)]) -> Value {
    let mut biz = refund_biz(request_no, amount, rows);
    biz["trade_no"] = "TM1".into();
    biz
}

fn bind_biz(request_no: &str, account: &str) -> Value {
    json!({"out_request_no": request_no,
        "receiver_list": [{"type": "userId", "account": account}]})
}

/// APP_ID (a direct app) and ISV_APP served; merchants M and N authorised ISV_APP; TM1 (100.00)
/// is M's, TN1 (100.00) N's, T1 (100.00) APP_ID's; ALICE is bound for M (with M's token) and
/// for N. Clients: APP_ID, ISV_APP.
async fn isv(notify_url: Option<String>) -> (AlipaySim, Client, Client) {
    let (sim, direct) = start(None).await;
    sim.add_app(isv_app(notify_url)).expect("add app");
    sim.authorize_merchant(authorization(MERCHANT_M, TOKEN_M, REFRESH_M))
        .expect("authorize");
    sim.authorize_merchant(authorization(MERCHANT_N, TOKEN_N, REFRESH_N))
        .expect("authorize");
    let isv = client_as(&sim, ISV_APP, &isv_keys().0);
    for token in [TOKEN_M, TOKEN_N] {
        let bound = isv.call_as(BIND, bind_biz("B1", ALICE), Some(token)).await;
        assert_eq!(bound.assert_verified().code(), "10000");
    }
    sim.seed_merchant_trade(ISV_APP, MERCHANT_M, "TM1", 10_000)
        .expect("seed");
    sim.seed_merchant_trade(ISV_APP, MERCHANT_N, "TN1", 10_000)
        .expect("seed");
    sim.seed_trade("T1", 10_000);
    (sim, direct, isv)
}

/// What a refused call on M's trade must not change.
fn isv_snapshot(sim: &AlipaySim) -> (Option<i64>, usize, i64, Option<i64>, bool) {
    (
        sim.unsettled_fen("TM1"),
        sim.settle_count("TM1"),
        sim.holding_fen("TM1", "userId", ALICE).unwrap_or(-1),
        sim.refunded_fen("TM1"),
        sim.is_bound_for(MERCHANT_M, "userId", ALICE),
    )
}

/// The last call's (app_auth_token, merchant).
fn last_acting(sim: &AlipaySim) -> (Option<String>, Option<String>) {
    let last = sim.calls().pop().expect("call");
    (last.app_auth_token, last.merchant)
}

fn acting(token: Option<&str>, merchant: Option<&str>) -> (Option<String>, Option<String>) {
    (token.map(str::to_string), merchant.map(str::to_string))
}

#[tokio::test]
async fn isv_royalty_calls_with_the_merchants_token_work() {
    let (sim, _direct, isv) = isv(None).await;
    assert!(sim.is_bound_for(MERCHANT_M, "userId", ALICE));
    assert!(
        !sim.is_bound_for(ISV_APP, "userId", ALICE),
        "not the ISV's own"
    );
    assert_eq!(sim.trade_app_id("TM1").as_deref(), Some(MERCHANT_M));
    assert_eq!(last_acting(&sim), acting(Some(TOKEN_N), Some(MERCHANT_N)));

    let settled = isv
        .call_as(
            SETTLE,
            settle_biz("TM1", "S1", &[(ALICE, "10.00")]),
            Some(TOKEN_M),
        )
        .await;
    assert_eq!(settled.assert_verified().code(), "10000");
    assert_eq!(last_acting(&sim), acting(Some(TOKEN_M), Some(MERCHANT_M)));
    let settle_no = settled.node["settle_no"]
        .as_str()
        .expect("settle_no")
        .to_string();
    let q = isv
        .call_as(
            SETTLE_QUERY,
            json!({"trade_no": "TM1", "out_request_no": "S1"}),
            Some(TOKEN_M),
        )
        .await;
    assert_eq!(q.assert_verified().code(), "10000");
    let q = isv
        .call_as(SETTLE_QUERY, json!({"settle_no": settle_no}), Some(TOKEN_M))
        .await;
    assert_eq!(detail_for(&q.node, ALICE)["amount"], "10.00");
    let on = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TM1"}), Some(TOKEN_M))
        .await;
    assert_eq!(on.assert_verified().node["unsettled_amount"], "90.00");
    let refunded = isv
        .call_as(REFUND, refund_tm1("RF1", "1.00", &[]), Some(TOKEN_M))
        .await;
    assert_eq!(refunded.assert_verified().node["trade_no"], "TM1");
    assert_eq!(sim.refunded_fen("TM1"), Some(100));
    // By out_trade_no too: it is the merchant's own number.
    let by_out = json!({"out_trade_no": "MTM1", "out_request_no": "RF2", "refund_amount": "1.00"});
    let refunded = isv.call_as(REFUND, by_out, Some(TOKEN_M)).await;
    assert_eq!(refunded.code(), "10000");
    let unbind =
        json!({"out_request_no": "U1", "receiver_list": [{"type": "userId", "account": ALICE}]});
    let unbound = isv.call_as(UNBIND, unbind, Some(TOKEN_M)).await;
    assert_eq!(unbound.assert_verified().code(), "10000");
    assert!(!sim.is_bound_for(MERCHANT_M, "userId", ALICE));
    assert!(sim.is_bound_for(MERCHANT_N, "userId", ALICE), "N's stays");
    assert_eq!(
        (sim.unsettled_fen("TM1"), sim.unsettled_fen("TN1")),
        (Some(8_800), Some(10_000))
    );
    sim.shutdown().await;
}

/// `method biz` on M's trade by ISV_APP: works with M's token; without a token, or with N's,
/// answered `sub_code` and nothing changes.
async fn assert_needs_merchant_token(method: &str, biz: Value, sub_code: &str) {
    let (sim, _direct, isv) = isv(None).await;
    // Something to query, refund or unbind.
    let settled = isv
        .call_as(
            SETTLE,
            settle_biz("TM1", "S1", &[(ALICE, "10.00")]),
            Some(TOKEN_M),
        )
        .await;
    assert_eq!(settled.code(), "10000");
    let before = isv_snapshot(&sim);
    for token in [None, Some(TOKEN_N)] {
        let refused = isv.call_as(method, biz.clone(), token).await;
        refused.assert_verified();
        assert_eq!(
            (refused.code(), refused.sub_code()),
            ("40004", sub_code),
            "{method} with {token:?}"
        );
        let merchant = if token.is_some() { MERCHANT_N } else { ISV_APP };
        assert_eq!(last_acting(&sim), acting(token, Some(merchant)));
        assert_eq!(
            isv_snapshot(&sim),
            before,
            "{method} with {token:?}: nothing changed"
        );
    }
    let done = isv.call_as(method, biz, Some(TOKEN_M)).await;
    assert_eq!(
        done.assert_verified().code(),
        "10000",
        "{method} with M's token"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn isv_settle_needs_the_merchants_token() {
    let biz = settle_biz("TM1", "S2", &[(ALICE, "1.00")]);
    assert_needs_merchant_token(SETTLE, biz, "ACQ.TRADE_NOT_EXIST").await;
}

#[tokio::test]
async fn isv_settle_query_needs_the_merchants_token() {
    let biz = json!({"trade_no": "TM1", "out_request_no": "S1"});
    assert_needs_merchant_token(SETTLE_QUERY, biz, "ACQ.TRADE_NOT_EXIST").await;
}

#[tokio::test]
async fn isv_onsettle_query_needs_the_merchants_token() {
    let biz = json!({"trade_no": "TM1"});
    assert_needs_merchant_token(ONSETTLE_QUERY, biz, "ACQ.TRADE_NOT_EXIST").await;
}

#[tokio::test]
async fn isv_refund_needs_the_merchants_token() {
    let biz = refund_tm1("RF1", "1.00", &[(ALICE, "1.00")]);
    assert_needs_merchant_token(REFUND, biz, "ACQ.TRADE_NOT_EXIST").await;
}

#[tokio::test]
async fn isv_unbind_needs_the_merchants_token() {
    // Without a token the ISV unbinds its own relation, with N's token N's: M's is not there
    // for them. (N has ALICE bound too, so the call names BOB, whom only M has.)
    let (sim, _direct, isv) = isv_with_bob().await;
    let unbind = bind_biz("U1", BOB);
    for token in [None, Some(TOKEN_N)] {
        let refused = isv.call_as(UNBIND, unbind.clone(), token).await;
        assert_eq!(
            (refused.assert_verified().code(), refused.sub_code()),
            ("40004", "USER_NOT_EXIST"),
            "{token:?}"
        );
        assert!(
            sim.is_bound_for(MERCHANT_M, "userId", BOB),
            "{token:?}: M's stays"
        );
    }
    let done = isv.call_as(UNBIND, unbind, Some(TOKEN_M)).await;
    assert_eq!(done.code(), "10000");
    assert!(!sim.is_bound_for(MERCHANT_M, "userId", BOB));
    sim.shutdown().await;
}

/// `isv()` plus BOB bound for M only.
async fn isv_with_bob() -> (AlipaySim, Client, Client) {
    let (sim, direct, isv) = isv(None).await;
    let bound = isv.call_as(BIND, bind_biz("B2", BOB), Some(TOKEN_M)).await;
    assert_eq!(bound.code(), "10000");
    (sim, direct, isv)
}

#[tokio::test]
async fn isv_bind_needs_the_merchants_token() {
    let (sim, _direct, isv) = isv(None).await;
    // Without a token the relation is the ISV's own; with N's token, N's: never M's, so M's
    // settle to BOB stays refused.
    for (token, owner) in [(None, ISV_APP), (Some(TOKEN_N), MERCHANT_N)] {
        let bound = isv.call_as(BIND, bind_biz("B2", BOB), token).await;
        assert_eq!(bound.assert_verified().code(), "10000");
        assert!(sim.is_bound_for(owner, "userId", BOB), "{owner}");
        assert!(!sim.is_bound_for(MERCHANT_M, "userId", BOB), "{token:?}");
        let settle = isv
            .call_as(
                SETTLE,
                settle_biz("TM1", "S9", &[(BOB, "1.00")]),
                Some(TOKEN_M),
            )
            .await;
        assert_eq!(settle.sub_code(), "ACQ.ROYALTY_RECEIVER_NOT_BIND");
    }
    assert_eq!(
        (sim.unsettled_fen("TM1"), sim.settle_count("TM1")),
        (Some(10_000), 0)
    );
    let bound = isv.call_as(BIND, bind_biz("B2", BOB), Some(TOKEN_M)).await;
    assert_eq!(bound.code(), "10000");
    let settle = isv
        .call_as(
            SETTLE,
            settle_biz("TM1", "S9", &[(BOB, "1.00")]),
            Some(TOKEN_M),
        )
        .await;
    assert_eq!(settle.code(), "10000");
    sim.shutdown().await;
}

#[tokio::test]
async fn expired_or_invalid_token_gets_the_documented_error() {
    let (sim, direct, isv) = isv(None).await;
    let before = isv_snapshot(&sim);
    let settle = || settle_biz("TM1", "S1", &[(ALICE, "1.00")]);
    let expect = |a: &Answer, sub_code: &str, sub_msg: &str| {
        a.assert_verified();
        assert_eq!(a.node_name, "alipay_trade_order_settle_response");
        assert_eq!(
            (
                a.code(),
                a.node["msg"].as_str(),
                a.sub_code(),
                a.node["sub_msg"].as_str()
            ),
            (
                "20001",
                Some("Insufficient Token Permissions"),
                sub_code,
                Some(sub_msg)
            )
        );
    };

    sim.set_app_auth_token_state(TOKEN_M, AuthTokenState::Expired)
        .expect("state");
    assert_eq!(sim.app_auth_token_state(TOKEN_M), AuthTokenState::Expired);
    let a = isv.call_as(SETTLE, settle(), Some(TOKEN_M)).await;
    expect(&a, "aop.app-auth-token-time-out", "应用授权令牌已过期");
    assert_eq!(last_acting(&sim), acting(Some(TOKEN_M), None));
    sim.set_app_auth_token_state(TOKEN_M, AuthTokenState::Invalid)
        .expect("state");
    let a = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TM1"}), Some(TOKEN_M))
        .await;
    assert_eq!(a.sub_code(), "aop.invalid-app-auth-token");
    // An unknown token, and M's token sent by another app.
    let a = isv.call_as(SETTLE, settle(), Some("202501BBnope")).await;
    expect(&a, "aop.invalid-app-auth-token", "无效的应用授权令牌");
    sim.set_app_auth_token_state(TOKEN_M, AuthTokenState::Valid)
        .expect("state");
    let a = direct.call_as(SETTLE, settle(), Some(TOKEN_M)).await;
    expect(&a, "aop.invalid-app-auth-token", "无效的应用授权令牌");
    assert_eq!(isv_snapshot(&sim), before, "nothing changed");
    assert!(matches!(
        sim.set_app_auth_token_state("202501BBnope", AuthTokenState::Expired),
        Err(alipay_sim::SimError::UnknownAppAuthToken(_))
    ));

    // A token granted with no lifetime left is expired from the start.
    sim.authorize_merchant(AppAuthorization {
        expires_in: 0,
        ..authorization(
            MERCHANT_N,
            "202501BB0000000000000000000000000000n011",
            "R_N2",
        )
    })
    .expect("authorize");
    let a = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TN1"}), Some(TOKEN_N))
        .await;
    assert_eq!(
        a.sub_code(),
        "aop.invalid-app-auth-token",
        "replaced by re-authorising"
    );
    let new_n = sim.app_auth_token(ISV_APP, MERCHANT_N).expect("token");
    let a = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TN1"}), Some(&new_n))
        .await;
    assert_eq!(a.sub_code(), "aop.app-auth-token-time-out");
    sim.shutdown().await;
}

#[tokio::test]
async fn refresh_gives_a_working_token_and_kills_the_old() {
    let (sim, direct, isv) = isv(None).await;
    sim.set_app_auth_token_state(TOKEN_M, AuthTokenState::Expired)
        .expect("state");
    let refresh = |token: &str| json!({"grant_type": "refresh_token", "refresh_token": token});
    let a = isv.call_as(TOKEN_APP, refresh(REFRESH_M), None).await;
    a.assert_verified();
    assert_eq!(
        (a.node_name.as_str(), a.code()),
        ("alipay_open_auth_token_app_response", "10000")
    );
    let node = &a.node;
    let token = node["app_auth_token"].as_str().expect("token").to_string();
    let refresh_2 = node["app_refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    assert_ne!(token, TOKEN_M);
    assert_ne!(refresh_2, REFRESH_M);
    assert!(token.len() <= 40, "{token}");
    assert_eq!(
        (
            &node["user_id"],
            &node["auth_app_id"],
            &node["expires_in"],
            &node["re_expires_in"]
        ),
        (
            &json!(MERCHANT_M),
            &json!(M_APP),
            &json!(DEFAULT_EXPIRES_IN),
            &json!(DEFAULT_RE_EXPIRES_IN)
        )
    );
    let flat: Vec<&Value> = [
        "user_id",
        "auth_app_id",
        "app_auth_token",
        "app_refresh_token",
    ]
    .iter()
    .map(|k| &node[*k])
    .collect();
    let listed: Vec<&Value> = [
        "user_id",
        "auth_app_id",
        "app_auth_token",
        "app_refresh_token",
    ]
    .iter()
    .map(|k| &node["tokens"][0][*k])
    .collect();
    assert_eq!(flat, listed);
    assert_eq!(sim.app_auth_token(ISV_APP, MERCHANT_M), Some(token.clone()));
    assert_eq!(
        sim.app_refresh_token(ISV_APP, MERCHANT_M),
        Some(refresh_2.clone())
    );
    assert_eq!(
        (
            sim.app_auth_token_state(&token),
            sim.app_auth_token_state(TOKEN_M)
        ),
        (AuthTokenState::Valid, AuthTokenState::Invalid)
    );

    let old = isv
        .call_as(
            SETTLE,
            settle_biz("TM1", "S1", &[(ALICE, "1.00")]),
            Some(TOKEN_M),
        )
        .await;
    assert_eq!(
        (old.code(), old.sub_code()),
        ("20001", "aop.invalid-app-auth-token")
    );
    let new = isv
        .call_as(
            SETTLE,
            settle_biz("TM1", "S1", &[(ALICE, "1.00")]),
            Some(&token),
        )
        .await;
    assert_eq!(new.code(), "10000");
    assert_eq!(last_acting(&sim), acting(Some(&token), Some(MERCHANT_M)));

    let refused = [
        (&isv, refresh(REFRESH_M), "isv.refreshed-token-invalid"),
        (
            &isv,
            refresh("202501BBunknown"),
            "isv.refresh-token-invalid",
        ),
        (&direct, refresh(REFRESH_N), "isv.refresh-token-invalid"),
        (
            &isv,
            json!({"grant_type": "authorization_code", "code": "603d0219f1884fc4b66093900e6b8X89"}),
            "isv.code-invalid",
        ),
        (
            &isv,
            json!({"refresh_token": REFRESH_N}),
            "isv.invalid-parameter",
        ),
    ];
    for (client, biz, sub_code) in refused {
        let a = client.call_as(TOKEN_APP, biz.clone(), None).await;
        a.assert_verified();
        assert_eq!((a.code(), a.sub_code()), ("40002", sub_code), "{biz}");
    }
    // A revoked authorisation cannot be refreshed.
    sim.set_app_auth_token_state(TOKEN_N, AuthTokenState::Invalid)
        .expect("state");
    let a = isv.call_as(TOKEN_APP, refresh(REFRESH_N), None).await;
    assert_eq!(a.sub_code(), "isv.refresh-token-invalid");
    // The new refresh token works once more.
    let a = isv.call_as(TOKEN_APP, refresh(&refresh_2), None).await;
    assert_eq!(a.code(), "10000");
    assert_eq!(sim.app_auth_token_state(&token), AuthTokenState::Invalid);
    sim.shutdown().await;
}

#[tokio::test]
async fn isv_settle_notification_goes_to_the_isv_with_auth_app_id() {
    let (url_isv, mut notes_isv) = notify_receiver_for(ISV_APP).await;
    let (url_direct, mut notes_direct) = notify_receiver().await;
    let (sim, _direct, isv) = isv(Some(url_isv)).await;
    sim.add_app(AppAccount {
        app_id: APP_ID.into(),
        app_public_key: keys().app_public.clone(),
        notify_url: Some(url_direct),
        cert: None,
    })
    .expect("replace");
    let mut biz = settle_biz("TM1", "A1", &[(ALICE, "10.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(
        isv.call_as(SETTLE, biz, Some(TOKEN_M)).await.code(),
        "10000"
    );
    assert_eq!(
        sim.complete("TM1", "A1", &[]).await.expect("complete"),
        NotifyDelivery::Delivered
    );
    let (ok, pairs) = tokio::time::timeout(Duration::from_secs(5), notes_isv.recv())
        .await
        .expect("notified")
        .expect("note");
    assert!(ok, "verifies, app_id is the ISV's");
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        (get("app_id"), get("auth_app_id")),
        (Some(ISV_APP), Some(M_APP))
    );
    let biz: Value = serde_json::from_str(get("biz_content").expect("biz")).expect("json");
    assert_eq!(biz["trade_no"], "TM1");
    assert!(notes_direct.try_recv().is_err(), "nothing for APP_ID");
    // A direct app's own settle names no auth_app_id.
    let direct = Client::new(&sim);
    bind(&direct, "B1", &[ALICE]).await;
    let mut biz = settle_biz("T1", "A2", &[(ALICE, "1.00")]);
    biz["royalty_mode"] = "async".into();
    assert_eq!(direct.call(SETTLE, biz).await.code(), "10000");
    sim.complete("T1", "A2", &[]).await.expect("complete");
    let (ok, pairs) = tokio::time::timeout(Duration::from_secs(5), notes_direct.recv())
        .await
        .expect("notified")
        .expect("note");
    assert!(ok);
    assert!(!pairs.iter().any(|(k, _)| k == "auth_app_id"));
    sim.shutdown().await;
}

#[tokio::test]
async fn direct_apps_are_unchanged_next_to_isv_apps() {
    let (sim, direct, isv) = isv(None).await;
    bind(&direct, "B1", &[ALICE]).await;
    let settled = direct
        .call(SETTLE, settle_biz("T1", "S1", &[(ALICE, "1.00")]))
        .await;
    assert_eq!(settled.assert_verified().code(), "10000");
    assert_eq!(last_acting(&sim), acting(None, Some(APP_ID)));
    // An ISV without a token on its own trade acts for itself, like any app.
    sim.seed_trade_for(ISV_APP, "TI1", 1_000).expect("seed");
    let q = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TI1"}), None)
        .await;
    assert_eq!(q.node["unsettled_amount"], "10.00");
    // ...and cannot reach it acting for a merchant.
    let q = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TI1"}), Some(TOKEN_M))
        .await;
    assert_eq!(q.sub_code(), "ACQ.TRADE_NOT_EXIST");
    // A gateway refusal records the token but no merchant.
    let mut params = isv.signed_params(ONSETTLE_QUERY, &json!({"trade_no": "TM1"}));
    params.push(("app_auth_token".into(), TOKEN_M.into()));
    let a = isv.post(ONSETTLE_QUERY, &params).await.expect("post");
    assert_eq!(a.sub_code(), "isv.invalid-signature");
    assert_eq!(last_acting(&sim), acting(Some(TOKEN_M), None));

    let bad = [
        AppAuthorization {
            isv_app_id: "2021000000000077".into(),
            ..authorization(MERCHANT_M, "T_X1", "R_X1")
        },
        AppAuthorization {
            user_id: "3088000000000021".into(),
            ..authorization(MERCHANT_M, "T_X2", "R_X2")
        },
        AppAuthorization {
            user_id: "2088000000000099".into(),
            ..authorization(MERCHANT_M, TOKEN_N, "R_X3")
        },
        authorization("2088000000000099", &"x".repeat(41), "R_X4"),
        authorization("2088000000000099", "T_X5", ""),
    ];
    for auth in bad {
        assert!(sim.authorize_merchant(auth.clone()).is_err(), "{auth:?}");
    }
    assert!(matches!(
        sim.seed_merchant_trade(APP_ID, MERCHANT_M, "TX", 100),
        Err(alipay_sim::SimError::NotAuthorized { .. })
    ));
    assert_eq!(sim.unsettled_fen("TX"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_authorizes_merchants() {
    let (sim, _direct) = start(None).await;
    let addr = sim.local_addr();
    let post = |path: &'static str, body: Value| async move {
        http_post(
            addr,
            path,
            "application/json",
            &body.to_string(),
            Duration::from_secs(5),
        )
        .await
        .expect("post")
        .0
    };
    let app = json!({"app_id": ISV_APP, "app_public_key": isv_keys().1});
    assert_eq!(post("/__sim/apps", app).await, 200);
    let grant = json!({"isv_app_id": ISV_APP, "user_id": MERCHANT_M, "auth_app_id": M_APP,
        "app_auth_token": TOKEN_M, "app_refresh_token": REFRESH_M});
    assert_eq!(post("/__sim/authorizations", grant).await, 200);
    for (bad, status) in [
        (
            json!({"isv_app_id": "2021000000000077", "user_id": MERCHANT_N,
                "app_auth_token": TOKEN_N, "app_refresh_token": REFRESH_N}),
            404,
        ),
        (
            json!({"isv_app_id": ISV_APP, "user_id": "12345",
                "app_auth_token": TOKEN_N, "app_refresh_token": REFRESH_N}),
            400,
        ),
        (json!({"isv_app_id": ISV_APP, "user_id": MERCHANT_N}), 400),
    ] {
        assert_eq!(
            post("/__sim/authorizations", bad.clone()).await,
            status,
            "{bad}"
        );
    }
    let (status, grants) = http_get(addr, "/__sim/authorizations").await;
    assert_eq!(
        (status, grants),
        (
            200,
            json!([{"isv_app_id": ISV_APP, "user_id": MERCHANT_M, "auth_app_id": M_APP,
                "app_auth_token": TOKEN_M, "app_refresh_token": REFRESH_M, "state": "valid",
                "expires_in": DEFAULT_EXPIRES_IN, "re_expires_in": DEFAULT_RE_EXPIRES_IN}])
        )
    );
    let seed = json!({"isv_app_id": ISV_APP, "user_id": MERCHANT_M, "trade_no": "TM1",
        "amount_fen": 10_000});
    assert_eq!(post("/__sim/trades", seed).await, 200);
    assert_eq!(sim.trade_app_id("TM1").as_deref(), Some(MERCHANT_M));
    for (bad, status) in [
        (
            json!({"isv_app_id": ISV_APP, "user_id": MERCHANT_N, "trade_no": "TN1",
                "amount_fen": 1}),
            404,
        ),
        (
            json!({"isv_app_id": ISV_APP, "trade_no": "TN1", "amount_fen": 1}),
            400,
        ),
    ] {
        assert_eq!(post("/__sim/trades", bad.clone()).await, status, "{bad}");
    }
    let state = json!({"app_auth_token": TOKEN_M, "state": "expired"});
    assert_eq!(post("/__sim/app-auth-token-state", state).await, 200);
    let (_, grants) = http_get(addr, "/__sim/authorizations").await;
    assert_eq!(grants[0]["state"], "expired");
    let unknown = json!({"app_auth_token": "nope", "state": "invalid"});
    assert_eq!(post("/__sim/app-auth-token-state", unknown).await, 404);
    let bad = json!({"app_auth_token": TOKEN_M, "state": "gone"});
    assert_eq!(post("/__sim/app-auth-token-state", bad).await, 400);

    let isv = client_as(&sim, ISV_APP, &isv_keys().0);
    let a = isv
        .call_as(ONSETTLE_QUERY, json!({"trade_no": "TM1"}), Some(TOKEN_M))
        .await;
    assert_eq!(a.sub_code(), "aop.app-auth-token-time-out");
    let (_, calls) = http_get(addr, "/__sim/calls").await;
    let last = &calls.as_array().expect("calls")[0];
    assert_eq!(
        (&last["app_auth_token"], &last["merchant"]),
        (&json!(TOKEN_M), &Value::Null)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_serves_authorizations() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_alipay-sim");
    let k = keys();
    let apps = json!([{"app_id": ISV_APP, "app_public_key": isv_keys().1}]).to_string();
    let grants = json!([{"isv_app_id": ISV_APP, "user_id": MERCHANT_M,
        "app_auth_token": TOKEN_M, "app_refresh_token": REFRESH_M}])
    .to_string();
    let command = |grants: &str| {
        let mut command = Command::new(exe);
        command
            .args(["--listen", "127.0.0.1:0", "--app-id", APP_ID])
            .args(["--app-public-key", &k.app_public])
            .args(["--alipay-private-key", &k.alipay_private])
            .args(["--extra-apps", &apps])
            .args(["--authorizations", grants]);
        command
    };
    let (mut child, line) = testing::spawn_until_first_line(&mut command(&grants))
        .await
        .expect("ready line");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.strip_suffix("/gateway.do"))
        .expect("url")
        .parse()
        .expect("addr");
    let (status, listed) = http_get(addr, "/__sim/authorizations").await;
    assert_eq!(
        (status, &listed[0]["user_id"], &listed[0]["auth_app_id"]),
        (200, &json!(MERCHANT_M), &json!(MERCHANT_M))
    );
    child.kill().await.expect("kill");
    let orphan = json!([{"isv_app_id": "2021000000000077", "user_id": MERCHANT_M,
        "app_auth_token": TOKEN_M, "app_refresh_token": REFRESH_M}])
    .to_string();
    for bad in [orphan.as_str(), "not json"] {
        let out = tokio::time::timeout(Duration::from_secs(10), command(bad).output())
            .await
            .expect("exits")
            .expect("output");
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
