//! Outbound HTTP, shared by the channel clients and the notice sender: one rustls client
//! setup, and failures described without URLs or parameters.

use std::time::Duration;

/// A client builder with a per-request timeout and a short connect timeout.
pub fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
}

/// What kind of transport failure happened: never a URL with parameters.
pub fn transport(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "answer unreadable"
    } else {
        "request failed"
    }
}
