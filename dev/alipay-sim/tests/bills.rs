//! The trade bill end to end: settles and a refund made through the simulator's signed gateway,
//! the bill URL asked for and the zip downloaded over HTTP, and read back with the parser the
//! service uses (`shared::reconcile`), which is the contract of the file's format.

use std::io::{Cursor, Read};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use alipay_sim::{
    AlipaySim, AppAuthorization, BILL_URL_LIFE, BillCorruption, CallRecord, DEFAULT_EXPIRES_IN,
    DEFAULT_RE_EXPIRES_IN, Outcome, SimConfig, generate_keypair,
};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::reconcile::{
    AlipayRow, AlipaySummary, AlipayTradeKind, BillError, DiscrepancyKind, OurStatus, alipay_ours,
    compare, read_alipay_bill,
};
use sim_kit::{Signer, Verifier, decode_key};
use time::OffsetDateTime;
use time::macros::{format_description, offset};
use tokio::net::TcpStream;

const APP_ID: &str = "2021000000000001";
const ALICE: &str = "2088101126708402";
const BOB: &str = "2088101126708403";
const MERCHANT: &str = "2088202200000777";
const TOKEN: &str = "202506BBbills-token-0001";
const METHOD: &str = "alipay.data.dataservice.bill.downloadurl.query";

/// (app private, app public, Alipay private, Alipay public).
fn keys() -> &'static (String, String, String, String) {
    static KEYS: OnceLock<(String, String, String, String)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let (app_private, app_public) = generate_keypair().expect("keys");
        let (alipay_private, alipay_public) = generate_keypair().expect("keys");
        (app_private, app_public, alipay_private, alipay_public)
    })
}

