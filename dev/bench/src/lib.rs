//! Inputs of the benchmarks: signed merchant requests as a merchant's SDK sends them, and a
//! channel's bill of any size (`bill`).

pub mod bill;

use serde_json::{Map, Value, json};
use shared::daxpay::sign::{Secret, SignType, Signer};

pub const SECRET: &str = "bench-secret-0123456789";
pub const NOW: i64 = 1_764_000_000;

pub fn signer() -> Signer {
    Signer::new(SignType::HmacSha256, Secret::new(SECRET))
}

fn signed(mut body: Map<String, Value>) -> Vec<u8> {
    body.insert("reqTime".into(), json!(NOW));
    body.insert("nonceStr".into(), json!("8f2c61d0a4b94e7f"));
    body.insert("clientIp".into(), json!("203.0.113.9"));
    signer().sign_in_place(&mut body);
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A start request naming `receivers` receivers with explicit amounts.
pub fn start_body(receivers: usize) -> Vec<u8> {
    let list: Vec<Value> = (0..receivers)
        .map(|i| json!({"receiverNo": format!("RCV{i:05}"), "amount": 100 + i}))
        .collect();
    let Value::Object(body) = json!({
        "bizAllocationNo": "M20261201000123",
        "orderNo": "DAX2026120112000001",
        "description": "split of order 123",
        "receivers": list,
        "notifyUrl": "https://merchant.example.com/notify/allocation",
        "attach": "{\"shop\":\"42\"}",
    }) else {
        return Vec::new();
    };
    signed(body)
}

/// An order query by allocationNo.
pub fn query_body() -> Vec<u8> {
    let Value::Object(body) = json!({"allocationNo": "A2026120112000001"}) else {
        return Vec::new();
    };
    signed(body)
}
