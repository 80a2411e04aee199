//! DaxPay's wire format as merchants' SDKs see it: the two generations of field names and one
//! typed view per answer (SPEC §2.1, §2.4).

pub mod spelling;
pub mod views;

pub use spelling::Spelling;
