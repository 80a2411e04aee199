//! The local runner's integration tests, as one test binary (one link of the SDK instead of
//! five). A new test file here must be declared below (a test in `shared/tests/suite` fails
//! otherwise).

mod events;
mod http;
mod runtime;
mod sink;
mod sqs;