/// One HTTP/1.1 exchange over a fresh connection: status, headers, body bytes.
async fn fetch(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let exchange = async {
        let answer = sender.send_request(request).await.expect("answer");
        let (parts, body) = answer.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        (parts.status, parts.headers, bytes.to_vec())
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .expect("in time")
}

struct Gateway {
    sim: AlipaySim,
    key: Signer,
    alipay: Verifier,
}

impl Gateway {
    async fn start() -> Gateway {
        let (app_private, app_public, alipay_private, alipay_public) = keys();
        let config = SimConfig {
            app_id: APP_ID.into(),
            app_public_key: app_public.clone(),
            alipay_private_key: alipay_private.clone(),
            notify_url: None,
            cert: None,
        };
        let sim = AlipaySim::start(config, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("start");
        let key =
            Signer::from_pkcs8("app", &decode_key("app", app_private).expect("b64")).expect("key");
        let alipay =
            Verifier::from_spki("alipay", decode_key("alipay", alipay_public).expect("b64"))
                .expect("key");
        Gateway { sim, key, alipay }
    }

    /// A signed gateway call (with `app_auth_token` when given): the method's node, whose
    /// signature must verify.
    async fn call(&self, method: &str, biz: Value, token: Option<&str>) -> Value {
        let now = OffsetDateTime::now_utc().to_offset(offset!(+8));
        let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        let mut params: Vec<(&str, String)> = vec![
            ("app_id", APP_ID.into()),
            ("method", method.into()),
            ("charset", "utf-8".into()),
            ("sign_type", "RSA2".into()),
            ("timestamp", now.format(&format).expect("time")),
            ("version", "1.0".into()),
            ("biz_content", biz.to_string()),
        ];
        params.extend(token.map(|t| ("app_auth_token", t.to_string())));
        params.sort();
        let signed: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let sign = self
            .key
            .sign_b64(signed.join("&").as_bytes())
            .expect("sign");
        params.push(("sign", sign));
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        let request = Request::post("/gateway.do")
            .header("Host", "alipay-sim")
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(Full::new(Bytes::from(form)))
            .expect("request");
        let (status, _, body) = fetch(self.sim.local_addr(), request).await;
        assert_eq!(status, StatusCode::OK);
        let body = String::from_utf8(body).expect("UTF-8");
        let node_name = format!("\"{}_response\":", method.replace('.', "_"));
        let start = body
            .find(&node_name)
            .map(|at| at + node_name.len())
            .expect("the node");
        let end = body.rfind(",\"sign\":\"").expect("signed");
        let (node, sign) = (&body[start..end], body[end + 9..].trim_end_matches("\"}"));
        assert!(self.alipay.verify_b64(node.as_bytes(), sign), "{body}");
        serde_json::from_str(node).expect("node")
    }

    async fn get(&self, target: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let request = Request::get(target)
            .header("Host", "bill")
            .body(Full::new(Bytes::new()));
        fetch(self.sim.local_addr(), request.expect("request")).await
    }

    /// The bill URL of a day (`Err`: the node's sub_code).
    async fn bill_url(&self, date: &str, token: Option<&str>) -> Result<String, String> {
        let biz = json!({"bill_type": "trade", "bill_date": date});
        let node = self.call(METHOD, biz, token).await;
        match node["bill_download_url"].as_str() {
            Some(url) if node["code"] == "10000" => Ok(url.to_string()),
            _ => Err(node["sub_code"].as_str().unwrap_or_default().to_string()),
        }
    }

    async fn download(&self, url: &str) -> (StatusCode, HeaderMap, Vec<u8>) {
        let origin = format!("http://{}", self.sim.local_addr());
        self.get(url.strip_prefix(&origin).expect("a URL on the simulator"))
            .await
    }

    /// A day's zip, downloaded.
    async fn bill(&self, date: &str, token: Option<&str>) -> Vec<u8> {
        let url = self.bill_url(date, token).await.expect("a bill URL");
        let (status, _, zip) = self.download(&url).await;
        assert_eq!(status, StatusCode::OK);
        zip
    }

    async fn settle(&self, trade_no: &str, no: &str, rows: &[(&str, &str)], token: Option<&str>) {
        let rows: Vec<Value> = rows
            .iter()
            .map(|(to, yuan)| json!({"trans_in": to, "amount": yuan}))
            .collect();
        let biz = json!({"trade_no": trade_no, "out_request_no": no, "royalty_mode": "async",
            "royalty_parameters": rows});
        assert_eq!(
            self.call("alipay.trade.order.settle", biz, token).await["code"],
            "10000"
        );
    }

    async fn bind(&self, no: &str, token: Option<&str>) {
        let list =
            json!([{"type": "userId", "account": ALICE}, {"type": "userId", "account": BOB}]);
        let biz = json!({"out_request_no": no, "receiver_list": list});
        assert_eq!(
            self.call("alipay.trade.royalty.relation.bind", biz, token)
                .await["code"],
            "10000"
        );
    }

    /// The Beijing date a settle's details were executed on.
    async fn date_of(&self, trade_no: &str, no: &str, token: Option<&str>) -> String {
        let biz = json!({"trade_no": trade_no, "out_request_no": no});
        let node = self
            .call("alipay.trade.order.settle.query", biz, token)
            .await;
        node["royalty_detail_list"][0]["execute_dt"]
            .as_str()
            .expect("executed")[..10]
            .to_string()
    }
}

/// The app's day: T1 (M1) gets ALICE 12.34 and BOB 5.00 in two settles, T2 (M2) ALICE 3.00 with
/// BOB's 2.00 failed, T3 (M3) a settle still pending; T1 is refunded 20.00 taking 2.34 back
/// from ALICE. Returns the gateway and the Beijing date.
async fn app_day() -> (Gateway, String) {
    let g = Gateway::start().await;
    g.bind("B1", None).await;
    for (trade_no, out_trade_no, fen) in [
        ("T1", "M1", 10_000),
        ("T2", "M2", 5_000),
        ("T3", "M3", 3_000),
    ] {
        g.sim.seed_trade_with(trade_no, out_trade_no, fen);
    }
    let complete = |trade_no: &'static str, no: &'static str, failed: Option<&str>| {
        let outcomes: Vec<(String, Outcome)> = failed
            .map(|who| {
                (
                    who.to_string(),
                    Outcome::Fail {
                        code: "RECEIVE_ACCOUNT_ERROR".into(),
                        desc: "x".into(),
                    },
                )
            })
            .into_iter()
            .collect();
        let sim = g.sim.clone();
        async move {
            sim.complete(trade_no, no, &outcomes)
                .await
                .expect("complete")
        }
    };
    g.settle("T1", "A1", &[(ALICE, "12.34")], None).await;
    complete("T1", "A1", None).await;
    g.settle("T1", "A2", &[(BOB, "5")], None).await;
    complete("T1", "A2", None).await;
    g.settle("T2", "A3", &[(ALICE, "3.00"), (BOB, "2.00")], None)
        .await;
    complete("T2", "A3", Some(BOB)).await;
    g.settle("T3", "A4", &[(ALICE, "1.00")], None).await;
    let back = json!({"trade_no": "T1", "refund_amount": "20.00", "out_request_no": "RF1",
        "refund_royalty_parameters": [{"trans_out": ALICE, "amount": "2.34"}]});
    assert_eq!(
        g.call("alipay.trade.refund", back, None).await["code"],
        "10000"
    );
    let date = g.date_of("T1", "A1", None).await;
    (g, date)
}

fn read(zip: &[u8]) -> Result<(Vec<AlipayRow>, AlipaySummary), BillError> {
    let mut rows = Vec::new();
    let summary = read_alipay_bill(Cursor::new(zip), |row| rows.push(row))?;
    Ok((rows, summary))
}

/// (商户订单号, kind, order fen, royalty fen, refund number) of each row, in the file's order.
fn seen(rows: &[AlipayRow]) -> Vec<(String, &'static str, i64, i64, Option<String>)> {
    let kind = |k: &AlipayTradeKind| match k {
        AlipayTradeKind::Trade => "交易",
        AlipayTradeKind::Refund => "退款",
        AlipayTradeKind::Other(_) => "other",
    };
    let each = |r: &AlipayRow| {
        (
            r.out_trade_no.clone(),
            kind(&r.kind),
            r.order_fen,
            r.royalty_fen,
            r.refund_request_no.clone(),
        )
    };
    rows.iter().map(each).collect()
}

fn row(
    no: &str,
    kind: &'static str,
    order: i64,
    royalty: i64,
    refund: Option<&str>,
) -> (String, &'static str, i64, i64, Option<String>) {
    (
        no.to_string(),
        kind,
        order,
        royalty,
        refund.map(str::to_string),
    )
}

/// How our side of the app's day compares with the bill's royalty rows. Our splits are keyed
/// as the parser keys a trade's royalty (its 支付宝交易号 or its 商户订单号: asked of the parser
/// with a probe row, so the test follows the contract).
fn discrepancies(rows: &[AlipayRow]) -> Vec<DiscrepancyKind> {
    let probe = AlipayRow {
        trade_no: "trade".into(),
        out_trade_no: "order".into(),
        kind: AlipayTradeKind::Trade,
        finished_at: 0,
        order_fen: 1,
        royalty_fen: 1,
        refund_request_no: None,
    };
    let by_trade = probe.royalty_row().is_some_and(|r| r.number == "trade");
    let number = |trade_no: &'static str, out_trade_no: &'static str| {
        if by_trade { trade_no } else { out_trade_no }
    };
    let splits = [
        (number("T1", "M1"), 1234, OurStatus::Success),
        (number("T1", "M1"), 500, OurStatus::Success),
        (number("T2", "M2"), 300, OurStatus::Success),
        (number("T2", "M2"), 200, OurStatus::Failed),
    ];
    let statement = compare(
        alipay_ours(splits),
        rows.iter().filter_map(AlipayRow::royalty_row),
    );
    let statement = statement.expect("ours once each");
    let mut kinds: Vec<DiscrepancyKind> =
        statement.discrepancies.iter().map(|d| d.kind()).collect();
    kinds.sort();
    kinds
}

/// The last bill call in the call log.
fn last_bill_call(sim: &AlipaySim) -> CallRecord {
    let calls = sim.calls().into_iter().rev();
    calls
        .into_iter()
        .find(|c| c.method == METHOD)
        .expect("recorded")
}

/// The names in a zip and the detail file decoded from GBK.
fn unzip(zip: &[u8]) -> (Vec<String>, String) {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).expect("a zip");
    let names = archive
        .file_names()
        .map(|n| n.expect("a name").into_owned());
    let names: Vec<String> = names.collect();
    let detail = names
        .iter()
        .find(|n| n.ends_with("_业务明细.csv"))
        .expect("the detail file")
        .clone();
    let mut bytes = Vec::new();
    archive
        .by_name(&detail)
        .expect("entry")
        .read_to_end(&mut bytes)
        .expect("inflate");
    let (text, _, malformed) = encoding_rs::GBK.decode(&bytes);
    assert!(!malformed, "GBK");
    (names, text.into_owned())
}

#[tokio::test]
async fn a_days_trade_bill_reads_back_through_the_parser() {
    let (g, date) = app_day().await;
    let zip = g.bill(&date, None).await;
    let (rows, summary) = read(&zip).expect("the parser reads the bill");
    let want = vec![
        row("M1", "交易", 10_000, 1734, None),
        row("M2", "交易", 5_000, 300, None),
        row("M1", "退款", -2_000, -234, Some("RF1")),
    ];
    let mut got = seen(&rows);
    got.sort_by_key(|r| (r.1 != "交易", r.0.clone()));
    assert_eq!(
        got, want,
        "trades with royalty settled that day, and the refund"
    );
    assert_eq!(
        summary,
        AlipaySummary {
            rows: 3,
            trades: 2,
            refunds: 1,
            royalty_fen: 1800
        }
    );
    assert!(
        rows.iter()
            .all(|r| r.trade_no.starts_with('T') && r.finished_at > 0)
    );
    assert!(discrepancies(&rows).is_empty(), "identical sides agree");

    let (names, detail) = unzip(&zip);
    let ymd = date.replace('-', "");
    let pid = format!("2088{}", &APP_ID[4..]);
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&format!("{pid}_{ymd}_业务明细.csv")),
        "{names:?}"
    );
    assert!(
        names.contains(&format!("{pid}_{ymd}_业务明细(汇总).csv")),
        "{names:?}"
    );
    let lines: Vec<&str> = detail.lines().collect();
    assert_eq!(lines[0], "#支付宝业务明细查询");
    assert_eq!(lines[1], format!("#账号：[{pid}0156]"));
    let dashes = |n: usize| "-".repeat(n);
    assert_eq!(
        lines[3],
        format!("#{}业务明细列表{}", dashes(41), dashes(40))
    );
    assert_eq!(lines[4], alipay_sim::BILL_DETAIL_COLUMNS.join(","));
    assert!(lines[5].starts_with("T1\t,M1\t,交易\t,"), "{detail}");
    assert_eq!(
        lines[8],
        format!("#{}业务明细列表结束{}", dashes(41), dashes(36))
    );
    assert!(
        lines[9].starts_with("#交易合计：2笔，商家实收共150.00元"),
        "{detail}"
    );

    let call = last_bill_call(&g.sim);
    assert_eq!(call.merchant.as_deref(), Some(APP_ID));
    assert_eq!(call.biz_content["bill_date"], date.as_str());
    assert_eq!(call.code.as_deref(), Some("10000"));
    g.sim.shutdown().await;
}

