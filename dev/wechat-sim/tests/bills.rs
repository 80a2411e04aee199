//! The profit-sharing bill end to end: splits and returns made through the simulator's signed
//! API, the bill asked for and downloaded over HTTP, and read back with the parser the service
//! uses (`shared::reconcile`), which is the contract of the file's format.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lc_rs::rsa::{OAEP_SHA1_MGF1SHA1, OaepPublicEncryptingKey, PublicEncryptingKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use shared::reconcile::{
    BillError, BillKind as Kind, BillRow, BillStatus, DiscrepancyKind, OurRow, OurStatus, Packing,
    ReconcileError, WechatSummary, read_wechat_bill, reconcile_wechat,
};
use sim_kit::{Signer, Verifier, decode_key};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wechat_sim::{
    BILL_URL_LIFE, BillCorruption, BillKind, Op, Outcome, ProviderAccount, SimConfig,
    SubMerchantAccount, WechatSim, generate_keypair,
};

const MCHID: &str = "1900000109";
const APPID: &str = "wx8888888888888888";
const SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD00000001";
const KEY_ID: &str = "PUB_KEY_ID_0114232134912410000000000099";
const SHOP: &str = "1900000200";
const ALICE: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
const SP: &str = "1900000500";
const SP_APPID: &str = "wx5555555555555555";
const SP_SERIAL: &str = "3775B6A45ACD588826D15E583A95F5DD00000002";
const SUB: &str = "1900000601";
const SUB_2: &str = "1900000602";
const BILLS: &str = "/v3/profitsharing/bills";

/// Key pairs (private, public): the merchant's, the provider's, WeChat's.
fn pairs() -> &'static [(String, String); 3] {
    static PAIRS: OnceLock<[(String, String); 3]> = OnceLock::new();
    PAIRS.get_or_init(|| std::array::from_fn(|_| generate_keypair().expect("keys")))
}

/// Who signs: a merchant number, its serial and its private key.
struct Caller {
    mchid: &'static str,
    serial: &'static str,
    key: Signer,
}

impl Caller {
    fn new(mchid: &'static str, serial: &'static str, private: &str) -> Self {
        let der = decode_key("test key", private).expect("b64");
        let key = Signer::from_pkcs8("test key", &der).expect("key");
        Caller { mchid, serial, key }
    }

    /// `Authorization` for one request, over `METHOD\nTARGET\nTIMESTAMP\nNONCE\nBODY\n`.
    fn authorization(&self, method: &str, target: &str, body: &str) -> String {
        static NONCES: AtomicU64 = AtomicU64::new(0);
        let at = OffsetDateTime::now_utc().unix_timestamp();
        let nonce = format!("BILLS{at}N{}", NONCES.fetch_add(1, Ordering::Relaxed));
        let signed = self
            .key
            .sign_b64(format!("{method}\n{target}\n{at}\n{nonce}\n{body}\n").as_bytes());
        let fields = [
            ("mchid", self.mchid.to_string()),
            ("serial_no", self.serial.to_string()),
            ("timestamp", at.to_string()),
            ("nonce_str", nonce),
            ("signature", signed.expect("sign")),
        ];
        let fields: Vec<String> = fields.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        format!("WECHATPAY2-SHA256-RSA2048 {}", fields.join(","))
    }
}

/// An HTTP answer, its body as bytes (a bill may be gzipped).
#[derive(Debug)]
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name));
        found.next().map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A signed 200 JSON answer whose `Wechatpay-Signature` verifies with WeChat's key.
    fn ok(&self) -> Value {
        assert_eq!(
            self.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&self.body)
        );
        let der = decode_key("wechat", &pairs()[2].1).expect("b64");
        let wechat = Verifier::from_spki("wechat", der).expect("key");
        let (ts, nonce, sig) = (
            self.header("Wechatpay-Timestamp").unwrap_or_default(),
            self.header("Wechatpay-Nonce").unwrap_or_default(),
            self.header("Wechatpay-Signature").unwrap_or_default(),
        );
        let body = String::from_utf8_lossy(&self.body);
        let message = format!("{ts}\n{nonce}\n{body}\n");
        assert!(
            wechat.verify_b64(message.as_bytes(), sig),
            "signed: {self:?}"
        );
        self.json()
    }

    /// An error answer: (status, code, message).
    fn error(&self) -> (u16, String, String) {
        let v = self.json();
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        (self.status, text("code"), text("message"))
    }
}

