//! Payment channels: one [`SharingChannel`] trait, implemented by each channel's client in its
//! own folder (its wire protocol, its notifications, its answer to them), and the registry of
//! the channels this deployment has. The api and the worker know channels only through these.
//! Base URLs are configurable so tests and the local run point the clients at the simulators
//! in `dev/`.

pub mod alipay;
pub mod wechat;

use crate::domain::{
    Accepted, Account, Channel, ChannelError, ChannelNotice, ReceiverType, Relation, ReturnAnswer,
    Share, ShareResult,
};
use std::future::Future;
use std::pin::Pin;

/// A channel call in flight.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, ChannelError>> + Send + 'a>>;

/// A channel's bill file as downloaded (SPEC §4.13), before anything in it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillFile {
    /// WeChat Pay's profit-sharing bill: the bytes as served (gzipped when `gzip`), and the
    /// SHA-1 (hex) the bill answer gave for them.
    Wechat {
        bytes: Vec<u8>,
        gzip: bool,
        sha1_hex: String,
    },
    /// Alipay's trade bill: a zip of GBK CSV files.
    AlipayZip { bytes: Vec<u8> },
}

impl BillFile {
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Wechat { bytes, .. } | Self::AlipayZip { bytes } => bytes,
        }
    }
}

/// The largest bill file read (a day of 100,000 rows gzipped is a few megabytes).
pub const MAX_BILL_BYTES: usize = 256 << 20;

/// A notification as it arrived at our callback route.
#[derive(Debug, Clone, Copy)]
pub struct Inbound<'a> {
    pub body: &'a [u8],
    /// The headers the channel signs or names (lowercase name, value).
    pub headers: &'a [(String, String)],
}

/// How we took a notification, for the channel's answer to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Verified and queued: the channel may stop sending it.
    Queued,
    /// It does not verify (or is not ours): refused.
    Refused,
    /// Verified but not queued (our trouble): the channel should send it again.
    NotQueued,
}

/// What we answer a channel's notification: HTTP status, content type and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

/// One payment channel that can share: its calls, and its notifications.
pub trait SharingChannel: Send + Sync + std::fmt::Debug {
    fn channel(&self) -> Channel;

    /// The last segment of its callback route, `/callback/<name>`.
    fn callback_name(&self) -> &'static str;

    /// Whether this client can make its calls now (its key read and usable; a merchant's
    /// authorisation, in third-party mode, not expired): asked before an order is written on
    /// the strength of a call, so a key that cannot sign or a token that cannot act writes
    /// nothing (SPEC §6.5, §9). The first use reads the key; later ones cost nothing.
    fn ready<'a>(&'a self, now: i64) -> Call<'a, ()>;

    /// The account this client acts as (`mchid` or `sp_mchid/sub_mchid`; an Alipay app id or
    /// `app_id/user_id` for an authorising merchant): stamped on what is made through it.
    fn account_key(&self) -> String;

    /// The most that may be split of a payment, in 1/10000, when the channel limits it (a
    /// WeChat Pay sub-merchant's authorised ratio); `None`: no limit but the payment itself.
    fn max_ratio<'a>(&'a self, now: i64) -> Call<'a, Option<i64>> {
        let _ = now;
        Box::pin(async { Ok(None) })
    }

    /// Asks the channel to split `trade_no`, idempotently under `allocation_no`.
    fn allocate<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        shares: &'a [Share],
        now: i64,
    ) -> Call<'a, Accepted>;

    /// The channel's view of each receiver's share; `None` when the channel says it has no
    /// such split (the request never arrived). Any other refusal of the query is an error: it
    /// says nothing about the split itself.
    fn query<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        now: i64,
    ) -> Call<'a, Option<Vec<ShareResult>>>;

    /// What the channel holds frozen and still splittable on `trade_no`, in fen (SPEC §4.10).
    /// An answer that the trade is still settling is a `Pending` error, never a figure.
    fn unsplit<'a>(&'a self, trade_no: &'a str, now: i64) -> Call<'a, i64>;

    /// Whether money comes back from receivers only inside a refund (Alipay): a return is then
    /// a refund plan ([`SharingChannel::refund_plan`]) rather than a call.
    fn returns_in_refund(&self) -> bool {
        false
    }

    /// Takes `amount` back from the receiver `account` of the split `allocation_no`, under
    /// `return_no` (idempotent: sending the same number again asks again about a return still
    /// processing).
    fn return_split<'a>(
        &'a self,
        allocation_no: &'a str,
        return_no: &'a str,
        account: &'a Account,
        amount: i64,
        description: &'a str,
        now: i64,
    ) -> Call<'a, ReturnAnswer> {
        let _ = (allocation_no, return_no, account, amount, description, now);
        Box::pin(async move { Err(unsupported(self.channel())) })
    }

    /// The channel's view of a return; `None` when it has no such return (it never arrived).
    fn query_return<'a>(
        &'a self,
        allocation_no: &'a str,
        return_no: &'a str,
        now: i64,
    ) -> Call<'a, Option<ReturnAnswer>> {
        let _ = (allocation_no, return_no, now);
        Box::pin(async move { Err(unsupported(self.channel())) })
    }

    /// The row a refund must carry to take `amount` back from a receiver of type
    /// `receiver_type` (shown as `account`), for channels that return inside a refund.
    fn refund_plan(
        &self,
        receiver_type: ReceiverType,
        account: &str,
        amount: i64,
    ) -> Option<serde_json::Value> {
        let _ = (receiver_type, account, amount);
        None
    }

    /// Downloads this account's bill of `day` (`yyyy-MM-dd`, Beijing time) as the channel
    /// serves it (SPEC §4.13): asked for, fetched within the link's life, not yet read.
    fn bill<'a>(&'a self, day: &'a str, now: i64) -> Call<'a, BillFile>;

    /// Releases what is still frozen on `trade_no`, under its own request number.
    fn finish<'a>(&'a self, trade_no: &'a str, request_no: &'a str, now: i64) -> Call<'a, ()>;

    /// Registers a receiver (`request_no` for channels that want one).
    fn bind<'a>(
        &'a self,
        account: &'a Account,
        relation: &'a Relation,
        request_no: &'a str,
        now: i64,
    ) -> Call<'a, ()>;

    fn unbind<'a>(&'a self, account: &'a Account, request_no: &'a str, now: i64) -> Call<'a, ()>;

    /// Verifies a notification as of `now` and says what it is about. `Ok(None)`: verified,
    /// but about nothing an order waits for. `Err` says why it was refused, safe to log.
    fn verify_notification(
        &self,
        inbound: &Inbound<'_>,
        now: i64,
    ) -> Result<Option<ChannelNotice>, String>;

    /// The headers of a notification the worker needs to verify it again.
    fn signed_headers(&self) -> &'static [&'static str] {
        &[]
    }

    /// Our answer to a notification.
    fn reply(&self, taken: Taken) -> Reply;
}

