//! End-to-end tests of the simulator through a minimal, independent WeChat Pay v3 client written
//! here: it signs `Authorization` itself, talks raw HTTP/1.1 over TCP and verifies the answers'
//! `Wechatpay-*` signatures.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPublicEncryptingKey,
    PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256, RsaKeyPair, UnparsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use sim_kit::testing::{self, RawAnswer};
use wechat_sim::{
    DEFAULT_MAX_RATIO, Fault, MerchantAccount, Op, Outcome, ProviderAccount, ReturnOutcome,
    SimConfig, SimError, SubMerchantAccount, WechatSim, generate_keypair,
};

const MCHID: &str = "1900000109";
const APPID: &str = "wx8888888888888888";
const SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000000";
const APIV3_KEY: &str = "abcdefghijklmnopqrstuvwxyz012345";
const SHOP: &str = "1900000200";
const ALICE: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
const SHOP_NAME: &str = "示例商户全称有限公司";
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

struct Keys {
    merchant_private: String,
    merchant_public: String,
    wechat_private: String,
    wechat_public: String,
    other_private: String,
    other_public: String,
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}"))
        .expect("fixture")
        .trim()
        .to_string()
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (wechat_private, wechat_public) = generate_keypair().expect("keygen");
        let (other_private, other_public) = generate_keypair().expect("keygen");
        Keys {
            merchant_private: fixture("TEST-ONLY-merchant-key.pkcs8.b64"),
            merchant_public: fixture("TEST-ONLY-merchant-key.spki.b64"),
            wechat_private,
            wechat_public,
            other_private,
            other_public,
        }
    })
}

// ---------------------------------------------------------------- the independent client

fn rsa_sign(pkcs8_b64: &str, message: &[u8]) -> String {
    let key = RsaKeyPair::from_pkcs8(&STANDARD.decode(pkcs8_b64).expect("b64")).expect("pkcs8");
    let mut sig = vec![0; key.public_modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), message, &mut sig)
        .expect("sign");
    STANDARD.encode(sig)
}

fn rsa_verify(spki_b64: &str, message: &[u8], sig_b64: &str) -> bool {
    let der = STANDARD.decode(spki_b64).expect("b64");
    let Ok(sig) = STANDARD.decode(sig_b64) else {
        return false;
    };
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
        .verify(message, &sig)
        .is_ok()
}

fn oaep_encrypt(spki_b64: &str, plaintext: &str, algorithm: &'static OaepAlgorithm) -> String {
    let der = STANDARD.decode(spki_b64).expect("b64");
    let key = OaepPublicEncryptingKey::new(PublicEncryptingKey::from_der(&der).expect("spki"))
        .expect("oaep");
    let mut out = vec![0; key.ciphertext_size()];
    let ct = key
        .encrypt(algorithm, plaintext.as_bytes(), &mut out, None)
        .expect("encrypt");
    STANDARD.encode(ct)
}

fn aes_gcm_open(key: &str, nonce: &str, aad: &str, ciphertext_b64: &str) -> Option<String> {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key.as_bytes()).ok()?);
    let nonce = Nonce::try_assume_unique_for_key(nonce.as_bytes()).ok()?;
    let mut data = STANDARD.decode(ciphertext_b64).ok()?;
    let plain = key
        .open_in_place(nonce, Aad::from(aad.as_bytes()), &mut data)
        .ok()?;
    String::from_utf8(plain.to_vec()).ok()
}

fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("secs")
}

fn random_nonce() -> String {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("rng");
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_string()
    }

    /// The signature over `TIMESTAMP\nNONCE\nBODY\n` verifies with the given public key.
    fn signature_ok_with(&self, spki_b64: &str) -> bool {
        let (Some(ts), Some(nonce), Some(sig)) = (
            self.header("Wechatpay-Timestamp"),
            self.header("Wechatpay-Nonce"),
            self.header("Wechatpay-Signature"),
        ) else {
            return false;
        };
        let message = format!("{ts}\n{nonce}\n{}\n", self.body);
        rsa_verify(spki_b64, message.as_bytes(), sig)
    }

    fn signature_ok(&self) -> bool {
        self.signature_ok_with(&keys().wechat_public)
    }

    fn timestamp_age(&self) -> i64 {
        let ts: i64 = self
            .header("Wechatpay-Timestamp")
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        unix_now() - ts
    }

    /// What a careful client checks before trusting an answer.
    fn assert_trusted(&self) -> &Self {
        assert!(self.signature_ok(), "signature: {self:?}");
        assert_eq!(self.header("Wechatpay-Serial"), Some(KEY_ID));
        assert!(self.timestamp_age().abs() <= 300);
        assert!(self.header("Request-ID").is_some_and(|r| !r.is_empty()));
        assert_eq!(self.header("Content-Type"), Some("application/json"));
        self
    }

    fn assert_ok(&self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.assert_trusted();
        self.json()
    }

    /// A signed error answer with this status and code.
    fn assert_error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            (self.status, self.code().as_str()),
            (status, code),
            "{}",
            self.body
        );
        self.assert_trusted();
        self.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

impl From<RawAnswer> for Answer {
    fn from(raw: RawAnswer) -> Self {
        Answer {
            status: raw.status,
            headers: raw.headers,
            body: raw.body,
        }
    }
}

/// How the client signs; tests change single fields to break it.
#[derive(Clone)]
struct Signing {
    key: String,
    mchid: String,
    serial: String,
    ts_offset: i64,
}

struct Client {
    addr: SocketAddr,
    signing: Signing,
    timeout: Duration,
}

fn authorization(s: &Signing, method: &str, target: &str, body: &str) -> String {
    let ts = unix_now() + s.ts_offset;
    let nonce = random_nonce();
    let message = format!("{method}\n{target}\n{ts}\n{nonce}\n{body}\n");
    let signature = rsa_sign(&s.key, message.as_bytes());
    format!(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",timestamp=\"{ts}\",serial_no=\"{}\",signature=\"{signature}\"",
        s.mchid, s.serial
    )
}

fn standard_headers(method: &str, authorization: String) -> Vec<(String, String)> {
    let mut headers = vec![
        ("Authorization".to_string(), authorization),
        ("Accept".into(), "application/json".into()),
        ("User-Agent".into(), "wechat-sim-test/1.0".into()),
        ("Wechatpay-Serial".into(), KEY_ID.into()),
    ];
    if method == "POST" {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    headers
}

impl Client {
    fn new(sim: &WechatSim) -> Self {
        Client {
            addr: sim.local_addr(),
            signing: Client::new_signing(),
            timeout: Duration::from_secs(5),
        }
    }

    fn new_signing() -> Signing {
        Signing {
            key: keys().merchant_private.clone(),
            mchid: MCHID.into(),
            serial: SERIAL.into(),
            ts_offset: 0,
        }
    }

    async fn send(&self, method: &str, target: &str, body: &str) -> Result<Answer, String> {
        let auth = authorization(&self.signing, method, target, body);
        let headers = standard_headers(method, auth);
        self.exchange(method, target, &headers, body).await
    }

    async fn send_with(
        &self,
        method: &str,
        target: &str,
        headers: Vec<(String, String)>,
        body: &str,
    ) -> Answer {
        self.exchange(method, target, &headers, body)
            .await
            .expect("exchange")
    }

    /// Raw HTTP/1.1, bounded by the client's timeout.
    async fn exchange(
        &self,
        method: &str,
        target: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> Result<Answer, String> {
        let limit = self.timeout;
        let raw = testing::http_exchange(self.addr, method, target, headers, body, limit).await?;
        Ok(raw.into())
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send("POST", path, &body.to_string())
            .await
            .expect("post")
    }

    async fn get(&self, target: &str) -> Answer {
        self.send("GET", target, "").await.expect("get")
    }
}

// ---------------------------------------------------------------- fixtures

fn config() -> SimConfig {
    let k = keys();
    SimConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_public_key: k.merchant_public.clone(),
        merchant_serial: SERIAL.into(),
        wechat_private_key: k.wechat_private.clone(),
        wechat_public_key_id: KEY_ID.into(),
        apiv3_key: APIV3_KEY.into(),
    }
}

async fn start() -> (WechatSim, Client) {
    let sim = WechatSim::start(config(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let client = Client::new(&sim);
    (sim, client)
}

const ORDERS: &str = "/v3/profitsharing/orders";
const UNFREEZE: &str = "/v3/profitsharing/orders/unfreeze";
const ADD: &str = "/v3/profitsharing/receivers/add";
const DELETE: &str = "/v3/profitsharing/receivers/delete";

fn add_shop_body() -> Value {
    json!({"appid": APPID, "type": "MERCHANT_ID", "account": SHOP,
        "name": oaep_encrypt(&keys().wechat_public, SHOP_NAME, &OAEP_SHA1_MGF1SHA1),
        "relation_type": "STORE"})
}

/// Adds SHOP (MERCHANT_ID, with name) and ALICE (PERSONAL_OPENID), seeds T1 with 100.00.
async fn ready() -> (WechatSim, Client) {
    let (sim, client) = start().await;
    client.post(ADD, add_shop_body()).await.assert_ok();
    let alice = json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE,
        "relation_type": "CUSTOM", "custom_relation": "合伙人"});
    client.post(ADD, alice).await.assert_ok();
    sim.seed_transaction("T1", 10_000);
    (sim, client)
}

fn order_body(transaction_id: &str, out_order_no: &str, rows: &[(&str, &str, i64)]) -> Value {
    let receivers: Vec<Value> = rows
        .iter()
        .map(|(kind, account, amount)| {
            json!({"type": kind, "account": account, "amount": amount, "description": "分给商户"})
        })
        .collect();
    json!({"appid": APPID, "transaction_id": transaction_id, "out_order_no": out_order_no,
        "receivers": receivers, "unfreeze_unsplit": false})
}

fn split(out_order_no: &str) -> Value {
    order_body(
        "T1",
        out_order_no,
        &[("MERCHANT_ID", SHOP, 100), ("PERSONAL_OPENID", ALICE, 200)],
    )
}

fn query_target(out_order_no: &str, transaction_id: &str) -> String {
    format!("{ORDERS}/{out_order_no}?transaction_id={transaction_id}")
}

fn receiver<'a>(order: &'a Value, account: &str) -> &'a Value {
    order["receivers"]
        .as_array()
        .expect("receivers")
        .iter()
        .find(|r| r["account"] == account)
        .expect("receiver")
}

