//! Alipay as one of our [`SharingChannel`]s: its calls, what its notifications say, and how we
//! answer them.

use super::{AlipayClient, notify};
use crate::channel::{BillFile, Call, Inbound, Reply, SharingChannel, Taken};
use crate::domain::{
    Accepted, Account, Channel, ChannelError, ChannelNotice, ReceiverType, Relation, Share,
    ShareResult,
};

impl SharingChannel for AlipayClient {
    fn channel(&self) -> Channel {
        Channel::AliPay
    }

    fn callback_name(&self) -> &'static str {
        "alipay"
    }

    fn ready<'a>(&'a self, now: i64) -> Call<'a, ()> {
        Box::pin(async move {
            self.config
                .app_key
                .check()
                .map_err(|e| ChannelError::unsigned("alipay", &e))?;
            self.check_token(now).await
        })
    }

    fn bill<'a>(&'a self, day: &'a str, now: i64) -> Call<'a, BillFile> {
        Box::pin(AlipayClient::bill(self, day, now))
    }

    fn account_key(&self) -> String {
        AlipayClient::account_key(self)
    }

    fn allocate<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        shares: &'a [Share],
        now: i64,
    ) -> Call<'a, Accepted> {
        Box::pin(self.settle(trade_no, allocation_no, shares, now))
    }

    fn query<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        now: i64,
    ) -> Call<'a, Option<Vec<ShareResult>>> {
        Box::pin(self.settle_query(trade_no, allocation_no, now))
    }

    fn finish<'a>(&'a self, trade_no: &'a str, request_no: &'a str, now: i64) -> Call<'a, ()> {
        Box::pin(AlipayClient::finish(self, trade_no, request_no, now))
    }

    fn unsplit<'a>(&'a self, trade_no: &'a str, now: i64) -> Call<'a, i64> {
        Box::pin(self.onsettle_query(trade_no, now))
    }

    /// Alipay takes split money back only inside `alipay.trade.refund`, which the payment
    /// gateway issues.
    fn returns_in_refund(&self) -> bool {
        true
    }

    /// One `refund_royalty_parameters` row: the money flows back from the receiver
    /// (`trans_out`) to the seller.
    fn refund_plan(
        &self,
        receiver_type: ReceiverType,
        account: &str,
        amount: i64,
    ) -> Option<serde_json::Value> {
        let kind = super::wire::trans_in_type(receiver_type).ok()?;
        Some(serde_json::json!({
            "royalty_type": "transfer",
            "trans_out_type": kind,
            "trans_out": account,
            "amount": crate::domain::money::fen_to_yuan(amount),
        }))
    }

    fn bind<'a>(
        &'a self,
        account: &'a Account,
        _relation: &'a Relation,
        request_no: &'a str,
        now: i64,
    ) -> Call<'a, ()> {
        Box::pin(AlipayClient::bind(self, account, request_no, now))
    }

    fn unbind<'a>(&'a self, account: &'a Account, request_no: &'a str, now: i64) -> Call<'a, ()> {
        Box::pin(AlipayClient::unbind(self, account, request_no, now))
    }

    /// A settle notification speaks for the whole split: its rows are applied as they are. A
    /// notification of a finish (`allocationNo` + `F`) finds no open order and changes nothing.
    fn verify_notification(
        &self,
        inbound: &Inbound<'_>,
        now: i64,
    ) -> Result<Option<ChannelNotice>, String> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(inbound.body).into_owned().collect();
        let details = notify::verify_notification(
            &pairs,
            &self.config.alipay_key,
            &self.config.app_id,
            self.app_auth().map(|a| a.auth_app_id.as_str()),
            now,
        )?;
        Ok(details
            .out_request_no
            .clone()
            .map(|allocation_no| ChannelNotice {
                allocation_no,
                rows: Some(details.results()),
            }))
    }

    /// Alipay stops sending a notification once it gets the plain text `success`.
    fn reply(&self, taken: Taken) -> Reply {
        let body = match taken {
            Taken::Queued => "success",
            Taken::Refused | Taken::NotQueued => "fail",
        };
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}
