//! The digest of a start's business fields (SPEC §4.2 step 2): a repeated bizAllocationNo is
//! the same start only when the digests match. Its second form, and the first, which orders
//! started before the second still carry.

use super::start_params::{Receivers, StartParams};
use sha2::{Digest, Sha256};

impl StartParams {
    /// The digest of the business fields (everything but `sign`, `nonceStr`, `reqTime` and
    /// `clientIp`, which are not part of `StartParams`), spelling-independent: a repeated
    /// bizAllocationNo is the same start only when the digests match (SPEC §4.2 step 2).
    ///
    /// `2:` and the hex SHA-256 of [`StartParams::digest_text`]. Orders started before this
    /// form kept the first one, which [`StartParams::matches_digest`] still recognises.
    pub fn digest(&self) -> String {
        let mut hex = String::with_capacity(DIGEST_PREFIX.len() + 64);
        hex.push_str(DIGEST_PREFIX);
        hex.push_str(&hex::encode(Sha256::digest(self.digest_text())));
        hex
    }

    /// Whether `stored`, the digest kept with an order, was made from these parameters;
    /// `digest` is theirs ([`StartParams::digest`], computed once per request).
    pub fn matches_digest(&self, stored: &str, digest: &str) -> bool {
        if stored.starts_with(DIGEST_PREFIX) {
            stored == digest
        } else {
            stored == self.first_digest()
        }
    }

    /// The text digested: every business field in a fixed order, each a tag (absent or
    /// present) and, when present, its length and bytes, so that two different parameter sets
    /// never give the same text. Less than half the JSON text, and written without escaping.
    fn digest_text(&self) -> Vec<u8> {
        // (A request is at most a few MB: every length fits in 32 bits.)
        fn len(text: &mut Vec<u8>, n: usize) {
            text.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        fn put(text: &mut Vec<u8>, field: Option<&str>) {
            match field {
                None => text.push(0),
                Some(value) => {
                    text.push(1);
                    len(text, value.len());
                    text.extend_from_slice(value.as_bytes());
                }
            }
        }
        let receivers = self.receivers.as_ref();
        let listed = receivers.map_or(0, |r| 12 * r.len() + r.numbers_len());
        let mut text = Vec::with_capacity(640 + listed);
        text.extend_from_slice(b"start\0");
        put(&mut text, Some(&self.biz_allocation_no));
        put(&mut text, self.order_no.as_deref());
        put(&mut text, self.biz_order_no.as_deref());
        put(&mut text, self.description.as_deref());
        put(&mut text, self.group_no.as_deref());
        put(&mut text, self.notify_url.as_deref());
        put(&mut text, self.attach.as_deref());
        text.push(match self.not_notify {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        });
        match receivers {
            None => text.push(0),
            Some(list) => {
                text.push(1);
                len(&mut text, list.len());
                for r in list.iter() {
                    len(&mut text, r.receiver_no.len());
                    text.extend_from_slice(r.receiver_no.as_bytes());
                    text.extend_from_slice(&r.amount.get().to_le_bytes());
                }
            }
        }
        // Only a 3.x start has a title: without one the text is what it always was, so orders
        // started before titles existed keep their digest.
        if let Some(title) = &self.title {
            text.extend_from_slice(b"\0title\0");
            len(&mut text, title.len());
            text.extend_from_slice(title.as_bytes());
        }
        text
    }

    /// The first form of the digest: hex SHA-256 of the parameters as serde_json writes them.
    fn first_digest(&self) -> String {
        let mut text =
            Vec::with_capacity(256 + 64 * self.receivers.as_ref().map_or(0, Receivers::len));
        if serde_json::to_writer(&mut text, self).is_err() {
            text.clear();
        }
        hex::encode(Sha256::digest(&text))
    }
}

/// What starts every digest of the second form (the first was 64 hex digits alone).
const DIGEST_PREFIX: &str = "2:";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Fen;
    use serde_json::{Value, json};

