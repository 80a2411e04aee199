//! A typed client of the DaxPay-compatible allocation (分账, profit-sharing) API.
//!
//! Every request is signed (SPEC §2.2, §3: `reqTime`, a fresh `nonceStr`, `sign` with the
//! deployment's secret, HMAC-SHA256 or MD5) and every answer is verified before it is read: a
//! `data` whose signature fails is refused ([`Error::BadSignature`]), as DaxPay's SDK refuses
//! it. Requests use the field names of the chosen [`Spelling`] (DaxPay 2.0.7 `allocationNo` or
//! 2.0.8 `allocNo`); answers are read in either. Calls that SPEC makes idempotent are sent
//! again, with bounded backoff, when their outcome is unknown ([`endpoint`] lists which);
//! the others are sent once. Money is integer fen.
//!
//! The operators' admin API (merchants, apps, sign secrets, channel accounts, audit) has its
//! own client, [`admin::AdminClient`] (feature `admin`, on by default): SigV4-signed with AWS
//! credentials instead of the sign secret.
//!
//! ```no_run
//! use alloc_client::{Client, OrderRef, Secret, SignType, Signer};
//! # async fn demo() -> Result<(), alloc_client::Error> {
//! let signer = Signer::new(SignType::HmacSha256, Secret::new("the deployment's secret"));
//! let client = Client::builder("http://127.0.0.1:9000", signer).build()?;
//! let order = client.query_order(&OrderRef::allocation_no("DEVA24060201494863000002")).await?;
//! println!("{} {}", order.data.allocation_no, order.data.status);
//! # Ok(()) }
//! ```

#[cfg(feature = "admin")]
pub mod admin;
pub mod answers;
mod client;
pub mod codes;
pub mod endpoint;
mod envelope;
mod error;
pub mod reconcile;
pub mod requests;
mod spelling;
mod transport;

