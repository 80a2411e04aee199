//! Allocation (profit sharing, 分账) service library, compatible with DaxPay's merchant API.
//! The Lambda binaries in `functions/` only parse events and call into this crate.

pub mod api;
pub mod channel;
pub mod config;
pub mod crypto;
pub mod daxpay;
pub mod error;
pub mod feed;
pub mod jobs;
pub mod json;
pub mod model;
pub mod notify;
pub mod params;
pub mod queue;
pub mod request;
pub mod rules;
pub mod scheduler;
pub mod schema;
pub mod service;
pub mod sign;
pub mod store;
pub mod telemetry;
pub mod worker;
