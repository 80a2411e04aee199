//! Defects the chaos soak (`scripts/chaos.sh`, SPEC §9) found, each with a test that failed
//! before its fix.

use crate::common::*;
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use shared::store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The product's HTTP client for the SDK, except that the answers of the first `lose` calls of
/// `operation` are lost after DynamoDB applied them, as on a connection reset: the SDK sees an
/// I/O error and sends the same request again.
#[derive(Debug, Clone)]
struct LostAnswers {
    inner: SharedHttpClient,
    operation: &'static str,
    lose: Arc<AtomicUsize>,
}

impl HttpClient for LostAnswers {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LostAnswersConnector {
            inner: self.inner.http_connector(settings, components),
            operation: self.operation,
            lose: Arc::clone(&self.lose),
        })
    }
}

#[derive(Debug, Clone)]
struct LostAnswersConnector {
    inner: SharedHttpConnector,
    operation: &'static str,
    lose: Arc<AtomicUsize>,
}

impl HttpConnector for LostAnswersConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let target = format!("DynamoDB_20120810.{}", self.operation);
        let named = request.headers().get("x-amz-target") == Some(target.as_str());
        let sent = self.inner.call(request);
        let lose = Arc::clone(&self.lose);
        HttpConnectorFuture::new(async move {
            let answer = sent.await?;
            let lost = named
                && lose
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            if lost {
                return Err(ConnectorError::io(
                    "the answer was lost after the write".into(),
                ));
            }
            Ok(answer)
        })
    }
}

/// `store` seen through a client that loses the first `lose` answers of `operation`.
async fn losing(store: &Store, operation: &'static str, lose: usize) -> Store {
    let sdk = sdk().await;
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .http_client(LostAnswers {
            inner: shared::infra::sdk_http::client(),
            operation,
            lose: Arc::new(AtomicUsize::new(lose)),
        })
        .build();
    Store::new(Client::from_conf(config), store.table())
}

/// A request's nonce claimed, the claim's answer lost and the put retried by the SDK: the retry
/// finds the request's own claim, which is no replay (the merchant was refused `10006 nonceStr:
/// 重复请求` for a request it sent once). Another request with the same pair still is one.
#[tokio::test]
async fn a_nonce_claim_retried_after_its_lost_answer_is_not_a_replay() {
    let store = fresh_store().await;
    let flaky = losing(&store, "PutItem", 1).await;
    let now = now();
    assert_eq!(
        flaky.use_nonce("n0nce", now, now + 600).await.ok(),
        Some(true),
        "the request that claimed it"
    );
    assert_eq!(
        store.use_nonce("n0nce", now, now + 600).await.ok(),
        Some(false),
        "a replay of it"
    );
    assert_eq!(
        store.use_nonce("other", now, now + 600).await.ok(),
        Some(true)
    );
}
