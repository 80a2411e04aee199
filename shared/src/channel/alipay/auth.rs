//! Alipay third-party apps (SPEC §6.5): the merchant's `app_auth_token`, a common parameter of
//! every call made for it, and its refresh (`alipay.open.auth.token.app`,
//! `grant_type=refresh_token`). A function keeps the token it loaded; when Alipay refuses it
//! (refreshed meanwhile by another function, which retires the old one), the current token is
//! read once more from where the app keeps it and the call made again with it.

use crate::domain::ChannelError;
use crate::infra::config::AppAuth;
use serde::Deserialize;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

/// The method that issues and refreshes tokens.
pub const TOKEN_APP: &str = "alipay.open.auth.token.app";

/// Alipay's answers to a token it does not take.
pub const INVALID_TOKEN: &str = "aop.invalid-app-auth-token";
pub const EXPIRED_TOKEN: &str = "aop.app-auth-token-time-out";

/// A token and until when it holds (epoch seconds).
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    pub value: String,
    pub expires_at: i64,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Token(***, expires_at {})", self.expires_at)
    }
}

/// Where the current token of an app is read from again (the app's sealed secrets).
pub trait TokenSource: Send + Sync + std::fmt::Debug {
    fn current(&self) -> Pin<Box<dyn Future<Output = Option<Token>> + Send + '_>>;
}

/// The merchant's authorisation as a client holds it.
#[derive(Debug)]
pub struct AppAuthToken {
    token: RwLock<Token>,
    source: Option<Arc<dyn TokenSource>>,
}

impl AppAuthToken {
    pub fn new(token: Token, source: Option<Arc<dyn TokenSource>>) -> Self {
        Self {
            token: RwLock::new(token),
            source,
        }
    }

    pub fn get(&self) -> Token {
        match self.token.read() {
            Ok(t) => t.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The current token from its source, if it differs from `used` (kept from now on).
    pub async fn renewed(&self, used: &Token) -> Option<Token> {
        let fresh = self.source.as_ref()?.current().await?;
        if fresh.value == used.value {
            return None;
        }
        match self.token.write() {
            Ok(mut t) => *t = fresh.clone(),
            Err(poisoned) => *poisoned.into_inner() = fresh.clone(),
        }
        Some(fresh)
    }
}

/// Whether Alipay refused the call for its token.
pub fn refused_token(e: &ChannelError) -> bool {
    matches!(e, ChannelError::Rejected { code, .. } if code == INVALID_TOKEN || code == EXPIRED_TOKEN)
}

/// The token a refusal leaves us with, refused as the merchant must hear it: nothing was
/// done, and the fix is theirs (authorise the app again) or the operator's.
pub fn expired(expires_at: i64) -> ChannelError {
    ChannelError::Unsent {
        code: EXPIRED_TOKEN.into(),
        msg: format!(
            "商户授权令牌已过期 (app_auth_token expired at {expires_at}): the merchant must authorise the app again"
        ),
    }
}

/// `alipay.open.auth.token.app` `{grant_type: "refresh_token", refresh_token}`.
#[derive(Debug, serde::Serialize)]
pub struct RefreshBiz<'a> {
    pub grant_type: &'static str,
    pub refresh_token: &'a str,
}

/// A grant: the flat fields of the answer, or its `tokens` array's first entry.
#[derive(Debug, Default, Deserialize)]
pub struct GrantAnswer {
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    auth_app_id: Option<String>,
    #[serde(default)]
    app_auth_token: Option<String>,
    #[serde(default)]
    app_refresh_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    re_expires_in: Option<serde_json::Value>,
    #[serde(default)]
    tokens: Vec<GrantAnswer>,
}

/// A refreshed authorisation.
#[derive(Clone, PartialEq, Eq)]
pub struct Grant {
    pub user_id: String,
    pub auth_app_id: String,
    pub token: Token,
    pub refresh_token: String,
    pub refresh_expires_at: i64,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Grant(user {}, app {}, expires_at {}, refresh_expires_at {})",
            self.user_id, self.auth_app_id, self.token.expires_at, self.refresh_expires_at
        )
    }
}