    fn start(v: Value) -> StartParams {
        match serde_json::from_value(v) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    fn receivers(list: &[(&str, i64)]) -> Receivers {
        list.iter()
            .map(|(no, fen)| (*no, Fen::new(*fen).unwrap_or_else(|e| panic!("{e}"))))
            .collect()
    }

    fn seed_start() -> StartParams {
        start(json!({
            "bizAllocationNo": "A29729", "orderNo": "DEVP24060123574963000003",
            "description": "测试分账", "receivers": [{"receiverNo": "123", "amount": 6000}],
            "attach": "88899"
        }))
    }

    /// An order started before the digest's second form keeps matching the same start, and
    /// only it: its stored digest is the SHA-256 of the parameters' JSON text (pinned here).
    #[test]
    fn digests_of_the_first_form_still_match() {
        const FIRST: &str = "212569d2ccc33b7eaca7fa19ceadadd976855cc55986b3f36799a0e431756bb2";
        let p = seed_start();
        let digest = p.digest();
        assert!(p.matches_digest(FIRST, &digest));
        let mut other = p.clone();
        other.attach = Some("88898".into());
        assert!(!other.matches_digest(FIRST, &other.digest()));
        // nor is a first-form digest taken for the second form, or the other way round
        assert!(!p.matches_digest(&digest[2..], &digest));
        assert!(!p.matches_digest(&format!("2:{FIRST}"), &digest));
    }

    /// Any change to a business field changes the digest, spelling does not, and the second
    /// form matches only itself.
    #[test]
    fn the_digest_tells_every_parameter_apart() {
        let p = seed_start();
        let digest = p.digest();
        assert!(digest.starts_with("2:") && digest.len() == 66, "{digest}");
        assert!(p.matches_digest(&digest, &digest));
        let same = start(json!({
            "bizAllocNo": "A29729", "orderNo": "DEVP24060123574963000003",
            "description": "测试分账", "receivers": [{"receiverNo": "123", "amount": 6000}],
            "attach": "88899", "bizOrderNo": null
        }));
        assert_eq!(
            same.digest(),
            digest,
            "spelling and explicit nulls do not count"
        );
        let changes: [fn(&mut StartParams); 16] = [
            |p| p.biz_allocation_no.push('0'),
            |p| p.order_no = None,
            |p| p.biz_order_no = Some(String::new()),
            |p| p.description = Some("测试分".into()),
            |p| p.group_no = Some("g".into()),
            |p| p.notify_url = Some("https://m.example/n".into()),
            |p| p.attach = None,
            |p| p.not_notify = Some(false),
            |p| p.not_notify = Some(true),
            |p| p.receivers = None,
            |p| p.receivers = Some(Receivers::default()),
            |p| p.receivers = Some(receivers(&[("1234", 6000)])),
            |p| p.receivers = Some(receivers(&[("123", 6001)])),
            |p| p.receivers = Some(receivers(&[("123", 6000), ("123", 6000)])),
            // the same bytes moved from one field to the next are still a change
            |p| {
                p.order_no = Some("DEVP2406012357496300000".into());
                p.description = Some("3测试分账".into());
            },
            |p| {
                p.attach = Some(String::new());
                p.notify_url = Some(String::new());
            },
        ];
        let mut seen = std::collections::HashSet::from([digest.clone()]);
        for (i, change) in changes.iter().enumerate() {
            let mut q = p.clone();
            change(&mut q);
            let d = q.digest();
            assert!(!p.matches_digest(&d, &digest), "change {i}");
            assert!(seen.insert(d), "change {i} collides with another");
        }
        // the order of the receivers counts
        let two = |a: &str, b: &str| {
            start(
                json!({"bizAllocationNo": "A", "orderNo": "P", "receivers": [
                {"receiverNo": a, "amount": 1}, {"receiverNo": b, "amount": 2}]}),
            )
        };
        assert_ne!(two("x", "y").digest(), two("y", "x").digest());
        assert_ne!(two("xy", "").digest(), two("x", "y").digest());
    }
}