fn is_beijing_rfc3339(s: &Value) -> bool {
    let s = s.as_str().unwrap_or_default();
    s.len() == 25 && s.ends_with("+08:00") && s.as_bytes().get(10) == Some(&b'T')
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn signed_round_trip() {
    let (sim, client) = start().await;
    let added = client.post(ADD, add_shop_body()).await.assert_ok();
    assert_eq!(
        (&added["type"], &added["account"], &added["relation_type"]),
        (&json!("MERCHANT_ID"), &json!(SHOP), &json!("STORE"))
    );
    assert!(added["name"].is_string(), "name echoed as sent");
    assert!(sim.is_receiver("MERCHANT_ID", SHOP));
    assert_eq!(
        sim.receiver_name("MERCHANT_ID", SHOP).as_deref(),
        Some(SHOP_NAME)
    );
    let alice = json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE, "relation_type": "USER"});
    let added = client.post(ADD, alice.clone()).await.assert_ok();
    assert!(added.get("custom_relation").is_none());
    assert_eq!(sim.receiver_name("PERSONAL_OPENID", ALICE), None);
    assert!(sim.is_receiver("PERSONAL_OPENID", ALICE));
    client.post(ADD, alice).await.assert_ok(); // adding again succeeds

    sim.seed_transaction("T1", 10_000);
    let order = client.post(ORDERS, split("S1")).await.assert_ok();
    assert_eq!(order["state"], "PROCESSING");
    assert_eq!(order["transaction_id"], "T1");
    assert_eq!(order["out_order_no"], "S1");
    let order_id = order["order_id"].as_str().expect("order_id").to_string();
    assert!(order_id.len() >= 20 && order_id.bytes().all(|b| b.is_ascii_digit()));
    let shop = receiver(&order, SHOP);
    assert_eq!(
        (
            &shop["type"],
            &shop["amount"],
            &shop["result"],
            &shop["description"]
        ),
        (
            &json!("MERCHANT_ID"),
            &json!(100),
            &json!("PENDING"),
            &json!("分给商户")
        )
    );
    assert!(shop["detail_id"].is_string());
    assert!(is_beijing_rfc3339(&shop["create_time"]) && is_beijing_rfc3339(&shop["finish_time"]));
    assert!(shop.get("fail_reason").is_none());

    let queried = client.get(&query_target("S1", "T1")).await.assert_ok();
    assert_eq!(queried, order);
    let amounts = client
        .get("/v3/profitsharing/transactions/T1/amounts")
        .await
        .assert_ok();
    assert_eq!(
        amounts,
        json!({"transaction_id": "T1", "unsplit_amount": 9_700})
    );
    assert_eq!(sim.unsplit_fen("T1"), Some(9_700));
    assert_eq!(sim.order_count("T1"), 1);

    let deleted = client
        .post(
            DELETE,
            json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE}),
        )
        .await
        .assert_ok();
    assert_eq!(
        deleted,
        json!({"type": "PERSONAL_OPENID", "account": ALICE})
    );
    assert!(!sim.is_receiver("PERSONAL_OPENID", ALICE));
    client
        .post(
            DELETE,
            json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE}),
        )
        .await
        .assert_ok();
    client
        .post(ORDERS, split("S2"))
        .await
        .assert_error(400, "INVALID_REQUEST");

    client
        .get("/v3/profitsharing/nothing")
        .await
        .assert_error(404, "NOT_FOUND");
    let calls = sim.calls();
    assert!(calls.iter().all(|c| c.verified), "{calls:?}");
    assert_eq!(calls[4].op, Some(Op::QueryOrder));
    assert_eq!(
        calls[4].path,
        "/v3/profitsharing/orders/S1?transaction_id=T1"
    );
    assert_eq!(calls[4].out_order_no.as_deref(), Some("S1"));
    assert_eq!(calls[3].out_order_no.as_deref(), Some("S1"));
    assert_eq!(
        calls.last().map(|c| (c.op, c.status)),
        Some((None, Some(404)))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn authorization_failures() {
    let (sim, mut client) = ready().await;
    let body = split("A1").to_string();

    // Parameters in another order, blanks after commas: accepted.
    let ts = unix_now();
    let nonce = random_nonce();
    let message = format!("GET\n/v3/profitsharing/transactions/T1/amounts\n{ts}\n{nonce}\n\n");
    let sig = rsa_sign(&keys().merchant_private, message.as_bytes());
    let auth = format!(
        "WECHATPAY2-SHA256-RSA2048 signature=\"{sig}\", serial_no=\"{SERIAL}\", timestamp=\"{ts}\", nonce_str=\"{nonce}\", mchid=\"{MCHID}\""
    );
    client
        .send_with(
            "GET",
            "/v3/profitsharing/transactions/T1/amounts",
            standard_headers("GET", auth),
            "",
        )
        .await
        .assert_ok();

    let good = client.signing.clone();
    let broken: Vec<(&str, Signing)> = vec![
        (
            "wrong key",
            Signing {
                key: keys().other_private.clone(),
                ..good.clone()
            },
        ),
        (
            "wrong serial",
            Signing {
                serial: "0000".into(),
                ..good.clone()
            },
        ),
        (
            "wrong mchid",
            Signing {
                mchid: "1900000001".into(),
                ..good.clone()
            },
        ),
        (
            "stale",
            Signing {
                ts_offset: -360,
                ..good.clone()
            },
        ),
        (
            "future",
            Signing {
                ts_offset: 360,
                ..good.clone()
            },
        ),
    ];
    for (what, signing) in broken {
        client.signing = signing;
        let a = client.send("POST", ORDERS, &body).await.expect(what);
        assert_eq!(a.assert_error(401, "SIGN_ERROR"), "签名错误", "{what}");
        assert!(a.json()["detail"]["issue"].is_string(), "{what}");
    }
    client.signing = good.clone();

    let post_with = |auth: String| standard_headers("POST", auth);
    // Tampered body: signed one body, sent another.
    let auth = authorization(&good, "POST", ORDERS, &body);
    let tampered = body.replace("\"amount\":100", "\"amount\":101");
    client
        .send_with("POST", ORDERS, post_with(auth), &tampered)
        .await
        .assert_error(401, "SIGN_ERROR");
    // Query left out of the signed URL; another path signed.
    let target = query_target("A1", "T1");
    for signed in [
        format!("{ORDERS}/A1"),
        format!("{ORDERS}/A2?transaction_id=T1"),
    ] {
        let auth = authorization(&good, "GET", &signed, "");
        client
            .send_with("GET", &target, standard_headers("GET", auth), "")
            .await
            .assert_error(401, "SIGN_ERROR");
    }
    // Method signed as GET.
    let auth = authorization(&good, "GET", ORDERS, &body);
    client
        .send_with("POST", ORDERS, post_with(auth), &body)
        .await
        .assert_error(401, "SIGN_ERROR");
    // No header, another scheme, a missing parameter.
    let auth = authorization(&good, "POST", ORDERS, &body);
    let mut headers = post_with(auth.clone());
    headers.retain(|(k, _)| k != "Authorization");
    client
        .send_with("POST", ORDERS, headers, &body)
        .await
        .assert_error(401, "SIGN_ERROR");
    let other_scheme = auth.replace("WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SHA256-RSA");
    client
        .send_with("POST", ORDERS, post_with(other_scheme), &body)
        .await
        .assert_error(401, "SIGN_ERROR");
    let no_nonce = auth.replacen("nonce_str=", "nonce=", 1);
    client
        .send_with("POST", ORDERS, post_with(no_nonce), &body)
        .await
        .assert_error(401, "SIGN_ERROR");

    assert_eq!(sim.order_count("T1"), 0, "nothing applied");
    assert_eq!(sim.unsplit_fen("T1"), Some(10_000));
    let verified: Vec<bool> = sim.calls().iter().skip(2).map(|c| c.verified).collect();
    assert!(verified[0]);
    assert!(verified[1..].iter().all(|v| !v), "{verified:?}");

    // Header rules, checked after the signature.
    for (drop, add) in [
        ("User-Agent", None),
        ("User-Agent", Some(("User-Agent", " "))),
        ("Accept", None),
        ("Accept", Some(("Accept", "*/*"))),
        ("Content-Type", None),
        ("Content-Type", Some(("Content-Type", "text/plain"))),
    ] {
        let mut headers = post_with(authorization(&good, "POST", ORDERS, &body));
        headers.retain(|(k, _)| k != drop);
        if let Some((k, v)) = add {
            headers.push((k.into(), v.into()));
        }
        client
            .send_with("POST", ORDERS, headers, &body)
            .await
            .assert_error(400, "PARAM_ERROR");
    }
    let mut headers = post_with(authorization(&good, "POST", ORDERS, &body));
    headers.retain(|(k, _)| k != "Accept" && k != "Content-Type");
    headers.push(("Accept".into(), "text/plain, application/json".into()));
    headers.push((
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    ));
    client
        .send_with("POST", ORDERS, headers, &body)
        .await
        .assert_ok();
    assert_eq!(sim.order_count("T1"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn oaep_names() {
    let (sim, client) = start().await;
    let k = keys();
    let add = |name: Option<String>| {
        let mut body = add_shop_body();
        body["name"] = name.map_or(Value::Null, Value::from);
        body
    };
    // Wechatpay-Serial must name the key that encrypted the field.
    let body = add_shop_body().to_string();
    for serial in [None, Some("PUB_KEY_ID_OTHER")] {
        let mut headers =
            standard_headers("POST", authorization(&client.signing, "POST", ADD, &body));
        headers.retain(|(k, _)| k != "Wechatpay-Serial");
        if let Some(s) = serial {
            headers.push(("Wechatpay-Serial".into(), s.into()));
        }
        client
            .send_with("POST", ADD, headers, &body)
            .await
            .assert_error(400, "PARAM_ERROR");
    }
    for bad in [
        Some("bm90IGFuIE9BRVAgY2lwaGVydGV4dA==".to_string()),
        Some(oaep_encrypt(
            &k.wechat_public,
            SHOP_NAME,
            &OAEP_SHA256_MGF1SHA256,
        )),
        Some(oaep_encrypt(
            &k.other_public,
            SHOP_NAME,
            &OAEP_SHA1_MGF1SHA1,
        )),
    ] {
        let message = client
            .post(ADD, add(bad))
            .await
            .assert_error(400, "PARAM_ERROR");
        assert_eq!(message, "敏感信息解密失败");
    }
    client
        .post(ADD, add(None))
        .await
        .assert_error(400, "PARAM_ERROR");
    let mut wrong = add_shop_body();
    for (field, value) in [
        ("relation_type", json!("FRIEND")),
        ("appid", json!("wx0000000000000000")),
        ("type", json!("PERSONAL_SUB_OPENID")),
    ] {
        let saved = wrong[field].clone();
        wrong[field] = value;
        client
            .post(ADD, wrong.clone())
            .await
            .assert_error(400, "PARAM_ERROR");
        wrong[field] = saved;
    }
    wrong["relation_type"] = "CUSTOM".into();
    client
        .post(ADD, wrong.clone())
        .await
        .assert_error(400, "PARAM_ERROR");
    wrong["custom_relation"] = "一二三四五六七八九十十".into();
    client
        .post(ADD, wrong.clone())
        .await
        .assert_error(400, "PARAM_ERROR");
    assert!(!sim.is_receiver("MERCHANT_ID", SHOP));
    wrong["custom_relation"] = "一二三四五六七八九十".into();
    let echo = client.post(ADD, wrong).await.assert_ok();
    assert_eq!(echo["custom_relation"], "一二三四五六七八九十");
    assert_eq!(
        sim.receiver_name("MERCHANT_ID", SHOP).as_deref(),
        Some(SHOP_NAME)
    );

    // A name in a split request is checked against the stored one.
    sim.seed_transaction("T1", 1_000);
    let mut body = order_body("T1", "N1", &[("MERCHANT_ID", SHOP, 10)]);
    body["receivers"][0]["name"] =
        oaep_encrypt(&k.wechat_public, "别的公司", &OAEP_SHA1_MGF1SHA1).into();
    client
        .post(ORDERS, body.clone())
        .await
        .assert_error(400, "INVALID_REQUEST");
    body["receivers"][0]["name"] =
        oaep_encrypt(&k.wechat_public, SHOP_NAME, &OAEP_SHA1_MGF1SHA1).into();
    client.post(ORDERS, body).await.assert_ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn create_is_idempotent() {
    let (sim, client) = ready().await;
    let first = client.post(ORDERS, split("I1")).await.assert_ok();
    // Same out_order_no, another body: the stored order, nothing executed.
    let other = order_body("T1", "I1", &[("PERSONAL_OPENID", ALICE, 5_000)]);
    let again = client.post(ORDERS, other).await.assert_ok();
    assert_eq!(again, first);
    assert_eq!(sim.order_count("T1"), 1);
    assert_eq!(sim.unsplit_fen("T1"), Some(9_700));
    // A rejected request is not remembered: the same number can be retried.
    let too_much = order_body("T1", "I2", &[("PERSONAL_OPENID", ALICE, 9_701)]);
    client
        .post(ORDERS, too_much)
        .await
        .assert_error(403, "NOT_ENOUGH");
    let fixed = order_body("T1", "I2", &[("PERSONAL_OPENID", ALICE, 9_700)]);
    client.post(ORDERS, fixed).await.assert_ok();
    assert_eq!((sim.order_count("T1"), sim.unsplit_fen("T1")), (2, Some(0)));
    sim.shutdown().await;
}

#[tokio::test]
async fn create_validation() {
    let (sim, client) = ready().await;
    let msg = client
        .post(
            ORDERS,
            order_body("T1", "V1", &[("MERCHANT_ID", SHOP, 10_001)]),
        )
        .await
        .assert_error(403, "NOT_ENOUGH");
    assert_eq!(msg, "分账金额不足");
    let msg = client
        .post(
            ORDERS,
            order_body("T1", "V1", &[("MERCHANT_ID", "1900000999", 1)]),
        )
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(msg, "分账接收方不存在");
    let msg = client
        .post(
            ORDERS,
            order_body("T404", "V1", &[("MERCHANT_ID", SHOP, 1)]),
        )
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    assert_eq!(msg, "订单不存在");

    let base = split("V1");
    let cases: Vec<(&str, Value)> = vec![
        ("/out_order_no", json!("V 1")),
        ("/out_order_no", json!("V".repeat(65))),
        ("/out_order_no", Value::Null),
        ("/transaction_id", Value::Null),
        ("/unfreeze_unsplit", Value::Null),
        ("/unfreeze_unsplit", json!("false")),
        ("/receivers", json!([])),
        ("/receivers/0/amount", json!(0)),
        ("/receivers/0/amount", json!("100")),
        ("/receivers/0/amount", json!(1.5)),
        ("/receivers/0/description", json!("长".repeat(81))),
        ("/receivers/0/description", Value::Null),
        ("/receivers/0/type", json!("PERSONAL_SUB_OPENID")),
        (
            "/receivers/1",
            json!({"type": "MERCHANT_ID", "account": SHOP, "amount": 1, "description": "d"}),
        ),
        ("/appid", Value::Null),
        ("/appid", json!("wx0000000000000000")),
    ];
    for (pointer, value) in cases {
        let mut body = base.clone();
        *body.pointer_mut(pointer).expect(pointer) = value.clone();
        client
            .post(ORDERS, body)
            .await
            .assert_error(400, "PARAM_ERROR");
    }
    let many: Vec<(&str, &str, i64)> = (0..51).map(|_| ("MERCHANT_ID", SHOP, 1)).collect();
    client
        .post(ORDERS, order_body("T1", "V1", &many))
        .await
        .assert_error(400, "PARAM_ERROR");
    let not_json = client
        .send("POST", ORDERS, "{not json")
        .await
        .expect("post");
    not_json.assert_error(400, "PARAM_ERROR");
    assert_eq!(
        (sim.order_count("T1"), sim.unsplit_fen("T1")),
        (0, Some(10_000))
    );

    // appid may be left out when only merchants receive; description of exactly 80 is fine.
    let mut body = order_body("T1", "V1", &[("MERCHANT_ID", SHOP, 1)]);
    body.as_object_mut().expect("object").remove("appid");
    body["receivers"][0]["description"] = "长".repeat(80).into();
    client.post(ORDERS, body).await.assert_ok();
    let max = "Az09_-|*@".repeat(7) + "X";
    assert_eq!(max.len(), 64);
    let order = client
        .post(ORDERS, order_body("T1", &max, &[("MERCHANT_ID", SHOP, 1)]))
        .await
        .assert_ok();
    assert_eq!(order["out_order_no"], max.as_str());
    let target = query_target(&max.replace('|', "%7C"), "T1");
    assert_eq!(client.get(&target).await.assert_ok(), order);
    sim.shutdown().await;
}

#[tokio::test]
async fn complete_then_query() {
    let (sim, client) = ready().await;
    client.post(ORDERS, split("C1")).await.assert_ok();
    let outcomes = [(
        ALICE.to_string(),
        Outcome::Closed {
            fail_reason: "ACCOUNT_ABNORMAL".into(),
        },
    )];
    sim.complete("T1", "C1", &outcomes).expect("complete");
    let order = client.get(&query_target("C1", "T1")).await.assert_ok();
    assert_eq!(order["state"], "FINISHED");
    let shop = receiver(&order, SHOP);
    assert_eq!(shop["result"], "SUCCESS");
    assert!(shop.get("fail_reason").is_none());
    assert!(is_beijing_rfc3339(&shop["finish_time"]));
    let alice = receiver(&order, ALICE);
    assert_eq!(
        (&alice["result"], &alice["fail_reason"]),
        (&json!("CLOSED"), &json!("ACCOUNT_ABNORMAL"))
    );
    assert_eq!(
        sim.unsplit_fen("T1"),
        Some(9_900),
        "closed funds stay splittable"
    );

    assert!(matches!(
        sim.complete("T1", "C1", &[]),
        Err(SimError::NotPending)
    ));
    assert!(matches!(
        sim.complete("T2", "C1", &[]),
        Err(SimError::UnknownOrder)
    ));
    client.post(ORDERS, split("C2")).await.assert_ok();
    let stranger = [("nobody".to_string(), Outcome::Success)];
    assert!(matches!(
        sim.complete("T1", "C2", &stranger),
        Err(SimError::UnknownReceiver(a)) if a == "nobody"
    ));
    sim.complete("T1", "C2", &[]).expect("all success");
    let order = client.get(&query_target("C2", "T1")).await.assert_ok();
    assert_eq!(order["state"], "FINISHED");
    assert!(
        order["receivers"]
            .as_array()
            .expect("list")
            .iter()
            .all(|r| r["result"] == "SUCCESS")
    );

    let msg = client
        .get(&query_target("C9", "T1"))
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    assert_eq!(msg, "记录不存在");
    client
        .get(&query_target("C1", "T2"))
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    client
        .get(&format!("{ORDERS}/C1"))
        .await
        .assert_error(400, "PARAM_ERROR");
    client
        .get("/v3/profitsharing/transactions/T404/amounts")
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    sim.shutdown().await;
}

#[tokio::test]
async fn unfreeze_releases_the_rest() {
    let (sim, client) = ready().await;
    client.post(ORDERS, split("U0")).await.assert_ok();
    let body =
        json!({"transaction_id": "T1", "out_order_no": "U1", "description": "解冻全部剩余资金"});
    let order = client.post(UNFREEZE, body.clone()).await.assert_ok();
    assert_eq!(order["state"], "FINISHED");
    assert_eq!(order["out_order_no"], "U1");
    let r = &order["receivers"][0];
    assert_eq!(
        (
            &r["type"],
            &r["account"],
            &r["amount"],
            &r["description"],
            &r["result"]
        ),
        (
            &json!("MERCHANT_ID"),
            &json!(MCHID),
            &json!(9_700),
            &json!("解冻给分账方"),
            &json!("SUCCESS")
        )
    );
    assert_eq!(order["receivers"].as_array().map(Vec::len), Some(1));
    assert_eq!(sim.unsplit_fen("T1"), Some(0));
    assert_eq!(
        client.post(UNFREEZE, body).await.assert_ok(),
        order,
        "idempotent"
    );
    assert_eq!(sim.order_count("T1"), 2);
    assert_eq!(
        client.get(&query_target("U1", "T1")).await.assert_ok(),
        order
    );
    let msg = client
        .post(ORDERS, split("U2"))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(msg, "订单已完结");
    // The split still PROCESSING: its closed share goes to the merchant, not back to unsplit.
    let closed = [(
        SHOP.to_string(),
        Outcome::Closed {
            fail_reason: "NO_RELATION".into(),
        },
    )];
    sim.complete("T1", "U0", &closed).expect("complete");
    assert_eq!(sim.unsplit_fen("T1"), Some(0));
    client
        .post(
            UNFREEZE,
            json!({"transaction_id": "T404", "out_order_no": "U3", "description": "x"}),
        )
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    client
        .post(
            UNFREEZE,
            json!({"transaction_id": "T1", "out_order_no": "U3"}),
        )
        .await
        .assert_error(400, "PARAM_ERROR");

    // unfreeze_unsplit=true: no further splits; the rest is released when the order finishes.
    sim.seed_transaction("T2", 1_000);
    let mut body = order_body("T2", "U4", &[("MERCHANT_ID", SHOP, 300)]);
    body["unfreeze_unsplit"] = true.into();
    client.post(ORDERS, body).await.assert_ok();
    assert_eq!(sim.unsplit_fen("T2"), Some(700));
    client
        .post(ORDERS, order_body("T2", "U5", &[("MERCHANT_ID", SHOP, 1)]))
        .await
        .assert_error(400, "INVALID_REQUEST");
    sim.complete("T2", "U4", &[]).expect("complete");
    assert_eq!(sim.unsplit_fen("T2"), Some(0));
    assert_eq!(sim.order_count("T2"), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults() {
    let (sim, mut client) = ready().await;
    let body = |no: &str| order_body("T1", no, &[("MERCHANT_ID", SHOP, 100)]).to_string();

    client.timeout = Duration::from_millis(800);
    sim.inject(Op::CreateOrder, Fault::Timeout);
    let started = Instant::now();
    let result = client.send("POST", ORDERS, &body("F1")).await;
    assert_eq!(result.err().as_deref(), Some("client timeout"));
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(sim.order_count("T1"), 0);
    let last = sim.calls().pop().expect("call");
    assert_eq!(
        (last.status, last.fault, last.verified),
        (None, Some(Fault::Timeout), true)
    );

    sim.inject(Op::CreateOrder, Fault::TimeoutAfterApply);
    assert!(client.send("POST", ORDERS, &body("F2")).await.is_err());
    assert_eq!(sim.order_count("T1"), 1, "applied although unanswered");
    client.timeout = Duration::from_secs(5);
    let retried = client
        .send("POST", ORDERS, &body("F2"))
        .await
        .expect("retry");
    retried.assert_ok();
    assert_eq!(sim.order_count("T1"), 1);

    for (status, code) in [
        (500, "SYSTEM_ERROR"),
        (429, "FREQUENCY_LIMITED"),
        (400, "INVALID_REQUEST"),
        (403, "NOT_ENOUGH"),
    ] {
        sim.inject(
            Op::CreateOrder,
            Fault::Status {
                status,
                code: code.into(),
                message: "injected".into(),
            },
        );
        let a = client
            .send("POST", ORDERS, &body("F3"))
            .await
            .expect("answer");
        a.assert_error(status, code);
        assert_eq!(a.json(), json!({"code": code, "message": "injected"}));
    }
    assert_eq!(sim.order_count("T1"), 1, "status faults apply nothing");
    assert_eq!(sim.calls().last().map(|c| c.status), Some(Some(403)));

    sim.inject(Op::CreateOrder, Fault::BadSignature);
    let a = client
        .send("POST", ORDERS, &body("F4"))
        .await
        .expect("answer");
    assert_eq!(
        (a.status, a.json()["state"].as_str()),
        (200, Some("PROCESSING"))
    );
    assert!(!a.signature_ok());
    assert_eq!(sim.order_count("T1"), 2, "applied");

    sim.inject(Op::QueryOrder, Fault::StaleTimestamp);
    let a = client.get(&query_target("F4", "T1")).await;
    assert_eq!(a.status, 200);
    assert!(a.signature_ok(), "correctly signed");
    assert!(
        (590..=620).contains(&a.timestamp_age()),
        "{}",
        a.timestamp_age()
    );

    sim.inject(Op::Amounts, Fault::SignTest);
    let a = client
        .get("/v3/profitsharing/transactions/T1/amounts")
        .await;
    assert_eq!(a.status, 200);
    assert!(
        a.header("Wechatpay-Signature")
            .is_some_and(|s| s.starts_with("WECHATPAY/SIGNTEST/"))
    );
    assert!(!a.signature_ok());
    assert_eq!(a.json()["unsplit_amount"], 9_800);

    sim.inject(Op::AddReceiver, Fault::WrongSerial);
    let a = client.post(ADD, add_shop_body()).await;
    assert_eq!(a.status, 200);
    assert!(a.signature_ok(), "signed by the same key");
    assert!(
        a.header("Wechatpay-Serial")
            .is_some_and(|s| s != KEY_ID && s.starts_with("PUB_KEY_ID_"))
    );

    // Unfreeze and delete faults apply too.
    sim.inject(Op::Unfreeze, Fault::TimeoutAfterApply);
    client.timeout = Duration::from_millis(500);
    let unfreeze =
        json!({"transaction_id": "T1", "out_order_no": "F5", "description": "完结"}).to_string();
    assert!(client.send("POST", UNFREEZE, &unfreeze).await.is_err());
    assert_eq!(sim.unsplit_fen("T1"), Some(0));
    client.timeout = Duration::from_secs(5);
    sim.inject(Op::DeleteReceiver, Fault::BadSignature);
    let del = json!({"appid": APPID, "type": "MERCHANT_ID", "account": SHOP});
    let a = client.post(DELETE, del).await;
    assert!(a.status == 200 && !a.signature_ok());
    assert!(!sim.is_receiver("MERCHANT_ID", SHOP));

    // FIFO per op; other ops unaffected.
    sim.inject(
        Op::QueryOrder,
        Fault::Status {
            status: 503,
            code: "SERVICE_UNAVAILABLE".into(),
            message: "m".into(),
        },
    );
    sim.inject(Op::QueryOrder, Fault::SignTest);
    client
        .get("/v3/profitsharing/transactions/T1/amounts")
        .await
        .assert_ok();
    let target = query_target("F2", "T1");
    client
        .get(&target)
        .await
        .assert_error(503, "SERVICE_UNAVAILABLE");
    assert!(!client.get(&target).await.signature_ok());
    client.get(&target).await.assert_ok();

    // A rendering fault also alters an error answer.
    sim.inject(Op::CreateOrder, Fault::BadSignature);
    let a = client
        .send("POST", ORDERS, &body("F6"))
        .await
        .expect("answer");
    assert_eq!((a.status, a.signature_ok()), (400, false));
    sim.shutdown().await;
}

#[tokio::test]
async fn shutdown_releases_held_connections() {
    let (sim, mut client) = ready().await;
    client.timeout = Duration::from_secs(30);
    sim.inject(Op::CreateOrder, Fault::Timeout);
    let body = split("H1").to_string();
    let held = tokio::spawn(async move { client.send("POST", ORDERS, &body).await });
    testing::wait_until(|| sim.calls().iter().any(|c| c.op == Some(Op::CreateOrder)))
        .await
        .expect("call arrived");
    testing::shutdown_releases(sim.local_addr(), sim.clone().shutdown(), held)
        .await
        .expect("shutdown releases the held call");
}

#[tokio::test]
async fn notification_decrypts_and_verifies() {
    let (sim, client) = ready().await;
    client.post(ORDERS, split("N1")).await.assert_ok();
    sim.complete("T1", "N1", &[]).expect("complete");
    let order = client.get(&query_target("N1", "T1")).await.assert_ok();
    let note = sim.notification("T1", "N1", SHOP).expect("notification");
    let header = |name: &str| {
        note.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .expect(name)
    };
    assert_eq!(header("Wechatpay-Serial"), KEY_ID);
    assert_eq!(
        header("Wechatpay-Signature-Type"),
        "WECHATPAY2-SHA256-RSA2048"
    );
    let message = format!(
        "{}\n{}\n{}\n",
        header("Wechatpay-Timestamp"),
        header("Wechatpay-Nonce"),
        note.body
    );
    assert!(rsa_verify(
        &keys().wechat_public,
        message.as_bytes(),
        &header("Wechatpay-Signature")
    ));
    assert!(!rsa_verify(
        &keys().wechat_public,
        message.replace("分账", "分帐").as_bytes(),
        &header("Wechatpay-Signature")
    ));

    let outer: Value = serde_json::from_str(&note.body).expect("json");
    assert!(outer["id"].as_str().is_some_and(|id| id.starts_with("EV-")));
    assert_eq!(outer["event_type"], "PROFITSHARING.SUCCESS");
    assert_eq!(outer["resource_type"], "encrypt-resource");
    assert_eq!(outer["summary"], "分账");
    assert!(is_beijing_rfc3339(&outer["create_time"]));
    let r = &outer["resource"];
    assert_eq!(
        (&r["algorithm"], &r["associated_data"], &r["original_type"]),
        (
            &json!("AEAD_AES_256_GCM"),
            &json!("profitsharing"),
            &json!("profitsharing")
        )
    );
    let nonce = r["nonce"].as_str().expect("nonce");
    assert_eq!(nonce.len(), 12);
    let ciphertext = r["ciphertext"].as_str().expect("ciphertext");
    assert_eq!(
        aes_gcm_open(
            "abcdefghijklmnopqrstuvwxyz01234X",
            nonce,
            "profitsharing",
            ciphertext
        ),
        None
    );
    let plain = aes_gcm_open(APIV3_KEY, nonce, "profitsharing", ciphertext).expect("decrypts");
    let resource: Value = serde_json::from_str(&plain).expect("json");
    let shop = receiver(&order, SHOP);
    assert_eq!(
        resource,
        json!({"mchid": MCHID, "transaction_id": "T1", "order_id": order["order_id"],
            "out_order_no": "N1", "success_time": shop["finish_time"],
            "receiver": {"type": "MERCHANT_ID", "account": SHOP, "amount": 100, "description": "分给商户"}})
    );

    assert!(matches!(
        sim.notification("T1", "N1", ALICE),
        Err(SimError::NotMerchantReceiver(_))
    ));
    assert!(matches!(
        sim.notification("T1", "N1", "1900000999"),
        Err(SimError::UnknownReceiver(_))
    ));
    assert!(matches!(
        sim.notification("T1", "N9", SHOP),
        Err(SimError::UnknownOrder)
    ));
    sim.shutdown().await;
}

#[test]
fn fixed_vectors() {
    let vectors: Value = serde_json::from_str(&fixture("vectors.json")).expect("json");
    let rsa = &vectors["rsa_sign"];
    let s = |v: &Value, k: &str| v[k].as_str().expect(k).to_string();
    let message = s(rsa, "message");
    assert_eq!(
        message,
        "POST\n/v3/profitsharing/orders\n1700000000\n593BEC0C930BF1AFEB40B4A08C8FB242\n{\"a\":1}\n"
    );
    let private = fixture(&s(rsa, "private_key_file"));
    let public = fixture(&s(rsa, "public_key_file"));
    assert_eq!(
        rsa_sign(&private, message.as_bytes()),
        s(rsa, "signature_b64")
    );
    assert!(rsa_verify(
        &public,
        message.as_bytes(),
        &s(rsa, "signature_b64")
    ));
    assert!(!rsa_verify(&public, b"POST\n", &s(rsa, "signature_b64")));

    let aes = &vectors["aes_gcm"];
    assert_eq!(s(aes, "key").len(), 32);
    assert_eq!(s(aes, "nonce").len(), 12);
    let plain = aes_gcm_open(
        &s(aes, "key"),
        &s(aes, "nonce"),
        &s(aes, "associated_data"),
        &s(aes, "ciphertext_b64"),
    );
    assert_eq!(plain, Some(s(aes, "plaintext")));
    let resource: Value = serde_json::from_str(&s(aes, "plaintext")).expect("json");
    assert!(resource["receiver"]["amount"].is_i64());
    assert_eq!(
        aes_gcm_open(
            &s(aes, "key"),
            &s(aes, "nonce"),
            "",
            &s(aes, "ciphertext_b64")
        ),
        None
    );
}

#[tokio::test]
async fn control_api() {
    let (sim, client) = ready().await;
    let addr = sim.local_addr();
    let call = |method: &'static str, path: String, body: Value| async move {
        let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let limit = Duration::from_secs(5);
        let a: Answer = testing::http_exchange(addr, method, &path, &headers, &text, limit)
            .await
            .expect("control call")
            .into();
        (a.status, a.json())
    };
    let seeded = call(
        "POST",
        "/__sim/transactions".into(),
        json!({"transaction_id": "T9", "amount_fen": 1_000}),
    )
    .await;
    assert_eq!(seeded, (200, json!({})));
    assert_eq!(
        call("GET", "/__sim/transactions/T9".into(), Value::Null).await,
        (200, json!({"unsplit_fen": 1_000, "orders": 0}))
    );
    assert_eq!(
        call("GET", "/__sim/transactions/NOPE".into(), Value::Null)
            .await
            .0,
        404
    );

    let inject = json!({"op": "create_order", "fault": {"status": {"status": 500, "code": "SYSTEM_ERROR", "message": "系统错误"}}});
    assert_eq!(call("POST", "/__sim/inject".into(), inject).await.0, 200);
    let body = order_body(
        "T9",
        "K1",
        &[("MERCHANT_ID", SHOP, 100), ("PERSONAL_OPENID", ALICE, 200)],
    );
    client
        .post(ORDERS, body.clone())
        .await
        .assert_error(500, "SYSTEM_ERROR");
    client.post(ORDERS, body).await.assert_ok();
    assert_eq!(
        call("GET", "/__sim/transactions/T9".into(), Value::Null)
            .await
            .1,
        json!({"unsplit_fen": 700, "orders": 1})
    );

    let complete = json!({"transaction_id": "T9", "out_order_no": "K1",
        "outcomes": {ALICE: {"closed": {"fail_reason": "NO_RELATION"}}, SHOP: "success"}});
    assert_eq!(
        call("POST", "/__sim/complete".into(), complete.clone())
            .await
            .0,
        200
    );
    assert_eq!(
        call("POST", "/__sim/complete".into(), complete).await.0,
        409
    );
    let unknown = json!({"transaction_id": "T9", "out_order_no": "K9"});
    assert_eq!(call("POST", "/__sim/complete".into(), unknown).await.0, 404);
    let order = client.get(&query_target("K1", "T9")).await.assert_ok();
    assert_eq!(receiver(&order, ALICE)["fail_reason"], "NO_RELATION");
    assert_eq!(sim.unsplit_fen("T9"), Some(900));

    let (status, calls) = call("GET", "/__sim/calls".into(), Value::Null).await;
    assert_eq!(status, 200);
    let calls = calls.as_array().expect("array");
    assert_eq!(calls.len(), 5);
    assert_eq!(
        calls[2],
        json!({"method": "POST", "path": ORDERS, "op": "create_order", "out_order_no": "K1",
            "verified": true, "status": 500, "code": "SYSTEM_ERROR",
            "fault": {"status": {"status": 500, "code": "SYSTEM_ERROR", "message": "系统错误"}}})
    );
    assert_eq!(calls[4]["op"], "query_order");
    for fault in [
        json!("timeout"),
        json!("timeout_after_apply"),
        json!("bad_signature"),
        json!("stale_timestamp"),
        json!("sign_test"),
        json!("wrong_serial"),
    ] {
        let inject = json!({"op": "amounts", "fault": fault});
        assert_eq!(call("POST", "/__sim/inject".into(), inject).await.0, 200);
    }
    let bad = json!({"op": "explode", "fault": "timeout"});
    assert_eq!(call("POST", "/__sim/inject".into(), bad).await.0, 400);
    assert_eq!(
        call("GET", "/__sim/nothing".into(), Value::Null).await.0,
        404
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn refuses_non_loopback_and_bad_config() {
    let local = "127.0.0.1:0".parse().expect("addr");
    assert!(matches!(
        WechatSim::start(config(), "0.0.0.0:0".parse().expect("addr")).await,
        Err(SimError::NotLoopback(_))
    ));
    let k = keys();
    let broken: Vec<SimConfig> = vec![
        SimConfig {
            apiv3_key: "short".into(),
            ..config()
        },
        SimConfig {
            apiv3_key: "é".repeat(16),
            ..config()
        },
        SimConfig {
            merchant_public_key: "not base64!".into(),
            ..config()
        },
        SimConfig {
            merchant_public_key: k.merchant_private.clone(),
            ..config()
        },
        SimConfig {
            wechat_private_key: k.wechat_public.clone(),
            ..config()
        },
        SimConfig {
            merchant_serial: String::new(),
            ..config()
        },
    ];
    for c in broken {
        assert!(WechatSim::start(c, local).await.is_err());
    }
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        k.wechat_private
    );
    let sim = WechatSim::start(
        SimConfig {
            wechat_private_key: pem,
            ..config()
        },
        local,
    )
    .await
    .expect("PEM accepted");
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert!(!sim.base_url().ends_with('/'));
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_keygen_and_listen() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_wechat-sim");
    let (private, public) = testing::keygen(exe).await.expect("keygen");
    assert!(rsa_verify(&public, b"x", &rsa_sign(&private, b"x")));

    let (mut child, line) = testing::spawn_until_first_line(
        Command::new(exe)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--mchid",
                MCHID,
                "--appid",
                APPID,
            ])
            .args(["--merchant-public-key", &keys().merchant_public])
            .args(["--merchant-serial", SERIAL])
            .args(["--wechat-private-key", &private])
            .args(["--wechat-public-key-id", KEY_ID])
            .arg(format!("--apiv3-key={APIV3_KEY}")),
    )
    .await
    .expect("ready line");
    let url = line
        .trim_end()
        .strip_prefix("listening on http://")
        .expect("ready line");
    let addr: SocketAddr = url.parse().expect("addr");
    let client = Client {
        addr,
        signing: Client::new_signing(),
        timeout: Duration::from_secs(5),
    };
    let a = client
        .get("/v3/profitsharing/transactions/T1/amounts")
        .await;
    assert_eq!(a.code(), "RESOURCE_NOT_EXISTS");
    assert!(a.signature_ok_with(&public));
    child.kill().await.expect("kill");

    let bad = tokio::time::timeout(
        Duration::from_secs(10),
        Command::new(exe).args(["--listen", "127.0.0.1:0"]).output(),
    )
    .await
    .expect("in time")
    .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

// ---------------------------------------------------------------- returns and refunds

const RETURNS: &str = "/v3/profitsharing/return-orders";
const REFUNDS: &str = "/v3/refund/domestic/refunds";
const AMOUNTS_T1: &str = "/v3/profitsharing/transactions/T1/amounts";

fn return_body(out_order_no: &str, out_return_no: &str, mchid: &str, amount: i64) -> Value {
    json!({"out_order_no": out_order_no, "out_return_no": out_return_no,
        "return_mchid": mchid, "amount": amount, "description": "用户退款"})
}

fn return_target(out_return_no: &str, out_order_no: &str) -> String {
    format!("{RETURNS}/{out_return_no}?out_order_no={out_order_no}")
}

fn refund_body(out_refund_no: &str, refund: i64, total: i64) -> Value {
    json!({"transaction_id": "T1", "out_refund_no": out_refund_no,
        "amount": {"refund": refund, "total": total, "currency": "CNY"}})
}

/// `ready()` plus split `no` on T1 (SHOP 100, ALICE 200), completed with every receiver SUCCESS.
async fn split_done(no: &str) -> (WechatSim, Client) {
    let (sim, client) = ready().await;
    client.post(ORDERS, split(no)).await.assert_ok();
    sim.complete("T1", no, &[]).expect("complete");
    (sim, client)
}

/// What SHOP got in a split minus what its holding returns (SUCCESS or PROCESSING) took.
fn shop_remainder(sim: &WechatSim, numbers: &[&str], received: i64) -> i64 {
    let held: i64 = numbers
        .iter()
        .filter_map(|no| sim.return_order(no))
        .filter(|r| r.result != "FAILED")
        .map(|r| r.amount)
        .sum();
    received - held
}

async fn control_call(sim: &WechatSim, method: &str, path: &str, body: Value) -> (u16, Value) {
    let headers = vec![("Content-Type".to_string(), "application/json".to_string())];
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let limit = Duration::from_secs(5);
    let a: Answer = testing::http_exchange(sim.local_addr(), method, path, &headers, &text, limit)
        .await
        .expect("control call")
        .into();
    (a.status, a.json())
}

#[tokio::test]
async fn return_succeeds_and_is_queryable() {
    let (sim, client) = split_done("S1").await;
    let unsplit = sim.unsplit_fen("T1");
    let body = return_body("S1", "R1", SHOP, 40);
    let r = client.post(RETURNS, body.clone()).await.assert_ok();
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    assert_eq!(
        (&r["result"], &r["amount"], &r["return_mchid"]),
        (&json!("SUCCESS"), &json!(40), &json!(SHOP))
    );
    assert_eq!(
        (&r["out_order_no"], &r["order_id"], &r["out_return_no"]),
        (&json!("S1"), &order["order_id"], &json!("R1"))
    );
    assert_eq!(r["description"], "用户退款");
    assert!(
        r["return_id"]
            .as_str()
            .is_some_and(|id| id.len() >= 20 && id.bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(is_beijing_rfc3339(&r["create_time"]) && is_beijing_rfc3339(&r["finish_time"]));
    assert!(r.get("fail_reason").is_none());
    assert_eq!(
        sim.unsplit_fen("T1"),
        unsplit,
        "returns never refill frozen funds"
    );

    // Query: the same entity, no state change.
    let queried = client.get(&return_target("R1", "S1")).await.assert_ok();
    assert_eq!(queried, r);
    assert_eq!(sim.return_order("R1").map(|i| i.sends), Some(1));
    client
        .get(&format!("{RETURNS}/R1"))
        .await
        .assert_error(400, "PARAM_ERROR");
    client
        .get(&return_target("R1", "S9"))
        .await
        .assert_error(400, "PARAM_ERROR");
    client
        .get(&return_target("R9", "S1"))
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");

    // Idempotent on out_return_no; another amount/mchid/order with it is refused.
    let again = client.post(RETURNS, body).await.assert_ok();
    assert_eq!(again, r);
    assert_eq!(sim.return_order("R1").map(|i| i.sends), Some(2));
    for changed in [
        return_body("S1", "R1", SHOP, 41),
        return_body("S1", "R1", "1900000300", 40),
        return_body("S2", "R1", SHOP, 40),
    ] {
        client
            .post(RETURNS, changed)
            .await
            .assert_error(400, "INVALID_REQUEST");
    }
    assert_eq!(sim.return_count("S1", SHOP), 1);

    // By order_id alone.
    let by_id = json!({"order_id": order["order_id"], "out_return_no": "R2",
        "return_mchid": SHOP, "amount": 10, "description": "退款"});
    let r2 = client.post(RETURNS, by_id).await.assert_ok();
    assert_eq!(
        (&r2["out_order_no"], &r2["result"]),
        (&json!("S1"), &json!("SUCCESS"))
    );
    assert_eq!(sim.return_count("S1", SHOP), 2);

    // Unknown order; parameter errors.
    client
        .post(RETURNS, return_body("S404", "R3", SHOP, 1))
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");
    let mut no_description = return_body("S1", "R3", SHOP, 1);
    no_description["description"] = Value::Null;
    let mut long_description = return_body("S1", "R3", SHOP, 1);
    long_description["description"] = "退".repeat(81).into();
    let mut neither = return_body("S1", "R3", SHOP, 1);
    neither["out_order_no"] = Value::Null;
    for bad in [
        return_body("S1", "R 3", SHOP, 1),
        return_body("S1", &"R".repeat(65), SHOP, 1),
        no_description,
        long_description,
        neither,
        json!({"out_order_no": "S1", "out_return_no": "R3", "return_mchid": SHOP,
            "amount": "1", "description": "d"}),
    ] {
        client
            .post(RETURNS, bad)
            .await
            .assert_error(400, "PARAM_ERROR");
    }
    let calls = sim.calls();
    let first = calls
        .iter()
        .find(|c| c.op == Some(Op::CreateReturn))
        .expect("create return call");
    assert_eq!(first.out_order_no.as_deref(), Some("S1"));
    let query = calls
        .iter()
        .find(|c| c.op == Some(Op::QueryReturn))
        .expect("query return call");
    assert_eq!(query.out_order_no.as_deref(), Some("S1"));
    sim.shutdown().await;
}

#[tokio::test]
async fn return_over_the_receivers_remainder_is_refused() {
    let (sim, client) = split_done("S1").await;
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    let received = receiver(&order, SHOP)["amount"].as_i64().expect("amount");
    let numbers = ["R1", "R2", "R3", "R4"];

    client
        .post(RETURNS, return_body("S1", "R1", SHOP, received - 10))
        .await
        .assert_ok();
    let left = shop_remainder(&sim, &numbers, received);
    assert_eq!(left, 10);
    let msg = client
        .post(RETURNS, return_body("S1", "R2", SHOP, left + 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(msg, "回退金额超过可回退金额");
    assert!(
        sim.return_order("R2").is_none(),
        "a refused return is not kept"
    );
    client
        .post(RETURNS, return_body("S1", "R2", SHOP, 0))
        .await
        .assert_error(400, "INVALID_REQUEST");
    client
        .post(RETURNS, return_body("S1", "R2", SHOP, left))
        .await
        .assert_ok();
    assert_eq!(shop_remainder(&sim, &numbers, received), 0);
    let msg = client
        .post(RETURNS, return_body("S1", "R3", SHOP, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(msg, "回退金额超过可回退金额");

    // The remainder is per split order: a second split to SHOP can be returned on its own.
    client
        .post(ORDERS, order_body("T1", "S2", &[("MERCHANT_ID", SHOP, 50)]))
        .await
        .assert_ok();
    // Not yet SUCCESS (PENDING): refused.
    client
        .post(RETURNS, return_body("S2", "R3", SHOP, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    sim.complete("T1", "S2", &[]).expect("complete");
    client
        .post(RETURNS, return_body("S2", "R3", SHOP, 50))
        .await
        .assert_ok();
    assert_eq!(sim.return_count("S1", SHOP), 2);
    assert_eq!(sim.return_count("S2", SHOP), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn twenty_first_return_is_refused() {
    let (sim, client) = split_done("S1").await;
    for i in 1..=20 {
        let r = client
            .post(RETURNS, return_body("S1", &format!("R{i}"), SHOP, 1))
            .await
            .assert_ok();
        assert_eq!(r["result"], "SUCCESS");
    }
    assert_eq!(sim.return_count("S1", SHOP), 20);
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    let received = receiver(&order, SHOP)["amount"].as_i64().expect("amount");
    assert!(received > 20, "money is left, only the count refuses");
    client
        .post(RETURNS, return_body("S1", "R21", SHOP, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(sim.return_count("S1", SHOP), 20);
    assert!(sim.return_order("R21").is_none());
    // A re-send of an accepted number is not a new return.
    client
        .post(RETURNS, return_body("S1", "R20", SHOP, 1))
        .await
        .assert_ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn only_successful_merchant_receivers_can_return() {
    let (sim, client) = ready().await;
    client.post(ORDERS, split("S1")).await.assert_ok();
    let closed = [(
        SHOP.to_string(),
        Outcome::Closed {
            fail_reason: "ACCOUNT_ABNORMAL".into(),
        },
    )];
    sim.complete("T1", "S1", &closed).expect("complete");
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    assert_eq!(receiver(&order, ALICE)["result"], "SUCCESS");
    for (mchid, what) in [
        (ALICE, "a PERSONAL_OPENID receiver"),
        (SHOP, "a CLOSED merchant receiver"),
        ("1900000300", "not a receiver of the order"),
    ] {
        let msg = client
            .post(RETURNS, return_body("S1", "R1", mchid, 1))
            .await
            .assert_error(400, "INVALID_REQUEST");
        assert!(msg.contains("MERCHANT_ID"), "{what}: {msg}");
    }
    // The merchant's own number in an unfreeze order is the initiator, not a receiver.
    let unfreeze = json!({"transaction_id": "T1", "out_order_no": "U1", "description": "完结"});
    client.post(UNFREEZE, unfreeze).await.assert_ok();
    client
        .post(RETURNS, return_body("U1", "R1", MCHID, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(sim.return_count("S1", ALICE), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn returns_are_limited_to_180_days() {
    let (sim, client) = split_done("S1").await;
    let day = Duration::from_secs(86_400);
    sim.set_paid_age("T1", day * 181).expect("known");
    client
        .post(RETURNS, return_body("S1", "R1", SHOP, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert!(sim.return_order("R1").is_none());
    sim.set_paid_age("T1", day * 179).expect("known");
    client
        .post(RETURNS, return_body("S1", "R1", SHOP, 1))
        .await
        .assert_ok();
    assert!(matches!(
        sim.set_paid_age("T404", day),
        Err(SimError::UnknownTransaction)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn processing_on_short_balance_then_resent_succeeds() {
    let (sim, client) = split_done("S1").await;
    sim.set_balance(SHOP, Some(30));
    let body = return_body("S1", "R1", SHOP, 50);
    let r = client.post(RETURNS, body.clone()).await.assert_ok();
    assert_eq!(r["result"], "PROCESSING");
    assert!(r.get("fail_reason").is_none() && r.get("finish_time").is_none());
    assert_eq!(sim.balance_fen(SHOP), Some(30), "nothing taken");
    let queried = client.get(&return_target("R1", "S1")).await.assert_ok();
    assert_eq!(queried["result"], "PROCESSING");

    // A processing return holds its amount against the remainder.
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    let received = receiver(&order, SHOP)["amount"].as_i64().expect("amount");
    let left = shop_remainder(&sim, &["R1"], received);
    client
        .post(RETURNS, return_body("S1", "R2", SHOP, left + 1))
        .await
        .assert_error(400, "INVALID_REQUEST");

    // Re-sent while still short: still PROCESSING.
    let again = client.post(RETURNS, body.clone()).await.assert_ok();
    assert_eq!(again["result"], "PROCESSING");
    // Re-sent once the balance suffices: SUCCESS under the same number.
    sim.set_balance(SHOP, Some(80));
    let done = client.post(RETURNS, body).await.assert_ok();
    assert_eq!(
        (&done["result"], &done["out_return_no"], &done["return_id"]),
        (&json!("SUCCESS"), &json!("R1"), &r["return_id"])
    );
    assert!(is_beijing_rfc3339(&done["finish_time"]));
    assert_eq!(sim.balance_fen(SHOP), Some(30));
    let info = sim.return_order("R1").expect("kept");
    assert_eq!((info.result.as_str(), info.sends), ("SUCCESS", 3));
    assert_eq!(
        client.get(&return_target("R1", "S1")).await.assert_ok(),
        done
    );
    assert_eq!(sim.return_count("S1", SHOP), 1);

    // A processing return can also be completed by command.
    sim.set_balance(SHOP, Some(0));
    let r3 = client
        .post(RETURNS, return_body("S1", "R3", SHOP, 5))
        .await
        .assert_ok();
    assert_eq!(r3["result"], "PROCESSING");
    sim.complete_return("R3", ReturnOutcome::Success)
        .expect("complete");
    let q = client.get(&return_target("R3", "S1")).await.assert_ok();
    assert_eq!(q["result"], "SUCCESS");
    assert!(is_beijing_rfc3339(&q["finish_time"]));
    assert_eq!(sim.balance_fen(SHOP), Some(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn failed_return_stays_failed() {
    let (sim, client) = split_done("S1").await;
    sim.set_balance(SHOP, Some(0));
    let body = return_body("S1", "R1", SHOP, 60);
    assert_eq!(
        client.post(RETURNS, body.clone()).await.assert_ok()["result"],
        "PROCESSING"
    );
    let bad = ReturnOutcome::Failed {
        fail_reason: "NO_RELATION".into(),
    };
    assert!(matches!(
        sim.complete_return("R1", bad),
        Err(SimError::InvalidFailReason(_))
    ));
    let failed =
        json!({"out_return_no": "R1", "result": "FAILED", "fail_reason": "BALANCE_NOT_ENOUGH"});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/complete-return", failed.clone()).await,
        (200, json!({}))
    );
    let q = client.get(&return_target("R1", "S1")).await.assert_ok();
    assert_eq!(
        (&q["result"], &q["fail_reason"]),
        (&json!("FAILED"), &json!("BALANCE_NOT_ENOUGH"))
    );
    assert!(is_beijing_rfc3339(&q["finish_time"]));

    // Final: neither a re-send with money available nor another command changes it.
    sim.set_balance(SHOP, None);
    let again = client.post(RETURNS, body).await.assert_ok();
    assert_eq!(again, q);
    assert_eq!(
        control_call(&sim, "POST", "/__sim/complete-return", failed)
            .await
            .0,
        409
    );
    assert!(matches!(
        sim.complete_return("R1", ReturnOutcome::Success),
        Err(SimError::ReturnNotProcessing)
    ));
    assert_eq!(
        sim.return_order("R1").map(|r| r.result),
        Some("FAILED".to_string())
    );
    // A failed return no longer holds its amount.
    let order = client.get(&query_target("S1", "T1")).await.assert_ok();
    let received = receiver(&order, SHOP)["amount"].as_i64().expect("amount");
    let left = shop_remainder(&sim, &["R1"], received);
    assert_eq!(left, received);
    assert_eq!(
        client
            .post(RETURNS, return_body("S1", "R2", SHOP, left))
            .await
            .assert_ok()["result"],
        "SUCCESS"
    );
    assert!(matches!(
        sim.complete_return("R9", ReturnOutcome::Success),
        Err(SimError::UnknownReturn)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn amounts_reflect_refunds_and_settling() {
    let (sim, client) = ready().await;
    client.post(ORDERS, split("S1")).await.assert_ok();
    let unsplit = |a: &Value| a["unsplit_amount"].as_i64().expect("unsplit");
    let before = unsplit(&client.get(AMOUNTS_T1).await.assert_ok());

    let r = client
        .post(REFUNDS, refund_body("RF1", 1_000, 10_000))
        .await
        .assert_ok();
    assert_eq!(
        (&r["status"], &r["out_refund_no"], &r["transaction_id"]),
        (&json!("SUCCESS"), &json!("RF1"), &json!("T1"))
    );
    assert_eq!(
        r["amount"],
        json!({"refund": 1_000, "total": 10_000, "currency": "CNY"})
    );
    assert!(r["refund_id"].is_string());
    let after = unsplit(&client.get(AMOUNTS_T1).await.assert_ok());
    assert_eq!(after, before - 1_000);
    assert_eq!(sim.refunded_fen("T1"), Some(1_000));

    // Idempotent on out_refund_no.
    let again = client
        .post(REFUNDS, refund_body("RF1", 1_000, 10_000))
        .await
        .assert_ok();
    assert_eq!(again, r);
    assert_eq!(unsplit(&client.get(AMOUNTS_T1).await.assert_ok()), after);

    // The control call and the handle act on the same state.
    let (status, body) = control_call(
        &sim,
        "POST",
        "/__sim/refund",
        json!({"transaction_id": "T1", "out_refund_no": "RF2", "amount_fen": 500}),
    )
    .await;
    assert_eq!((status, &body["status"]), (200, &json!("SUCCESS")));
    let refund = sim.refund("T1", "RF3", 200).expect("refund");
    assert_eq!((refund.refund_fen, refund.total_fen), (200, 10_000));
    assert_eq!(
        unsplit(&client.get(AMOUNTS_T1).await.assert_ok()),
        after - 700
    );
    assert_eq!(sim.refunded_fen("T1"), Some(1_700));

    client
        .post(REFUNDS, refund_body("RF4", 1, 9_999))
        .await
        .assert_error(400, "PARAM_ERROR");
    let mut usd = refund_body("RF4", 1, 10_000);
    usd["amount"]["currency"] = "USD".into();
    client
        .post(REFUNDS, usd)
        .await
        .assert_error(400, "PARAM_ERROR");
    let mut unknown = refund_body("RF4", 1, 10_000);
    unknown["transaction_id"] = "T404".into();
    client
        .post(REFUNDS, unknown)
        .await
        .assert_error(404, "RESOURCE_NOT_EXISTS");

    // Settling: an ambiguous 400 until cleared.
    sim.set_settling("T1", true).expect("known");
    let msg = client
        .get(AMOUNTS_T1)
        .await
        .assert_error(400, "INVALID_REQUEST");
    assert_eq!(msg, "订单处理中，请稍后再试");
    let clear = json!({"transaction_id": "T1", "settling": false});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/settling", clear).await.0,
        200
    );
    client.get(AMOUNTS_T1).await.assert_ok();
    assert!(matches!(
        sim.set_settling("T404", true),
        Err(SimError::UnknownTransaction)
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn refund_over_unsplit_is_refused() {
    let (sim, client) = ready().await;
    client
        .post(
            ORDERS,
            order_body("T1", "S1", &[("MERCHANT_ID", SHOP, 9_000)]),
        )
        .await
        .assert_ok();
    let unsplit = sim.unsplit_fen("T1").expect("known");
    let msg = client
        .post(REFUNDS, refund_body("RF1", unsplit + 1, 10_000))
        .await
        .assert_error(403, "NOT_ENOUGH");
    assert_eq!(msg, "申请退款金额大于剩余未分账金额");
    let (status, body) = control_call(
        &sim,
        "POST",
        "/__sim/refund",
        json!({"transaction_id": "T1", "out_refund_no": "RF1", "amount_fen": unsplit + 1}),
    )
    .await;
    assert_eq!(
        (status, body),
        (403, json!({"code": "NOT_ENOUGH", "message": msg}))
    );
    let refusal = sim.refund("T1", "RF1", unsplit + 1).expect_err("refused");
    assert_eq!((refusal.status, refusal.code.as_str()), (403, "NOT_ENOUGH"));
    assert_eq!(
        (sim.unsplit_fen("T1"), sim.refunded_fen("T1")),
        (Some(unsplit), Some(0)),
        "nothing applied"
    );
    // The same number can be used once the amount fits.
    sim.refund("T1", "RF1", unsplit).expect("fits");
    assert_eq!(sim.unsplit_fen("T1"), Some(0));
    client
        .post(REFUNDS, refund_body("RF2", 1, 10_000))
        .await
        .assert_error(403, "NOT_ENOUGH");

    // After an unfreeze the money comes from the merchant's account, up to what is refundable.
    let unfreeze = json!({"transaction_id": "T1", "out_order_no": "U1", "description": "完结"});
    client.post(UNFREEZE, unfreeze).await.assert_ok();
    let refundable = 10_000 - unsplit;
    client
        .post(REFUNDS, refund_body("RF2", refundable + 1, 10_000))
        .await
        .assert_error(400, "INVALID_REQUEST");
    client
        .post(REFUNDS, refund_body("RF2", refundable, 10_000))
        .await
        .assert_ok();
    assert_eq!(sim.refunded_fen("T1"), Some(10_000));
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_on_returns_and_refunds() {
    let (sim, mut client) = split_done("S1").await;
    let body = return_body("S1", "R1", SHOP, 10).to_string();
    sim.inject(
        Op::CreateReturn,
        Fault::Status {
            status: 500,
            code: "SYSTEM_ERROR".into(),
            message: "系统错误".into(),
        },
    );
    let a = client.send("POST", RETURNS, &body).await.expect("answer");
    a.assert_error(500, "SYSTEM_ERROR");
    assert!(sim.return_order("R1").is_none(), "nothing applied");

    client.timeout = Duration::from_millis(500);
    sim.inject(Op::CreateReturn, Fault::TimeoutAfterApply);
    assert!(client.send("POST", RETURNS, &body).await.is_err());
    assert_eq!(sim.return_order("R1").map(|r| r.sends), Some(1), "applied");
    sim.inject(Op::Refund, Fault::Timeout);
    let refund = refund_body("RF1", 100, 10_000).to_string();
    assert!(client.send("POST", REFUNDS, &refund).await.is_err());
    assert_eq!(sim.refunded_fen("T1"), Some(0), "nothing applied");
    client.timeout = Duration::from_secs(5);

    let retried = client.send("POST", RETURNS, &body).await.expect("answer");
    assert_eq!(retried.assert_ok()["result"], "SUCCESS");
    assert_eq!(sim.return_count("S1", SHOP), 1);

    sim.inject(Op::QueryReturn, Fault::BadSignature);
    let a = client.get(&return_target("R1", "S1")).await;
    assert_eq!((a.status, a.signature_ok()), (200, false));
    sim.inject(Op::QueryReturn, Fault::WrongSerial);
    let a = client.get(&return_target("R1", "S1")).await;
    assert!(a.signature_ok() && a.header("Wechatpay-Serial") != Some(KEY_ID));
    sim.inject(Op::Refund, Fault::StaleTimestamp);
    let a = client.send("POST", REFUNDS, &refund).await.expect("answer");
    assert!(a.status == 200 && a.timestamp_age() >= 590);
    assert_eq!(sim.refunded_fen("T1"), Some(100));
    sim.inject(Op::Amounts, Fault::SignTest);
    assert!(!client.get(AMOUNTS_T1).await.signature_ok());
    let faults: Vec<Option<Fault>> = sim
        .calls()
        .iter()
        .filter(|c| matches!(c.op, Some(Op::CreateReturn | Op::QueryReturn | Op::Refund)))
        .map(|c| c.fault.clone())
        .collect();
    assert_eq!(faults.iter().filter(|f| f.is_some()).count(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_for_returns_and_refunds() {
    let (sim, client) = split_done("S1").await;
    let post = |path: &'static str, body: Value| {
        let sim = sim.clone();
        async move { control_call(&sim, "POST", path, body).await }
    };
    assert_eq!(
        post(
            "/__sim/balance",
            json!({"return_mchid": SHOP, "balance_fen": 5})
        )
        .await,
        (200, json!({}))
    );
    assert_eq!(sim.balance_fen(SHOP), Some(5));
    let r = client
        .post(RETURNS, return_body("S1", "R@1", SHOP, 20))
        .await
        .assert_ok();
    assert_eq!(r["result"], "PROCESSING");
    let (status, info) = control_call(&sim, "GET", "/__sim/returns/R%401", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &info["result"],
            &info["amount"],
            &info["sends"],
            &info["return_mchid"]
        ),
        (&json!("PROCESSING"), &json!(20), &json!(1), &json!(SHOP))
    );
    assert_eq!(
        control_call(
            &sim,
            "GET",
            &format!("/__sim/orders/S1/returns/{SHOP}"),
            Value::Null
        )
        .await,
        (200, json!({"count": 1}))
    );
    assert_eq!(
        control_call(&sim, "GET", "/__sim/returns/NOPE", Value::Null)
            .await
            .0,
        404
    );
    let bad_result = json!({"out_return_no": "R@1", "result": "DONE"});
    assert_eq!(post("/__sim/complete-return", bad_result).await.0, 400);
    let unknown = json!({"out_return_no": "NOPE", "result": "SUCCESS"});
    assert_eq!(post("/__sim/complete-return", unknown).await.0, 404);
    let done = json!({"out_return_no": "R@1", "result": "SUCCESS"});
    assert_eq!(post("/__sim/complete-return", done).await.0, 200);
    assert_eq!(
        sim.return_order("R@1").map(|r| r.result),
        Some("SUCCESS".into())
    );
    assert_eq!(
        post(
            "/__sim/balance",
            json!({"return_mchid": SHOP, "balance_fen": null})
        )
        .await
        .0,
        200
    );
    assert_eq!(sim.balance_fen(SHOP), None);

    let old = json!({"transaction_id": "T1", "age_days": 200});
    assert_eq!(post("/__sim/paid-at", old).await.0, 200);
    client
        .post(RETURNS, return_body("S1", "R2", SHOP, 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    let young = json!({"transaction_id": "T1", "age_seconds": 60});
    assert_eq!(post("/__sim/paid-at", young).await.0, 200);
    client
        .post(RETURNS, return_body("S1", "R2", SHOP, 1))
        .await
        .assert_ok();
    let nope = json!({"transaction_id": "T404", "age_days": 1});
    assert_eq!(post("/__sim/paid-at", nope).await.0, 404);
    let settling = json!({"transaction_id": "T1", "settling": true});
    assert_eq!(post("/__sim/settling", settling).await.0, 200);
    client
        .get(AMOUNTS_T1)
        .await
        .assert_error(400, "INVALID_REQUEST");
    let nope = json!({"transaction_id": "T404", "settling": true});
    assert_eq!(post("/__sim/settling", nope).await.0, 404);
    let unknown = json!({"transaction_id": "T404", "out_refund_no": "RF1", "amount_fen": 1});
    let (status, body) = post("/__sim/refund", unknown).await;
    assert_eq!(
        (status, &body["code"]),
        (404, &json!("RESOURCE_NOT_EXISTS"))
    );

    for op in ["create_return", "query_return", "refund", "amounts"] {
        let inject = json!({"op": op, "fault": "bad_signature"});
        assert_eq!(post("/__sim/inject", inject).await.0, 200, "{op}");
    }
    let a = client.post(RETURNS, return_body("S1", "R2", SHOP, 1)).await;
    assert!(a.status == 200 && !a.signature_ok());
    sim.shutdown().await;
}

// ---------------------------------------------------------------- several merchants at once

const MCHID_B: &str = "1900000333";
const APPID_B: &str = "wx9999999999999999";
const SERIAL_B: &str = "7B8F1C2D3E4F5A6B7C8D9E0F1A2B3C4D5E6F7A8B";
const APIV3_KEY_B: &str = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const UNKNOWN_MCHID: &str = "1900000999";

/// The second merchant's API key pair: (private, public).
fn merchant_b_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_keypair().expect("keygen"))
}

fn merchant_b() -> MerchantAccount {
    MerchantAccount {
        mchid: MCHID_B.into(),
        appid: APPID_B.into(),
        merchant_public_key: merchant_b_keys().1.clone(),
        merchant_serial: SERIAL_B.into(),
        apiv3_key: None,
    }
}

/// A client signing as `mchid` with `key` and `serial`.
fn client_as(sim: &WechatSim, mchid: &str, key: &str, serial: &str) -> Client {
    Client {
        addr: sim.local_addr(),
        signing: Signing {
            key: key.into(),
            mchid: mchid.into(),
            serial: serial.into(),
            ts_offset: 0,
        },
        timeout: Duration::from_secs(5),
    }
}

fn client_b(sim: &WechatSim) -> Client {
    client_as(sim, MCHID_B, &merchant_b_keys().0, SERIAL_B)
}

/// `body` with another `appid`.
fn with_appid(mut body: Value, appid: &str) -> Value {
    body["appid"] = appid.into();
    body
}

/// MCHID and MCHID_B served at once, each with SHOP added; T1 paid to MCHID, T2 to MCHID_B
/// (100.00 each).
async fn two_merchants() -> (WechatSim, Client, Client) {
    let (sim, a) = start().await;
    sim.add_merchant(merchant_b()).expect("add merchant");
    let b = client_b(&sim);
    a.post(ADD, add_shop_body()).await.assert_ok();
    b.post(ADD, with_appid(add_shop_body(), APPID_B))
        .await
        .assert_ok();
    sim.seed_transaction("T1", 10_000);
    sim.seed_transaction_for(MCHID_B, "T2", 10_000)
        .expect("seed");
    (sim, a, b)
}

fn shop_split(transaction_id: &str, out_order_no: &str, appid: &str, amount: i64) -> Value {
    let body = order_body(
        transaction_id,
        out_order_no,
        &[("MERCHANT_ID", SHOP, amount)],
    );
    with_appid(body, appid)
}

#[tokio::test]
async fn two_merchants_each_with_their_own_key() {
    let (sim, a, b) = two_merchants().await;
    // The same out_order_no for both: numbers are per merchant.
    let ordered_a = a
        .post(ORDERS, shop_split("T1", "O1", APPID, 100))
        .await
        .assert_ok();
    let ordered_b = b
        .post(ORDERS, shop_split("T2", "O1", APPID_B, 300))
        .await
        .assert_ok();
    assert_ne!(ordered_a["order_id"], ordered_b["order_id"]);
    assert_eq!(
        (sim.unsplit_fen("T1"), sim.unsplit_fen("T2")),
        (Some(9_900), Some(9_700))
    );
    assert_eq!((sim.order_count("T1"), sim.order_count("T2")), (1, 1));
    let queried = b.get(&query_target("O1", "T2")).await.assert_ok();
    assert_eq!(queried["order_id"], ordered_b["order_id"]);
    let amounts = b
        .get("/v3/profitsharing/transactions/T2/amounts")
        .await
        .assert_ok();
    assert_eq!(amounts["unsplit_amount"], 9_700);
    assert_eq!(
        (sim.transaction_mchid("T1"), sim.transaction_mchid("T2")),
        (Some(MCHID.to_string()), Some(MCHID_B.to_string()))
    );
    assert_eq!(sim.mchids(), [MCHID, MCHID_B]);
    let calls: Vec<(Option<String>, bool)> = sim
        .calls()
        .into_iter()
        .map(|c| (c.mchid, c.verified))
        .collect();
    let expected =
        [MCHID, MCHID_B, MCHID, MCHID_B, MCHID_B, MCHID_B].map(|m| (Some(m.to_string()), true));
    assert_eq!(calls, expected);
    assert!(matches!(
        sim.seed_transaction_for(UNKNOWN_MCHID, "T3", 100),
        Err(SimError::UnknownMerchant(_))
    ));
    assert_eq!(sim.unsplit_fen("T3"), None);
    sim.shutdown().await;
}

#[tokio::test]
async fn signed_by_one_merchant_naming_another_is_refused() {
    let (sim, _a, _b) = two_merchants().await;
    let k = keys();
    let b = merchant_b_keys();
    let cases = [
        (
            "A's key, B's mchid and serial",
            MCHID_B,
            &k.merchant_private,
            SERIAL_B,
            "T2",
        ),
        (
            "A's key and serial, B's mchid",
            MCHID_B,
            &k.merchant_private,
            SERIAL,
            "T2",
        ),
        ("B's key, A's mchid and serial", MCHID, &b.0, SERIAL, "T1"),
        ("B's key and serial, A's mchid", MCHID, &b.0, SERIAL_B, "T1"),
        ("an unknown mchid", UNKNOWN_MCHID, &b.0, SERIAL_B, "T2"),
    ];
    for (what, mchid, key, serial, transaction_id) in cases {
        let forged = client_as(&sim, mchid, key, serial);
        let appid = if mchid == MCHID { APPID } else { APPID_B };
        let a = forged
            .post(ORDERS, shop_split(transaction_id, "F1", appid, 100))
            .await;
        a.assert_error(401, "SIGN_ERROR");
        assert!(a.json()["detail"]["issue"].is_string(), "{what}");
        let last = sim.calls().pop().expect("call");
        assert_eq!(
            (last.mchid.as_deref(), last.verified),
            (Some(mchid), false),
            "{what}"
        );
    }
    assert_eq!((sim.order_count("T1"), sim.order_count("T2")), (0, 0));
    assert_eq!(
        (sim.unsplit_fen("T1"), sim.unsplit_fen("T2")),
        (Some(10_000), Some(10_000))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn transaction_of_another_merchant_is_refused() {
    let (sim, a, b) = two_merchants().await;
    let ordered = a
        .post(ORDERS, shop_split("T1", "S1", APPID, 1_000))
        .await
        .assert_ok();
    sim.complete("T1", "S1", &[]).expect("complete");
    let returned = a.post(RETURNS, return_body("S1", "R1", SHOP, 100)).await;
    assert_eq!(returned.assert_ok()["result"], "SUCCESS");
    let refunded = a.post(REFUNDS, refund_body("RF1", 100, 10_000)).await;
    refunded.assert_ok();
    let snapshot = |sim: &WechatSim| {
        (
            sim.unsplit_fen("T1"),
            sim.order_count("T1"),
            sim.return_count("S1", SHOP),
            sim.refunded_fen("T1"),
            sim.return_order("R1").map(|r| (r.result, r.sends)),
        )
    };
    let before = snapshot(&sim);
    assert_eq!(
        before,
        (Some(8_900), 1, 1, Some(100), Some(("SUCCESS".into(), 1)))
    );

    let unfreeze = json!({"transaction_id": "T1", "out_order_no": "U1", "description": "解冻"});
    let by_order_id = json!({"order_id": ordered["order_id"], "out_return_no": "R2",
        "return_mchid": SHOP, "amount": 100, "description": "用户退款"});
    let refused: [(&str, String, Value, u16, &str, &str); 8] = [
        (
            "POST",
            ORDERS.into(),
            shop_split("T1", "S2", APPID_B, 100),
            400,
            "INVALID_REQUEST",
            "非本商户的订单不支持分账",
        ),
        (
            "POST",
            UNFREEZE.into(),
            unfreeze,
            400,
            "INVALID_REQUEST",
            "非本商户的订单不支持分账",
        ),
        (
            "GET",
            AMOUNTS_T1.into(),
            Value::Null,
            400,
            "INVALID_REQUEST",
            "非本商户的订单不支持查询",
        ),
        (
            "GET",
            query_target("S1", "T1"),
            Value::Null,
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在",
        ),
        (
            "POST",
            RETURNS.into(),
            return_body("S1", "R2", SHOP, 100),
            404,
            "RESOURCE_NOT_EXISTS",
            "分账单不存在",
        ),
        (
            "POST",
            RETURNS.into(),
            by_order_id,
            404,
            "RESOURCE_NOT_EXISTS",
            "分账单不存在",
        ),
        (
            "GET",
            return_target("R1", "S1"),
            Value::Null,
            404,
            "RESOURCE_NOT_EXISTS",
            "记录不存在",
        ),
        (
            "POST",
            REFUNDS.into(),
            refund_body("RF2", 100, 10_000),
            404,
            "RESOURCE_NOT_EXISTS",
            "订单不存在",
        ),
    ];
    for (method, target, body, status, code, message) in refused {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let answer = b.send(method, &target, &body).await.expect("send");
        assert_eq!(
            answer.assert_error(status, code),
            message,
            "{method} {target}"
        );
    }
    assert_eq!(snapshot(&sim), before, "nothing changed");

    // MCHID cannot use MCHID_B's transaction either.
    let a_on_b = a.post(ORDERS, shop_split("T2", "S3", APPID, 100)).await;
    a_on_b.assert_error(400, "INVALID_REQUEST");
    assert_eq!(
        (sim.unsplit_fen("T2"), sim.order_count("T2")),
        (Some(10_000), 0)
    );
    // And a body must carry the calling merchant's appid.
    let wrong_appid = b.post(ORDERS, shop_split("T2", "S4", APPID, 100)).await;
    wrong_appid.assert_error(400, "PARAM_ERROR");
    let wrong_appid = b.post(ADD, add_shop_body()).await;
    wrong_appid.assert_error(400, "PARAM_ERROR");
    assert_eq!(sim.order_count("T2"), 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn receivers_are_per_merchant() {
    let (sim, a, b) = two_merchants().await;
    let alice = json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE,
        "relation_type": "USER"});
    a.post(ADD, alice).await.assert_ok();
    assert!(sim.is_receiver("PERSONAL_OPENID", ALICE));
    assert!(!sim.is_receiver_for(MCHID_B, "PERSONAL_OPENID", ALICE));
    let to_alice = with_appid(
        order_body("T2", "P1", &[("PERSONAL_OPENID", ALICE, 100)]),
        APPID_B,
    );
    let refused = b.post(ORDERS, to_alice.clone()).await;
    assert_eq!(
        refused.assert_error(400, "INVALID_REQUEST"),
        "分账接收方不存在"
    );
    assert_eq!(
        (sim.unsplit_fen("T2"), sim.order_count("T2")),
        (Some(10_000), 0)
    );
    assert_eq!(
        (
            sim.receiver_name_for(MCHID, "MERCHANT_ID", SHOP),
            sim.receiver_name_for(MCHID_B, "MERCHANT_ID", SHOP)
        ),
        (Some(SHOP_NAME.into()), Some(SHOP_NAME.into()))
    );

    // MCHID_B deleting its SHOP leaves MCHID's.
    let delete = json!({"appid": APPID_B, "type": "MERCHANT_ID", "account": SHOP});
    b.post(DELETE, delete).await.assert_ok();
    assert!(!sim.is_receiver_for(MCHID_B, "MERCHANT_ID", SHOP));
    assert!(sim.is_receiver("MERCHANT_ID", SHOP));
    let to_shop = b.post(ORDERS, shop_split("T2", "P2", APPID_B, 100)).await;
    assert_eq!(
        to_shop.assert_error(400, "INVALID_REQUEST"),
        "分账接收方不存在"
    );
    a.post(ORDERS, shop_split("T1", "P2", APPID, 100))
        .await
        .assert_ok();

    let alice_b = json!({"appid": APPID_B, "type": "PERSONAL_OPENID", "account": ALICE,
        "relation_type": "USER"});
    b.post(ADD, alice_b).await.assert_ok();
    b.post(ORDERS, to_alice).await.assert_ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn return_and_refund_numbers_are_per_merchant() {
    let (sim, a, b) = two_merchants().await;
    a.post(ORDERS, shop_split("T1", "S1", APPID, 1_000))
        .await
        .assert_ok();
    b.post(ORDERS, shop_split("T2", "S1", APPID_B, 2_000))
        .await
        .assert_ok();
    sim.complete("T1", "S1", &[]).expect("complete");
    sim.complete("T2", "S1", &[]).expect("complete");
    let ra = a.post(RETURNS, return_body("S1", "R1", SHOP, 100)).await;
    let rb = b.post(RETURNS, return_body("S1", "R1", SHOP, 300)).await;
    assert_eq!(ra.assert_ok()["amount"], 100);
    assert_eq!(rb.assert_ok()["amount"], 300);
    assert_ne!(ra.json()["return_id"], rb.json()["return_id"]);
    let amounts = |r: Option<wechat_sim::ReturnInfo>| r.map(|r| (r.amount, r.sends));
    assert_eq!(amounts(sim.return_order("R1")), Some((100, 1)));
    assert_eq!(amounts(sim.return_order_for(MCHID_B, "R1")), Some((300, 1)));
    assert_eq!(
        (
            sim.return_count("S1", SHOP),
            sim.return_count_for(MCHID_B, "S1", SHOP)
        ),
        (1, 1)
    );
    let queried = b.get(&return_target("R1", "S1")).await.assert_ok();
    assert_eq!(queried["amount"], 300);

    let fa = a.post(REFUNDS, refund_body("RF1", 100, 10_000)).await;
    let fb = b
        .post(
            REFUNDS,
            json!({"transaction_id": "T2", "out_refund_no": "RF1",
                "amount": {"refund": 200, "total": 10_000, "currency": "CNY"}}),
        )
        .await;
    assert_eq!(fa.assert_ok()["transaction_id"], "T1");
    assert_eq!(fb.assert_ok()["transaction_id"], "T2");
    assert_eq!(
        (sim.refunded_fen("T1"), sim.refunded_fen("T2")),
        (Some(100), Some(200))
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn notification_names_the_owner_and_uses_its_apiv3_key() {
    let (sim, a) = start().await;
    sim.add_merchant(MerchantAccount {
        apiv3_key: Some(APIV3_KEY_B.into()),
        ..merchant_b()
    })
    .expect("add merchant");
    let b = client_b(&sim);
    a.post(ADD, add_shop_body()).await.assert_ok();
    b.post(ADD, with_appid(add_shop_body(), APPID_B))
        .await
        .assert_ok();
    sim.seed_transaction("T1", 10_000);
    sim.seed_transaction_for(MCHID_B, "T2", 10_000)
        .expect("seed");
    a.post(ORDERS, shop_split("T1", "N1", APPID, 100))
        .await
        .assert_ok();
    b.post(ORDERS, shop_split("T2", "N1", APPID_B, 200))
        .await
        .assert_ok();
    sim.complete("T2", "N1", &[]).expect("complete");

    let open = |transaction_id: &str, key: &str| {
        let note = sim
            .notification(transaction_id, "N1", SHOP)
            .expect("notification");
        let outer: Value = serde_json::from_str(&note.body).expect("json");
        let r = &outer["resource"];
        let nonce = r["nonce"].as_str().expect("nonce");
        let ciphertext = r["ciphertext"].as_str().expect("ciphertext");
        aes_gcm_open(key, nonce, "profitsharing", ciphertext)
            .map(|plain| serde_json::from_str::<Value>(&plain).expect("json"))
    };
    let note_b = open("T2", APIV3_KEY_B).expect("sealed with MCHID_B's key");
    assert_eq!(
        (
            &note_b["mchid"],
            &note_b["transaction_id"],
            &note_b["receiver"]["amount"]
        ),
        (&json!(MCHID_B), &json!("T2"), &json!(200))
    );
    assert_eq!(open("T2", APIV3_KEY), None, "not with the simulator's key");
    let note_a = open("T1", APIV3_KEY).expect("sealed with the simulator's key");
    assert_eq!(note_a["mchid"], MCHID);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_adds_merchants() {
    let (sim, _a) = start().await;
    let b_public = &merchant_b_keys().1;
    let merchant = json!({"mchid": MCHID_B, "appid": APPID_B,
        "merchant_public_key": b_public, "merchant_serial": SERIAL_B});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/merchants", merchant).await,
        (200, json!({}))
    );
    let bad = [
        json!({"mchid": UNKNOWN_MCHID, "appid": APPID_B, "merchant_public_key": "not a key",
            "merchant_serial": SERIAL_B}),
        json!({"mchid": "", "appid": APPID_B, "merchant_public_key": b_public,
            "merchant_serial": SERIAL_B}),
        json!({"mchid": UNKNOWN_MCHID, "appid": APPID_B, "merchant_public_key": b_public,
            "merchant_serial": SERIAL_B, "apiv3_key": "too short"}),
        json!({"mchid": UNKNOWN_MCHID, "appid": APPID_B}),
    ];
    for body in bad {
        let (status, _) = control_call(&sim, "POST", "/__sim/merchants", body.clone()).await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(
        control_call(&sim, "GET", "/__sim/merchants", Value::Null).await,
        (
            200,
            json!([
                {"mchid": MCHID, "appid": APPID, "merchant_serial": SERIAL, "own_apiv3_key": false},
                {"mchid": MCHID_B, "appid": APPID_B, "merchant_serial": SERIAL_B, "own_apiv3_key": false}
            ])
        )
    );
    let seed = json!({"mchid": MCHID_B, "transaction_id": "T2", "amount_fen": 10_000});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/transactions", seed)
            .await
            .0,
        200
    );
    let seed = json!({"mchid": UNKNOWN_MCHID, "transaction_id": "T3", "amount_fen": 10_000});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/transactions", seed)
            .await
            .0,
        404
    );
    assert_eq!(sim.transaction_mchid("T2").as_deref(), Some(MCHID_B));
    assert_eq!(sim.unsplit_fen("T3"), None);

    let b = client_b(&sim);
    b.post(ADD, with_appid(add_shop_body(), APPID_B))
        .await
        .assert_ok();
    b.post(ORDERS, shop_split("T2", "S1", APPID_B, 1_000))
        .await
        .assert_ok();
    sim.complete("T2", "S1", &[]).expect("complete");
    sim.set_balance(SHOP, Some(0));
    let r = b.post(RETURNS, return_body("S1", "R1", SHOP, 100)).await;
    assert_eq!(r.assert_ok()["result"], "PROCESSING");
    let (status, info) = control_call(
        &sim,
        "GET",
        "/__sim/returns/R1?mchid=1900000333",
        Value::Null,
    )
    .await;
    assert_eq!((status, &info["result"]), (200, &json!("PROCESSING")));
    assert_eq!(
        control_call(&sim, "GET", "/__sim/returns/R1", Value::Null)
            .await
            .0,
        404,
        "the first merchant has no R1"
    );
    let (_, count) = control_call(
        &sim,
        "GET",
        &format!("/__sim/orders/S1/returns/{SHOP}?mchid={MCHID_B}"),
        Value::Null,
    )
    .await;
    assert_eq!(count, json!({"count": 1}));
    let complete = json!({"out_return_no": "R1", "result": "SUCCESS"});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/complete-return", complete.clone())
            .await
            .0,
        404,
        "the first merchant's R1 by default"
    );
    let complete = json!({"mchid": MCHID_B, "out_return_no": "R1", "result": "SUCCESS"});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/complete-return", complete)
            .await
            .0,
        200
    );
    assert_eq!(
        sim.return_order_for(MCHID_B, "R1")
            .map(|r| r.result)
            .as_deref(),
        Some("SUCCESS")
    );

    // Adding a known merchant again replaces its key and serial (rotation); its data stays.
    let (new_private, new_public) = generate_keypair().expect("keygen");
    let rotated = json!({"mchid": MCHID_B, "appid": APPID_B,
        "merchant_public_key": new_public, "merchant_serial": "NEWSERIAL"});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/merchants", rotated)
            .await
            .0,
        200
    );
    b.get("/v3/profitsharing/transactions/T2/amounts")
        .await
        .assert_error(401, "SIGN_ERROR");
    let b = client_as(&sim, MCHID_B, &new_private, "NEWSERIAL");
    let amounts = b
        .get("/v3/profitsharing/transactions/T2/amounts")
        .await
        .assert_ok();
    assert_eq!(amounts["unsplit_amount"], 9_000);
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_serves_extra_merchants() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_wechat-sim");
    let k = keys();
    let extra = json!([{"mchid": MCHID_B, "appid": APPID_B,
        "merchant_public_key": merchant_b_keys().1, "merchant_serial": SERIAL_B,
        "apiv3_key": APIV3_KEY_B}])
    .to_string();
    let command = |extra: &str| {
        let mut command = Command::new(exe);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--mchid",
                MCHID,
                "--appid",
                APPID,
            ])
            .args(["--merchant-public-key", &k.merchant_public])
            .args(["--merchant-serial", SERIAL])
            .args(["--wechat-private-key", &k.wechat_private])
            .args(["--wechat-public-key-id", KEY_ID])
            .args(["--apiv3-key", APIV3_KEY])
            .args(["--extra-merchants", extra]);
        command
    };
    let (mut child, line) = testing::spawn_until_first_line(&mut command(&extra))
        .await
        .expect("ready line");
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .expect("ready line")
        .parse()
        .expect("addr");
    let b = Client {
        addr,
        signing: Signing {
            key: merchant_b_keys().0.clone(),
            mchid: MCHID_B.into(),
            serial: SERIAL_B.into(),
            ts_offset: 0,
        },
        timeout: Duration::from_secs(5),
    };
    let a = b.get("/v3/profitsharing/transactions/T9/amounts").await;
    a.assert_error(404, "RESOURCE_NOT_EXISTS");
    child.kill().await.expect("kill");

    for bad in [
        "not json",
        r#"[{"mchid":"1","appid":"a","merchant_public_key":"x","merchant_serial":"s"}]"#,
    ] {
        let out = tokio::time::timeout(Duration::from_secs(10), command(bad).output())
            .await
            .expect("exits")
            .expect("output");
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}

// ---------------------------------------------------------------- partner (服务商) mode

const SP_MCHID: &str = "1900000500";
const SP_APPID: &str = "wx5555555555555555";
const SP_SERIAL: &str = "55AA55AA55AA55AA55AA55AA55AA55AA55AA55AA";
const SP_APIV3_KEY: &str = "SPSPSPSPSPSPSPSPSPSPSPSPSPSPSPSP";
/// The sub-merchant the partner transaction P1 is paid to; it has its own appid.
const SUB: &str = "1900000601";
const SUB_APPID: &str = "wx6666666666666666";
/// Another sub-merchant of SP_MCHID, without an appid of its own.
const SUB_2: &str = "1900000602";
/// A second provider and its sub-merchant.
const SP_Q: &str = "1900000700";
const SP_Q_SERIAL: &str = "77BB77BB77BB77BB77BB77BB77BB77BB77BB77BB";
const SUB_Q: &str = "1900000701";
const CAROL_SUB_OPENID: &str = "oSubOpenidCarol0000000000000";
const MODE_MISMATCH: &str = "请求分账的交易模式和下单的交易模式不匹配，普通商户的交易只能普通商户发起分账，服务商下单的交易只能服务商发起分账";

fn sp_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_keypair().expect("keygen"))
}

fn sp_q_keys() -> &'static (String, String) {
    static KEYS: OnceLock<(String, String)> = OnceLock::new();
    KEYS.get_or_init(|| generate_keypair().expect("keygen"))
}

fn provider() -> ProviderAccount {
    ProviderAccount {
        sp_mchid: SP_MCHID.into(),
        sp_appid: SP_APPID.into(),
        sp_public_key: sp_keys().1.clone(),
        sp_serial: SP_SERIAL.into(),
        apiv3_key: Some(SP_APIV3_KEY.into()),
    }
}

fn sub_merchant(sp_mchid: &str, sub_mchid: &str, sub_appid: Option<&str>) -> SubMerchantAccount {
    SubMerchantAccount {
        sp_mchid: sp_mchid.into(),
        sub_mchid: sub_mchid.into(),
        sub_appid: sub_appid.map(str::to_string),
        max_ratio: DEFAULT_MAX_RATIO,
    }
}

/// `body` with these fields set.
fn with(mut body: Value, fields: &[(&str, &str)]) -> Value {
    for (k, v) in fields {
        body[*k] = (*v).into();
    }
    body
}

/// `body` without `field`.
fn without(mut body: Value, field: &str) -> Value {
    if let Some(obj) = body.as_object_mut() {
        obj.remove(field);
    }
    body
}

/// A partner split of P1 to SHOP for SUB, as SP_MCHID sends it.
fn partner_split(out_order_no: &str, amount: i64) -> Value {
    let body = order_body("P1", out_order_no, &[("MERCHANT_ID", SHOP, amount)]);
    with(body, &[("appid", SP_APPID), ("sub_mchid", SUB)])
}

fn partner_query(out_order_no: &str, sub: Option<&str>) -> String {
    match sub {
        Some(sub) => format!("{ORDERS}/{out_order_no}?sub_mchid={sub}&transaction_id=P1"),
        None => query_target(out_order_no, "P1"),
    }
}

/// The first merchant (direct, MCHID) plus provider SP_MCHID with SUB (ratio 30%) and SUB_2,
/// provider SP_Q with SUB_Q; SP_MCHID added SHOP for SUB; P1 (100.00) paid through SP_MCHID to
/// SUB, T1 (100.00) to MCHID directly. Clients: MCHID, SP_MCHID, SP_Q.
async fn partner() -> (WechatSim, Client, Client, Client) {
    let (sim, direct) = start().await;
    sim.add_provider(provider()).expect("provider");
    sim.add_sub_merchant(sub_merchant(SP_MCHID, SUB, Some(SUB_APPID)))
        .expect("sub");
    sim.add_sub_merchant(sub_merchant(SP_MCHID, SUB_2, None))
        .expect("sub");
    sim.add_provider(ProviderAccount {
        sp_mchid: SP_Q.into(),
        sp_appid: APPID_B.into(),
        sp_public_key: sp_q_keys().1.clone(),
        sp_serial: SP_Q_SERIAL.into(),
        apiv3_key: None,
    })
    .expect("provider");
    sim.add_sub_merchant(sub_merchant(SP_Q, SUB_Q, None))
        .expect("sub");
    let sp = client_as(&sim, SP_MCHID, &sp_keys().0, SP_SERIAL);
    let q = client_as(&sim, SP_Q, &sp_q_keys().0, SP_Q_SERIAL);
    let add_shop = with(add_shop_body(), &[("appid", SP_APPID), ("sub_mchid", SUB)]);
    let added = sp.post(ADD, add_shop).await.assert_ok();
    assert_eq!(added["sub_mchid"], SUB);
    sim.seed_partner_transaction(SP_MCHID, SUB, "P1", 10_000)
        .expect("seed");
    sim.seed_transaction("T1", 10_000);
    (sim, direct, sp, q)
}

/// What a refused partner call must not change.
fn partner_snapshot(sim: &WechatSim) -> (Option<i64>, usize, Option<i64>, Option<i64>, usize) {
    (
        sim.unsplit_fen("P1"),
        sim.order_count("P1"),
        sim.unsplit_fen("T1"),
        sim.refunded_fen("P1"),
        sim.return_count_for(SUB, "S1", SHOP),
    )
}

/// The last call carried (provider, sub_mchid).
fn last_carried(sim: &WechatSim) -> (Option<String>, Option<String>) {
    let last = sim.calls().pop().expect("call");
    (last.sp_mchid, last.sub_mchid)
}

fn carried(sp_mchid: &str, sub_mchid: Option<&str>) -> (Option<String>, Option<String>) {
    (Some(sp_mchid.to_string()), sub_mchid.map(str::to_string))
}

#[tokio::test]
async fn partner_split_with_its_sub_mchid_works() {
    let (sim, _direct, sp, _q) = partner().await;
    assert!(sim.is_receiver_for(SUB, "MERCHANT_ID", SHOP));
    assert!(!sim.is_receiver_for(SUB_2, "MERCHANT_ID", SHOP));
    assert!(
        !sim.is_receiver("MERCHANT_ID", SHOP),
        "not the direct merchant's"
    );
    assert_eq!(
        (sim.transaction_mchid("P1"), sim.transaction_sp_mchid("P1")),
        (Some(SUB.to_string()), Some(SP_MCHID.to_string()))
    );
    assert_eq!(sim.transaction_sp_mchid("T1"), None);

    let order = sp
        .post(ORDERS, partner_split("S1", 1_000))
        .await
        .assert_ok();
    assert_eq!(
        (
            &order["sub_mchid"],
            &order["state"],
            &order["transaction_id"]
        ),
        (&json!(SUB), &json!("PROCESSING"), &json!("P1"))
    );
    assert_eq!(last_carried(&sim), carried(SP_MCHID, Some(SUB)));
    assert_eq!(sim.unsplit_fen("P1"), Some(9_000));
    // The same number again answers the order (idempotent), for the same sub-merchant.
    let again = sp
        .post(ORDERS, partner_split("S1", 1_000))
        .await
        .assert_ok();
    assert_eq!(again["order_id"], order["order_id"]);
    assert_eq!(sim.order_count("P1"), 1);

    let queried = sp.get(&partner_query("S1", Some(SUB))).await.assert_ok();
    assert_eq!(
        (&queried["order_id"], &queried["sub_mchid"]),
        (&order["order_id"], &json!(SUB))
    );
    assert_eq!(last_carried(&sim), carried(SP_MCHID, Some(SUB)));
    // Amounts: the partner API takes the transaction id only; sub_mchid may be given.
    let amounts = sp
        .get("/v3/profitsharing/transactions/P1/amounts")
        .await
        .assert_ok();
    assert_eq!(amounts["unsplit_amount"], 9_000);
    assert_eq!(last_carried(&sim), carried(SP_MCHID, None));
    let amounts = sp
        .get(&format!(
            "/v3/profitsharing/transactions/P1/amounts?sub_mchid={SUB}"
        ))
        .await
        .assert_ok();
    assert_eq!(amounts["unsplit_amount"], 9_000);

    sim.complete("P1", "S1", &[]).expect("complete");
    let returned = sp
        .post(
            RETURNS,
            with(return_body("S1", "R1", SHOP, 100), &[("sub_mchid", SUB)]),
        )
        .await
        .assert_ok();
    assert_eq!(
        (&returned["result"], &returned["sub_mchid"]),
        (&json!("SUCCESS"), &json!(SUB))
    );
    assert_eq!(sim.return_count_for(SUB, "S1", SHOP), 1);
    let target = format!("{RETURNS}/R1?sub_mchid={SUB}&out_order_no=S1");
    let queried = sp.get(&target).await.assert_ok();
    assert_eq!(queried["return_id"], returned["return_id"]);
    assert_eq!(last_carried(&sim), carried(SP_MCHID, Some(SUB)));

    let refund = with(
        json!({"transaction_id": "P1", "out_refund_no": "RF1",
            "amount": {"refund": 100, "total": 10_000, "currency": "CNY"}}),
        &[("sub_mchid", SUB)],
    );
    sp.post(REFUNDS, refund).await.assert_ok();
    assert_eq!(sim.refunded_fen("P1"), Some(100));

    let unfreeze = json!({"sub_mchid": SUB, "transaction_id": "P1", "out_order_no": "U1",
        "description": "解冻全部剩余资金"});
    let unfrozen = sp.post(UNFREEZE, unfreeze).await.assert_ok();
    let released = receiver(&unfrozen, SUB);
    assert_eq!(
        (&unfrozen["sub_mchid"], &released["amount"]),
        (&json!(SUB), &json!(8_900))
    );
    assert_eq!(sim.unsplit_fen("P1"), Some(0));

    // The notification names the provider and the sub-merchant, sealed with the provider's
    // APIv3 key.
    let note = sim.notification("P1", "S1", SHOP).expect("notification");
    let outer: Value = serde_json::from_str(&note.body).expect("json");
    let r = &outer["resource"];
    let open = |key: &str| {
        aes_gcm_open(
            key,
            r["nonce"].as_str().expect("nonce"),
            "profitsharing",
            r["ciphertext"].as_str().expect("ciphertext"),
        )
    };
    assert_eq!(open(APIV3_KEY), None, "not with the simulator's key");
    let plain: Value = serde_json::from_str(&open(SP_APIV3_KEY).expect("sp key")).expect("json");
    assert_eq!(
        (
            &plain["sp_mchid"],
            &plain["sub_mchid"],
            &plain["receiver"]["amount"]
        ),
        (&json!(SP_MCHID), &json!(SUB), &json!(1_000))
    );
    assert!(plain.get("mchid").is_none());
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_split_without_its_sub_mchid_is_refused_and_changes_nothing() {
    let (sim, direct, sp, q) = partner().await;
    sim.seed_partner_transaction(SP_Q, SUB_Q, "Q1", 10_000)
        .expect("seed");
    let before = partner_snapshot(&sim);
    let mismatch = |a: Answer| assert_eq!(a.assert_error(400, "INVALID_REQUEST"), MODE_MISMATCH);

    // No sub_mchid: WeChat takes it as the provider's own (direct-mode) request.
    mismatch(
        sp.post(ORDERS, without(partner_split("X1", 100), "sub_mchid"))
            .await,
    );
    assert_eq!(last_carried(&sim), carried(SP_MCHID, None));
    // Another sub-merchant of the same provider.
    let other_sub = with(partner_split("X2", 100), &[("sub_mchid", SUB_2)]);
    mismatch(sp.post(ORDERS, other_sub).await);
    assert_eq!(last_carried(&sim), carried(SP_MCHID, Some(SUB_2)));
    // Another provider's sub-merchant: not signed under this provider.
    let not_ours = with(partner_split("X3", 100), &[("sub_mchid", SUB_Q)]);
    let a = sp.post(ORDERS, not_ours).await;
    assert_eq!(a.assert_error(403, "NO_AUTH"), "非服务商下的签约子商户");
    // Another provider with its own sub-merchant on this provider's transaction.
    let other_provider = with(
        partner_split("X4", 100),
        &[("sub_mchid", SUB_Q), ("appid", APPID_B)],
    );
    mismatch(q.post(ORDERS, other_provider).await);
    // A direct merchant on the partner transaction, with or without a sub_mchid.
    let direct_body = with(partner_split("X5", 100), &[("appid", APPID)]);
    let a = direct.post(ORDERS, direct_body.clone()).await;
    assert_eq!(
        a.assert_error(400, "PARAM_ERROR"),
        "普通商户不允许传sub_mch_id"
    );
    mismatch(direct.post(ORDERS, without(direct_body, "sub_mchid")).await);
    assert_eq!(last_carried(&sim), (None, None));
    // The provider (any sub-merchant) on a direct transaction.
    let on_direct = with(partner_split("X6", 100), &[("transaction_id", "T1")]);
    mismatch(sp.post(ORDERS, on_direct).await);
    // The same for unfreeze.
    let unfreeze = json!({"transaction_id": "P1", "out_order_no": "U9", "description": "解冻"});
    mismatch(sp.post(UNFREEZE, unfreeze.clone()).await);
    mismatch(
        sp.post(UNFREEZE, with(unfreeze, &[("sub_mchid", SUB_2)]))
            .await,
    );

    assert_eq!(partner_snapshot(&sim), before, "nothing changed");
    assert_eq!(
        (sim.unsplit_fen("Q1"), sim.order_count("Q1")),
        (Some(10_000), 0)
    );
    // The refused numbers were not remembered: the right call with one of them works.
    sp.post(ORDERS, partner_split("X1", 100)).await.assert_ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_split_above_the_max_ratio_is_refused_and_changes_nothing() {
    let (sim, _direct, sp, _q) = partner().await;
    assert_eq!(sim.max_ratio(SP_MCHID, SUB), Some(DEFAULT_MAX_RATIO));
    // 30% of 100.00 is 30.00 for others, in any number of orders.
    sp.post(ORDERS, partner_split("M1", 2_000))
        .await
        .assert_ok();
    let before = partner_snapshot(&sim);
    let over = sp.post(ORDERS, partner_split("M2", 1_001)).await;
    assert_eq!(
        over.assert_error(400, "INVALID_REQUEST"),
        "分账金额超出最大分账比例"
    );
    assert_eq!(partner_snapshot(&sim), before, "nothing changed");
    sp.post(ORDERS, partner_split("M2", 1_000))
        .await
        .assert_ok();
    assert_eq!(sim.unsplit_fen("P1"), Some(7_000));

    // What goes to the sub-merchant itself is not limited.
    let add_self = json!({"appid": SP_APPID, "sub_mchid": SUB, "type": "MERCHANT_ID",
        "account": SUB, "relation_type": "HEADQUARTER",
        "name": oaep_encrypt(&keys().wechat_public, "特约商户", &OAEP_SHA1_MGF1SHA1)});
    sp.post(ADD, add_self).await.assert_ok();
    let to_self = with(
        order_body("P1", "M3", &[("MERCHANT_ID", SUB, 500)]),
        &[("appid", SP_APPID), ("sub_mchid", SUB)],
    );
    sp.post(ORDERS, to_self).await.assert_ok();
    let over = sp.post(ORDERS, partner_split("M4", 1)).await;
    over.assert_error(400, "INVALID_REQUEST");

    // A CLOSED transfer gives its share back; a higher ratio allows more.
    sim.complete(
        "P1",
        "M2",
        &[(
            SHOP.to_string(),
            Outcome::Closed {
                fail_reason: "NO_RELATION".into(),
            },
        )],
    )
    .expect("complete");
    sp.post(ORDERS, partner_split("M4", 1_000))
        .await
        .assert_ok();
    sp.post(ORDERS, partner_split("M5", 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    sim.set_max_ratio(SP_MCHID, SUB, 5_000).expect("ratio");
    sp.post(ORDERS, partner_split("M5", 2_000))
        .await
        .assert_ok();
    sp.post(ORDERS, partner_split("M6", 1))
        .await
        .assert_error(400, "INVALID_REQUEST");
    // Direct transactions are not held to a provider's ratio.
    let direct = Client::new(&sim);
    direct.post(ADD, add_shop_body()).await.assert_ok();
    let big = order_body("T1", "D1", &[("MERCHANT_ID", SHOP, 9_000)]);
    direct.post(ORDERS, big).await.assert_ok();
    sim.shutdown().await;
}

#[tokio::test]
async fn merchant_configs_answers_the_ratio_and_follows_changes() {
    let (sim, direct, sp, q) = partner().await;
    let target = |sub: &str| format!("/v3/profitsharing/merchant-configs/{sub}");
    let config = sp.get(&target(SUB)).await.assert_ok();
    assert_eq!(config, json!({"sub_mchid": SUB, "max_ratio": 3_000}));
    let last = sim.calls().pop().expect("call");
    assert_eq!(
        (last.op, last.sp_mchid.as_deref(), last.sub_mchid.as_deref()),
        (Some(Op::MerchantConfigs), Some(SP_MCHID), Some(SUB))
    );
    sim.set_max_ratio(SP_MCHID, SUB, 4_500).expect("ratio");
    assert_eq!(sp.get(&target(SUB)).await.assert_ok()["max_ratio"], 4_500);
    let (status, _) = control_call(
        &sim,
        "POST",
        "/__sim/max-ratio",
        json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "max_ratio": 2_000}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(sp.get(&target(SUB)).await.assert_ok()["max_ratio"], 2_000);
    assert_eq!(sim.max_ratio(SP_MCHID, SUB), Some(2_000));

    // Not a sub-merchant signed under the caller: another provider's, unknown, or any for a
    // direct merchant.
    for (client, sub) in [
        (&sp, SUB_Q),
        (&sp, UNKNOWN_MCHID),
        (&q, SUB),
        (&direct, SUB),
    ] {
        let a = client.get(&target(sub)).await;
        assert_eq!(a.assert_error(403, "NO_AUTH"), "非服务商下的签约子商户");
    }
    assert!(matches!(
        sim.set_max_ratio(SP_MCHID, SUB, 10_001),
        Err(SimError::Config(_))
    ));
    assert!(matches!(
        sim.set_max_ratio(SP_MCHID, SUB_Q, 1_000),
        Err(SimError::UnknownSubMerchant(_))
    ));
    assert_eq!(sim.max_ratio(SP_MCHID, SUB), Some(2_000));
    for (body, status) in [
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB_Q, "max_ratio": 1_000}),
            404,
        ),
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "max_ratio": 10_001}),
            400,
        ),
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "max_ratio": -1}),
            400,
        ),
    ] {
        let (got, _) = control_call(&sim, "POST", "/__sim/max-ratio", body.clone()).await;
        assert_eq!(got, status, "{body}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn personal_sub_openid_needs_the_sub_appid() {
    let (sim, direct, sp, _q) = partner().await;
    let add_carol = json!({"appid": SP_APPID, "sub_mchid": SUB, "type": "PERSONAL_SUB_OPENID",
        "account": CAROL_SUB_OPENID, "relation_type": "USER"});
    for (body, message) in [
        (
            add_carol.clone(),
            "接收方类型为 PERSONAL_SUB_OPENID 时 sub_appid 不能为空",
        ),
        (
            with(add_carol.clone(), &[("sub_appid", APPID_B)]),
            "sub_appid 与 sub_mchid 不匹配",
        ),
        (
            with(
                add_carol.clone(),
                &[("sub_appid", SUB_APPID), ("appid", APPID)],
            ),
            "appid 与 mchid 不匹配",
        ),
    ] {
        let a = sp.post(ADD, body.clone()).await;
        assert_eq!(a.assert_error(400, "PARAM_ERROR"), message, "{body}");
    }
    assert!(!sim.is_receiver_for(SUB, "PERSONAL_SUB_OPENID", CAROL_SUB_OPENID));
    let added = sp
        .post(ADD, with(add_carol.clone(), &[("sub_appid", SUB_APPID)]))
        .await
        .assert_ok();
    assert_eq!(added["sub_mchid"], SUB);
    assert!(sim.is_receiver_for(SUB, "PERSONAL_SUB_OPENID", CAROL_SUB_OPENID));
    // A sub-merchant without an appid of its own has no sub openids.
    let for_sub_2 = with(
        add_carol.clone(),
        &[("sub_mchid", SUB_2), ("sub_appid", SUB_APPID)],
    );
    sp.post(ADD, for_sub_2)
        .await
        .assert_error(400, "PARAM_ERROR");
    // Direct merchants have no such receiver type.
    let direct_carol = json!({"appid": APPID, "type": "PERSONAL_SUB_OPENID",
        "account": CAROL_SUB_OPENID, "relation_type": "USER"});
    direct
        .post(ADD, direct_carol)
        .await
        .assert_error(400, "PARAM_ERROR");

    let to_carol = with(
        order_body(
            "P1",
            "C1",
            &[("PERSONAL_SUB_OPENID", CAROL_SUB_OPENID, 100)],
        ),
        &[("sub_mchid", SUB), ("appid", SP_APPID)],
    );
    let before = partner_snapshot(&sim);
    let a = sp.post(ORDERS, to_carol.clone()).await;
    assert_eq!(
        a.assert_error(400, "PARAM_ERROR"),
        "接收方类型为 PERSONAL_SUB_OPENID 时 sub_appid 不能为空"
    );
    let wrong = with(to_carol.clone(), &[("sub_appid", APPID_B)]);
    sp.post(ORDERS, wrong)
        .await
        .assert_error(400, "PARAM_ERROR");
    assert_eq!(partner_snapshot(&sim), before);
    let order = sp
        .post(ORDERS, with(to_carol, &[("sub_appid", SUB_APPID)]))
        .await
        .assert_ok();
    assert_eq!(
        receiver(&order, CAROL_SUB_OPENID)["type"],
        "PERSONAL_SUB_OPENID"
    );

    // PERSONAL_OPENID receivers need the provider's appid.
    let alice = json!({"appid": SP_APPID, "sub_mchid": SUB, "type": "PERSONAL_OPENID",
        "account": ALICE, "relation_type": "USER"});
    sp.post(ADD, alice).await.assert_ok();
    let to_alice = with(
        order_body("P1", "C2", &[("PERSONAL_OPENID", ALICE, 100)]),
        &[("sub_mchid", SUB)],
    );
    let a = sp.post(ORDERS, without(to_alice.clone(), "appid")).await;
    assert_eq!(
        a.assert_error(400, "PARAM_ERROR"),
        "接收方类型为 PERSONAL_OPENID 时 appid 不能为空"
    );
    let a = sp.post(ORDERS, to_alice.clone()).await;
    assert_eq!(a.assert_error(400, "PARAM_ERROR"), "appid 与 mchid 不匹配");
    sp.post(ORDERS, with(to_alice, &[("appid", SP_APPID)]))
        .await
        .assert_ok();
    sim.shutdown().await;
}

/// `partner()` plus split S1 (SHOP 1000) completed and return R1 (100) of it, all for SUB.
async fn partner_done() -> (WechatSim, Client) {
    let (sim, _direct, sp, _q) = partner().await;
    sp.post(ORDERS, partner_split("S1", 1_000))
        .await
        .assert_ok();
    sim.complete("P1", "S1", &[]).expect("complete");
    let r = with(return_body("S1", "R1", SHOP, 100), &[("sub_mchid", SUB)]);
    sp.post(RETURNS, r).await.assert_ok();
    (sim, sp)
}

/// Sends `method target body` as the provider without `sub_mchid`: refused with `status` and
/// `code`, nothing changed, and the call recorded as the provider's without a sub_mchid. Then
/// the same call naming SUB_Q (another provider's sub-merchant) is refused with 403 NO_AUTH.
async fn assert_needs_sub_mchid(
    sim: &WechatSim,
    sp: &Client,
    (method, target, body): (&str, &str, Value),
    (status, code): (u16, &str),
) -> String {
    let before = partner_snapshot(sim);
    let sent = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let answer = sp.send(method, target, &sent).await.expect("send");
    let message = answer.assert_error(status, code);
    assert_eq!(
        partner_snapshot(sim),
        before,
        "{method} {target}: nothing changed"
    );
    assert_eq!(
        last_carried(sim),
        carried(SP_MCHID, None),
        "{method} {target}"
    );
    let (target, sent) = if method == "GET" {
        let joiner = if target.contains('?') { '&' } else { '?' };
        (format!("{target}{joiner}sub_mchid={SUB_Q}"), sent)
    } else {
        (
            target.to_string(),
            with(body, &[("sub_mchid", SUB_Q)]).to_string(),
        )
    };
    let answer = sp.send(method, &target, &sent).await.expect("send");
    answer.assert_error(403, "NO_AUTH");
    assert_eq!(last_carried(sim), carried(SP_MCHID, Some(SUB_Q)));
    assert_eq!(partner_snapshot(sim), before);
    message
}

#[tokio::test]
async fn partner_unfreeze_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let unfreeze = json!({"transaction_id": "P1", "out_order_no": "U1", "description": "解冻"});
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("POST", UNFREEZE, unfreeze.clone()),
        (400, "INVALID_REQUEST"),
    )
    .await;
    assert_eq!(message, MODE_MISMATCH, "as in WxJava #2747");
    sp.post(UNFREEZE, with(unfreeze, &[("sub_mchid", SUB)]))
        .await
        .assert_ok();
    assert_eq!(sim.unsplit_fen("P1"), Some(0));
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_order_query_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("GET", &partner_query("S1", None), Value::Null),
        (400, "PARAM_ERROR"),
    )
    .await;
    assert!(message.contains("sub_mchid"), "{message}");
    sp.get(&partner_query("S1", Some(SUB))).await.assert_ok();
    // Another sub-merchant of the provider has no such order.
    let a = sp.get(&partner_query("S1", Some(SUB_2))).await;
    a.assert_error(404, "RESOURCE_NOT_EXISTS");
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_return_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("POST", RETURNS, return_body("S1", "R2", SHOP, 100)),
        (400, "PARAM_ERROR"),
    )
    .await;
    assert!(message.contains("sub_mchid"), "{message}");
    let for_sub_2 = with(return_body("S1", "R2", SHOP, 100), &[("sub_mchid", SUB_2)]);
    let a = sp.post(RETURNS, for_sub_2).await;
    assert_eq!(a.assert_error(404, "RESOURCE_NOT_EXISTS"), "分账单不存在");
    let r = with(return_body("S1", "R2", SHOP, 100), &[("sub_mchid", SUB)]);
    sp.post(RETURNS, r).await.assert_ok();
    assert_eq!(sim.return_count_for(SUB, "S1", SHOP), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_return_query_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("GET", &return_target("R1", "S1"), Value::Null),
        (400, "PARAM_ERROR"),
    )
    .await;
    assert!(message.contains("sub_mchid"), "{message}");
    let target = format!("{RETURNS}/R1?sub_mchid={SUB}&out_order_no=S1");
    assert_eq!(sp.get(&target).await.assert_ok()["sub_mchid"], SUB);
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_receiver_add_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let alice = json!({"appid": SP_APPID, "type": "PERSONAL_OPENID", "account": ALICE,
        "relation_type": "USER"});
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("POST", ADD, alice.clone()),
        (400, "PARAM_ERROR"),
    )
    .await;
    assert!(message.contains("sub_mchid"), "{message}");
    for mchid in [SP_MCHID, SUB, SUB_Q] {
        assert!(
            !sim.is_receiver_for(mchid, "PERSONAL_OPENID", ALICE),
            "{mchid}"
        );
    }
    // appid is required in partner mode, and must be the provider's.
    let a = sp
        .post(
            ADD,
            with(without(alice.clone(), "appid"), &[("sub_mchid", SUB)]),
        )
        .await;
    a.assert_error(400, "PARAM_ERROR");
    sp.post(ADD, with(alice, &[("sub_mchid", SUB)]))
        .await
        .assert_ok();
    assert!(sim.is_receiver_for(SUB, "PERSONAL_OPENID", ALICE));
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_receiver_delete_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let delete = json!({"appid": SP_APPID, "type": "MERCHANT_ID", "account": SHOP});
    let message = assert_needs_sub_mchid(
        &sim,
        &sp,
        ("POST", DELETE, delete.clone()),
        (400, "PARAM_ERROR"),
    )
    .await;
    assert!(message.contains("sub_mchid"), "{message}");
    assert!(sim.is_receiver_for(SUB, "MERCHANT_ID", SHOP), "still there");
    let deleted = sp
        .post(DELETE, with(delete, &[("sub_mchid", SUB)]))
        .await
        .assert_ok();
    assert_eq!(deleted["sub_mchid"], SUB);
    assert!(!sim.is_receiver_for(SUB, "MERCHANT_ID", SHOP));
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_refund_needs_sub_mchid() {
    let (sim, sp) = partner_done().await;
    let refund = json!({"transaction_id": "P1", "out_refund_no": "RF1",
        "amount": {"refund": 100, "total": 10_000, "currency": "CNY"}});
    assert_needs_sub_mchid(
        &sim,
        &sp,
        ("POST", REFUNDS, refund.clone()),
        (400, "PARAM_ERROR"),
    )
    .await;
    // Another sub-merchant's transaction is not found, like another merchant's.
    let a = sp
        .post(REFUNDS, with(refund.clone(), &[("sub_mchid", SUB_2)]))
        .await;
    a.assert_error(404, "RESOURCE_NOT_EXISTS");
    sp.post(REFUNDS, with(refund, &[("sub_mchid", SUB)]))
        .await
        .assert_ok();
    assert_eq!(sim.refunded_fen("P1"), Some(100));
    sim.shutdown().await;
}

#[tokio::test]
async fn partner_amounts_of_other_transactions_are_refused() {
    let (sim, direct, sp, q) = partner().await;
    let amounts = |id: &str, sub: Option<&str>| match sub {
        Some(sub) => format!("/v3/profitsharing/transactions/{id}/amounts?sub_mchid={sub}"),
        None => format!("/v3/profitsharing/transactions/{id}/amounts"),
    };
    for (client, target) in [
        (&sp, amounts("T1", None)),
        (&sp, amounts("T1", Some(SUB))),
        (&sp, amounts("P1", Some(SUB_2))),
        (&q, amounts("P1", None)),
        (&direct, amounts("P1", None)),
    ] {
        let a = client.get(&target).await;
        assert_eq!(
            a.assert_error(400, "INVALID_REQUEST"),
            "非本商户的订单不支持查询",
            "{target}"
        );
    }
    let a = direct.get(&amounts("T1", Some(SUB))).await;
    assert_eq!(
        a.assert_error(400, "PARAM_ERROR"),
        "普通商户不允许传sub_mch_id"
    );
    let a = q.get(&amounts("P1", Some(SUB))).await;
    a.assert_error(403, "NO_AUTH");
    sim.shutdown().await;
}

#[tokio::test]
async fn direct_mode_is_unchanged_next_to_providers() {
    let (sim, direct, _sp, _q) = partner().await;
    direct.post(ADD, add_shop_body()).await.assert_ok();
    let order = direct
        .post(ORDERS, shop_split("T1", "D1", APPID, 100))
        .await;
    let order = order.assert_ok();
    assert!(order.get("sub_mchid").is_none());
    assert_eq!(last_carried(&sim), (None, None));
    let last = sim.calls().pop().expect("call");
    assert_eq!(last.mchid.as_deref(), Some(MCHID));
    let queried = direct.get(&query_target("D1", "T1")).await.assert_ok();
    assert!(queried.get("sub_mchid").is_none());
    assert_eq!(sim.unsplit_fen("T1"), Some(9_900));
    let note = sim.notification("T1", "D1", SHOP).expect("notification");
    let outer: Value = serde_json::from_str(&note.body).expect("json");
    let r = &outer["resource"];
    let plain = aes_gcm_open(
        APIV3_KEY,
        r["nonce"].as_str().expect("nonce"),
        "profitsharing",
        r["ciphertext"].as_str().expect("ciphertext"),
    )
    .expect("simulator's key");
    let plain: Value = serde_json::from_str(&plain).expect("json");
    assert_eq!(plain["mchid"], MCHID);
    assert!(plain.get("sp_mchid").is_none());
    // A provider number is not a direct merchant: it cannot be seeded as one, and merchant
    // numbers are one namespace.
    assert!(matches!(
        sim.seed_transaction_for(SP_MCHID, "T5", 100),
        Err(SimError::UnknownMerchant(_))
    ));
    let as_merchant = MerchantAccount {
        mchid: SUB.into(),
        ..merchant_b()
    };
    assert!(matches!(
        sim.add_merchant(as_merchant),
        Err(SimError::Config(_))
    ));
    assert!(matches!(
        sim.add_sub_merchant(sub_merchant(SP_MCHID, MCHID, None)),
        Err(SimError::Config(_))
    ));
    assert!(matches!(
        sim.add_sub_merchant(sub_merchant(UNKNOWN_MCHID, "1900000888", None)),
        Err(SimError::UnknownProvider(_))
    ));
    assert!(matches!(
        sim.seed_partner_transaction(SP_MCHID, SUB_Q, "P9", 100),
        Err(SimError::UnknownSubMerchant(_))
    ));
    assert_eq!(sim.sp_mchids(), [SP_MCHID, SP_Q]);
    assert_eq!(sim.mchids(), [MCHID]);
    sim.shutdown().await;
}

#[tokio::test]
async fn control_api_adds_providers_and_sub_merchants() {
    let (sim, _direct) = start().await;
    let provider_json = json!({"sp_mchid": SP_MCHID, "sp_appid": SP_APPID,
        "sp_public_key": sp_keys().1, "sp_serial": SP_SERIAL, "apiv3_key": SP_APIV3_KEY});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/providers", provider_json).await,
        (200, json!({}))
    );
    for bad in [
        json!({"sp_mchid": SP_Q, "sp_appid": SP_APPID, "sp_public_key": "nope",
            "sp_serial": SP_SERIAL}),
        json!({"sp_mchid": MCHID, "sp_appid": SP_APPID, "sp_public_key": sp_keys().1,
            "sp_serial": SP_SERIAL}),
        json!({"sp_mchid": SP_Q, "sp_appid": SP_APPID}),
    ] {
        let (status, _) = control_call(&sim, "POST", "/__sim/providers", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    let sub = json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "sub_appid": SUB_APPID});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/sub-merchants", sub)
            .await
            .0,
        200
    );
    for (bad, status) in [
        (json!({"sp_mchid": SP_Q, "sub_mchid": SUB_Q}), 404),
        (json!({"sp_mchid": SP_MCHID, "sub_mchid": MCHID}), 400),
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB_2, "max_ratio": 10_001}),
            400,
        ),
    ] {
        let (got, _) = control_call(&sim, "POST", "/__sim/sub-merchants", bad.clone()).await;
        assert_eq!(got, status, "{bad}");
    }
    assert_eq!(
        control_call(&sim, "GET", "/__sim/providers", Value::Null).await,
        (
            200,
            json!([{"sp_mchid": SP_MCHID, "sp_appid": SP_APPID, "sp_serial": SP_SERIAL,
                "own_apiv3_key": true}])
        )
    );
    assert_eq!(
        control_call(&sim, "GET", "/__sim/sub-merchants", Value::Null).await,
        (
            200,
            json!([{"sub_mchid": SUB, "sp_mchid": SP_MCHID, "sub_appid": SUB_APPID,
                "max_ratio": 3_000}])
        )
    );
    let seed = json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "transaction_id": "P1",
        "amount_fen": 10_000});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/transactions", seed)
            .await
            .0,
        200
    );
    assert_eq!(sim.transaction_sp_mchid("P1").as_deref(), Some(SP_MCHID));
    for (bad, status) in [
        (
            json!({"sp_mchid": SP_MCHID, "transaction_id": "P2", "amount_fen": 1}),
            400,
        ),
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB, "mchid": MCHID,
                "transaction_id": "P2", "amount_fen": 1}),
            400,
        ),
        (
            json!({"sp_mchid": SP_MCHID, "sub_mchid": SUB_2, "transaction_id": "P2",
                "amount_fen": 1}),
            404,
        ),
    ] {
        let (got, _) = control_call(&sim, "POST", "/__sim/transactions", bad.clone()).await;
        assert_eq!(got, status, "{bad}");
    }
    assert_eq!(sim.unsplit_fen("P2"), None);

    // The provider's key signs for its sub-merchant; its returns are looked up by sub_mchid.
    let sp = client_as(&sim, SP_MCHID, &sp_keys().0, SP_SERIAL);
    let add_shop = with(add_shop_body(), &[("appid", SP_APPID), ("sub_mchid", SUB)]);
    sp.post(ADD, add_shop).await.assert_ok();
    sp.post(ORDERS, partner_split("S1", 1_000))
        .await
        .assert_ok();
    sim.complete("P1", "S1", &[]).expect("complete");
    sim.set_balance(SHOP, Some(0));
    let r = with(return_body("S1", "R1", SHOP, 100), &[("sub_mchid", SUB)]);
    assert_eq!(
        sp.post(RETURNS, r).await.assert_ok()["result"],
        "PROCESSING"
    );
    let (status, info) = control_call(
        &sim,
        "GET",
        &format!("/__sim/returns/R1?mchid={SUB}"),
        Value::Null,
    )
    .await;
    assert_eq!((status, &info["result"]), (200, &json!("PROCESSING")));
    let complete = json!({"mchid": SUB, "out_return_no": "R1", "result": "SUCCESS"});
    assert_eq!(
        control_call(&sim, "POST", "/__sim/complete-return", complete)
            .await
            .0,
        200
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn binary_serves_providers_and_sub_merchants() {
    use tokio::process::Command;
    let exe = env!("CARGO_BIN_EXE_wechat-sim");
    let k = keys();
    let providers = json!([{"sp_mchid": SP_MCHID, "sp_appid": SP_APPID,
        "sp_public_key": sp_keys().1, "sp_serial": SP_SERIAL}])
    .to_string();
    let subs = json!([{"sp_mchid": SP_MCHID, "sub_mchid": SUB, "max_ratio": 2_500}]).to_string();
    let command = |providers: &str, subs: &str| {
        let mut command = Command::new(exe);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--mchid",
                MCHID,
                "--appid",
                APPID,
            ])
            .args(["--merchant-public-key", &k.merchant_public])
            .args(["--merchant-serial", SERIAL])
            .args(["--wechat-private-key", &k.wechat_private])
            .args(["--wechat-public-key-id", KEY_ID])
            .args(["--apiv3-key", APIV3_KEY])
            .args(["--providers", providers])
            .args(["--sub-merchants", subs]);
        command
    };
    let (mut child, line) = testing::spawn_until_first_line(&mut command(&providers, &subs))
        .await
        .expect("ready line");
    let addr: SocketAddr = line
        .trim_end()
        .strip_prefix("listening on http://")
        .expect("ready line")
        .parse()
        .expect("addr");
    let sp = Client {
        addr,
        signing: Signing {
            key: sp_keys().0.clone(),
            mchid: SP_MCHID.into(),
            serial: SP_SERIAL.into(),
            ts_offset: 0,
        },
        timeout: Duration::from_secs(5),
    };
    let config = sp
        .get(&format!("/v3/profitsharing/merchant-configs/{SUB}"))
        .await
        .assert_ok();
    assert_eq!(config["max_ratio"], 2_500);
    child.kill().await.expect("kill");

    // A sub-merchant of an unknown provider, or a bad provider, exits with status 2.
    let orphan = json!([{"sp_mchid": SP_Q, "sub_mchid": SUB_Q}]).to_string();
    for (providers, subs) in [(providers.as_str(), orphan.as_str()), ("not json", "[]")] {
        let out = tokio::time::timeout(Duration::from_secs(10), command(providers, subs).output())
            .await
            .expect("exits")
            .expect("output");
        assert_eq!(out.status.code(), Some(2), "{providers} {subs}");
    }
}
