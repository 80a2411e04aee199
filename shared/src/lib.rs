//! Allocation (profit sharing, 分账) service library, compatible with DaxPay's merchant API.
//! The Lambda binaries in `functions/` only build an [`app::App`] and call an adapter.
//!
//! Four bands, each depending only on those below it (a test in `tests/suite` checks it):
//! - `http`, `jobs`: adapters for events (API Gateway requests, SQS jobs, the schedule);
//! - `service`: the use cases, taking the [`app::App`] that `app` composes;
//! - `domain` (pure rules and types) and `daxpay` (DaxPay's wire format);
//! - `store`, `channel`, `infra`: DynamoDB, the payment channels, configuration and the rest.

pub mod app;
pub mod channel;
pub mod daxpay;
pub mod domain;
pub mod http;
pub mod infra;
pub mod jobs;
pub mod reconcile;
pub mod service;
pub mod store;