#[tokio::test]
async fn an_authorised_merchants_bill_needs_its_token() {
    let g = Gateway::start().await;
    let grant = AppAuthorization {
        isv_app_id: APP_ID.into(),
        user_id: MERCHANT.into(),
        auth_app_id: None,
        app_auth_token: TOKEN.into(),
        app_refresh_token: "refresh-bills".into(),
        expires_in: DEFAULT_EXPIRES_IN,
        re_expires_in: DEFAULT_RE_EXPIRES_IN,
    };
    g.sim.authorize_merchant(grant).expect("authorised");
    g.bind("B1", Some(TOKEN)).await;
    g.sim
        .seed_merchant_trade_with(APP_ID, MERCHANT, "T9", "MM9", 8_000)
        .expect("seed");
    g.settle("T9", "S9", &[(ALICE, "8.88")], Some(TOKEN)).await;
    g.sim.complete("T9", "S9", &[]).await.expect("complete");
    let date = g.date_of("T9", "S9", Some(TOKEN)).await;

    let zip = g.bill(&date, Some(TOKEN)).await;
    let (rows, _) = read(&zip).expect("reads");
    assert_eq!(seen(&rows), vec![row("MM9", "交易", 8_000, 888, None)]);
    let (names, _) = unzip(&zip);
    assert!(
        names.iter().all(|n| n.starts_with(&format!("{MERCHANT}_"))),
        "the merchant's pid: {names:?}"
    );
    let call = last_bill_call(&g.sim);
    assert_eq!(
        (call.app_auth_token.as_deref(), call.merchant.as_deref()),
        (Some(TOKEN), Some(MERCHANT))
    );

    let own = read(&g.bill(&date, None).await).expect("reads").0;
    assert!(
        own.is_empty(),
        "without the token the app gets its own bill, not the merchant's"
    );
    let biz = json!({"bill_type": "trade", "bill_date": date});
    let refused = g.call(METHOD, biz, Some("not-a-token")).await;
    assert_eq!(
        (refused["code"].as_str(), refused["sub_code"].as_str()),
        (Some("20001"), Some("aop.invalid-app-auth-token"))
    );
    g.sim.shutdown().await;
}