/// One request over a fresh connection; signed by `caller` when given.
async fn send(
    addr: SocketAddr,
    caller: Option<&Caller>,
    method: &str,
    target: &str,
    body: &str,
) -> Got {
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: bills-test/1\r\n\
         Accept: application/json\r\nContent-Type: application/json\r\nWechatpay-Serial: {KEY_ID}\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if let Some(caller) = caller {
        let auth = caller.authorization(method, target, body);
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(format!("{head}\r\n{body}").as_bytes())
        .await
        .expect("send");
    let mut raw = Vec::new();
    let read = stream.read_to_end(&mut raw);
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("in time")
        .expect("read");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok());
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Got {
        status: status.expect("status"),
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// A receiver name sealed for WeChat: RSA-OAEP (SHA-1) under its public key.
fn sealed(name: &str) -> String {
    let der = decode_key("wechat", &pairs()[2].1).expect("b64");
    let public = PublicEncryptingKey::from_der(&der).expect("spki");
    let oaep = OaepPublicEncryptingKey::new(public).expect("oaep");
    let mut out = vec![0; oaep.ciphertext_size()];
    STANDARD.encode(
        oaep.encrypt(&OAEP_SHA1_MGF1SHA1, name.as_bytes(), &mut out, None)
            .expect("seal"),
    )
}

struct World {
    sim: WechatSim,
    direct: Caller,
}

impl World {
    async fn post(&self, caller: &Caller, path: &str, body: Value) -> Value {
        send(
            self.sim.local_addr(),
            Some(caller),
            "POST",
            path,
            &body.to_string(),
        )
        .await
        .ok()
    }

    async fn get(&self, caller: &Caller, target: &str) -> Got {
        send(self.sim.local_addr(), Some(caller), "GET", target, "").await
    }

    /// A split of `rows` (receiver, fen) on a transaction, answered 200.
    async fn split(
        &self,
        caller: &Caller,
        extra: Value,
        transaction: &str,
        no: &str,
        rows: &[(&str, i64)],
    ) {
        let receivers: Vec<Value> = rows
            .iter()
            .map(|(account, fen)| {
                let kind = if account.starts_with('o') { "PERSONAL_OPENID" } else { "MERCHANT_ID" };
                json!({"type": kind, "account": account, "amount": fen, "description": "分给合作方, 含逗号"})
            })
            .collect();
        let mut body = json!({"transaction_id": transaction, "out_order_no": no,
            "receivers": receivers, "unfreeze_unsplit": false});
        merge(&mut body, extra);
        self.post(caller, "/v3/profitsharing/orders", body).await;
    }

    /// The bill of `query` (after `?`): its `hash_value` and the downloaded bytes.
    async fn bill(&self, caller: &Caller, query: &str) -> (String, Vec<u8>) {
        let answer = self.get(caller, &format!("{BILLS}?{query}")).await.ok();
        assert_eq!(answer["hash_type"], "SHA1", "{answer}");
        let file = self.download(caller, &answer).await;
        assert_eq!(
            file.status,
            200,
            "{:?}",
            String::from_utf8_lossy(&file.body)
        );
        let hash = answer["hash_value"].as_str().expect("hash").to_string();
        (hash, file.body)
    }

    async fn download(&self, caller: &Caller, answer: &Value) -> Got {
        let url = answer["download_url"].as_str().expect("download_url");
        let origin = format!("http://{}", self.sim.local_addr());
        let target = url.strip_prefix(&origin).expect("a URL on the simulator");
        self.get(caller, target).await
    }

    /// The Beijing date a split's receivers finished on, from the order query.
    async fn date_of(&self, no: &str, transaction: &str) -> String {
        let target = format!("/v3/profitsharing/orders/{no}?transaction_id={transaction}");
        let order = self.get(&self.direct, &target).await.ok();
        let time = order["receivers"][0]["finish_time"]
            .as_str()
            .expect("finish_time");
        time[..10].to_string()
    }
}

/// (op, sub_mchid) of the call before the last: the bill call a download followed.
fn bill_call(sim: &WechatSim) -> Option<(Option<Op>, Option<String>)> {
    let calls = sim.calls();
    let call = calls.iter().rev().nth(1)?;
    Some((call.op, call.sub_mchid.clone()))
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
}

async fn world() -> World {
    let [merchant, _, wechat] = pairs();
    let config = SimConfig {
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_public_key: merchant.1.clone(),
        merchant_serial: SERIAL.into(),
        wechat_private_key: wechat.0.clone(),
        wechat_public_key_id: KEY_ID.into(),
        apiv3_key: "k".repeat(32),
    };
    let sim = WechatSim::start(config, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("start");
    let direct = Caller::new(MCHID, SERIAL, &merchant.0);
    World { sim, direct }
}

/// A direct merchant's day: A1 (SHOP 12.34 and ALICE 5.00, both succeeded), A2 (SHOP 3.00
/// succeeded, ALICE closed), A3 still processing, an unfreeze, a return R1 of 2.34 from SHOP
/// that succeeded and R2 that is still processing. Returns the world and the Beijing date.
async fn direct_day() -> (World, String) {
    let w = world().await;
    let shop = json!({"appid": APPID, "type": "MERCHANT_ID", "account": SHOP,
        "name": sealed("示例商户全称有限公司"), "relation_type": "STORE"});
    w.post(&w.direct, "/v3/profitsharing/receivers/add", shop)
        .await;
    let alice = json!({"appid": APPID, "type": "PERSONAL_OPENID", "account": ALICE,
        "relation_type": "PARTNER"});
    w.post(&w.direct, "/v3/profitsharing/receivers/add", alice)
        .await;
    w.sim.seed_transaction("T1", 10_000);
    w.sim.seed_transaction("T2", 5_000);
    let a1: &[(&str, i64)] = &[(SHOP, 1234), (ALICE, 500)];
    let a2: &[(&str, i64)] = &[(SHOP, 300), (ALICE, 200)];
    let a3: &[(&str, i64)] = &[(SHOP, 100)];
    for (transaction, no, rows) in [("T1", "A1", a1), ("T2", "A2", a2), ("T1", "A3", a3)] {
        let appid = json!({"appid": APPID});
        w.split(&w.direct, appid, transaction, no, rows).await;
    }
    w.sim.complete("T1", "A1", &[]).expect("complete");
    let closed = Outcome::Closed {
        fail_reason: "ACCOUNT_ABNORMAL".into(),
    };
    w.sim
        .complete("T2", "A2", &[(ALICE.to_string(), closed)])
        .expect("complete");
    let unfreeze = json!({"transaction_id": "T2", "out_order_no": "U1", "description": "解冻"});
    w.post(&w.direct, "/v3/profitsharing/orders/unfreeze", unfreeze)
        .await;
    let back = |no: &str, fen: i64| {
        json!({"out_order_no": "A1", "out_return_no": no, "return_mchid": SHOP,
            "amount": fen, "description": "用户退款"})
    };
    w.post(
        &w.direct,
        "/v3/profitsharing/return-orders",
        back("R1", 234),
    )
    .await;
    w.sim.set_balance(SHOP, Some(0));
    w.post(
        &w.direct,
        "/v3/profitsharing/return-orders",
        back("R2", 100),
    )
    .await;
    let date = w.date_of("A1", "T1").await;
    (w, date)
}

/// The rows of a bill as (number, receiver, fen, kind), sorted, and its summary.
fn read(
    hash: &str,
    bytes: &[u8],
    packing: Packing,
) -> Result<(Vec<BillRow>, WechatSummary), BillError> {
    let mut rows = Vec::new();
    let summary = read_wechat_bill(bytes, packing, hash, |row| rows.push(row))?;
    Ok((rows, summary))
}

fn keys(rows: &[BillRow]) -> BTreeSet<(String, String, i64, &'static str)> {
    let kind = |k: &Kind| match k {
        Kind::Split => "split",
        Kind::Return => "return",
        Kind::Other(_) => "other",
    };
    rows.iter()
        .map(|r| {
            (
                r.number.clone(),
                r.receiver.clone(),
                r.amount_fen,
                kind(&r.kind),
            )
        })
        .collect()
}

fn key(
    number: &str,
    receiver: &str,
    fen: i64,
    kind: &'static str,
) -> (String, String, i64, &'static str) {
    (number.to_string(), receiver.to_string(), fen, kind)
}

/// What the direct day's bill must hold: the successful split lines and the successful return.
fn direct_rows() -> BTreeSet<(String, String, i64, &'static str)> {
    BTreeSet::from([
        key("A1", SHOP, 1234, "split"),
        key("A1", ALICE, 500, "split"),
        key("A2", SHOP, 300, "split"),
        key("R1", SHOP, 234, "return"),
    ])
}

/// Our side of the direct day, as the service records it.
fn ours() -> Vec<OurRow> {
    let row =
        |allocation: &str, back: Option<&str>, receiver: &str, fen: i64, status: OurStatus| {
            OurRow {
                allocation_no: allocation.into(),
                return_no: back.map(str::to_string),
                receiver: receiver.into(),
                amount_fen: fen,
                status,
            }
        };
    vec![
        row("A1", None, SHOP, 1234, OurStatus::Success),
        row("A1", None, ALICE, 500, OurStatus::Success),
        row("A2", None, SHOP, 300, OurStatus::Success),
        row("A2", None, ALICE, 200, OurStatus::Failed),
        row("A1", Some("R1"), SHOP, 234, OurStatus::Success),
    ]
}

fn discrepancies(hash: &str, bytes: &[u8]) -> Vec<DiscrepancyKind> {
    let statement = reconcile_wechat(bytes, Packing::Plain, hash, ours()).expect("a statement");
    statement.discrepancies.iter().map(|d| d.kind()).collect()
}

#[tokio::test]
async fn a_days_bill_reads_back_through_the_parser_plain_and_gzipped() {
    let (w, date) = direct_day().await;
    let (hash, plain) = w.bill(&w.direct, &format!("bill_date={date}")).await;
    let (rows, summary) = read(&hash, &plain, Packing::Plain).expect("the parser reads the bill");
    assert_eq!(
        keys(&rows),
        direct_rows(),
        "successful splits and returns only"
    );
    assert_eq!(
        (summary.rows, summary.split_fen, summary.return_fen),
        (4, 2034, 234)
    );
    for row in &rows {
        assert_eq!(row.status, BillStatus::Success);
        assert_eq!(row.payer, MCHID, "分账方 of a direct merchant");
        let transaction = if row.number == "A2" { "T2" } else { "T1" };
        assert_eq!(row.transaction_id, transaction);
        assert!(row.channel_no.len() == 28 && row.channel_no.bytes().all(|b| b.is_ascii_digit()));
    }
    let text = String::from_utf8(plain.clone()).expect("UTF-8");
    let header = text.lines().next().expect("header");
    assert_eq!(
        header,
        wechat_sim::BILL_COLUMNS.join(","),
        "the columns in order"
    );
    assert!(
        text.contains(",`12.34,`分账,`成功,\"`分给合作方, 含逗号\""),
        "{text}"
    );
    assert!(
        text.contains("`1900000109,`1900000109,"),
        "发起方 and 分账方 of a direct merchant: {text}"
    );
    assert!(
        text.contains(&format!("\r\n`{date} ")),
        "Beijing time yyyy-MM-dd HH:mm:ss: {text}"
    );
    assert!(
        discrepancies(&hash, &plain).is_empty(),
        "identical sides agree"
    );

    let (gz_hash, gzipped) = w
        .bill(&w.direct, &format!("bill_date={date}&tar_type=GZIP"))
        .await;
    assert_eq!(&gzipped[..2], [0x1f, 0x8b], "a gzip stream");
    assert_eq!(
        gz_hash, hash,
        "the SHA-1 is the bill text's, gzipped or not"
    );
    let (gz_rows, _) = read(&gz_hash, &gzipped, Packing::Gzip).expect("gzipped bill reads");
    assert_eq!(keys(&gz_rows), direct_rows());

    let calls = w.sim.calls();
    let ops: Vec<Option<Op>> = calls.iter().rev().take(2).map(|c| c.op).collect();
    assert_eq!(ops, [Some(Op::BillDownload), Some(Op::Bills)]);
    assert!(
        calls
            .iter()
            .rev()
            .take(2)
            .all(|c| c.verified && c.status == Some(200))
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn the_download_is_signed_by_the_caller_answered_unsigned_and_lives_30_seconds() {
    let (w, date) = direct_day().await;
    let answer = w
        .get(&w.direct, &format!("{BILLS}?bill_date={date}"))
        .await
        .ok();
    let url = answer["download_url"].as_str().expect("url");
    assert!(url.starts_with(&format!(
        "http://{}/v3/billdownload/file?token=",
        w.sim.local_addr()
    )));
    let file = w.download(&w.direct, &answer).await;
    assert_eq!(file.status, 200);
    assert!(
        file.header("Wechatpay-Signature").is_none() && file.header("Wechatpay-Serial").is_none()
    );

    let target = url
        .split_once("/v3/")
        .map(|(_, t)| format!("/v3/{t}"))
        .expect("target");
    let unsigned = send(w.sim.local_addr(), None, "GET", &target, "").await;
    assert_eq!(unsigned.error().0, 401, "the download must be signed");
    assert_eq!(unsigned.error().1, "SIGN_ERROR");
    let unknown = w.get(&w.direct, "/v3/billdownload/file?token=nope").await;
    assert_eq!(unknown.error().1, "PARAM_ERROR");

    w.sim.age_bill_urls(BILL_URL_LIFE - Duration::from_secs(1));
    assert_eq!(
        w.download(&w.direct, &answer).await.status,
        200,
        "29 s old: still served"
    );
    w.sim.age_bill_urls(Duration::from_secs(1));
    let expired = w.download(&w.direct, &answer).await;
    assert_eq!(
        expired.error(),
        (400, "PARAM_ERROR".into(), "下载链接已过期".into())
    );
    let fresh = w
        .get(&w.direct, &format!("{BILLS}?bill_date={date}"))
        .await
        .ok();
    assert_eq!(
        w.download(&w.direct, &fresh).await.status,
        200,
        "a new URL on the next call"
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn bill_dates_are_checked_and_a_quiet_day_has_an_empty_bill() {
    let w = world().await;
    let today = OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    let day = |d: time::Date| d.to_string();
    let refused = [
        (day(today.next_day().expect("tomorrow")), "晚于今天"),
        ("2025-02-30".to_string(), "YYYY-MM-DD"),
        ("2025-1-01".to_string(), "YYYY-MM-DD"),
        (day(today - time::Duration::days(100)), "三个月"),
    ];
    for (date, says) in refused {
        let got = w.get(&w.direct, &format!("{BILLS}?bill_date={date}")).await;
        let (status, code, message) = got.error();
        assert_eq!((status, code.as_str()), (400, "PARAM_ERROR"), "{date}");
        assert!(message.contains(says), "{date}: {message}");
    }
    let missing = w.get(&w.direct, BILLS).await.error();
    assert_eq!((missing.0, missing.1.as_str()), (400, "PARAM_ERROR"));
    let zip = w
        .get(
            &w.direct,
            &format!("{BILLS}?bill_date={today}&tar_type=ZIP"),
        )
        .await;
    assert_eq!(zip.error().1, "PARAM_ERROR");

    let quiet = day(today - time::Duration::days(80));
    let (hash, bytes) = w.bill(&w.direct, &format!("bill_date={quiet}")).await;
    let (rows, summary) = read(&hash, &bytes, Packing::Plain).expect("an empty bill reads");
    assert!(rows.is_empty());
    assert_eq!(summary, WechatSummary::default());
    w.sim.shutdown().await;
}

#[tokio::test]
async fn knobs_corrupt_the_bill_until_cleared() {
    let (w, date) = direct_day().await;
    let query = format!("bill_date={date}");
    let corrupt = |knob: BillCorruption| w.sim.corrupt_bill(MCHID, &date, knob).expect("knob");
    corrupt(BillCorruption::DropRow {
        number: Some("A2".into()),
        receiver: None,
    });
    corrupt(BillCorruption::ChangeAmount {
        number: "A1".into(),
        receiver: Some(ALICE.into()),
        amount_fen: 499,
    });
    corrupt(BillCorruption::AddForeign {
        number: "X9".into(),
        receiver: "1900000999".into(),
        amount_fen: 777,
        kind: BillKind::Split,
        transaction_id: None,
    });
    for _ in 0..2 {
        let (hash, bytes) = w.bill(&w.direct, &query).await;
        let (rows, summary) =
            read(&hash, &bytes, Packing::Plain).expect("a corrupted bill still reads");
        let expected = BTreeSet::from([
            key("A1", SHOP, 1234, "split"),
            key("A1", ALICE, 499, "split"),
            key("R1", SHOP, 234, "return"),
            key("X9", "1900000999", 777, "split"),
        ]);
        assert_eq!(keys(&rows), expected, "the same again on a retry");
        assert_eq!(
            (summary.rows, summary.split_fen),
            (4, 1234 + 499 + 777),
            "the summary follows"
        );
        let mut found = discrepancies(&hash, &bytes);
        found.sort();
        let want = [
            DiscrepancyKind::MissingAtChannel,
            DiscrepancyKind::MissingHere,
            DiscrepancyKind::AmountMismatch,
        ];
        assert_eq!(found, want);
    }
    assert_eq!(w.sim.clear_bill_corruptions(Some(MCHID), Some(&date)), 3);
    let (hash, bytes) = w.bill(&w.direct, &query).await;
    assert!(discrepancies(&hash, &bytes).is_empty(), "cleared");

    corrupt(BillCorruption::BreakHash { times: 1 });
    let (bad, bytes) = w.bill(&w.direct, &query).await;
    assert!(matches!(
        read(&bad, &bytes, Packing::Plain),
        Err(BillError::HashMismatch { .. })
    ));
    let (good, bytes) = w.bill(&w.direct, &query).await;
    assert!(
        read(&good, &bytes, Packing::Plain).is_ok(),
        "the next answer is right again"
    );

    corrupt(BillCorruption::DropColumn {
        column: "分账接收方".into(),
    });
    let (hash, bytes) = w.bill(&w.direct, &query).await;
    let refused = reconcile_wechat(&bytes[..], Packing::Plain, &hash, ours());
    assert!(
        matches!(
            refused,
            Err(ReconcileError::Bill(BillError::MissingColumn {
                column: "分账接收方",
                ..
            }))
        ),
        "{refused:?}"
    );
    w.sim.clear_bill_corruptions(None, None);

    corrupt(BillCorruption::Creating { times: Some(2) });
    for _ in 0..2 {
        let creating = w.get(&w.direct, &format!("{BILLS}?{query}")).await;
        assert_eq!(creating.error().0, 400);
        assert_eq!(creating.error().1, "STATEMENT_CREATING");
    }
    assert_eq!(
        w.get(&w.direct, &format!("{BILLS}?{query}")).await.status,
        200,
        "ready on the third"
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn the_control_api_sets_lists_and_clears_knobs() {
    let (w, date) = direct_day().await;
    let control = |method: &'static str, path: String, body: Value| {
        let addr = w.sim.local_addr();
        async move { send(addr, None, method, &path, &body.to_string()).await }
    };
    let knob = json!({"mchid": MCHID, "bill_date": date, "knob": "change_amount",
        "number": "R1", "amount_fen": 1});
    assert_eq!(
        control("POST", "/__sim/bill-corruptions".into(), knob)
            .await
            .status,
        200
    );
    let creating = json!({"mchid": MCHID, "bill_date": date, "knob": "creating"});
    assert_eq!(
        control("POST", "/__sim/bill-corruptions".into(), creating)
            .await
            .status,
        200
    );
    let unknown = json!({"mchid": "1999999999", "bill_date": date, "knob": "break_hash"});
    assert_eq!(
        control("POST", "/__sim/bill-corruptions".into(), unknown)
            .await
            .status,
        404
    );
    let column =
        json!({"mchid": MCHID, "bill_date": date, "knob": "drop_column", "column": "金额X"});
    assert_eq!(
        control("POST", "/__sim/bill-corruptions".into(), column)
            .await
            .status,
        400
    );
    let listed = control("GET", "/__sim/bill-corruptions".into(), Value::Null)
        .await
        .json();
    assert_eq!(listed[0]["mchid"], MCHID);
    assert_eq!(
        listed[0]["knobs"][1],
        json!({"knob": "creating", "times": null})
    );

    let query = format!("{BILLS}?bill_date={date}");
    assert_eq!(
        w.get(&w.direct, &query).await.error().1,
        "STATEMENT_CREATING",
        "until cleared"
    );
    assert_eq!(
        w.get(&w.direct, &query).await.error().1,
        "STATEMENT_CREATING"
    );
    let path = format!("/__sim/bill-corruptions?mchid={MCHID}&bill_date={date}");
    assert_eq!(
        control("DELETE", path, Value::Null).await.json(),
        json!({"cleared": 2})
    );
    let (hash, bytes) = w.bill(&w.direct, &format!("bill_date={date}")).await;
    assert!(discrepancies(&hash, &bytes).is_empty());

    let answer = w.get(&w.direct, &query).await.ok();
    let age = json!({"seconds": BILL_URL_LIFE.as_secs()});
    assert_eq!(
        control("POST", "/__sim/bill-urls/age".into(), age)
            .await
            .status,
        200
    );
    assert_eq!(
        w.download(&w.direct, &answer).await.error().2,
        "下载链接已过期"
    );
    w.sim.shutdown().await;
}

#[tokio::test]
async fn a_provider_gets_one_sub_merchants_bill_or_all_of_them() {
    let w = world().await;
    let sp_key = &pairs()[1];
    let provider = ProviderAccount {
        sp_mchid: SP.into(),
        sp_appid: SP_APPID.into(),
        sp_public_key: sp_key.1.clone(),
        sp_serial: SP_SERIAL.into(),
        apiv3_key: None,
    };
    w.sim.add_provider(provider).expect("provider");
    let sp = Caller::new(SP, SP_SERIAL, &sp_key.0);
    for (sub, transaction, no, fen) in [(SUB, "P1", "S1", 1000), (SUB_2, "P2", "S2", 700)] {
        let account = SubMerchantAccount {
            sp_mchid: SP.into(),
            sub_mchid: sub.into(),
            sub_appid: None,
            max_ratio: 3000,
        };
        w.sim.add_sub_merchant(account).expect("sub");
        w.sim
            .seed_partner_transaction(SP, sub, transaction, 10_000)
            .expect("seed");
        let alice = json!({"appid": SP_APPID, "sub_mchid": sub, "type": "PERSONAL_OPENID",
            "account": ALICE, "relation_type": "PARTNER"});
        w.post(&sp, "/v3/profitsharing/receivers/add", alice).await;
        let extra = json!({"appid": SP_APPID, "sub_mchid": sub});
        w.split(&sp, extra, transaction, no, &[(ALICE, fen)]).await;
        w.sim.complete(transaction, no, &[]).expect("complete");
    }
    let target = format!("/v3/profitsharing/orders/S1?sub_mchid={SUB}&transaction_id=P1");
    let order = w.get(&sp, &target).await.ok();
    let date = order["receivers"][0]["finish_time"].as_str().expect("time")[..10].to_string();

    let (hash, bytes) = w
        .bill(&sp, &format!("bill_date={date}&sub_mchid={SUB}"))
        .await;
    let (rows, _) = read(&hash, &bytes, Packing::Plain).expect("reads");
    assert_eq!(
        keys(&rows),
        BTreeSet::from([key("S1", ALICE, 1000, "split")])
    );
    assert_eq!(rows[0].payer, SUB, "分账方 is the sub-merchant");
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.contains(&format!("`{SP},`{SUB},`P1,")),
        "分账发起方 is the provider: {text}"
    );
    let carried = bill_call(&w.sim);
    assert_eq!(carried, Some((Some(Op::Bills), Some(SUB.to_string()))));

    let (hash, bytes) = w.bill(&sp, &format!("bill_date={date}")).await;
    let (rows, _) = read(&hash, &bytes, Packing::Plain).expect("reads");
    let payers: BTreeSet<&str> = rows.iter().map(|r| r.payer.as_str()).collect();
    assert_eq!(
        payers,
        BTreeSet::from([SUB, SUB_2]),
        "every sub-merchant without sub_mchid"
    );
    let carried = bill_call(&w.sim);
    assert_eq!(carried, Some((Some(Op::Bills), None)));

    // A sub-merchant's knob reaches its rows in the provider's whole bill too.
    let drop = BillCorruption::DropRow {
        number: None,
        receiver: None,
    };
    w.sim.corrupt_bill(SUB, &date, drop).expect("knob");
    let (hash, bytes) = w.bill(&sp, &format!("bill_date={date}")).await;
    let (rows, _) = read(&hash, &bytes, Packing::Plain).expect("reads");
    assert_eq!(
        keys(&rows),
        BTreeSet::from([key("S2", ALICE, 700, "split")])
    );
    let (hash, bytes) = w
        .bill(&sp, &format!("bill_date={date}&sub_mchid={SUB_2}"))
        .await;
    assert_eq!(
        read(&hash, &bytes, Packing::Plain).expect("reads").0.len(),
        1,
        "not SUB_2's"
    );

    let direct = w
        .get(
            &w.direct,
            &format!("{BILLS}?bill_date={date}&sub_mchid={SUB}"),
        )
        .await;
    assert_eq!(
        direct.error().1,
        "PARAM_ERROR",
        "a direct merchant names no sub_mchid"
    );
    let stranger = w
        .get(
            &sp,
            &format!("{BILLS}?bill_date={date}&sub_mchid=1900000777"),
        )
        .await;
    assert_eq!(
        (stranger.error().0, stranger.error().1.as_str()),
        (403, "NO_AUTH")
    );
    let (hash, bytes) = w.bill(&w.direct, &format!("bill_date={date}")).await;
    assert!(
        read(&hash, &bytes, Packing::Plain)
            .expect("reads")
            .0
            .is_empty(),
        "none of the direct merchant's"
    );
    w.sim.shutdown().await;
}
