//! Allocation (profit sharing, 分账) service library, compatible with DaxPay's merchant API.
//! The Lambda binaries in `functions/` only parse events and call into this crate.

pub mod api;
pub mod config;
pub mod error;
pub mod feed;
pub mod json;
pub mod model;
pub mod params;
pub mod request;
pub mod schema;
pub mod sign;
pub mod store;
pub mod telemetry;
