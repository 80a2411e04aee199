//! The library's integration tests, as one test binary: each module below was a binary of its
//! own, and every one of them linked the whole AWS SDK again (time and disk). A new test file
//! here must be declared below, or it is not compiled.

mod common;

mod alipay_cert_mode;
mod allocation_e2e;
mod api;
mod async_jobs;
mod events;
mod sign_vectors;
mod table_schema;
mod wechat_crypto;
