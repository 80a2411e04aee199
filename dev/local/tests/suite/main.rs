//! The local runner's integration tests, as one test binary (one link of the SDK instead of
//! five). A new test file here must be declared below, or it is not compiled.

mod events;
mod http;
mod runtime;
mod sink;
mod sqs;
