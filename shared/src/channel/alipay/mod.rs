//! Alipay OpenAPI gateway client (RSA2; public-key or certificate mode) for royalty settlement
//! (SPEC §6.2). Certificate mode adds `app_cert_sn` / `alipay_root_cert_sn` to every request
//! and checks the answer's `alipay_cert_sn` ([`cert`]). A third-party app acting for a merchant
//! adds the merchant's `app_auth_token` to every call ([`auth`], SPEC §6.5).
//!
//! Requests: every non-empty parameter except `sign`, sorted by key, joined `k=v&...` with raw
//! values, signed SHA256withRSA with the app private key; sent as a form POST. Answers: see
//! [`wire`]; `code` 10000 is success, 40004 a business refusal (`sub_code`/`sub_msg`), 20000
//! busy (retryable); anything unsigned or unverifiable is an unknown outcome, never acted on.

pub mod auth;
mod bills;
pub mod cert;
pub mod notify;
pub mod royalty;
mod sharing;
pub mod wire;

use crate::domain::money::{fen_to_yuan, yuan_to_fen};
use crate::domain::numbers::beijing_timestamp;
use crate::domain::{Accepted, Account, ChannelError, Share, ShareResult};
use crate::infra::config::{AlipaySettings, AppAuth, ConfigError, Secrets};
use crate::infra::crypto::{RsaSigner, RsaVerifier};
use crate::infra::http::{HttpClient, request};
use auth::{AppAuthToken, Token};
use cert::CertSns;
use royalty::RoyaltyDetails;
use serde::Serialize;
use std::time::Duration;
use wire::{
    BIND, ExtendParams, Node, ONSETTLE_QUERY, OnsettleAnswer, OnsettleQueryBiz, RelationBiz,
    RelationRow, RoyaltyRow, SETTLE, SETTLE_QUERY, SettleAnswer, SettleBiz, SettleQueryBiz, UNBIND,
    classify, sign_content, trans_in_type, verify_answer,
};

/// The Alipay app of this deployment.
#[derive(Debug)]
pub struct AlipayConfig {
    pub gateway_url: String,
    pub app_id: String,
    /// The app's private key (signs requests).
    pub app_key: RsaSigner,
    /// Alipay's public key (verifies answers and notifications).
    pub alipay_key: RsaVerifier,
    pub notify_url: Option<String>,
    pub timeout: Duration,
    /// Certificate mode: the SNs sent with every request (`alipay_key` then comes from
    /// Alipay's certificate). `None`: public-key mode.
    pub cert: Option<CertSns>,
    /// Third-party mode: the merchant this (the provider's) app acts for, and its token.
    pub app_auth: Option<(AppAuth, AppAuthToken)>,
}

/// A client of one Alipay app.
#[derive(Debug)]
pub struct AlipayClient {
    config: AlipayConfig,
}

/// The one-receiver relation a bind or unbind sends.
fn relation_biz<'a>(
    account: &'a Account,
    out_request_no: &'a str,
) -> Result<RelationBiz<'a>, ChannelError> {
    Ok(RelationBiz {
        out_request_no,
        receiver_list: vec![RelationRow {
            kind: trans_in_type(account.receiver_type)?,
            account: &account.account,
            name: account.name.as_deref(),
        }],
    })
}

impl AlipayClient {
    pub fn new(config: AlipayConfig) -> Self {
        Self { config }
    }

    /// The client the settings and secrets describe; a key that cannot be read fails init,
    /// naming its setting.
    pub fn from_settings(a: &AlipaySettings, secrets: &Secrets) -> Result<Self, ConfigError> {
        let private = secrets.alipay_private_key.as_deref().ok_or_else(|| {
            ConfigError::new(
                "ALIPAY_PRIVATE_KEY",
                "is required when ALIPAY_APP_ID is set",
            )
        })?;
        let app_key = RsaSigner::from_pkcs8_base64("ALIPAY_PRIVATE_KEY", private)
            .map_err(|e| ConfigError::new("ALIPAY_PRIVATE_KEY", e.to_string()))?;
        let (alipay_key, cert) = cert::verification(secrets)?;
        let app_auth = match &a.app_auth {
            None => None,
            Some(grant) => {
                let value = secrets.alipay_app_auth_token.clone().ok_or_else(|| {
                    ConfigError::new(
                        "appAuthToken",
                        "is required for an app authorised by a merchant (third-party mode)",
                    )
                })?;
                let token = Token {
                    value,
                    expires_at: grant.expires_at,
                };
                Some((grant.clone(), AppAuthToken::new(token, None)))
            }
        };
        Ok(Self::new(AlipayConfig {
            gateway_url: a.gateway_url.clone(),
            app_id: a.app_id.clone(),
            app_key,
            alipay_key,
            notify_url: a.notify_url.clone(),
            timeout: Duration::from_millis(a.timeout_ms),
            cert,
            app_auth,
        }))
    }

