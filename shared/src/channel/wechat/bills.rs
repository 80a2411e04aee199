//! WeChat Pay's profit-sharing bill (SPEC §4.13): `GET /v3/profitsharing/bills` answers a
//! download link that lives 30 s and the file's SHA-1; the download is a signed GET whose
//! answer carries no WeChat signature (the SHA-1 stands for it, checked by the reader).
//! In partner mode the bill is asked for the sub-merchant (`sub_mchid`): each app's bill holds
//! its own rows only, and no app's job ever holds another's.

use super::WechatClient;
use crate::channel::{BillFile, MAX_BILL_BYTES};
use crate::domain::ChannelError;
use serde::Deserialize;

const BILLS: &str = "/v3/profitsharing/bills";

/// The answer to a bill request.
#[derive(Debug, Deserialize)]
struct BillLink {
    hash_type: String,
    hash_value: String,
    download_url: String,
}

impl WechatClient {
    /// The bill of `day` (`yyyy-MM-dd`), asked for gzipped, downloaded at once.
    pub async fn bill(&self, day: &str, now: i64) -> Result<BillFile, ChannelError> {
        let mut path = format!("{BILLS}?bill_date=");
        path.extend(form_urlencoded::byte_serialize(day.as_bytes()));
        if let Some(sub) = self.sub_mchid() {
            path.push_str("&sub_mchid=");
            path.extend(form_urlencoded::byte_serialize(sub.as_bytes()));
        }
        path.push_str("&tar_type=GZIP");
        let link: BillLink = self
            .request::<()>(http::Method::GET, &path, None, now)
            .await?
            .parse(BILLS)?;
        if !link.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(ChannelError::Ambiguous(format!(
                "{BILLS}: hash_type {:?} is not SHA1",
                link.hash_type
            )));
        }
        let bytes = self.download(&link.download_url, now).await?;
        Ok(BillFile::Wechat {
            bytes,
            gzip: true,
            sha1_hex: link.hash_value,
        })
    }

    /// The signed GET of a download link (its own path and query signed).
    async fn download(&self, url: &str, now: i64) -> Result<Vec<u8>, ChannelError> {
        let uri: http::Uri = url.parse().map_err(|_| {
            ChannelError::Ambiguous(format!("{BILLS}: the download_url is not a URL"))
        })?;
        let path_and_query = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let answer = self
            .send_signed(
                http::Method::GET,
                url,
                &path_and_query,
                String::new(),
                false,
                now,
                Some(MAX_BILL_BYTES),
            )
            .await?;
        Ok(answer.body.to_vec())
    }
}
