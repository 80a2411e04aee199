//! WeChat Pay's profit-sharing bill (`GET /v3/profitsharing/bills`, SPEC §4.13): a detail
//! section (one header row, then one row per split or return, every value prefixed with a
//! backtick, amounts in yuan) then a summary section (one header row, one row). Read streamed,
//! by column name, the summary checked against the rows and the SHA-1 against the channel's.

use super::csv::{self, Lines};
use super::error::BillError;
use super::rows::{BillKind, BillRow, BillStatus};
use sha1::{Digest, Sha1};
use std::io::{BufRead, BufReader, Read};

/// The column names, in one place. The detail columns are those public parsers read (SPEC
/// §4.13: 分账时间, 分账发起方, 分账方, 微信订单号, 微信分账/回退单号, 分账明细单号, 商户分账/回退单号,
/// 订单金额, 分账接收方, 金额, 业务类型, 处理状态, 备注); only those a comparison needs are required.
pub mod columns {
    pub const TIME: &str = "分账时间";
    /// The merchant whose funds were split: the sub-merchant of a provider's bill.
    pub const PAYER: &str = "分账方";
    pub const TRANSACTION_ID: &str = "微信订单号";
    pub const CHANNEL_NO: &str = "微信分账/回退单号";
    /// Our `out_order_no` (a split) or `out_return_no` (a return).
    pub const NUMBER: &str = "商户分账/回退单号";
    pub const RECEIVER: &str = "分账接收方";
    pub const AMOUNT: &str = "金额";
    pub const KIND: &str = "业务类型";
    pub const STATUS: &str = "处理状态";
    /// Every detail column a bill must have, or the day fails naming the first one missing.
    pub const DETAIL: [&str; 9] = [
        TIME,
        PAYER,
        TRANSACTION_ID,
        CHANNEL_NO,
        NUMBER,
        RECEIVER,
        AMOUNT,
        KIND,
        STATUS,
    ];
    /// The summary's row count: the name public parsers stop the detail section at.
    pub const SUMMARY_COUNT: &str = "总条数";
    /// The summary's sums of split and of return rows. Assumed names: WeChat publishes the
    /// summary header only in a sample file not seen here; a real file that names them
    /// otherwise fails the day naming the column, and this is the one place to change.
    pub const SUMMARY_SPLIT_FEN: &str = "分账总金额";
    pub const SUMMARY_RETURN_FEN: &str = "回退总金额";
    pub const SUMMARY: [&str; 3] = [SUMMARY_COUNT, SUMMARY_SPLIT_FEN, SUMMARY_RETURN_FEN];
    /// 业务类型 values (assumed, as written in WeChat's merchant console).
    pub const KINDS_SPLIT: &[&str] = &["分账"];
    pub const KINDS_RETURN: &[&str] = &["回退", "分账回退"];
    /// 处理状态 values read as a success (failed splits are not in the bill at all).
    pub const SUCCESS: &[&str] = &["成功", "分账成功", "回退成功", "处理成功", "SUCCESS"];
}

use columns::*;

/// How the channel sent the file: as is, or gzipped (`tar_type=GZIP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    Plain,
    Gzip,
}

/// What the summary section says, once checked against the detail rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WechatSummary {
    pub rows: u64,
    pub split_fen: i64,
    pub return_fen: i64,
}

/// Reads a downloaded bill, calling `each` with every detail row in order, and returns its
/// checked summary. Memory stays one line whatever the bill's size.
///
/// `sha1_hex` is the download answer's `hash_value`: WeChat's digest of the bill itself (of
/// the gunzipped text when `tar_type=GZIP`, as its API document and its own Java SDK read it).
/// It is checked once the last byte is read, so on any `Err` the rows already given to
/// `each` must be thrown away: they belong to a bill that was refused.
pub fn read_wechat_bill<R: Read>(
    body: R,
    packing: Packing,
    sha1_hex: &str,
    each: impl FnMut(BillRow),
) -> Result<WechatSummary, BillError> {
    let expected = parse_sha1(sha1_hex)?;
    match packing {
        Packing::Plain => read_hashed(Hashing::new(body), &expected, each),
        Packing::Gzip => read_hashed(
            Hashing::new(flate2::read::MultiGzDecoder::new(body)),
            &expected,
            each,
        ),
    }
}

