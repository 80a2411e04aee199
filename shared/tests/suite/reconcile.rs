//! Reconciliation's pure core (issue 24): WeChat Pay's profit-sharing bill and Alipay's trade
//! bill read into typed rows, and compared with our splits and returns into typed
//! discrepancies. Bills are built here as each channel writes them (backticks, yuan, summary,
//! gzip, SHA-1; a zip of GBK CSV files).

use sha1::{Digest, Sha1};
use shared::domain::money::fen_to_yuan;
use shared::reconcile::{
    ALL_RECEIVERS, AlipayTradeKind, BillError, BillKind, BillStatus, Discrepancy, DiscrepancyKind,
    OurRow, OurStatus, Packing, ReconcileError, Statement, alipay_ours, compare, read_alipay_bill,
    read_wechat_bill, reconcile_wechat, wechat_columns,
};
use std::io::Write;

/// The detail header as public parsers read it (SPEC §4.13).
const HEADER: [&str; 13] = [
    "分账时间",
    "分账发起方",
    "分账方",
    "微信订单号",
    "微信分账/回退单号",
    "分账明细单号",
    "商户分账/回退单号",
    "订单金额",
    "分账接收方",
    "金额",
    "业务类型",
    "处理状态",
    "备注",
];

fn row(kind: &str, number: &str, receiver: &str, yuan: &str) -> Vec<String> {
    [
        "2025-06-01 10:00:00",
        "1900000100",
        "1900000109",
        "4200000000000000000000000001",
        "3008450740201411110007820472",
        "36011111111111111111111",
        number,
        "100.00",
        receiver,
        yuan,
        kind,
        "成功",
        "分给商户A",
    ]
    .map(String::from)
    .to_vec()
}

fn split(number: &str, receiver: &str, yuan: &str) -> Vec<String> {
    row("分账", number, receiver, yuan)
}

/// A bill as WeChat writes it: header, backticked rows, then the summary of those rows.
fn bill_with(header: &[&str], rows: &[Vec<String>], summary: Option<[String; 3]>) -> String {
    let fen = |kind: &str| -> i64 {
        let at = header.iter().position(|h| *h == "金额");
        let ty = header.iter().position(|h| *h == "业务类型");
        rows.iter()
            .filter(|r| ty.is_some_and(|t| r[t] == kind))
            .filter_map(|r| at.and_then(|a| shared::domain::money::yuan_to_fen(&r[a])))
            .sum()
    };
    let summary = summary.unwrap_or_else(|| {
        [
            rows.len().to_string(),
            fen_to_yuan(fen("分账")),
            fen_to_yuan(fen("回退")),
        ]
    });
    let mut text = header.join(",") + "\r\n";
    for r in rows {
        let cells: Vec<String> = r.iter().map(|c| format!("`{c}")).collect();
        text += &(cells.join(",") + "\r\n");
    }
    text += "总条数,分账总金额,回退总金额\r\n";
    text += &(summary.map(|c| format!("`{c}")).join(",") + "\r\n");
    text
}