#[cfg(feature = "admin")]
pub use admin::{AdminClient, AdminError};
pub use alloc_protocol::{Secret, SignType, Signer};
pub use answers::*;
pub use client::{Answer, Client, ClientBuilder, RetryPolicy, new_nonce, now_secs, sign_request};
pub use codes::*;
pub use envelope::verify_notice;
pub use error::{Error, SYSTEM_ERROR, TransportError};
pub use reconcile::*;
pub use requests::*;
pub use spelling::{RENAMED, Spelling};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn client(sign_type: SignType, spelling: Spelling, ip: Option<&str>) -> Client {
        let signer = Signer::new(sign_type, Secret::new("123456"));
        let mut b = Client::builder("http://127.0.0.1:9", signer).spelling(spelling);
        if let Some(ip) = ip {
            b = b.client_ip(ip);
        }
        match b.build() {
            Ok(c) => c,
            Err(e) => panic!("client: {e}"),
        }
    }

    /// The vector named `name` of the product's signing vectors.
    fn vector(name: &str) -> Value {
        let all: Value = serde_json::from_str(include_str!("../tests/fixtures/sign.json"))
            .unwrap_or(Value::Null);
        all["vectors"]
            .as_array()
            .and_then(|v| v.iter().find(|v| v["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no vector {name}"))
    }

    fn sign_of(body: &serde_json::Map<String, Value>) -> &str {
        body.get("sign").and_then(Value::as_str).unwrap_or("")
    }

    #[test]
    fn a_start_is_signed_as_the_seed_signs_it() {
        let v = vector("seed001-start-request");
        let start = StartRequest {
            biz_allocation_no: "A29729".into(),
            order_no: Some("DEVP24060123574963000003".into()),
            description: Some("测试分账".into()),
            receivers: Some(vec![ReceiverAmount {
                receiver_no: "123".into(),
                amount: 6000,
            }]),
            attach: Some("88899".into()),
            ..StartRequest::default()
        };
        for (sign_type, key) in [
            (SignType::HmacSha256, "HMAC_SHA256"),
            (SignType::Md5, "MD5"),
        ] {
            let c = client(sign_type, Spelling::V207, Some("127.0.0.1"));
            let body = c.signed_body_at(&start, 1_717_261_696, None);
            let body = body.unwrap_or_default();
            assert_eq!(sign_of(&body), v[key], "{key}");
            let mut unsigned = body.clone();
            unsigned.remove("sign");
            assert_eq!(
                Value::Object(unsigned),
                v["object"],
                "the members sent are the seed's"
            );
        }
    }

    #[test]
    fn the_2_0_8_spelling_renames_and_signs_the_names_sent() {
        let v = vector("start-2.0.8-names");
        let start = StartRequest {
            biz_allocation_no: "A10001".into(),
            order_no: Some("DEVP24060201473363000001".into()),
            description: Some("测试分账".into()),
            receivers: Some(vec![ReceiverAmount {
                receiver_no: "123".into(),
                amount: 6500,
            }]),
            notify_url: Some("http://127.0.0.1:9000/demo/callback/allocationObject".into()),
            attach: Some("88899".into()),
            ..StartRequest::default()
        };
        let c = client(SignType::HmacSha256, Spelling::V208, Some("127.0.0.1"));
        let body = c
            .signed_body_at(&start, 1_719_475_200, Some("a1b2c3".into()))
            .unwrap_or_default();
        assert_eq!(sign_of(&body), v["HMAC_SHA256"]);
        assert!(body.contains_key("bizAllocNo") && !body.contains_key("bizAllocationNo"));

        // an empty nonce takes part in the signature
        let v = vector("sync-empty-nonce");
        let sync = OrderRef::allocation_no("DEVA24060117191963000003");
        let c = client(SignType::Md5, Spelling::V208, None);
        let body = c
            .signed_body_at(&sync, 1_719_475_200, Some(String::new()))
            .unwrap_or_default();
        assert_eq!(sign_of(&body), v["MD5"]);

        // quotes and backslashes are stripped from the sign string, not from what is sent
        let v = vector("escaping");
        let start = StartRequest {
            biz_allocation_no: "A\"7\\x".into(),
            order_no: Some("P1".into()),
            receivers: Some(vec![
                ReceiverAmount {
                    receiver_no: "r/1</x".into(),
                    amount: 1,
                },
                ReceiverAmount {
                    receiver_no: "中文\"q".into(),
                    amount: 2,
                },
            ]),
            ..StartRequest::default()
        };
        let c = client(SignType::HmacSha256, Spelling::V208, None);
        let body = c
            .signed_body_at(&start, 1_719_475_200, None)
            .unwrap_or_default();
        assert_eq!(sign_of(&body), v["HMAC_SHA256"]);
        assert_eq!(body["bizAllocNo"], json!("A\"7\\x"));
    }

    #[test]
    fn a_finish_in_2_0_7_names_is_the_seeds() {
        let v = vector("seed002-finish-request");
        let c = client(SignType::HmacSha256, Spelling::V207, None);
        let body = c
            .signed_body_at(
                &OrderRef::allocation_no("DEVA24060117191963000003"),
                1_717_327_448,
                None,
            )
            .unwrap_or_default();
        assert_eq!(sign_of(&body), v["HMAC_SHA256"]);
    }

    #[test]
    fn every_request_carries_a_fresh_nonce_and_the_time() {
        let c = client(SignType::HmacSha256, Spelling::V207, None);
        let r = OrderRef::biz_allocation_no("B1");
        let a = c.signed_body(&r).unwrap_or_default();
        let b = c.signed_body(&r).unwrap_or_default();
        assert_ne!(a["nonceStr"], b["nonceStr"]);
        let nonce = a["nonceStr"].as_str().unwrap_or_default();
        assert!(nonce.len() <= 32 && nonce.chars().all(|c| c.is_ascii_alphanumeric()));
        assert!((a["reqTime"].as_i64().unwrap_or(0) - now_secs()).abs() <= 2);
        let signer = Signer::new(SignType::HmacSha256, Secret::new("123456"));
        assert!(signer.verify(&a));
    }

    #[test]
    fn spelling_renames_every_renamed_member_of_a_request() {
        let sync_many = SyncManyRequest {
            allocation_nos: vec!["A1".into()],
        };
        let c = client(SignType::HmacSha256, Spelling::V208, None);
        let body = c.signed_body(&sync_many).unwrap_or_default();
        assert!(body.contains_key("allocNos"));
        let ret = ReturnQuery {
            order: OrderRef::biz_allocation_no("B"),
            ..ReturnQuery::default()
        };
        let body = c.signed_body(&ret).unwrap_or_default();
        assert!(body.contains_key("bizAllocNo") && !body.contains_key("bizAllocationNo"));
        let c = client(SignType::HmacSha256, Spelling::V207, None);
        let body = c.signed_body(&ret).unwrap_or_default();
        assert!(body.contains_key("bizAllocationNo"));
        assert_eq!("2.0.8".parse(), Ok(Spelling::V208));
        assert!("2.1".parse::<Spelling>().is_err());
    }

    #[test]
    fn answers_are_read_in_either_spelling() {
        let old =
            json!({"allocationNo": "A1", "bizAllocationNo": "B1", "status": "finish", "code": 0});
        let new = json!({"allocNo": "A1", "bizAllocNo": "B1", "status": "finish", "code": 0});
        let a: Result<Allocation, _> = serde_json::from_value(old);
        let b: Result<Allocation, _> = serde_json::from_value(new);
        assert_eq!(a.ok(), b.ok());
        let line =
            json!({"orders": [{"allocNo": "A1", "outcome": "not_processing", "status": "finish"}]});
        let many: Result<SyncMany, _> = serde_json::from_value(line);
        assert_eq!(
            many.ok().map(|m| m.orders[0].allocation_no.clone()),
            Some("A1".into())
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_backoff: std::time::Duration::from_millis(100),
            max_backoff: std::time::Duration::from_millis(300),
        };
        let ms = |d: std::time::Duration| d.as_millis();
        for _ in 0..50 {
            assert!((50..=100).contains(&ms(p.backoff(1))));
            assert!((100..=200).contains(&ms(p.backoff(2))));
            assert!((150..=300).contains(&ms(p.backoff(3))));
            assert!((150..=300).contains(&ms(p.backoff(30))));
        }
    }

    #[test]
    fn a_client_needs_an_http_base_url_and_never_shows_its_secret() {
        let signer = Signer::new(SignType::HmacSha256, Secret::new("s3cr3t-value"));
        for bad in ["ftp://x", "127.0.0.1:9000", "http://", "http://h/?q=1"] {
            assert!(
                matches!(
                    Client::builder(bad, signer.clone()).build(),
                    Err(Error::Config(_))
                ),
                "{bad}"
            );
        }
        let c = Client::builder("https://api.example.com/prod/", signer).build();
        assert!(c.is_ok_and(|c| !format!("{c:?}").contains("s3cr3t-value")));
    }
}
