//! What can go wrong with a call. No variant carries the secret, a signature or the request
//! body: errors are safe to log and to show.

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("timed out after {0:?}")]
    TimedOut(std::time::Duration),
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("request failed: {0}")]
    Failed(String),
    #[error("the answer could not be read: {0}")]
    Unreadable(String),
}

/// The service's envelope code of an unexpected failure on its side (`系统错误`).
pub const SYSTEM_ERROR: i64 = 10001;

/// The outcome of a call that did not return a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A business refusal of a verified request (`data.code ≠ 0`, signed and verified): order
    /// not found, wrong state, a number used with other parameters...
    #[error("refused: {msg}")]
    Refused { msg: String, trace_id: String },
    /// The request could not be verified or validated (envelope `code ≠ 0`: 10005 malformed,
    /// 10006 validation, 20052 signature, 10010 unknown path).
    #[error("request rejected ({code}): {msg}")]
    Rejected {
        code: i64,
        msg: String,
        trace_id: String,
    },
    /// The service failed unexpectedly (envelope code 10001, `系统错误`).
    #[error("service failure ({code}): {msg}")]
    Service {
        code: i64,
        msg: String,
        trace_id: String,
    },
    /// An HTTP status other than 200 (the service answers 200 with an envelope; others come
    /// from what stands before it: a gateway, a proxy).
    #[error("HTTP {status} from the service")]
    Http { status: u16 },
    #[error("{0}")]
    Transport(#[from] TransportError),
    /// The answer's `data` is not signed with the secret: it is not believed.
    #[error("the answer's signature does not verify (traceId {trace_id})")]
    BadSignature { trace_id: String },
    /// The answer is not an envelope, or its `data` is not what the endpoint answers.
    #[error("unreadable answer: {0}")]
    Malformed(String),
    /// The client was given something it cannot send (a bad URL, settings).
    #[error("invalid client setting: {0}")]
    Config(String),
}

impl Error {
    /// Whether an idempotent call may be sent again after this: its outcome is unknown or the
    /// service failed on its side. Refusals, rejections and unverifiable answers are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport(_) | Error::Service { .. } => true,
            Error::Http { status } => *status >= 500 || *status == 429,
            Error::Refused { .. }
            | Error::Rejected { .. }
            | Error::BadSignature { .. }
            | Error::Malformed(_)
            | Error::Config(_) => false,
        }
    }

    /// Whether the service answered no: a verified refusal or a rejected request.
    pub fn is_refusal(&self) -> bool {
        matches!(self, Error::Refused { .. } | Error::Rejected { .. })
    }

    /// The service's trace id, when it answered with one.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Refused { trace_id, .. }
            | Error::Rejected { trace_id, .. }
            | Error::Service { trace_id, .. }
            | Error::BadSignature { trace_id } => Some(trace_id).filter(|t| !t.is_empty()),
            _ => None,
        }
        .map(String::as_str)
    }
}
