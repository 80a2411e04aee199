//! Service providers in the admin API (SPEC §6.5): a provider's own channel accounts (a WeChat
//! Pay service provider, an Alipay third-party app), stored once with their keys; and an app's
//! account under one (`"mode": "provider"`): a WeChat Pay sub-merchant, or a merchant's
//! authorisation of the provider's Alipay app with its tokens. No view carries a key or a token.

use super::{AdminAnswer, AdminClient, AdminError, ChannelAccount, encode_component};
use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A service provider (`{"providerId","name","channels","createdAt","updatedAt"}`): its
/// accounts' public members by channel (`ali_pay`, `wechat_pay`), never their keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provider {
    pub provider_id: String,
    /// Epoch seconds.
    #[serde(default)]
    pub created_at: i64,
    #[serde(default)]
    pub updated_at: i64,
    #[serde(default)]
    pub name: String,
    /// `ali_pay`: the Alipay app (`appId`, `gatewayUrl`, `notifyUrl`, `timeoutMs`);
    /// `wechat_pay`: the service provider (`mchid` its sp_mchid, `appid` its sp_appid, …).
    #[serde(default)]
    pub channels: Map<String, Value>,
}

/// An app's WeChat Pay account under a service provider (`PUT .../channels/wechat_pay`,
/// `"mode": "provider"`): the provider's sub-merchant, and its own appid when it has one
/// (needed for `PERSONAL_SUB_OPENID` receivers).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WechatSubMerchant {
    /// The provider's id (`POST /admin/providers`).
    pub provider: String,
    pub sub_mchid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_appid: Option<String>,
}

/// An app's Alipay account under a service provider (`PUT .../channels/ali_pay`,
/// `"mode": "provider"`): the merchant that authorised the provider's app, its tokens and
/// until when they hold (epoch seconds). (`Debug` leaves the tokens out.)
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlipayAuthorization {
    /// The provider's id (`POST /admin/providers`).
    pub provider: String,
    /// The merchant's user id (`2088…`).
    pub user_id: String,
    /// The merchant's app id (the service takes `user_id` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_app_id: Option<String>,
    pub app_auth_token: String,
    pub app_refresh_token: String,
    pub expires_at: i64,
    pub refresh_expires_at: i64,
}

impl std::fmt::Debug for AlipayAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the two tokens are left out
        write!(
            f,
            "AlipayAuthorization {{ provider: {:?}, user_id: {:?}, auth_app_id: {:?}, \
             expires_at: {}, refresh_expires_at: {}, .. }}",
            self.provider, self.user_id, self.auth_app_id, self.expires_at, self.refresh_expires_at
        )
    }
}

#[derive(Deserialize)]
struct OneProvider {
    provider: Provider,
}

impl ChannelAccount {
    /// A provider's own account: the members of a direct account, without `mode` (the
    /// service refuses any other mode there). An account under a provider is none.
    fn provider_body(&self) -> Result<Value, AdminError> {
        let mut body = match self {
            ChannelAccount::Alipay(a) => serde_json::to_value(a),
            ChannelAccount::Wechat(w) => serde_json::to_value(w),
            ChannelAccount::AlipayProvider(_) | ChannelAccount::WechatProvider(_) => {
                return Err(AdminError::Config(
                    "a provider's account is its own (direct): not one under a provider".into(),
                ));
            }
        }
        .map_err(|e| AdminError::Config(e.to_string()))?;
        if let Value::Object(members) = &mut body {
            members.remove("mode");
        }
        Ok(body)
    }
}

impl AdminClient {
    /// `method /admin/providers/{providerId}{rest}` (`/admin/providers` without an id): the
    /// provider it answers.
    async fn provider_call(
        &self,
        method: Method,
        provider_id: Option<&str>,
        rest: &str,
        body: Option<&Value>,
    ) -> Result<AdminAnswer<Provider>, AdminError> {
        let id = provider_id
            .map(|id| format!("/{}", encode_component(id)))
            .unwrap_or_default();
        let path = format!("/admin/providers{id}{rest}");
        self.typed(method, &path, &[], body, |w: OneProvider| w.provider)
            .await
    }

    /// `POST /admin/providers`: a provider with no account yet.
    pub async fn create_provider(
        &self,
        provider_id: &str,
        name: Option<&str>,
    ) -> Result<AdminAnswer<Provider>, AdminError> {
        let mut body = json!({ "providerId": provider_id });
        if let (Some(name), Value::Object(members)) = (name, &mut body) {
            members.insert("name".into(), Value::from(name));
        }
        self.provider_call(Method::POST, None, "", Some(&body))
            .await
    }

    /// `GET /admin/providers/{providerId}`.
    pub async fn provider(&self, provider_id: &str) -> Result<AdminAnswer<Provider>, AdminError> {
        self.provider_call(Method::GET, Some(provider_id), "", None)
            .await
    }

    /// `PUT /admin/providers/{providerId}/channels/{channel}`: the provider's own account at a
    /// channel (a direct account: `ChannelAccount::Alipay` or `ChannelAccount::Wechat`).
    pub async fn set_provider_channel(
        &self,
        provider_id: &str,
        account: &ChannelAccount,
    ) -> Result<AdminAnswer<Provider>, AdminError> {
        let body = account.provider_body()?;
        let rest = format!("/channels/{}", account.channel());
        self.provider_call(Method::PUT, Some(provider_id), &rest, Some(&body))
            .await
    }

    /// `DELETE /admin/providers/{providerId}/channels/{channel}` (`ali_pay` or `wechat_pay`).
    pub async fn remove_provider_channel(
        &self,
        provider_id: &str,
        channel: &str,
    ) -> Result<AdminAnswer<Provider>, AdminError> {
        let rest = format!("/channels/{}", encode_component(channel));
        self.provider_call(Method::DELETE, Some(provider_id), &rest, None)
            .await
    }
}
