//! Dev-only: run the real Lambda binaries on a developer machine, with no Docker and no network.
//!
//! - [`runtime`]: a Lambda Runtime API emulator that runs one function binary as a child
//!   process, exactly as Lambda runs a custom runtime (`provided.al2023`).
//! - [`apigw`]: API Gateway HTTP API (payload format 2.0) in front of a [`pool`] of sandboxes.
//! - [`sqs`]: Lambda's SQS event source mapping (batches, partial batch failures) in front of it.
//! - [`schedule`]: an EventBridge schedule that invokes it every N seconds.
//! - [`sink`]: a stand-in for a merchant's notifyUrl that records what it is sent.
//! - [`chaos`]: crashes (sandboxes killed after an outgoing call), SQS duplicates and reordering,
//!   switchable at run time (the AWS faults are the emulator's: `scripts/emulator.py`).

pub mod apigw;
pub mod bench;
pub mod bench_apps;
pub mod chaos;
pub mod pool;
pub mod runtime;
pub mod schedule;
pub mod sink;
pub mod sqs;

/// Why a long-running local service (SQS worker, schedule, sink) stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The function process cannot serve any more invocations (it exited, failed to initialise
    /// or was shut down). Lambda would start a new sandbox; locally the service stops instead.
    #[error(transparent)]
    Host(#[from] runtime::HostError),
    /// An SQS call failed (the message includes the SDK's error context).
    #[error("SQS {operation}: {message}")]
    Sqs {
        operation: &'static str,
        message: String,
    },
    /// An argument the service cannot work with.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// A body for a log line: compact JSON when it parses, else the text with line breaks and other
/// control characters escaped; cut to `max_chars` characters (then ending in `…`).
pub(crate) fn one_line(body: &[u8], max_chars: usize) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(json) => json.to_string(),
        Err(_) => String::from_utf8_lossy(body)
            .chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect(),
    };
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The `errorMessage` of a function error body (`{"errorType":..,"errorMessage":..}`), else the
/// body itself, on one line.
pub(crate) fn error_message(body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<serde_json::Value>(body).ok();
    match parsed.as_ref().and_then(|v| v["errorMessage"].as_str()) {
        Some(message) => one_line(message.as_bytes(), 500),
        None => one_line(body, 500),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_compacts_json_escapes_text_and_truncates() {
        assert_eq!(one_line(b"{ \"a\" :\n 1 }", 100), r#"{"a":1}"#);
        assert_eq!(one_line(b"a=1\r\nb=2\t", 100), r"a=1\r\nb=2\t");
        assert_eq!(one_line("ééééé".as_bytes(), 3), "ééé…");
        assert_eq!(one_line(b"abc", 3), "abc");
        assert_eq!(
            error_message(br#"{"errorType":"E","errorMessage":"no\nway"}"#),
            r"no\nway"
        );
        assert_eq!(error_message(b"plain"), "plain");
    }
}
