//! Dev-only: run the real Lambda binaries on a developer machine, with no Docker and no network.
//!
//! - [`runtime`]: a Lambda Runtime API emulator that runs one function binary as a child
//!   process, exactly as Lambda runs a custom runtime (`provided.al2023`).
//! - [`apigw`]: API Gateway HTTP API (payload format 2.0) in front of it.

pub mod apigw;
pub mod runtime;