#[tokio::test]
async fn bill_type_and_date_are_checked() {
    let g = Gateway::start().await;
    let today = OffsetDateTime::now_utc().to_offset(offset!(+8)).date();
    let cases = [
        (
            json!({"bill_type": "trade", "bill_date": today.next_day().expect("tomorrow").to_string()}),
            "isv.invalid-arguments",
        ),
        (
            json!({"bill_type": "trade", "bill_date": "2025-02-30"}),
            "isv.invalid-arguments",
        ),
        (
            json!({"bill_type": "trade", "bill_date": "2025-06"}),
            "isv.invalid-arguments",
        ),
        (json!({"bill_type": "trade"}), "isv.invalid-arguments"),
        (
            json!({"bill_type": "signcustomer", "bill_date": today.to_string()}),
            "isv.invalid-arguments",
        ),
        (
            json!({"bill_date": today.to_string()}),
            "isv.invalid-arguments",
        ),
        (
            json!({"bill_type": "trade", "bill_date": (today - time::Duration::days(100)).to_string()}),
            "isp.bill_not_exist",
        ),
    ];
    for (biz, sub_code) in cases {
        let node = g.call(METHOD, biz.clone(), None).await;
        assert_eq!(
            (node["code"].as_str(), node["sub_code"].as_str()),
            (Some("40004"), Some(sub_code)),
            "{biz}"
        );
    }
    let quiet = (today - time::Duration::days(80)).to_string();
    let (rows, summary) = read(&g.bill(&quiet, None).await).expect("an empty bill reads");
    assert!(rows.is_empty());
    assert_eq!(summary, AlipaySummary::default());
    g.sim.shutdown().await;
}

