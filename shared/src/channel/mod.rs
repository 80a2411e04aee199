//! Payment channel clients. Each speaks its channel's real wire protocol; base URLs are
//! configurable so tests and the local run point them at the simulators in `dev/`.

pub mod alipay;
pub mod alipay_cert;
pub mod wechat;

use crate::model::{Channel, ReceiverType};

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
        use crate::model::mask_accounts_in;
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

/// A receiver's account at a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub receiver_type: ReceiverType,
    pub account: String,
    pub name: Option<String>,
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
        use crate::model::mask_accounts_in;
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

/// The HTTP client of a channel: per-call timeout, short connect timeout, rustls.
pub(crate) fn http_client(timeout: std::time::Duration) -> Result<reqwest::Client, ChannelError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(std::time::Duration::from_secs(3))
        .build()
        .map_err(|e| ChannelError::Ambiguous(format!("http client: {e}")))
}

/// What kind of transport failure happened: never a URL with parameters.
pub(crate) fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "answer unreadable"
    } else {
        "request failed"
    }
}

/// Renders fen as a yuan string with two decimals (`6000` → `"60.00"`).
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_to_yuan_has_two_decimals() {
        for (fen, yuan) in [
            (6000, "60.00"),
            (1, "0.01"),
            (10, "0.10"),
            (123456, "1234.56"),
        ] {
            assert_eq!(fen_to_yuan(fen), yuan);
        }
    }
}

/// How a receiver relates to the merchant (WeChat wants it when adding a receiver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub relation_type: crate::model::RelationType,
    pub custom: Option<String>,
}

/// The channel clients of this deployment; a channel without configuration is refused.
#[derive(Debug, Default)]
pub struct Channels {
    pub alipay: Option<alipay::AlipayClient>,
    pub wechat: Option<wechat::WechatClient>,
}

/// The configured client of a channel.
enum Client<'a> {
    Alipay(&'a alipay::AlipayClient),
    Wechat(&'a wechat::WechatClient),
}

impl Channels {
    pub fn is_configured(&self, channel: Channel) -> bool {
        self.client(channel).is_ok()
    }

    fn client(&self, channel: Channel) -> Result<Client<'_>, ChannelError> {
        match (channel, &self.alipay, &self.wechat) {
            (Channel::AliPay, Some(a), _) => Ok(Client::Alipay(a)),
            (Channel::WechatPay, _, Some(w)) => Ok(Client::Wechat(w)),
            _ => Err(ChannelError::NotConfigured(channel)),
        }
    }

    /// Asks the channel to split `trade_no`, idempotently under `allocation_no`.
    pub async fn allocate(
        &self,
        channel: Channel,
        trade_no: &str,
        allocation_no: &str,
        shares: &[Share],
        now: i64,
    ) -> Result<Accepted, ChannelError> {
        match self.client(channel)? {
            Client::Alipay(a) => a.settle(trade_no, allocation_no, shares, now).await,
            Client::Wechat(w) => w.create_order(trade_no, allocation_no, shares, now).await,
        }
    }

    /// The channel's view of each receiver's share; `None` when the channel says it has no such
    /// split (the request never arrived). Any other refusal of the query is an error: it says
    /// nothing about the split itself.
    pub async fn query(
        &self,
        channel: Channel,
        trade_no: &str,
        allocation_no: &str,
        now: i64,
    ) -> Result<Option<Vec<ShareResult>>, ChannelError> {
        match self.client(channel)? {
            Client::Alipay(a) => a.settle_query(trade_no, allocation_no, now).await,
            Client::Wechat(w) => w.query_order(trade_no, allocation_no, now).await,
        }
    }

    /// Releases what is still frozen on `trade_no`; request number `allocationNo + "F"`.
    pub async fn finish(
        &self,
        channel: Channel,
        trade_no: &str,
        allocation_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let request_no = format!("{allocation_no}F");
        match self.client(channel)? {
            Client::Alipay(a) => a.finish(trade_no, &request_no, now).await,
            Client::Wechat(w) => w.unfreeze(trade_no, &request_no, now).await,
        }
    }

    /// Registers a receiver with the channel (`request_no` for channels that want one).
    pub async fn bind(
        &self,
        channel: Channel,
        account: &Account,
        relation: &Relation,
        request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        match self.client(channel)? {
            Client::Alipay(a) => a.bind(account, request_no, now).await,
            Client::Wechat(w) => {
                w.add_receiver(
                    account,
                    relation.relation_type,
                    relation.custom.as_deref(),
                    now,
                )
                .await
            }
        }
    }

    pub async fn unbind(
        &self,
        channel: Channel,
        account: &Account,
        request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        match self.client(channel)? {
            Client::Alipay(a) => a.unbind(account, request_no, now).await,
            Client::Wechat(w) => w.delete_receiver(account, now).await,
        }
    }
}
