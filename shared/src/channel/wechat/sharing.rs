//! WeChat Pay as one of our [`SharingChannel`]s: its calls, what its notifications say, and how we
//! answer them.

use super::{WechatClient, notify};
use crate::channel::{BillFile, Call, Inbound, Reply, SharingChannel, Taken};
use crate::domain::{
    Accepted, Account, Channel, ChannelError, ChannelNotice, Relation, ReturnAnswer, Share,
    ShareResult,
};

impl SharingChannel for WechatClient {
    fn channel(&self) -> Channel {
        Channel::WechatPay
    }

    fn callback_name(&self) -> &'static str {
        "wechat"
    }

    fn ready<'a>(&'a self, _now: i64) -> Call<'a, ()> {
        let checked = self
            .config
            .merchant_key
            .check()
            .map_err(|e| ChannelError::unsigned("wechat", &e));
        Box::pin(async move { checked })
    }

    fn bill<'a>(&'a self, day: &'a str, now: i64) -> Call<'a, BillFile> {
        Box::pin(WechatClient::bill(self, day, now))
    }

    fn account_key(&self) -> String {
        WechatClient::account_key(self)
    }

    fn max_ratio<'a>(&'a self, now: i64) -> Call<'a, Option<i64>> {
        Box::pin(WechatClient::max_ratio(self, now))
    }

    fn allocate<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        shares: &'a [Share],
        now: i64,
    ) -> Call<'a, Accepted> {
        Box::pin(self.create_order(trade_no, allocation_no, shares, now))
    }

    fn query<'a>(
        &'a self,
        trade_no: &'a str,
        allocation_no: &'a str,
        now: i64,
    ) -> Call<'a, Option<Vec<ShareResult>>> {
        Box::pin(self.query_order(trade_no, allocation_no, now))
    }

    fn finish<'a>(&'a self, trade_no: &'a str, request_no: &'a str, now: i64) -> Call<'a, ()> {
        Box::pin(self.unfreeze(trade_no, request_no, now))
    }

    fn unsplit<'a>(&'a self, trade_no: &'a str, now: i64) -> Call<'a, i64> {
        Box::pin(self.amounts(trade_no, now))
    }

    fn return_split<'a>(
        &'a self,
        allocation_no: &'a str,
        return_no: &'a str,
        account: &'a Account,
        amount: i64,
        description: &'a str,
        now: i64,
    ) -> Call<'a, ReturnAnswer> {
        Box::pin(self.create_return(allocation_no, return_no, account, amount, description, now))
    }

    fn query_return<'a>(
        &'a self,
        allocation_no: &'a str,
        return_no: &'a str,
        now: i64,
    ) -> Call<'a, Option<ReturnAnswer>> {
        Box::pin(WechatClient::query_return(
            self,
            allocation_no,
            return_no,
            now,
        ))
    }

    fn bind<'a>(
        &'a self,
        account: &'a Account,
        relation: &'a Relation,
        _request_no: &'a str,
        now: i64,
    ) -> Call<'a, ()> {
        Box::pin(self.add_receiver(
            account,
            relation.relation_type,
            relation.custom.as_deref(),
            now,
        ))
    }

    fn unbind<'a>(&'a self, account: &'a Account, _request_no: &'a str, now: i64) -> Call<'a, ()> {
        Box::pin(self.delete_receiver(account, now))
    }

    /// WeChat's notification speaks for one merchant receiver: the order is synced by a query,
    /// which gives them all.
    fn verify_notification(
        &self,
        inbound: &Inbound<'_>,
        now: i64,
    ) -> Result<Option<ChannelNotice>, String> {
        let notice = self.open(inbound, now)?;
        // a provider's notification speaks for one of its sub-merchants: this client's only
        if notice.sub_mchid.as_deref() != self.sub_mchid() {
            return Err("notification for another sub-merchant".into());
        }
        Ok(Some(ChannelNotice {
            allocation_no: notice.out_order_no,
            rows: None,
        }))
    }

    fn signed_headers(&self) -> &'static [&'static str] {
        &notify::SIGNATURE_HEADERS
    }

    /// 204 once queued; a JSON failure otherwise, so WeChat Pay sends it again.
    fn reply(&self, taken: Taken) -> Reply {
        let (status, message) = match taken {
            Taken::Queued => {
                return Reply {
                    status: 204,
                    content_type: "text/plain; charset=utf-8",
                    body: String::new(),
                };
            }
            Taken::Refused => (401, "verification failed"),
            Taken::NotQueued => (500, "not queued"),
        };
        failure(status, message)
    }
}

/// WeChat Pay's words for a notification not taken: its status and `{"code":"FAIL","message"}`.
pub(crate) fn failure(status: u16, message: &str) -> Reply {
    Reply {
        status,
        content_type: "application/json; charset=utf-8",
        body: serde_json::json!({"code": "FAIL", "message": message}).to_string(),
    }
}
