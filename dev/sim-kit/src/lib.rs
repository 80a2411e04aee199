//! The plumbing the payment-channel simulators (`alipay-sim`, `wechat-sim`) share: a loopback-only
//! HTTP/1.1 server that can hold requests until shutdown, RSA-2048 key handling, the binaries'
//! command line and, with the `testing` feature, helpers for their end-to-end tests.
//!
//! Everything protocol-specific (what is signed, headers, state machines) stays in the simulators.

pub mod cli;
mod keys;
mod server;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::SocketAddr;

pub use keys::{Signer, Verifier, decode_key, generate_keypair, random_bytes};
pub use server::{Dropped, Reply, Server, error_reply, json_reply, lock, read_body, reply};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refusing to listen on non-loopback address {0}")]
    NotLoopback(SocketAddr),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid key: {0}")]
    Key(String),
    #[error("crypto: {0}")]
    Crypto(String),
}
