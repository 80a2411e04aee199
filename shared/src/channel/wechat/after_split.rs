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
        let path = format!(
            "{RETURN_ORDERS}/{}?out_order_no={}",
            form_urlencoded::byte_serialize(out_return_no.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(out_order_no.as_bytes()).collect::<String>()
        );
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
        let path = format!(
            "{TRANSACTIONS}/{}/amounts",
            form_urlencoded::byte_serialize(transaction_id.as_bytes()).collect::<String>()
        );
        let answer = self
            .request::<()>(http::Method::GET, &path, None, now)
            .await?;
        Ok(answer.parse::<wire::Amounts>(TRANSACTIONS)?.unsplit_amount)
    }
}
