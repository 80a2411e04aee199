//! Alipay's trade bill (`alipay.data.dataservice.bill.downloadurl.query`, `bill_type=trade`):
//! a zip of GBK CSV files, of which the business-detail file (`…_业务明细.csv`) is read: `#`
//! comment lines around one header row and one row per trade or refund, with the trade's
//! royalty in its 分润（元） column. Columns by name, yuan to fen exactly, rows streamed.

use super::csv::{self, Lines};
use super::error::BillError;
use super::rows::{ALL_RECEIVERS, BillKind, BillRow, BillStatus};
use std::io::{BufReader, Read, Seek};

/// The column names, in one place (those public parsers of the 业务明细 file read).
pub mod columns {
    pub const TRADE_NO: &str = "支付宝交易号";
    /// The pay order's `out_trade_no`.
    pub const OUT_TRADE_NO: &str = "商户订单号";
    pub const KIND: &str = "业务类型";
    pub const FINISHED: &str = "完成时间";
    pub const ORDER_AMOUNT: &str = "订单金额（元）";
    /// The trade's royalty. What Alipay counts in it (settles of later days or only those of
    /// the trade's day) is not confirmed: see the reference notes.
    pub const ROYALTY: &str = "分润（元）";
    /// A refund's `out_request_no`; read when the header has it.
    pub const REFUND_NO: &str = "退款批次号/请求号";
    pub const DETAIL: [&str; 6] = [
        TRADE_NO,
        OUT_TRADE_NO,
        KIND,
        FINISHED,
        ORDER_AMOUNT,
        ROYALTY,
    ];
    /// How the business-detail file's name ends (its summary file ends `…_业务明细(汇总).csv`).
    pub const DETAIL_FILE: &str = "_业务明细.csv";
    pub const KIND_TRADE: &str = "交易";
    pub const KIND_REFUND: &str = "退款";
}

use columns::*;

/// What a row of the business-detail file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlipayTradeKind {
    Trade,
    Refund,
    Other(String),
}

/// One row of Alipay's business-detail file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlipayRow {
    pub trade_no: String,
    pub out_trade_no: String,
    pub kind: AlipayTradeKind,
    /// Epoch seconds (the file writes Beijing time).
    pub finished_at: i64,
    /// Negative on a refund row.
    pub order_fen: i64,
    /// 分润（元）; an empty value reads as 0.
    pub royalty_fen: i64,
    pub refund_request_no: Option<String>,
}

impl AlipayRow {
    /// The row as the comparison reads it: a trade's royalty, all its receivers together, keyed
    /// by the trade's number (支付宝交易号: the pay order's channel trade number, which we hold
    /// for every pay order; the merchant's `out_trade_no` is not always ours). `None` for a trade without royalty and for refunds
    /// (returns of royalty on a refund are not compared from this file).
    pub fn royalty_row(&self) -> Option<BillRow> {
        if self.kind != AlipayTradeKind::Trade || self.royalty_fen <= 0 {
            return None;
        }
        Some(BillRow {
            kind: BillKind::Split,
            number: self.trade_no.clone(),
            receiver: ALL_RECEIVERS.to_owned(),
            amount_fen: self.royalty_fen,
            status: BillStatus::Success,
            channel_no: self.trade_no.clone(),
            transaction_id: self.trade_no.clone(),
            payer: String::new(),
            time: self.finished_at,
        })
    }
}

/// What the business-detail file held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlipaySummary {
    pub rows: u64,
    pub trades: u64,
    pub refunds: u64,
    pub royalty_fen: i64,
}

