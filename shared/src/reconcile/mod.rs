//! Reconciliation with the channels' bills (SPEC §4.13, issue 24), the pure core: reading
//! WeChat Pay's profit-sharing bill and Alipay's trade bill into typed rows (by column name,
//! yuan to fen exactly, streamed), and comparing them with our splits and returns of the day
//! into a statement of typed discrepancies. No AWS, no network: the job that fetches the bills
//! and the one that reads our side call these.
//!
//! Band: beside `domain` and `daxpay` (a channel's file format, as `daxpay` is DaxPay's wire
//! format); it names only `crate::domain` and itself.

mod alipay;
mod compare;
mod csv;
mod error;
mod rows;
mod wechat;

pub use alipay::{AlipayRow, AlipaySummary, AlipayTradeKind, read_alipay_bill};
pub use compare::{
    Discrepancy, DiscrepancyKind, DuplicateOurs, Reconciler, Statement, Totals, compare,
};
pub use error::{BillError, ReconcileError};
pub use rows::{ALL_RECEIVERS, BillKind, BillRow, BillStatus, OurRow, OurStatus, alipay_ours};
pub use wechat::{Packing, WechatSummary, columns as wechat_columns, read_wechat_bill};

/// Reads a WeChat Pay bill and compares it with our side of the day: the day's statement, or
/// why there is none (a refused bill: nothing of it is compared).
pub fn reconcile_wechat<R: std::io::Read>(
    body: R,
    packing: Packing,
    sha1_hex: &str,
    ours: impl IntoIterator<Item = OurRow>,
) -> Result<Statement, ReconcileError> {
    let mut rec = Reconciler::new();
    rec.add_ours(ours)?;
    let mut found = Vec::new();
    read_wechat_bill(body, packing, sha1_hex, |row| {
        found.extend(rec.channel_row(row));
    })?;
    Ok(rec.finish(found))
}

/// Reads an Alipay trade bill (the zip) and compares its royalty per trade with our side of
/// the day ([`alipay_ours`]).
pub fn reconcile_alipay<R: std::io::Read + std::io::Seek>(
    zip: R,
    ours: impl IntoIterator<Item = OurRow>,
) -> Result<Statement, ReconcileError> {
    let mut rec = Reconciler::new();
    rec.add_ours(ours)?;
    let mut found = Vec::new();
    read_alipay_bill(zip, |row| {
        if let Some(row) = row.royalty_row() {
            found.extend(rec.channel_row(row));
        }
    })?;
    Ok(rec.finish(found))
}
