//! DaxPay's wire rules, shared by the service and its clients: strict JSON (one parse, a tree
//! that borrows from the body) and the signature (SPEC §3). No I/O and no AWS: a merchant's
//! client links this and nothing of the service.

pub mod beta4;
pub mod json;
mod secret;
pub mod sign;

pub use secret::{Secret, SignType};
pub use sign::Signer;