/// Reads the business-detail file of a downloaded trade-bill zip, calling `each` with every
/// row in order. The zip is read from `zip` (its directory sits at its end, hence `Seek`); the
/// CSV inside is decompressed and decoded a line at a time.
pub fn read_alipay_bill<R: Read + Seek>(
    zip: R,
    each: impl FnMut(AlipayRow),
) -> Result<AlipaySummary, BillError> {
    let broken = |e: zip::result::ZipError| BillError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(zip).map_err(broken)?;
    let mut detail = Vec::new();
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(broken)?;
        if file_name(file.name_raw()).ends_with(DETAIL_FILE) {
            detail.push(i);
        }
    }
    let [index] = detail[..] else {
        return Err(BillError::DetailFile {
            suffix: DETAIL_FILE,
            found: detail.len(),
        });
    };
    let file = archive.by_index(index).map_err(broken)?;
    parse(
        &mut Lines::new(BufReader::with_capacity(64 * 1024, file)),
        each,
    )
}

/// A name in the zip: UTF-8 when it is, else GBK (Alipay's zips do not flag UTF-8 names).
fn file_name(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(name) => name.to_owned(),
        Err(_) => encoding_rs::GBK
            .decode_without_bom_handling(raw)
            .0
            .into_owned(),
    }
}

/// The next line that is neither blank nor a `#` comment, decoded from GBK, with its number.
fn next_line<R: std::io::BufRead>(
    lines: &mut Lines<R>,
) -> Result<Option<(String, u64)>, BillError> {
    while lines.advance_past_blanks()? {
        let bytes = lines.current();
        if bytes.trim_ascii_start().starts_with(b"#") {
            continue;
        }
        let text = encoding_rs::GBK
            .decode_without_bom_handling_and_without_replacement(bytes)
            .ok_or(BillError::Encoding {
                line: lines.line,
                encoding: "GBK",
            })?;
        return Ok(Some((text.into_owned(), lines.line)));
    }
    Ok(None)
}

fn parse<R: std::io::BufRead>(
    lines: &mut Lines<R>,
    mut each: impl FnMut(AlipayRow),
) -> Result<AlipaySummary, BillError> {
    let mut cells = Vec::with_capacity(32);
    let (header, number) = next_line(lines)?.ok_or(BillError::NoHeader { section: "detail" })?;
    csv::split_into(&header, number, &mut cells)?;
    let at = csv::locate(&cells, DETAIL, "detail")?;
    let refund_at = cells.iter().position(|c| c == REFUND_NO);
    let width = cells.len();
    let mut summary = AlipaySummary::default();
    while let Some((line, number)) = next_line(lines)? {
        csv::split_into(&line, number, &mut cells)?;
        csv::check_width(&cells, width, number)?;
        let value = |i: usize| csv::cell(&cells, at[i]);
        let kind = match value(2) {
            KIND_TRADE => AlipayTradeKind::Trade,
            KIND_REFUND => AlipayTradeKind::Refund,
            other => AlipayTradeKind::Other(other.to_owned()),
        };
        let royalty = match value(5) {
            "" => 0,
            text => csv::fen(text, number, ROYALTY)?,
        };
        let row = AlipayRow {
            trade_no: csv::text(value(0), number, TRADE_NO)?,
            out_trade_no: value(1).to_owned(),
            finished_at: csv::time(value(3), number, FINISHED)?,
            order_fen: csv::fen(value(4), number, ORDER_AMOUNT)?,
            royalty_fen: royalty,
            refund_request_no: refund_at
                .map(|i| csv::cell(&cells, i).to_owned())
                .filter(|r| !r.is_empty()),
            kind,
        };
        summary.rows += 1;
        match row.kind {
            AlipayTradeKind::Trade => summary.trades += 1,
            AlipayTradeKind::Refund => summary.refunds += 1,
            AlipayTradeKind::Other(_) => {}
        }
        summary.royalty_fen = summary.royalty_fen.saturating_add(row.royalty_fen);
        each(row);
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_names_read_as_utf8_or_gbk() {
        let name = "2088_20250601_业务明细.csv";
        let (gbk, _, _) = encoding_rs::GBK.encode(name);
        assert_ne!(&gbk[..], name.as_bytes());
        assert_eq!(file_name(&gbk), name);
        assert_eq!(file_name(name.as_bytes()), name);
        assert!(!file_name("x_业务明细(汇总).csv".as_bytes()).ends_with(DETAIL_FILE));
    }
}
