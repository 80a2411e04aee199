//! A day's reconciliation as it is kept and shown (SPEC §4.13): the statement of one app,
//! channel account and day, and each discrepancy with what the per-order query said of it.

use super::{Channel, StatementStatus};

/// Counts and sums in fen of one side of a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub splits: u64,
    pub split_fen: i64,
    pub returns: u64,
    pub return_fen: i64,
}

/// A day's statement for one channel account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRecord {
    pub channel: Channel,
    /// `yyyy-MM-dd`, Beijing time.
    pub day: String,
    /// The account reconciled (as stamped on orders: `mchid`, `sp/sub`, an Alipay app id...).
    pub account: String,
    pub status: StatementStatus,
    pub ours: Totals,
    pub theirs: Totals,
    /// Bill rows of a type not compared.
    pub theirs_other: u64,
    pub discrepancies: u64,
    /// Of those, the ones the per-order query did not resolve.
    pub unresolved: u64,
    /// The raw bill's object key in the archive, and its SHA-1.
    pub bill_key: Option<String>,
    pub bill_sha1: Option<String>,
    /// Why a failed day failed (safe to show).
    pub error: Option<String>,
    /// This run's id: its discrepancies are kept under it.
    pub run: String,
    pub reconciled_at: i64,
}

/// One discrepancy as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscrepancyRecord {
    /// `missing_at_channel`, `missing_here`, `amount_mismatch`, `status_mismatch`.
    pub kind: String,
    /// The number the bill carries: our allocationNo, returnNo, or (Alipay) the pay order's.
    pub number: String,
    /// `split` or `return`.
    pub what: String,
    /// The receiver account as stored (masked whenever it is shown); `*` for a whole trade.
    pub receiver: String,
    pub ours_fen: Option<i64>,
    pub ours_status: Option<String>,
    pub channel_fen: Option<i64>,
    pub channel_status: Option<String>,
    /// The channel's number of the split or return, when the bill had the row.
    pub channel_no: Option<String>,
    /// The per-order query agreed with our records: not a discrepancy after all.
    pub resolved: bool,
    /// What the per-order query said (or why it could not be asked).
    pub evidence: String,
}
