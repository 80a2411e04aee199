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
    /// The channel has the trade or this very request in hand and gives no verdict yet (订单处理中,
    /// a duplicate request still being processed): an unknown outcome like [`Self::Ambiguous`],
    /// asked again later under the same number, never a refusal.
    #[error("channel still processing: {code} {msg}")]
    Pending { code: String, msg: String },
    /// The request was never sent: it could not be made here (our key could not sign it).
    /// As definite as a refusal: the channel did nothing.
    #[error("not sent: {code} {msg}")]
    Unsent { code: String, msg: String },
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
            Self::Pending { code, msg } => Self::Pending {
                code: mask_accounts_in(&code, accounts),
                msg: mask_accounts_in(&msg, accounts),
            },
            other @ Self::Unsent { .. } => other,
            other @ Self::NotConfigured(_) => other,
        }
    }
}

impl ChannelError {
    /// A channel's business refusal (`code`: WeChat's error code, Alipay's `sub_code`), typed:
    /// one that only says the trade or the request is still being processed (订单处理中), that
    /// the same request is already in hand (重复请求, 请勿重复), or that the channel failed
    /// inside (`SYSTEM_ERROR`, `ACQ.SYSTEM_ERROR`: "call again with the same parameters") is no
    /// verdict, so not a refusal (SPEC §4.10, §9); anything else is a definite refusal.
    pub fn refusal(code: String, msg: String) -> Self {
        // the request itself repeated, not a repeated member inside it (接收方重复 is a refusal)
        let repeated = ["重复请求", "请求重复", "请勿重复", "重复提交"];
        let no_verdict = msg.contains("处理中")
            || repeated.iter().any(|r| msg.contains(r))
            || code.ends_with("SYSTEM_ERROR")
            || code.ends_with("PROCESSING")
            || code.contains("DUPLICATE_REQUEST")
            || code.contains("REQUEST_DUPLICATE");
        if no_verdict {
            Self::Pending { code, msg }
        } else {
            Self::Rejected { code, msg }
        }
    }

    /// A request our key could not sign (`what`: the call): never sent.
    pub fn unsigned(what: &str, e: &dyn std::fmt::Display) -> Self {
        Self::Unsent {
            code: "LOCAL_SIGN_FAILED".into(),
            msg: format!("{what}: {e}; nothing was sent"),
        }
    }

    /// The outcome is not known (yet): nothing may be marked failed on it.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Ambiguous(_) | Self::Pending { .. })
    }
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
    /// The amount the channel says it split to this receiver, fen, when it says.
    pub amount: Option<i64>,
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