#[tokio::test]
async fn the_url_is_a_plain_get_that_lives_30_seconds() {
    let (g, date) = app_day().await;
    let url = g.bill_url(&date, None).await.expect("url");
    assert!(
        url.starts_with(&format!(
            "http://{}/bill/download?token=",
            g.sim.local_addr()
        )),
        "{url}"
    );
    let (status, headers, _) = g.download(&url).await;
    assert_eq!(status, StatusCode::OK);
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok());
    assert!(
        disposition.is_some_and(|d| d.ends_with(".csv.zip\"")),
        "{disposition:?}"
    );
    g.sim.age_bill_urls(BILL_URL_LIFE - Duration::from_secs(1));
    assert_eq!(
        g.download(&url).await.0,
        StatusCode::OK,
        "29 s old: still served"
    );
    g.sim.age_bill_urls(Duration::from_secs(1));
    let (status, _, body) = g.download(&url).await;
    assert_eq!(
        (status, String::from_utf8_lossy(&body).as_ref()),
        (StatusCode::GONE, "下载链接已过期")
    );
    assert_eq!(
        g.get("/bill/download?token=nope").await.0,
        StatusCode::NOT_FOUND
    );
    g.sim.shutdown().await;
}

#[tokio::test]
async fn knobs_corrupt_the_bill_until_cleared() {
    let (g, date) = app_day().await;
    let corrupt = |knob: BillCorruption| g.sim.corrupt_bill(APP_ID, &date, knob).expect("knob");
    corrupt(BillCorruption::DropRow {
        out_trade_no: "M2".into(),
    });
    corrupt(BillCorruption::ChangeAmount {
        out_trade_no: "M1".into(),
        royalty_fen: 1733,
    });
    corrupt(BillCorruption::AddForeign {
        out_trade_no: "MX".into(),
        trade_no: None,
        royalty_fen: 99,
        order_fen: None,
    });
    for _ in 0..2 {
        let (rows, summary) =
            read(&g.bill(&date, None).await).expect("a corrupted bill still reads");
        let mut got = seen(&rows);
        got.sort_by_key(|r| (r.1 != "交易", r.0.clone()));
        let want = vec![
            row("M1", "交易", 10_000, 1733, None),
            row("MX", "交易", 99, 99, None),
            row("M1", "退款", -2_000, -234, Some("RF1")),
        ];
        assert_eq!(got, want, "the same again on a retry");
        assert_eq!(summary.royalty_fen, 1733 + 99 - 234);
        let want = [
            DiscrepancyKind::MissingAtChannel,
            DiscrepancyKind::MissingHere,
            DiscrepancyKind::AmountMismatch,
        ];
        assert_eq!(discrepancies(&rows), want);
    }
    assert_eq!(g.sim.clear_bill_corruptions(Some(APP_ID), Some(&date)), 3);
    assert!(discrepancies(&read(&g.bill(&date, None).await).expect("reads").0).is_empty());

    corrupt(BillCorruption::DropColumn {
        column: "分润（元）".into(),
    });
    let refused = read(&g.bill(&date, None).await);
    assert!(
        matches!(
            refused,
            Err(BillError::MissingColumn {
                column: "分润（元）",
                ..
            })
        ),
        "{refused:?}"
    );
    g.sim.clear_bill_corruptions(None, None);

    corrupt(BillCorruption::NotReady { times: Some(1) });
    assert_eq!(
        g.bill_url(&date, None).await,
        Err("isp.bill_not_exist".into())
    );
    assert!(g.bill_url(&date, None).await.is_ok(), "ready on the retry");
    g.sim.shutdown().await;
}