fn bill(rows: &[Vec<String>]) -> String {
    bill_with(&HEADER, rows, None)
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

fn ours(number: &str, receiver: &str, fen: i64, status: OurStatus) -> OurRow {
    OurRow {
        allocation_no: number.into(),
        return_no: None,
        receiver: receiver.into(),
        amount_fen: fen,
        status,
    }
}

fn reconcile(text: &str, side: Vec<OurRow>) -> Result<Statement, ReconcileError> {
    reconcile_wechat(
        text.as_bytes(),
        Packing::Plain,
        &sha1_hex(text.as_bytes()),
        side,
    )
}

fn statement(text: &str, side: Vec<OurRow>) -> Statement {
    reconcile(text, side).unwrap_or_else(|e| panic!("{e}"))
}

fn rows_of(text: &str) -> Result<Vec<shared::reconcile::BillRow>, BillError> {
    let mut rows = Vec::new();
    read_wechat_bill(
        text.as_bytes(),
        Packing::Plain,
        &sha1_hex(text.as_bytes()),
        |r| rows.push(r),
    )?;
    Ok(rows)
}

/// A day with a split to two receivers and a return, as both sides record it.
fn day() -> (String, Vec<OurRow>) {
    let text = bill(&[
        split("A2506011000001", "1900000201", "0.01"),
        split("A2506011000001", "1900000202", "100"),
        row("回退", "R2506011000001", "1900000201", "0.01"),
    ]);
    let mut side = vec![
        ours("A2506011000001", "1900000201", 1, OurStatus::Success),
        ours("A2506011000001", "1900000202", 10_000, OurStatus::Success),
    ];
    side.push(OurRow {
        return_no: Some("R2506011000001".into()),
        ..ours("A2506011000001", "1900000201", 1, OurStatus::Success)
    });
    (text, side)
}

#[test]
fn identical_sides_give_zero_discrepancies() {
    let (text, side) = day();
    let s = statement(&text, side);
    assert!(s.is_consistent(), "{:?}", s.discrepancies);
    assert_eq!((s.ours.splits, s.ours.split_fen), (2, 10_001));
    assert_eq!((s.ours.returns, s.ours.return_fen), (1, 1));
    assert_eq!(s.ours, s.channel, "the two sides' totals agree");
}

#[test]
fn each_discrepancy_is_found_and_typed() {
    let text = bill(&[
        split("A1", "r1", "1.00"),
        split("A2", "r1", "2.00"),
        split("A3", "r1", "3.00"),
        split("OUTSIDE", "r9", "9.00"),
    ]);
    let side = vec![
        ours("A1", "r1", 100, OurStatus::Success),
        ours("A2", "r1", 201, OurStatus::Success),
        ours("A3", "r1", 300, OurStatus::Processing),
        ours("A4", "r1", 400, OurStatus::Success),
    ];
    let s = statement(&text, side);
    let kinds: Vec<_> = s.discrepancies.iter().map(Discrepancy::kind).collect();
    assert_eq!(
        kinds,
        [
            DiscrepancyKind::AmountMismatch,
            DiscrepancyKind::StatusMismatch,
            DiscrepancyKind::MissingHere,
            DiscrepancyKind::MissingAtChannel,
        ]
    );
    let codes: Vec<_> = kinds.iter().map(|k| k.code()).collect();
    assert_eq!(
        codes,
        [
            "amount_mismatch",
            "status_mismatch",
            "missing_here",
            "missing_at_channel"
        ]
    );
    match &s.discrepancies[..] {
        [
            Discrepancy::AmountMismatch {
                ours: a,
                channel: ca,
            },
            Discrepancy::StatusMismatch { ours: b, .. },
            Discrepancy::MissingHere { channel: c },
            Discrepancy::MissingAtChannel { ours: d },
        ] => {
            assert_eq!((a.amount_fen, ca.amount_fen), (201, 200));
            assert_eq!(b.status, OurStatus::Processing);
            assert_eq!((c.number.as_str(), c.amount_fen), ("OUTSIDE", 900));
            assert_eq!(d.allocation_no, "A4");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.channel.split_fen, 1_500);
    assert_eq!(s.ours.split_fen, 701, "ours counts successes only");
}

#[test]
fn a_failed_split_absent_from_a_wechat_bill_is_consistent() {
    let (text, mut side) = day();
    side.push(ours("A2506011000002", "1900000203", 500, OurStatus::Failed));
    let s = statement(&text, side.clone());
    assert!(s.is_consistent(), "{:?}", s.discrepancies);
    // but one still processing that the bill lacks is missing there
    side.push(ours(
        "A2506011000003",
        "1900000203",
        500,
        OurStatus::Processing,
    ));
    let s = statement(&text, side.clone());
    assert_eq!(s.count(DiscrepancyKind::MissingAtChannel), 1);
    // and a failed one the bill has is a status mismatch
    side.pop();
    side[0].status = OurStatus::Failed;
    let s = statement(&text, side);
    assert_eq!(s.count(DiscrepancyKind::StatusMismatch), 1);
    assert_eq!(s.discrepancies.len(), 1);
}

#[test]
fn a_header_missing_a_needed_column_is_a_typed_error_naming_it() {
    for column in wechat_columns::DETAIL {
        let header: Vec<&str> = HEADER.iter().copied().filter(|h| *h != column).collect();
        let rows: Vec<Vec<String>> = [split("A1", "r1", "1.00")]
            .iter()
            .map(|r| {
                r.iter()
                    .zip(HEADER)
                    .filter(|(_, h)| *h != column)
                    .map(|(c, _)| c.clone())
                    .collect()
            })
            .collect();
        let text = bill_with(
            &header,
            &rows,
            Some(["1".into(), "1.00".into(), "0.00".into()]),
        );
        match reconcile(&text, vec![ours("A1", "r1", 100, OurStatus::Success)]) {
            Err(ReconcileError::Bill(BillError::MissingColumn { section, column: c })) => {
                assert_eq!((section, c), ("detail", column));
            }
            other => panic!("without {column}: {other:?}"),
        }
    }
    let text = bill(&[split("A1", "r1", "1.00")]).replace("回退总金额", "退款总金额");
    let err = rows_of(&text).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("the summary header has no column 回退总金额")
    );
}

#[test]
fn columns_are_read_by_name_not_position() {
    let (text, side) = day();
    let mut order: Vec<usize> = (0..HEADER.len()).collect();
    order.reverse();
    let shuffle = |cells: &[&str]| {
        order
            .iter()
            .map(|&i| cells[i].to_owned())
            .collect::<Vec<_>>()
    };
    let header = shuffle(&HEADER);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = [
        split("A2506011000001", "1900000201", "0.01"),
        split("A2506011000001", "1900000202", "100"),
        row("回退", "R2506011000001", "1900000201", "0.01"),
    ]
    .iter()
    .map(|r| shuffle(&r.iter().map(String::as_str).collect::<Vec<_>>()))
    .collect();
    let shuffled = bill_with(&header, &rows, None);
    assert_ne!(shuffled, text);
    assert!(statement(&shuffled, side).is_consistent());
}

#[test]
fn a_bad_sha1_is_refused_and_nothing_is_compared() {
    let (text, side) = day();
    let wrong = sha1_hex(b"another file");
    let got = reconcile_wechat(text.as_bytes(), Packing::Plain, &wrong, side.clone());
    assert!(
        matches!(got, Err(ReconcileError::Bill(BillError::HashMismatch { ref expected, .. })) if *expected == wrong),
        "{got:?}"
    );
    for bad in ["", "abc", "zz4f0e7f4d6c2f1c8e8c0b7b0a1d2c3e4f5a6b7c"] {
        let got = reconcile_wechat(text.as_bytes(), Packing::Plain, bad, side.clone());
        assert!(
            matches!(got, Err(ReconcileError::Bill(BillError::BadHash(_)))),
            "{bad}"
        );
    }
    // a download cut short fails on its hash, the "fetch again" error, not as a broken format
    let cut = &text.as_bytes()[..text.len() / 2];
    let got = reconcile_wechat(
        cut,
        Packing::Plain,
        &sha1_hex(text.as_bytes()),
        side.clone(),
    );
    assert!(
        matches!(
            got,
            Err(ReconcileError::Bill(BillError::HashMismatch { .. }))
        ),
        "{got:?}"
    );
    let upper = sha1_hex(text.as_bytes()).to_uppercase();
    assert!(reconcile_wechat(text.as_bytes(), Packing::Plain, &upper, side).is_ok());
}

#[test]
fn a_gzipped_bill_round_trips() {
    let (text, side) = day();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let packed = gz.finish().unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(packed, text.as_bytes());
    // WeChat's hash_value is the digest of the bill itself, gunzipped
    let hash = sha1_hex(text.as_bytes());
    let s = reconcile_wechat(&packed[..], Packing::Gzip, &hash, side.clone());
    let s = s.unwrap_or_else(|e| panic!("{e}"));
    assert!(s.is_consistent());
    assert_eq!(s, statement(&text, side.clone()));
    let of_gzip = sha1_hex(&packed);
    let got = reconcile_wechat(&packed[..], Packing::Gzip, &of_gzip, side.clone());
    assert!(matches!(
        got,
        Err(ReconcileError::Bill(BillError::HashMismatch { .. }))
    ));
    let got = reconcile_wechat(text.as_bytes(), Packing::Gzip, &hash, side);
    assert!(
        matches!(got, Err(ReconcileError::Bill(BillError::Io(_)))),
        "not gzip: {got:?}"
    );
}

#[test]
fn backticks_are_stripped_and_yuan_read_exactly() {
    let text = bill(&[
        split("A1", "r1", "0.01"),
        split("A2", "r1", "100"),
        split("A3", "r1", "0.10"),
        split("A4", "r1", "1"),
        split("A5", "r1", "12345678.99"),
    ]);
    let rows = rows_of(&text).unwrap_or_else(|e| panic!("{e}"));
    let fen: Vec<i64> = rows.iter().map(|r| r.amount_fen).collect();
    assert_eq!(fen, [1, 10_000, 10, 100, 1_234_567_899]);
    let first = &rows[0];
    assert_eq!(first.number, "A1");
    assert_eq!(first.receiver, "r1");
    assert_eq!(first.transaction_id, "4200000000000000000000000001");
    assert_eq!(first.channel_no, "3008450740201411110007820472");
    assert_eq!(first.payer, "1900000109");
    assert_eq!(
        (first.kind.clone(), first.status.clone()),
        (BillKind::Split, BillStatus::Success)
    );
    assert_eq!(
        first.time, 1_748_743_200,
        "2025-06-01 10:00:00 Beijing time"
    );
    // values the 2025-01-15 fix had not yet prefixed read the same
    assert_eq!(rows_of(&text.replace('`', "")).ok(), Some(rows));
    for bad in ["0.001", "1e2", "-1.00", "１.00", "¥1.00", " ", "1.00元"] {
        let text = bill_with(
            &HEADER,
            &[split("A1", "r1", bad)],
            Some(["1".into(), "0.00".into(), "0.00".into()]),
        );
        match rows_of(&text) {
            Err(BillError::BadAmount { column, line, .. }) => {
                assert_eq!((column, line), ("金额", 2))
            }
            other => panic!("{bad}: {other:?}"),
        }
    }
    // a thousands separator is no amount, quoted; unquoted, it makes the row too wide
    let quoted = bill(&[split("A1", "r1", "X")]).replace("`X", "\"1,234.00\"");
    assert!(
        matches!(rows_of(&quoted), Err(BillError::BadAmount { ref value, .. }) if value == "1,234.00"),
        "{:?}",
        rows_of(&quoted)
    );
    let text = bill(&[split("A1", "r1", "1,234.00")]);
    let wide = rows_of(&text);
    assert!(
        matches!(
            wide,
            Err(BillError::RowWidth {
                line: 2,
                expected: 13,
                found: 14
            })
        ),
        "{wide:?}"
    );
}

#[test]
fn a_summary_that_disagrees_with_the_rows_is_refused() {
    let rows = [split("A1", "r1", "1.00"), row("回退", "R1", "r1", "0.50")];
    for (summary, column) in [
        (["3", "1.00", "0.50"], "总条数"),
        (["2", "1.01", "0.50"], "分账总金额"),
        (["2", "1.00", "0.00"], "回退总金额"),
    ] {
        let text = bill_with(&HEADER, &rows, Some(summary.map(String::from)));
        match rows_of(&text) {
            Err(BillError::SummaryMismatch { column: c, .. }) => assert_eq!(c, column),
            other => panic!("{summary:?}: {other:?}"),
        }
    }
    let good = bill(&rows);
    assert!(rows_of(&good).is_ok());
    let no_summary = good.split("总条数").next().unwrap_or_default().to_owned();
    assert!(matches!(
        rows_of(&no_summary),
        Err(BillError::NoSummary { .. })
    ));
    let extra = format!("{good}`1,`2\r\n");
    assert!(matches!(
        rows_of(&extra),
        Err(BillError::AfterSummary { .. })
    ));
    assert!(matches!(rows_of(""), Err(BillError::NoHeader { .. })));
    let empty_day = bill(&[]);
    assert_eq!(rows_of(&empty_day).map(|r| r.len()).ok(), Some(0));
}

/// The business-detail file of an Alipay trade bill, as Alipay writes it (GBK, `#` lines).
const ALIPAY_DETAIL: &str = "#支付宝业务明细查询\r\n#账号：[20880000000000000156]\r\n\
#起始日期：[2025年06月01日 00:00:00]   终止日期：[2025年06月02日 00:00:00]\r\n\
#-----------------------------------------业务明细列表----------------------------------------\r\n\
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注\r\n\
2025060122001400001\t,P0001\t,交易,商品,2025-06-01 09:00:00,2025-06-01 09:00:05,,,,,buyer@example.com,100.00,100.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.60,30.00,\r\n\
2025060122001400002\t,P0002\t,交易,商品,2025-06-01 09:10:00,2025-06-01 09:10:05,,,,,buyer@example.com,0.10,0.10,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,,0.00,0.00,\r\n\
2025060122001400001\t,P0001\t,退款,商品,2025-06-01 11:00:00,2025-06-01 11:00:01,,,,,buyer@example.com,-10.00,-10.00,0.00,0.00,0.00,0.00,0.00,,0.00,0.00,RF0001\t,0.00,-3.00,\r\n\
#-----------------------------------------业务明细列表结束------------------------------------\r\n\
#交易合计：2笔，退款合计：1笔\r\n#导出时间：[2025年06月02日 09:22:13]\r\n";

fn alipay_zip(detail: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let files = [
        ("20880000000000000156_20250601_业务明细.csv", detail),
        (
            "20880000000000000156_20250601_业务明细(汇总).csv",
            "#汇总\r\n门店编号\r\n",
        ),
    ];
    for (name, text) in files {
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(
            !unmappable && std::str::from_utf8(&gbk).is_err(),
            "GBK, not UTF-8"
        );
        zip.start_file(name, opts).unwrap_or_else(|e| panic!("{e}"));
        zip.write_all(&gbk).unwrap_or_else(|e| panic!("{e}"));
    }
    zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner()
}

fn alipay_rows(zip: Vec<u8>) -> Result<Vec<shared::reconcile::AlipayRow>, BillError> {
    let mut rows = Vec::new();
    read_alipay_bill(std::io::Cursor::new(zip), |r| rows.push(r))?;
    Ok(rows)
}

#[test]
fn a_gbk_alipay_zip_is_read_and_its_royalty_compared_per_trade() {
    let zip = alipay_zip(ALIPAY_DETAIL);
    let rows = alipay_rows(zip).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].trade_no, "2025060122001400001", "tabs trimmed");
    assert_eq!(
        (rows[0].out_trade_no.as_str(), rows[0].royalty_fen),
        ("P0001", 3_000)
    );
    assert_eq!((rows[1].order_fen, rows[1].royalty_fen), (10, 0));
    assert_eq!(rows[2].kind, AlipayTradeKind::Refund);
    assert_eq!((rows[2].order_fen, rows[2].royalty_fen), (-1_000, -300));
    assert_eq!(rows[2].refund_request_no.as_deref(), Some("RF0001"));
    let bill: Vec<_> = rows.iter().filter_map(|r| r.royalty_row()).collect();
    assert_eq!(bill.len(), 1, "only a trade with royalty is compared");
    assert_eq!(bill[0].receiver, ALL_RECEIVERS);
    // compared per trade, by the trade's number (the pay order's channel trade number)
    const TRADE: &str = "2025060122001400001";
    assert_eq!(bill[0].number, TRADE);
    let splits = [
        (TRADE, 1_000, OurStatus::Success),
        (TRADE, 2_000, OurStatus::Success),
        (TRADE, 500, OurStatus::Failed),
    ];
    let s = compare(alipay_ours(splits), bill.clone()).unwrap_or_else(|e| panic!("{e}"));
    assert!(s.is_consistent(), "{:?}", s.discrepancies);
    let short = [
        (TRADE, 1_000, OurStatus::Success),
        ("P0002", 5, OurStatus::Success),
    ];
    let s = compare(alipay_ours(short), bill).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<_> = s.discrepancies.iter().map(Discrepancy::kind).collect();
    assert_eq!(
        kinds,
        [
            DiscrepancyKind::AmountMismatch,
            DiscrepancyKind::MissingAtChannel
        ]
    );
}

