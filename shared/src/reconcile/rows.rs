//! The two sides of a reconciliation as typed rows: a channel's bill row (one split or one
//! return, amount in fen) and ours (an allocation's receiver line or a return, as recorded).

/// What a bill row moved: a split to a receiver, or a return from one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BillKind {
    Split,
    Return,
    /// A type this service does not compare (e.g. funds unfrozen to the merchant), kept as
    /// written: counted in the statement, never matched.
    Other(String),
}

/// The channel's processing status of a row. WeChat leaves failed splits out of its bill, so
/// a row is normally a success; anything else is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillStatus {
    Success,
    Other(String),
}

/// One row of a channel's bill, in the channel's own numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRow {
    pub kind: BillKind,
    /// Our number the channel echoes: WeChat `out_order_no` (a split) or `out_return_no` (a
    /// return) (商户分账/回退单号); Alipay the trade's number (支付宝交易号).
    pub number: String,
    /// The receiver account (WeChat 分账接收方); [`ALL_RECEIVERS`] where the bill has one
    /// amount per trade (Alipay's 分润).
    pub receiver: String,
    /// The amount moved, in fen, never negative.
    pub amount_fen: i64,
    pub status: BillStatus,
    /// The channel's number of the split or return (WeChat 微信分账/回退单号; Alipay the trade).
    pub channel_no: String,
    /// The payment it belongs to (WeChat 微信订单号; Alipay 支付宝交易号).
    pub transaction_id: String,
    /// The merchant whose funds were split (WeChat 分账方: in partner mode, the sub-merchant);
    /// empty for Alipay.
    pub payer: String,
    /// When the channel did it, epoch seconds (the bill writes Beijing time).
    pub time: i64,
}

/// The receiver of a bill row that stands for every receiver of one trade.
pub const ALL_RECEIVERS: &str = "*";

/// Where one of our splits or returns stands, as our records say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OurStatus {
    Success,
    Processing,
    Failed,
}

/// One of our splits (an allocation's line for one receiver) or returns, for the day and the
/// channel account reconciled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurRow {
    /// The allocation number (`allocationNo`, the channel's `out_order_no`); for Alipay's
    /// per-trade comparison, the trade's number (the pay order's `outOrderNo`).
    pub allocation_no: String,
    /// The return number (`returnNo`, the channel's `out_return_no`) when this is a return.
    pub return_no: Option<String>,
    pub receiver: String,
    pub amount_fen: i64,
    pub status: OurStatus,
}

impl OurRow {
    /// The number the channel's bill carries for this row.
    pub fn number(&self) -> &str {
        self.return_no.as_deref().unwrap_or(&self.allocation_no)
    }

    pub fn kind(&self) -> BillKind {
        if self.return_no.is_some() {
            BillKind::Return
        } else {
            BillKind::Split
        }
    }
}

/// Sums our successful Alipay splits per trade (by its number), the unit Alipay's trade bill reports (one
/// 分润 amount per trade). Failed and processing splits are left out: the bill has neither.
pub fn alipay_ours<'a>(splits: impl IntoIterator<Item = (&'a str, i64, OurStatus)>) -> Vec<OurRow> {
    let mut by_order: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for (trade_no, fen, status) in splits {
        if status == OurStatus::Success {
            let sum = by_order.entry(trade_no).or_default();
            *sum = sum.saturating_add(fen);
        }
    }
    by_order
        .into_iter()
        .map(|(trade_no, fen)| OurRow {
            allocation_no: trade_no.to_owned(),
            return_no: None,
            receiver: ALL_RECEIVERS.to_owned(),
            amount_fen: fen,
            status: OurStatus::Success,
        })
        .collect()
}