#[tokio::test]
async fn the_control_api_sets_lists_and_clears_knobs() {
    let (g, date) = app_day().await;
    let control = |method: &'static str, path: String, body: Value| {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("Host", "control")
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        fetch(g.sim.local_addr(), request)
    };
    let post = |body: Value| control("POST", "/__sim/bill-corruptions".into(), body);
    let knob = json!({"merchant": APP_ID, "bill_date": date, "knob": "not_ready"});
    assert_eq!(post(knob).await.0, StatusCode::OK);
    let change = json!({"merchant": APP_ID, "bill_date": date, "knob": "change_amount",
        "out_trade_no": "M2", "royalty_fen": 1});
    assert_eq!(post(change).await.0, StatusCode::OK);
    let stranger = json!({"merchant": "2088999999999999", "bill_date": date, "knob": "not_ready"});
    assert_eq!(post(stranger).await.0, StatusCode::NOT_FOUND);
    let column =
        json!({"merchant": APP_ID, "bill_date": date, "knob": "drop_column", "column": "x"});
    assert_eq!(post(column).await.0, StatusCode::BAD_REQUEST);
    let (_, _, listed) = control("GET", "/__sim/bill-corruptions".into(), Value::Null).await;
    let listed: Value = serde_json::from_slice(&listed).expect("json");
    assert_eq!(listed[0]["merchant"], APP_ID);
    assert_eq!(
        listed[0]["knobs"][0],
        json!({"knob": "not_ready", "times": null})
    );

    for _ in 0..2 {
        assert_eq!(
            g.bill_url(&date, None).await,
            Err("isp.bill_not_exist".into()),
            "until cleared"
        );
    }
    let path = format!("/__sim/bill-corruptions?merchant={APP_ID}&bill_date={date}");
    let (_, _, cleared) = control("DELETE", path, Value::Null).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&cleared).expect("json"),
        json!({"cleared": 2})
    );
    let url = g.bill_url(&date, None).await.expect("ready");
    let age = json!({"seconds": BILL_URL_LIFE.as_secs()});
    assert_eq!(
        control("POST", "/__sim/bill-urls/age".into(), age).await.0,
        StatusCode::OK
    );
    assert_eq!(g.download(&url).await.0, StatusCode::GONE);
    g.sim.shutdown().await;
}
