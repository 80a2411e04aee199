//! The client: signs each request (SPEC §2.2, §3), sends it, verifies the answer, and sends an
//! idempotent call again when its outcome is unknown, with bounded backoff.

use crate::answers::*;
use crate::endpoint::{self, Endpoint};
use crate::envelope;
use crate::error::Error;
use crate::requests::*;
use crate::spelling::Spelling;
use crate::transport::Transport;
use alloc_protocol::Signer;
use bytes::Bytes;
use http::{StatusCode, Uri};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::time::Duration;

/// A verified answer: its typed `data`, the `data` object as received (verified), the trace id
/// and how many attempts it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<T> {
    pub data: T,
    pub raw: Map<String, Value>,
    pub trace_id: String,
    pub attempts: u32,
}

impl<T> Answer<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        Answer {
            data: f(self.data),
            raw: self.raw,
            trace_id: self.trace_id,
            attempts: self.attempts,
        }
    }
}

/// How an idempotent call is sent again: at most `max_attempts` sends in all, waiting
/// `initial_backoff`, then twice as long each time up to `max_backoff` (half of each wait
/// random, so clients that failed together do not retry together).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// One attempt: never sent again.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The wait before retry number `retry` (1 for the first).
    pub fn backoff(&self, retry: u32) -> Duration {
        let doubled = self
            .initial_backoff
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let full = doubled.min(self.max_backoff);
        let half = full / 2;
        let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = if jitter_ms == 0 {
            0
        } else {
            rand::random_range(0..=jitter_ms)
        };
        half + Duration::from_millis(jitter)
    }
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    url: String,
    signer: Signer,
    spelling: Spelling,
    client_ip: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// The field names requests use (answers are read in either).
    pub fn spelling(mut self, spelling: Spelling) -> Self {
        self.spelling = spelling;
        self
    }

    /// `clientIp` sent with every request.
    pub fn client_ip(mut self, ip: impl Into<String>) -> Self {
        self.client_ip = Some(ip.into());
        self
    }

    /// How long one attempt may take, answer included (default 20 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = self.url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| Error::Config(format!("`{base}` is not a URL")))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => {
                return Err(Error::Config(format!(
                    "`{base}` must start with http:// or https://"
                )));
            }
        };
        if uri.host().is_none_or(str::is_empty) || uri.query().is_some() {
            return Err(Error::Config(format!(
                "`{base}` must be a base URL with a host and no query"
            )));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::Config("timeouts must be more than 0".into()));
        }
        Ok(Client {
            base,
            signer: self.signer,
            spelling: self.spelling,
            client_ip: self.client_ip,
            timeout: self.timeout,
            retry: RetryPolicy {
                max_attempts: self.retry.max_attempts.max(1),
                ..self.retry
            },
            transport: Transport::new(https, self.connect_timeout)?,
        })
    }
}

/// A client of one deployment: its base URL (`https://…/stage` or `http://127.0.0.1:9000`) and
/// its sign secret. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    signer: Signer,
    spelling: Spelling,
    client_ip: Option<String>,
    timeout: Duration,
    retry: RetryPolicy,
    transport: Transport,
}

