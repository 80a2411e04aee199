//! Business operations behind the merchant endpoints.

pub mod allocation;
pub mod receivers;
