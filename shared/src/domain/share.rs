//! What a channel is asked and what it answers, in our terms: the three-way outcome of a call
//! (done / definitely refused / unknown), the rows of a split and each receiver's result.

use super::account::{Account, mask_accounts_in};
use super::codes::{Channel, ReceiverType, RelationType};

/// How a channel call ended when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// A verified, definite refusal: the channel did nothing. Safe to mark failed.
    #[error("channel refused: {code} {msg}")]
    Rejected { code: String, msg: String },
    /// The outcome is unknown (timeout, network, 5xx, busy, or an answer we could not verify).
    /// Never mark anything failed on this: sync later with the same request number.
    #[error("channel outcome unknown: {0}")]
    Ambiguous(String),
    /// The channel is not configured in this deployment.
    #[error("channel {0} is not configured")]
    NotConfigured(Channel),
}

impl ChannelError {
    /// The same error with every receiver account of `accounts` masked in the channel's words
    /// (a refusal may quote the account it refuses), before it is stored, logged or answered.
    pub fn masked(self, accounts: &[&str]) -> Self {
        match self {
            Self::Rejected { code, msg } => Self::Rejected {
                code: mask_accounts_in(&code, accounts),
                msg: mask_accounts_in(&msg, accounts),
            },
            Self::Ambiguous(why) => Self::Ambiguous(mask_accounts_in(&why, accounts)),
            other @ Self::NotConfigured(_) => other,
        }
    }
}

/// Whether a channel's refusal only says the trade is still being processed (订单处理中,
/// "processing"): not a verdict, so it is an unknown outcome, asked again later (SPEC §4.10).
pub fn says_still_processing(msg: &str) -> bool {
    msg.contains("处理中")
}

/// One row of a split: who gets how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub account: Account,
    /// Fen, ≥ 1 (zero rows are never sent).
    pub amount: i64,
    pub description: Option<String>,
}

/// What the channel says about one receiver's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShareState {
    Pending,
    Success {
        finish_time: Option<i64>,
    },
    Fail {
        code: String,
        msg: String,
        finish_time: Option<i64>,
    },
}

/// One receiver row of a channel's split query, matched to our details by type + account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareResult {
    pub receiver_type: ReceiverType,
    pub account: String,
    pub state: ShareState,
}

impl ShareResult {
    /// The row with every account of `accounts` masked in the channel's failure text.
    pub fn masked(mut self, accounts: &[&str]) -> Self {
        if let ShareState::Fail { code, msg, .. } = &mut self.state {
            *code = mask_accounts_in(code, accounts);
            *msg = mask_accounts_in(msg, accounts);
        }
        self
    }
}

/// An accepted split request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The channel's number for the split (Alipay `settle_no`), when it gives one.
    pub out_allocation_no: Option<String>,
}

/// How a receiver relates to the merchant (WeChat wants it when adding a receiver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub relation_type: RelationType,
    pub custom: Option<String>,
}

/// What a verified channel notification says: the split it is about (our allocationNo as the
/// channel's request number) and, when it carries them, the receivers' results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelNotice {
    pub allocation_no: String,
    /// `None`: the notification speaks for part of the split only; ask the channel for all.
    pub rows: Option<Vec<ShareResult>>,
}