/// Seconds as Alipay writes them: a number, or a string of digits.
fn seconds(v: &Option<serde_json::Value>) -> Option<i64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl GrantAnswer {
    /// The grant as of `now`; an answer without a token or its lifetimes is no grant.
    pub fn grant(self, now: i64) -> Result<Grant, ChannelError> {
        let g = match self.app_auth_token {
            Some(_) => self,
            None => self.tokens.into_iter().next().unwrap_or_default(),
        };
        let unclear = || ChannelError::Ambiguous(format!("{TOKEN_APP}: the answer holds no grant"));
        let (Some(token), Some(refresh), Some(user_id)) =
            (g.app_auth_token, g.app_refresh_token, g.user_id)
        else {
            return Err(unclear());
        };
        let (Some(expires_in), Some(re_expires_in)) =
            (seconds(&g.expires_in), seconds(&g.re_expires_in))
        else {
            return Err(unclear());
        };
        Ok(Grant {
            auth_app_id: g.auth_app_id.unwrap_or_else(|| user_id.clone()),
            user_id,
            token: Token {
                value: token,
                expires_at: now + expires_in,
            },
            refresh_token: refresh,
            refresh_expires_at: now + re_expires_in,
        })
    }
}

impl super::AlipayClient {
    /// Where the merchant's current token is read again when Alipay refuses the one held.
    pub fn with_token_source(mut self, source: std::sync::Arc<dyn TokenSource>) -> Self {
        if let Some((grant, held)) = self.config.app_auth.take() {
            self.config.app_auth = Some((grant, AppAuthToken::new(held.get(), Some(source))));
        }
        self
    }

    /// The account this client acts as: the app id, or `app_id/auth_app_id` for a merchant
    /// that authorised it.
    pub fn account_key(&self) -> String {
        match &self.config.app_auth {
            Some((grant, _)) => format!("{}/{}", self.config.app_id, grant.auth_app_id),
            None => self.config.app_id.clone(),
        }
    }

    /// The merchant's authorisation, in third-party mode.
    pub fn app_auth(&self) -> Option<&AppAuth> {
        self.config.app_auth.as_ref().map(|(grant, _)| grant)
    }

    /// Whether the merchant's token still holds at `now` (reading the current one if the one
    /// held has run out: it may have been refreshed meanwhile).
    pub async fn check_token(&self, now: i64) -> Result<(), ChannelError> {
        let Some((_, held)) = &self.config.app_auth else {
            return Ok(());
        };
        let token = held.get();
        if token.expires_at > now {
            return Ok(());
        }
        match held.renewed(&token).await {
            Some(fresh) if fresh.expires_at > now => Ok(()),
            _ => {
                tracing::error!(
                    alert = "alipay_app_auth",
                    expires_at = token.expires_at,
                    "the merchant's app_auth_token has expired; it must authorise the app again"
                );
                Err(expired(token.expires_at))
            }
        }
    }

    /// `alipay.open.auth.token.app` with `grant_type=refresh_token`, signed by this app alone:
    /// the merchant's new token and refresh token (the old ones stop working).
    pub async fn refresh_app_auth(
        &self,
        refresh_token: &str,
        now: i64,
    ) -> Result<Grant, ChannelError> {
        let biz = RefreshBiz {
            grant_type: "refresh_token",
            refresh_token,
        };
        let biz_content = serde_json::to_string(&biz).map_err(|e| ChannelError::Unsent {
            code: "LOCAL_ENCODE_FAILED".into(),
            msg: format!("{}: {e}; nothing was sent", TOKEN_APP),
        })?;
        self.call_once(TOKEN_APP, &biz_content, None, now)
            .await?
            .parse::<GrantAnswer>(TOKEN_APP)?
            .grant(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_reads_flat_fields_or_the_tokens_array() {
        let flat: GrantAnswer = serde_json::from_str(
            r#"{"code":"10000","user_id":"2088000000000001","auth_app_id":"2021000000000002",
            "app_auth_token":"T","app_refresh_token":"R","expires_in":31536000,"re_expires_in":"32140800"}"#,
        )
        .unwrap_or_default();
        let g = flat.grant(100);
        assert_eq!(
            g.as_ref()
                .map(|g| (g.token.expires_at, g.refresh_expires_at)),
            Ok((31_536_100, 32_140_900))
        );
        let nested: GrantAnswer = serde_json::from_str(
            r#"{"code":"10000","tokens":[{"user_id":"2088000000000001","app_auth_token":"T",
            "app_refresh_token":"R","expires_in":10,"re_expires_in":20}]}"#,
        )
        .unwrap_or_default();
        let g = nested.grant(0);
        assert_eq!(
            g.as_ref()
                .map(|g| (g.auth_app_id.as_str(), g.token.value.as_str())),
            Ok(("2088000000000001", "T"))
        );
        let empty = GrantAnswer::default().grant(0);
        assert!(matches!(empty, Err(ChannelError::Ambiguous(_))));
    }
}
