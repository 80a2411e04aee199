//! The AWS SDK's HTTP client: the SDK sends its requests through the same hyper + rustls
//! stack as the channel calls ([`super::http`]), so a function links one HTTP stack (HTTP/1.1
//! only; the SDK's own client adds HTTP/2 and a second copy of the certificate loading) and
//! reads the certificate store on its first HTTPS call instead of while its clients are built
//! at init (the SDK's client loads it there, ~3 ms of every cold start).
//!
//! The SDK's connect timeout is the shared client's (3 s; the SDK's default is 3.1 s); its read
//! timeout, when configured, bounds the wait for the answer's head. Transport failures are I/O
//! errors (the SDK's retry strategy sends the request again), timeouts are timeouts.

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use std::time::Duration;

/// The client to give the SDK's configuration.
pub fn client() -> SharedHttpClient {
    SharedHttpClient::new(SdkClient)
}

#[derive(Debug, Clone, Copy)]
struct SdkClient;

impl HttpClient for SdkClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(SdkConnector {
            read_timeout: settings.read_timeout(),
        })
    }
}

#[derive(Debug, Clone, Copy)]
struct SdkConnector {
    read_timeout: Option<Duration>,
}

impl HttpConnector for SdkConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(Box::new(e)))?;
            let sent = super::http::sdk_hyper_client().request(request);
            let response = match read_timeout {
                Some(limit) => tokio::time::timeout(limit, sent)
                    .await
                    .map_err(|e| ConnectorError::timeout(Box::new(e)))?,
                None => sent.await,
            }
            .map_err(|e| ConnectorError::io(Box::new(e)))?;
            Response::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}