/// The channel and account a notification at `/callback/<name>` says it is for, read from it
/// unverified (each app that has the account then verifies it with its own keys), so a
/// notification reaching the stack's route is routed to the apps of that account (SPEC §8.2).
/// `None`: the notification names none in the clear (WeChat Pay's direct notifications are
/// sealed: their app's route is `/app/{appId}/callback/wechat`).
pub fn notification_account(name: &str, body: &[u8]) -> Option<(Channel, String)> {
    if name.eq_ignore_ascii_case("alipay") {
        return alipay::notify::account_of(body).map(|id| (Channel::AliPay, id));
    }
    None
}

fn unsupported(channel: Channel) -> ChannelError {
    ChannelError::Rejected {
        code: "UNSUPPORTED".into(),
        msg: format!("{channel} has no standalone return"),
    }
}

/// The channels of this deployment; a channel without configuration is refused.
#[derive(Debug, Default)]
pub struct Channels {
    clients: Vec<Box<dyn SharingChannel>>,
    /// Clients of accounts the app had before (kept so what was made under them is followed
    /// to its end with them, SPEC §6.5).
    retired: Vec<Box<dyn SharingChannel>>,
}

impl Channels {
    pub fn new(clients: Vec<Box<dyn SharingChannel>>) -> Self {
        Self {
            clients,
            retired: Vec::new(),
        }
    }

    /// The clients, current ones only.
    pub fn into_clients(self) -> Vec<Box<dyn SharingChannel>> {
        self.clients
    }

    /// These channels, with clients of accounts the app had before.
    pub fn with_retired(mut self, retired: Vec<Box<dyn SharingChannel>>) -> Self {
        self.retired = retired;
        self
    }

    /// The client of the account something was made under (`None`: made before accounts
    /// were stamped, the channel's current one). An account the app no longer has is an
    /// unknown outcome, never another account's call: the order waits (and is flagged if it
    /// must wait too long) until the account is restored.
    pub fn for_account(
        &self,
        channel: Channel,
        account: Option<&str>,
    ) -> Result<&dyn SharingChannel, ChannelError> {
        let current = self.get(channel);
        let Some(account) = account else {
            return current;
        };
        if let Ok(c) = current
            && c.account_key() == account
        {
            return Ok(c);
        }
        if let Some(c) = self
            .retired
            .iter()
            .find(|c| c.channel() == channel && c.account_key() == account)
        {
            return Ok(c.as_ref());
        }
        tracing::error!(alert = "account_missing", channel = %channel, account, "made under an account this app no longer has");
        Err(ChannelError::Ambiguous(format!(
            "{channel}: the account {account} this was made under is no longer the app's; restore it to follow this"
        )))
    }

    /// The client of `channel`.
    pub fn get(&self, channel: Channel) -> Result<&dyn SharingChannel, ChannelError> {
        self.clients
            .iter()
            .find(|c| c.channel() == channel)
            .map(|c| c.as_ref())
            .ok_or(ChannelError::NotConfigured(channel))
    }

    /// The channel whose callback route ends in `name`.
    pub fn by_callback_name(&self, name: &str) -> Option<&dyn SharingChannel> {
        self.clients
            .iter()
            .find(|c| c.callback_name().eq_ignore_ascii_case(name))
            .map(|c| c.as_ref())
    }

    pub fn is_configured(&self, channel: Channel) -> bool {
        self.get(channel).is_ok()
    }
}
