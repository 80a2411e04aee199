//! DaxPay 3.0.0-beta4, the last DaxPay with allocation (SPEC §8.2): its paths
//! (`/unipay/alloc/...`), its request members (`appId`, `reqTime` as Beijing text, amounts in
//! yuan), its models and codes, and its signatures (`alloc_protocol::beta4`). Requests become
//! the 2.0.x parameters and answers are written from the same domain results, so the services
//! behind both dialects are the same.

pub mod codes;
pub mod params;
pub mod request;
pub mod views;
