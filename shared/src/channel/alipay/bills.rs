//! Alipay's trade bill (SPEC §4.13): `alipay.data.dataservice.bill.downloadurl.query`
//! (`bill_type=trade`) answers a link that lives 30 s to a zip of GBK CSV files; the download
//! is a plain GET (the link is the signed answer's). For a merchant that authorised a
//! provider's app, the query carries its `app_auth_token` like every other call.

use super::AlipayClient;
use crate::channel::{BillFile, MAX_BILL_BYTES};
use crate::domain::ChannelError;
use crate::infra::http::{HttpClient, request};
use serde::{Deserialize, Serialize};

pub const BILL_URL_QUERY: &str = "alipay.data.dataservice.bill.downloadurl.query";

#[derive(Debug, Serialize)]
struct BillQueryBiz<'a> {
    bill_type: &'static str,
    bill_date: &'a str,
}

#[derive(Debug, Deserialize)]
struct BillQueryAnswer {
    bill_download_url: String,
}

impl AlipayClient {
    /// The trade bill of `day` (`yyyy-MM-dd`), downloaded at once.
    pub async fn bill(&self, day: &str, now: i64) -> Result<BillFile, ChannelError> {
        let biz = BillQueryBiz {
            bill_type: "trade",
            bill_date: day,
        };
        let link: BillQueryAnswer = self
            .call(BILL_URL_QUERY, &biz, now)
            .await?
            .parse(BILL_URL_QUERY)?;
        let what = "bill download";
        let unanswered =
            |e: crate::infra::http::Failure| ChannelError::Ambiguous(format!("{what}: {e}"));
        let get =
            request(http::Method::GET, &link.bill_download_url, &[], "").map_err(unanswered)?;
        let answer = HttpClient::shared()
            .send_up_to(get, self.config.timeout, MAX_BILL_BYTES)
            .await
            .map_err(unanswered)?;
        if !answer.status.is_success() {
            return Err(ChannelError::Ambiguous(format!(
                "{what}: HTTP {}",
                answer.status
            )));
        }
        Ok(BillFile::AlipayZip {
            bytes: answer.body.to_vec(),
        })
    }
}