fn parse_sha1(text: &str) -> Result<[u8; 20], BillError> {
    let mut out = [0u8; 20];
    match hex::decode_to_slice(text.trim(), &mut out) {
        Ok(()) => Ok(out),
        Err(_) => Err(BillError::BadHash(text.to_owned())),
    }
}

fn read_hashed<R: Read>(
    hashing: Hashing<R>,
    expected: &[u8; 20],
    each: impl FnMut(BillRow),
) -> Result<WechatSummary, BillError> {
    let mut lines = Lines::new(BufReader::with_capacity(64 * 1024, hashing));
    let parsed = parse(&mut lines, each);
    let mut rest = lines.into_inner();
    // A broken download shows as a parse error too: read what is left so the hash, which
    // says "download again", is what a corrupted file reports.
    // One that cannot be read at all (not gzip, cut mid-stream) says so.
    let drained = std::io::copy(&mut rest, &mut std::io::sink());
    let actual = rest.into_inner().sha.finalize();
    let unreadable = matches!(parsed, Err(BillError::Io(_))) || drained.is_err();
    if !unreadable && actual.as_slice() != expected {
        return Err(BillError::HashMismatch {
            expected: hex::encode(expected),
            actual: hex::encode(actual.as_slice()),
        });
    }
    let summary = parsed?;
    drained?;
    Ok(summary)
}

/// A reader that digests what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha1,
}

impl<R> Hashing<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            sha: Sha1::new(),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let read = buf.get(..n).ok_or(std::io::ErrorKind::InvalidData)?;
        self.sha.update(read);
        Ok(n)
    }
}

/// The next line that is not blank, as UTF-8, with its number.
fn next_line<R: BufRead>(lines: &mut Lines<R>) -> Result<Option<(&str, u64)>, BillError> {
    if !lines.advance_past_blanks()? {
        return Ok(None);
    }
    let line = lines.line;
    match std::str::from_utf8(lines.current()) {
        Ok(text) => Ok(Some((text, line))),
        Err(_) => Err(BillError::Encoding {
            line,
            encoding: "UTF-8",
        }),
    }
}

fn parse<R: BufRead>(
    lines: &mut Lines<R>,
    mut each: impl FnMut(BillRow),
) -> Result<WechatSummary, BillError> {
    let mut cells = Vec::with_capacity(16);
    let (header, number) = next_line(lines)?.ok_or(BillError::NoHeader { section: "detail" })?;
    csv::split_into(header, number, &mut cells)?;
    let at = csv::locate(&cells, DETAIL, "detail")?;
    let width = cells.len();
    let mut detail = WechatSummary::default();
    loop {
        let Some((line, number)) = next_line(lines)? else {
            return Err(BillError::NoSummary {
                column: SUMMARY_COUNT,
            });
        };
        csv::split_into(line, number, &mut cells)?;
        let time_cell = csv::cell(&cells, at[0]);
        if csv::time(time_cell, number, TIME).is_err() && cells.iter().any(|c| c == SUMMARY_COUNT) {
            break;
        }
        csv::check_width(&cells, width, number)?;
        let row = detail_row(&cells, &at, number)?;
        detail.rows += 1;
        match row.kind {
            BillKind::Split => detail.split_fen = detail.split_fen.saturating_add(row.amount_fen),
            BillKind::Return => {
                detail.return_fen = detail.return_fen.saturating_add(row.amount_fen)
            }
            BillKind::Other(_) => {}
        }
        each(row);
    }
    let sat = csv::locate(&cells, SUMMARY, "summary")?;
    let (line, number) = next_line(lines)?.ok_or(BillError::NoSummaryRow)?;
    csv::split_into(line, number, &mut cells)?;
    let count = csv::cell(&cells, sat[0]);
    let rows = count
        .parse::<u64>()
        .ok()
        .filter(|_| count.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| BillError::BadCount {
            line: number,
            column: SUMMARY_COUNT,
            value: count.to_owned(),
        })?;
    let summary = WechatSummary {
        rows,
        split_fen: csv::unsigned_fen(csv::cell(&cells, sat[1]), number, SUMMARY_SPLIT_FEN)?,
        return_fen: csv::unsigned_fen(csv::cell(&cells, sat[2]), number, SUMMARY_RETURN_FEN)?,
    };
    let count = |rows: u64| i64::try_from(rows).unwrap_or(i64::MAX);
    let checks = [
        (SUMMARY_COUNT, count(summary.rows), count(detail.rows)),
        (SUMMARY_SPLIT_FEN, summary.split_fen, detail.split_fen),
        (SUMMARY_RETURN_FEN, summary.return_fen, detail.return_fen),
    ];
    for (column, said, made) in checks {
        if said != made {
            return Err(BillError::SummaryMismatch {
                column,
                summary: said,
                detail: made,
            });
        }
    }
    if let Some((_, line)) = next_line(lines)? {
        return Err(BillError::AfterSummary { line });
    }
    Ok(summary)
}