#[test]
fn an_alipay_bill_without_its_columns_or_detail_file_is_refused() {
    let no_royalty = ALIPAY_DETAIL.replace("分润（元）", "分成");
    match alipay_rows(alipay_zip(&no_royalty)) {
        Err(BillError::MissingColumn { column, .. }) => assert_eq!(column, "分润（元）"),
        other => panic!("{other:?}"),
    }
    let bad_amount = ALIPAY_DETAIL.replace(",30.00,", ",30.001,");
    assert!(matches!(
        alipay_rows(alipay_zip(&bad_amount)),
        Err(BillError::BadAmount { .. })
    ));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("other.csv", zip::write::SimpleFileOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let zip = zip.finish().unwrap_or_else(|e| panic!("{e}")).into_inner();
    assert!(matches!(
        alipay_rows(zip),
        Err(BillError::DetailFile { found: 0, .. })
    ));
    assert!(matches!(
        alipay_rows(b"not a zip".to_vec()),
        Err(BillError::Zip(_))
    ));
}

/// `reconcile` is not a band `bands.rs` lists: it keeps to the pure one it sits in by itself.
#[test]
fn the_reconcile_module_names_only_the_domain() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/reconcile");
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    let mut seen = 0;
    for entry in entries.flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        seen += 1;
        for (i, _) in text.match_indices("crate::") {
            let rest = &text[i + "crate::".len()..];
            assert!(
                rest.starts_with("domain") || rest.starts_with("reconcile"),
                "{:?} names crate::{}",
                entry.path(),
                rest.chars().take(20).collect::<String>()
            );
        }
        for banned in ["aws_", "lambda_", "hyper", "rustls", "tokio"] {
            assert!(!text.contains(banned), "{:?} uses {banned}", entry.path());
        }
    }
    assert!(seen >= 5, "the sources were read");
}
