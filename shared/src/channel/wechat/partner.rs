//! WeChat Pay partner mode (SPEC §6.5): a service provider's client acting for one
//! sub-merchant. `sub_mchid` in every call where the partner API wants it (the calls add it
//! through [`WechatClient::sub_mchid`]), `PERSONAL_SUB_OPENID` receivers only with the
//! sub-merchant's `sub_appid`, the ratio the sub-merchant authorised, and the account a
//! provider's notification names.

use super::notify::SignatureHeaders;
use super::{MAX_RATIO_TTL_SECS, MERCHANT_CONFIGS, WechatClient, open_notification, wire};
use crate::domain::ChannelError;

impl WechatClient {
    /// The sub-merchant's number in partner mode.
    pub(crate) fn sub_mchid(&self) -> Option<&str> {
        self.config.partner.as_ref().map(|p| p.sub_mchid.as_str())
    }

    /// `sub_appid` where a call may carry it: in partner mode, when the account has one.
    pub(super) fn sub_appid(&self) -> Option<&str> {
        self.config
            .partner
            .as_ref()
            .and_then(|p| p.sub_appid.as_deref())
    }

    /// `PERSONAL_SUB_OPENID` needs partner mode with the sub-merchant's appid; refused here,
    /// before anything is sent, naming the fix.
    pub(super) fn check_kind(&self, kind: &str) -> Result<(), ChannelError> {
        if kind == "PERSONAL_SUB_OPENID" && self.sub_appid().is_none() {
            return Err(ChannelError::Unsent {
                code: "SUB_APPID_REQUIRED".into(),
                msg: "接收方类型 wx_personal_sub (PERSONAL_SUB_OPENID) 需要子商户的 sub_appid: \
                      set subAppid on the app's WeChat Pay account (partner mode)"
                    .into(),
            });
        }
        Ok(())
    }

    /// The account this client acts as: `mchid`, or `sp_mchid/sub_mchid` in partner mode.
    pub fn account_key(&self) -> String {
        match self.sub_mchid() {
            Some(sub) => format!("{}/{sub}", self.config.mchid),
            None => self.config.mchid.clone(),
        }
    }

    /// `GET /v3/profitsharing/merchant-configs/{sub_mchid}`: the most the provider may split of
    /// the sub-merchant's payments, in 1/10000, kept for 10 minutes. `None`: direct mode, no
    /// such limit.
    pub async fn max_ratio(&self, now: i64) -> Result<Option<i64>, ChannelError> {
        let Some(sub_mchid) = self.sub_mchid() else {
            return Ok(None);
        };
        let cached = self.max_ratio.lock().ok().and_then(|g| *g);
        if let Some((ratio, at)) = cached
            && now - at < MAX_RATIO_TTL_SECS
        {
            return Ok(Some(ratio));
        }
        let path = format!(
            "{MERCHANT_CONFIGS}/{}",
            form_urlencoded::byte_serialize(sub_mchid.as_bytes()).collect::<String>()
        );
        let ratio = self
            .request::<()>(http::Method::GET, &path, None, now)
            .await?
            .parse::<wire::MerchantConfig>(MERCHANT_CONFIGS)?
            .max_ratio;
        if let Ok(mut g) = self.max_ratio.lock() {
            *g = Some((ratio, now));
        }
        Ok(Some(ratio))
    }

    /// A notification, verified with this client's WeChat Pay key and opened with its APIv3
    /// key. `Err` says why, safe to log.
    pub(super) fn open(
        &self,
        inbound: &crate::channel::Inbound<'_>,
        now: i64,
    ) -> Result<super::notify::SharingNotice, String> {
        let c = &self.config;
        let headers = SignatureHeaders::from_pairs(
            inbound
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        open_notification(
            &headers,
            inbound.body,
            &c.wechat_key,
            &c.wechat_key_id,
            &c.apiv3_key,
            now,
        )
    }

    /// The account a provider's notification is about (`sp_mchid/sub_mchid`), once verified
    /// and opened with this (the provider's own) client's keys. `Err` says why, safe to log.
    pub fn partner_account_of(
        &self,
        inbound: &crate::channel::Inbound<'_>,
        now: i64,
    ) -> Result<String, String> {
        let c = &self.config;
        let notice = self.open(inbound, now)?;
        match (notice.sp_mchid, notice.sub_mchid) {
            (Some(sp), Some(sub)) if sp == c.mchid => Ok(format!("{sp}/{sub}")),
            _ => Err("not a notification of this provider's sub-merchant".into()),
        }
    }
}