    pub fn app_id(&self) -> &str {
        &self.config.app_id
    }

    pub fn alipay_key(&self) -> &RsaVerifier {
        &self.config.alipay_key
    }

    /// Calls `method` with `biz` (for the merchant that authorised this app, in third-party
    /// mode) and returns the verified node of a `10000` answer. A token Alipay no longer takes
    /// is replaced by the current one, if there is a newer one, and the call made once more
    /// (the same request: its number makes it idempotent).
    pub async fn call<B: Serialize>(
        &self,
        method: &str,
        biz: &B,
        now: i64,
    ) -> Result<Node, ChannelError> {
        let biz_content = serde_json::to_string(biz).map_err(|e| ChannelError::Unsent {
            code: "LOCAL_ENCODE_FAILED".into(),
            msg: format!("{method}: {e}; nothing was sent"),
        })?;
        let Some((_, held)) = &self.config.app_auth else {
            return self.call_once(method, &biz_content, None, now).await;
        };
        let token = held.get();
        let first = self
            .call_once(method, &biz_content, Some(&token.value), now)
            .await;
        match first {
            Err(e) if auth::refused_token(&e) => match held.renewed(&token).await {
                Some(fresh) => {
                    tracing::info!(
                        method,
                        "app_auth_token renewed meanwhile; calling again with it"
                    );
                    let again = self
                        .call_once(method, &biz_content, Some(&fresh.value), now)
                        .await;
                    if let Err(e) = &again
                        && auth::refused_token(e)
                    {
                        tracing::error!(alert = "alipay_app_auth", method, error = %e, "Alipay refuses the merchant's app_auth_token");
                    }
                    again
                }
                None => {
                    tracing::error!(alert = "alipay_app_auth", method, error = %e, "Alipay refuses the merchant's app_auth_token");
                    Err(e)
                }
            },
            other => other,
        }
    }

    /// One signed request.
    async fn call_once(
        &self,
        method: &str,
        biz_content: &str,
        app_auth_token: Option<&str>,
        now: i64,
    ) -> Result<Node, ChannelError> {
        let timestamp = beijing_timestamp(now);
        let mut params: Vec<(&str, &str)> = vec![
            ("app_id", &self.config.app_id),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", &timestamp),
            ("version", "1.0"),
            ("biz_content", biz_content),
        ];
        if let Some(token) = app_auth_token {
            params.push(("app_auth_token", token));
        }
        if let Some(url) = &self.config.notify_url {
            params.push(("notify_url", url));
        }
        if let Some(cert) = &self.config.cert {
            params.push(("app_cert_sn", &cert.app_cert_sn));
            params.push(("alipay_root_cert_sn", &cert.root_cert_sn));
        }
        let content = sign_content(params.iter().copied(), &["sign"]);
        let sign = self
            .config
            .app_key
            .sign_base64(content.as_bytes())
            .map_err(|e| ChannelError::unsigned(method, &e))?;
        params.push(("sign", &sign));
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        let unanswered =
            |e: crate::infra::http::Failure| ChannelError::Ambiguous(format!("{method}: {e}"));
        let request = request(
            http::Method::POST,
            &self.config.gateway_url,
            &[(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )],
            form,
        )
        .map_err(unanswered)?;
        let answer = HttpClient::shared()
            .send(request, self.config.timeout)
            .await
            .map_err(unanswered)?;
        let status = answer.status;
        let body = answer.text();
        if !status.is_success() {
            return Err(ChannelError::Ambiguous(format!("{method}: HTTP {status}")));
        }
        classify(
            method,
            verify_answer(
                &body,
                method,
                &self.config.alipay_key,
                self.config.cert.as_ref().map(|c| c.alipay_cert_sn.as_str()),
            )?,
        )
    }

