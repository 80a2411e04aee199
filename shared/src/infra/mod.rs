//! Infrastructure the services use: configuration, crypto primitives, the clock, logging, the
//! job queue and the notice sender.

pub mod app_settings;
pub mod archive;
pub mod aws;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod http;
pub mod job;
pub mod job_settings;
pub mod keyring;
pub mod queue;
mod rsa_check;
pub mod sdk_http;
pub mod secrets;
pub mod sender;
pub mod setting;
pub mod telemetry;

pub use clock::{Clock, now_secs};
pub use job::{Job, Message};
pub use queue::Queue;
