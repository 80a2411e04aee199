//! WeChat Pay after the split (SPEC §4.9, §4.10): what is still unsplit on a transaction, and
//! returns (分账回退) from merchant receivers with their query.

use super::{WechatClient, wire};
use crate::domain::{Account, ChannelError, ReturnAnswer};
use wire::receiver_kind;

const RETURN_ORDERS: &str = "/v3/profitsharing/return-orders";
const TRANSACTIONS: &str = "/v3/profitsharing/transactions";

impl WechatClient {
    /// `POST /v3/profitsharing/return-orders`: takes `amount` back from the merchant receiver
    /// `account` of the split `out_order_no`; the same `out_return_no` again asks again.
    pub async fn create_return(
        &self,
        out_order_no: &str,
        out_return_no: &str,
        account: &Account,
        amount: i64,
        description: &str,
        now: i64,
    ) -> Result<ReturnAnswer, ChannelError> {
        if receiver_kind(account.receiver_type)? != "MERCHANT_ID" {
            return Err(ChannelError::Rejected {
                code: "RECEIVER_TYPE".into(),
                msg: "WeChat Pay returns only from MERCHANT_ID receivers".into(),
            });
        }
        let body = wire::CreateReturn {
            sub_mchid: self.sub_mchid(),
            out_order_no,
            out_return_no,
            return_mchid: &account.account,
            amount,
            description: if description.is_empty() {
                "分账回退"
            } else {
                description
            },
        };
        self.request(http::Method::POST, RETURN_ORDERS, Some(&body), now)
            .await?
            .parse::<wire::ReturnEntity>(RETURN_ORDERS)?
            .answer()
    }

    /// `GET /v3/profitsharing/return-orders/{out_return_no}?out_order_no=`; `None` when WeChat
    /// has no such return.
    pub async fn query_return(
        &self,
        out_order_no: &str,
        out_return_no: &str,
        now: i64,
    ) -> Result<Option<ReturnAnswer>, ChannelError> {
        let mut path = format!(
            "{RETURN_ORDERS}/{}?",
            form_urlencoded::byte_serialize(out_return_no.as_bytes()).collect::<String>()
        );
        if let Some(sub) = self.sub_mchid() {
            path.push_str("sub_mchid=");
            path.extend(form_urlencoded::byte_serialize(sub.as_bytes()));
            path.push('&');
        }
        path.push_str("out_order_no=");
        path.extend(form_urlencoded::byte_serialize(out_order_no.as_bytes()));
        match self
            .request::<()>(http::Method::GET, &path, None, now)
            .await
        {
            Ok(answer) => Ok(Some(
                answer
                    .parse::<wire::ReturnEntity>(RETURN_ORDERS)?
                    .answer()?,
            )),
            Err(ChannelError::Rejected { code, .. })
                if code == "RESOURCE_NOT_EXISTS" || code == "ORDER_NOT_EXIST" =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// `GET /v3/profitsharing/transactions/{transaction_id}/amounts`: `unsplit_amount`, fen.
    /// A refusal saying the trade is still being processed (订单处理中) is ambiguous: the
    /// figure will come, it is not "nothing left".
    pub async fn amounts(&self, transaction_id: &str, now: i64) -> Result<i64, ChannelError> {
        // the partner API takes the transaction id only; sub_mchid narrows it to the
        // sub-merchant's, which is what this client acts for
        let mut path = format!(
            "{TRANSACTIONS}/{}/amounts",
            form_urlencoded::byte_serialize(transaction_id.as_bytes()).collect::<String>()
        );
        if let Some(sub) = self.sub_mchid() {
            path.push_str("?sub_mchid=");
            path.extend(form_urlencoded::byte_serialize(sub.as_bytes()));
        }
        let answer = self
            .request::<()>(http::Method::GET, &path, None, now)
            .await?;
        Ok(answer.parse::<wire::Amounts>(TRANSACTIONS)?.unsplit_amount)
    }
}