    /// `alipay.trade.order.settle` in async royalty mode. `out_request_no` is our allocationNo,
    /// so a retry is idempotent at Alipay.
    pub async fn settle(
        &self,
        trade_no: &str,
        out_request_no: &str,
        shares: &[Share],
        now: i64,
    ) -> Result<Accepted, ChannelError> {
        let mut rows = Vec::new();
        for share in shares.iter().filter(|s| s.amount > 0) {
            rows.push(RoyaltyRow {
                royalty_type: "transfer",
                trans_in_type: trans_in_type(share.account.receiver_type)?,
                trans_in: &share.account.account,
                amount: fen_to_yuan(share.amount),
                desc: share.description.as_deref(),
            });
        }
        let biz = SettleBiz {
            out_request_no,
            trade_no,
            royalty_parameters: rows,
            extend_params: None,
            royalty_mode: "async",
        };
        let answer: SettleAnswer = self.call(SETTLE, &biz, now).await?.parse(SETTLE)?;
        Ok(Accepted {
            out_allocation_no: answer.settle_no,
        })
    }

    /// Finish: a settle with no royalty rows and `royalty_finish="true"`, which releases what
    /// is still frozen.
    pub async fn finish(
        &self,
        trade_no: &str,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = SettleBiz {
            out_request_no,
            trade_no,
            royalty_parameters: Vec::new(),
            extend_params: Some(ExtendParams {
                royalty_finish: "true",
            }),
            royalty_mode: "async",
        };
        self.call(SETTLE, &biz, now).await.map(|_| ())
    }

    /// `alipay.trade.order.onsettle.query`: the trade's unsettled (still splittable) amount.
    /// A refusal saying the trade is still being processed is `Pending`, not a figure.
    pub async fn onsettle_query(&self, trade_no: &str, now: i64) -> Result<i64, ChannelError> {
        let biz = OnsettleQueryBiz { trade_no };
        let answer: OnsettleAnswer = self
            .call(ONSETTLE_QUERY, &biz, now)
            .await?
            .parse(ONSETTLE_QUERY)?;
        yuan_to_fen(&answer.unsettled_amount).ok_or_else(|| {
            ChannelError::Ambiguous(format!(
                "{ONSETTLE_QUERY}: unsettled_amount {:?} is not an amount",
                answer.unsettled_amount
            ))
        })
    }

    /// `alipay.trade.order.settle.query` by trade and request number; `None` when Alipay has
    /// no such settle (`ACQ.TRADE_NOT_EXIST`).
    pub async fn settle_query(
        &self,
        trade_no: &str,
        out_request_no: &str,
        now: i64,
    ) -> Result<Option<Vec<ShareResult>>, ChannelError> {
        let biz = SettleQueryBiz {
            trade_no,
            out_request_no,
        };
        match self.call(SETTLE_QUERY, &biz, now).await {
            Ok(node) => Ok(Some(node.parse::<RoyaltyDetails>(SETTLE_QUERY)?.results())),
            Err(ChannelError::Rejected { code, .. }) if code == "ACQ.TRADE_NOT_EXIST" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `alipay.trade.royalty.relation.bind` with a fresh request number.
    pub async fn bind(
        &self,
        account: &Account,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = relation_biz(account, out_request_no)?;
        self.call(BIND, &biz, now).await.map(|_| ())
    }

    /// `alipay.trade.royalty.relation.unbind`; an unknown relation (`USER_NOT_EXIST`) is done.
    pub async fn unbind(
        &self,
        account: &Account,
        out_request_no: &str,
        now: i64,
    ) -> Result<(), ChannelError> {
        let biz = relation_biz(account, out_request_no)?;
        match self.call(UNBIND, &biz, now).await {
            Ok(_) => Ok(()),
            Err(ChannelError::Rejected { code, .. }) if code == "USER_NOT_EXIST" => Ok(()),
            Err(e) => Err(e),
        }
    }
}