/// Epoch seconds now, as `reqTime` wants them.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A fresh `nonceStr` (24 letters and digits; the service allows 32).
pub fn new_nonce() -> String {
    use rand::Rng;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// Adds `reqTime` (now) and a fresh `nonceStr` where absent, and signs `object` (SPEC §2.2, §3).
pub fn sign_request(signer: &Signer, object: &mut Map<String, Value>) {
    object
        .entry("reqTime")
        .or_insert_with(|| Value::from(now_secs()));
    object
        .entry("nonceStr")
        .or_insert_with(|| Value::String(new_nonce()));
    signer.sign_in_place(object);
}

impl Client {
    pub fn builder(url: impl Into<String>, signer: Signer) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            signer,
            spelling: Spelling::default(),
            client_ip: None,
            timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }

    pub fn spelling(&self) -> Spelling {
        self.spelling
    }

    /// The signed body of `request` as it would be sent now: the business members in this
    /// client's spelling, `reqTime`, a fresh `nonceStr`, `clientIp` if set, and `sign`.
    pub fn signed_body(&self, request: &impl Serialize) -> Result<Map<String, Value>, Error> {
        self.signed_body_at(request, now_secs(), Some(new_nonce()))
    }

    /// [`Client::signed_body`] at a given `reqTime`, with a given `nonceStr` (or none).
    pub(crate) fn signed_body_at(
        &self,
        request: &impl Serialize,
        req_time: i64,
        nonce: Option<String>,
    ) -> Result<Map<String, Value>, Error> {
        let mut object = match serde_json::to_value(request) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(Error::Config("a request must be a JSON object".into())),
            Err(e) => return Err(Error::Config(format!("request: {e}"))),
        };
        self.spelling.respell(&mut object);
        if let Some(ip) = &self.client_ip {
            object.insert("clientIp".into(), Value::String(ip.clone()));
        }
        object.insert("reqTime".into(), Value::from(req_time));
        if let Some(nonce) = nonce {
            object.insert("nonceStr".into(), Value::String(nonce));
        }
        self.signer.sign_in_place(&mut object);
        Ok(object)
    }

    /// Calls `endpoint` with `request` and reads the verified answer as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        endpoint: &Endpoint,
        request: &impl Serialize,
    ) -> Result<Answer<T>, Error> {
        let answer = self.call_raw(endpoint, request).await?;
        let data = serde_json::from_value(Value::Object(answer.raw.clone()))
            .map_err(|e| Error::Malformed(format!("the data of {}: {e}", endpoint.name)))?;
        Ok(answer.map(|_| data))
    }

    /// Calls `endpoint` and gives the verified `data` object as received.
    pub async fn call_raw(
        &self,
        endpoint: &Endpoint,
        request: &impl Serialize,
    ) -> Result<Answer<()>, Error> {
        let uri: Uri = format!("{}{}", self.base, endpoint.path)
            .parse()
            .map_err(|_| Error::Config(format!("`{}` is not a URL", self.base)))?;
        // A call that is not idempotent is sent once, whatever happened to it.
        let allowed = if endpoint.idempotent {
            self.retry.max_attempts
        } else {
            1
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Signed anew each time: the service refuses a (nonceStr, reqTime) seen before.
            let body = serde_json::to_vec(&self.signed_body(request)?)
                .map_err(|e| Error::Config(format!("request: {e}")))?;
            match self.send(&uri, Bytes::from(body)).await {
                Ok(accepted) => {
                    return Ok(Answer {
                        data: (),
                        raw: accepted.data,
                        trace_id: accepted.trace_id,
                        attempts: attempt,
                    });
                }
                Err(e) if attempt < allowed && e.is_retryable() => {
                    tokio::time::sleep(self.retry.backoff(attempt)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn send(&self, uri: &Uri, body: Bytes) -> Result<envelope::Accepted, Error> {
        let (status, answer) = self.transport.post(uri, body, self.timeout).await?;
        if status != StatusCode::OK {
            return Err(Error::Http {
                status: status.as_u16(),
            });
        }
        envelope::read(&answer, &self.signer)
    }

    /// Starts an allocation of a paid order (retried: a repeat with the same
    /// `bizAllocationNo` and fields answers the same order).
    pub async fn start(&self, r: &StartRequest) -> Result<Answer<Allocation>, Error> {
        self.call(&endpoint::START, r).await
    }

    /// Releases the unsplit rest of an ended order (sent once).
    pub async fn finish(&self, r: &OrderRef) -> Result<Answer<Allocation>, Error> {
        self.call(&endpoint::FINISH, r).await
    }

    /// Asks the channel about the order now; the query tells the status after it.
    pub async fn sync(&self, r: &OrderRef) -> Result<Answer<Done>, Error> {
        self.call(&endpoint::SYNC, r).await
    }

    /// Queues a sync of each order still processing.
    pub async fn sync_many(&self, r: &SyncManyRequest) -> Result<Answer<SyncMany>, Error> {
        self.call(&endpoint::SYNC_MANY, r).await
    }

    pub async fn query_order(&self, r: &OrderRef) -> Result<Answer<AllocOrder>, Error> {
        self.call(&endpoint::QUERY_ORDER, r).await
    }

    pub async fn query_notices(&self, r: &OrderRef) -> Result<Answer<Notices>, Error> {
        self.call(&endpoint::QUERY_NOTICES, r).await
    }

    /// Sends a notice again, one more attempt on its schedule (sent once).
    pub async fn resend_notice(&self, r: &ResendRequest) -> Result<Answer<Resent>, Error> {
        self.call(&endpoint::RESEND_NOTICE, r).await
    }

    pub async fn query_pay_order(&self, r: &PayOrderRef) -> Result<Answer<PayOrder>, Error> {
        self.call(&endpoint::QUERY_PAY_ORDER, r).await
    }

    /// Orders flagged for a human (processing past the service's maximum age).
    pub async fn flagged(&self, r: &FlaggedRequest) -> Result<Answer<OrderPage>, Error> {
        self.call(&endpoint::FLAGGED, r).await
    }

    /// Orders of a status and day.
    pub async fn list_orders(&self, r: &OrderListRequest) -> Result<Answer<OrderPage>, Error> {
        self.call(&endpoint::LIST_ORDERS, r).await
    }

    /// Takes money back from one receiver (retried: `bizReturnNo` is the idempotency key).
    pub async fn create_return(&self, r: &ReturnRequest) -> Result<Answer<Return>, Error> {
        self.call(&endpoint::RETURN, r).await
    }

    /// One return (by its number), or every return of an order.
    pub async fn query_return(&self, r: &ReturnQuery) -> Result<Answer<ReturnAnswer>, Error> {
        if r.names_one_return() {
            let one: Answer<Return> = self.call(&endpoint::QUERY_RETURN, r).await?;
            Ok(one.map(|r| ReturnAnswer::One(Box::new(r))))
        } else {
            let all: Answer<Returns> = self.call(&endpoint::QUERY_RETURN, r).await?;
            Ok(all.map(ReturnAnswer::Order))
        }
    }

    pub async fn allocatable(&self, r: &PayOrderRef) -> Result<Answer<Allocatable>, Error> {
        self.call(&endpoint::ALLOCATABLE, r).await
    }

    pub async fn add_receiver(&self, r: &ReceiverAddRequest) -> Result<Answer<Done>, Error> {
        self.call(&endpoint::RECEIVER_ADD, r).await
    }

    pub async fn remove_receiver(&self, r: &ReceiverRef) -> Result<Answer<Done>, Error> {
        self.call(&endpoint::RECEIVER_REMOVE, r).await
    }

    pub async fn query_receivers(&self, r: &ReceiverQuery) -> Result<Answer<Receivers>, Error> {
        self.call(&endpoint::QUERY_RECEIVERS, r).await
    }

    pub async fn create_group(&self, r: &GroupSaveRequest) -> Result<Answer<GroupNo>, Error> {
        self.call(&endpoint::GROUP_CREATE, r).await
    }

    pub async fn update_group(&self, r: &GroupSaveRequest) -> Result<Answer<GroupRates>, Error> {
        self.call(&endpoint::GROUP_UPDATE, r).await
    }

    pub async fn delete_group(&self, r: &GroupRef) -> Result<Answer<GroupNo>, Error> {
        self.call(&endpoint::GROUP_DELETE, r).await
    }

    pub async fn bind_receivers(&self, r: &GroupBindRequest) -> Result<Answer<GroupRates>, Error> {
        self.call(&endpoint::GROUP_BIND, r).await
    }

    pub async fn unbind_receivers(
        &self,
        r: &GroupUnbindRequest,
    ) -> Result<Answer<GroupRates>, Error> {
        self.call(&endpoint::GROUP_UNBIND, r).await
    }

    pub async fn set_default_group(&self, r: &GroupRef) -> Result<Answer<DefaultGroup>, Error> {
        self.call(&endpoint::GROUP_SET_DEFAULT, r).await
    }

    pub async fn clear_default_group(&self, r: &GroupRef) -> Result<Answer<DefaultGroup>, Error> {
        self.call(&endpoint::GROUP_CLEAR_DEFAULT, r).await
    }

    pub async fn query_groups(&self, r: &GroupQuery) -> Result<Answer<Groups>, Error> {
        self.call(&endpoint::QUERY_GROUPS, r).await
    }
}