fn detail_row(cells: &[String], at: &[usize; 9], line: u64) -> Result<BillRow, BillError> {
    let value = |i: usize| csv::cell(cells, at[i]);
    let kind = match value(7) {
        k if KINDS_SPLIT.contains(&k) => BillKind::Split,
        k if KINDS_RETURN.contains(&k) => BillKind::Return,
        k => BillKind::Other(k.to_owned()),
    };
    let status = match value(8) {
        s if SUCCESS.contains(&s) => BillStatus::Success,
        s => BillStatus::Other(s.to_owned()),
    };
    Ok(BillRow {
        time: csv::time(value(0), line, TIME)?,
        payer: value(1).to_owned(),
        transaction_id: value(2).to_owned(),
        channel_no: value(3).to_owned(),
        number: csv::text(value(4), line, NUMBER)?,
        receiver: csv::text(value(5), line, RECEIVER)?,
        amount_fen: csv::unsigned_fen(value(6), line, AMOUNT)?,
        kind,
        status,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Result<(WechatSummary, Vec<BillRow>), BillError> {
        let hash = hex::encode(Sha1::digest(text));
        let mut rows = Vec::new();
        let summary = read_wechat_bill(text, Packing::Plain, &hash, |r| rows.push(r))?;
        Ok((summary, rows))
    }

    #[test]
    fn the_hash_is_forty_hex_digits() {
        assert!(parse_sha1(&"aB".repeat(20)).is_ok());
        for bad in [
            "a".repeat(39),
            "a".repeat(41),
            "g".repeat(40),
            String::new(),
        ] {
            assert!(
                matches!(parse_sha1(&bad), Err(BillError::BadHash(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_bill_with_a_byte_order_mark_and_blank_lines_reads() {
        let header = DETAIL.join(",");
        let text = format!(
            "\u{feff}{header}\n\n`2025-06-01 10:00:00,`1900000109,`42,`30,`A1,`r1,`0.10,`分账,`成功\n\n\
             总条数,分账总金额,回退总金额\n`1,`0.10,`0.00\n\n"
        );
        let (summary, rows) = read(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (summary.rows, summary.split_fen, summary.return_fen),
            (1, 10, 0)
        );
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].number.as_str(), rows[0].amount_fen), ("A1", 10));
    }

    #[test]
    fn a_line_past_the_limit_is_refused_not_buffered() {
        let header = DETAIL.join(",");
        let text = format!("{header}\n{}\n", "x".repeat(csv::MAX_LINE + 1));
        assert!(matches!(
            read(text.as_bytes()),
            Err(BillError::LineTooLong { line: 2, .. })
        ));
        let latin1 = [header.as_bytes(), b"\n\xff\n"].concat();
        assert!(matches!(
            read(&latin1),
            Err(BillError::Encoding { line: 2, .. })
        ));
    }
}
