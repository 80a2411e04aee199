//! DaxPay's wire format as merchants, their SDKs and DaxPay gateways see it: strict JSON, the
//! signature, request verification and parameters, the two generations of field names, one
//! typed view per answer, the envelope and the pay notice.

pub mod envelope;
/// Strict JSON: the protocol crate's, re-exported.
pub use alloc_protocol::json;
pub mod ops_params;
pub mod ops_views;
pub mod our_views;
pub mod params;
pub mod pay_notice;
pub mod receiver_params;
pub mod reconcile_params;
pub mod reconcile_views;
pub mod refund_notice;
pub mod request;
pub mod return_params;
/// Signing: the protocol crate's, re-exported.
pub use alloc_protocol::sign;
pub mod spelling;
pub mod start_digest;
pub mod start_params;
pub mod v3;
pub mod views;

pub use envelope::{ApiError, ValidationError};
pub use spelling::Spelling;
