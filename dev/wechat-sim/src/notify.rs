//! The profit-sharing notification (分账动账通知) WeChat POSTs to a MERCHANT_ID receiver:
//! the resource is AES-256-GCM encrypted with the APIv3 key, the body signed like an answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::api::sign_answer;
use crate::crypto::{ALNUM, DIGITS, aes_gcm_seal, random_text};
use crate::state::MERCHANT_ID;
use crate::{Inner, Notification, SimError, beijing_now, unix_now};

pub(crate) const ASSOCIATED_DATA: &str = "profitsharing";

pub(crate) fn build(
    inner: &Inner,
    transaction_id: &str,
    out_order_no: &str,
    account: &str,
) -> Result<Notification, SimError> {
    let now = beijing_now();
    let (mchid, plaintext) = {
        let state = inner.state();
        let order = state
            .find_order(transaction_id, out_order_no)
            .ok_or(SimError::UnknownOrder)?;
        let receiver = order
            .receivers
            .iter()
            .find(|r| r.account == account)
            .ok_or_else(|| SimError::UnknownReceiver(account.to_string()))?;
        if receiver.kind != MERCHANT_ID {
            return Err(SimError::NotMerchantReceiver(account.to_string()));
        }
        let success_time = if receiver.result == "SUCCESS" {
            receiver.finish_time.clone()
        } else {
            now.clone()
        };
        let plaintext = json!({
            // The merchant the order (and transaction) belongs to.
            "mchid": order.mchid,
            "transaction_id": order.transaction_id,
            "order_id": order.order_id,
            "out_order_no": order.out_order_no,
            "receiver": {
                "type": receiver.kind,
                "account": receiver.account,
                "amount": receiver.amount,
                "description": receiver.description,
            },
            "success_time": success_time,
        })
        .to_string();
        (order.mchid.clone(), plaintext)
    };
    // That merchant's own APIv3 key if it has one, else the simulator's.
    let apiv3_key = inner
        .merchants()
        .get(&mchid)
        .and_then(|m| m.apiv3_key)
        .unwrap_or(inner.apiv3_key);
    let resource_nonce = random_text(12, ALNUM);
    let sealed = aes_gcm_seal(
        &apiv3_key,
        resource_nonce.as_bytes(),
        ASSOCIATED_DATA.as_bytes(),
        plaintext.as_bytes(),
    )?;
    let body = json!({
        "id": format!("EV-{}", random_text(19, DIGITS)),
        "create_time": now,
        "resource_type": "encrypt-resource",
        "event_type": "PROFITSHARING.SUCCESS",
        "summary": "分账",
        "resource": {
            "algorithm": "AEAD_AES_256_GCM",
            "original_type": "profitsharing",
            "ciphertext": STANDARD.encode(sealed),
            "associated_data": ASSOCIATED_DATA,
            "nonce": resource_nonce,
        },
    })
    .to_string();
    let timestamp = unix_now();
    let nonce = random_text(32, ALNUM);
    let signature = sign_answer(inner, timestamp, &nonce, &body)?;
    let headers = [
        ("Content-Type", "application/json".to_string()),
        ("Wechatpay-Timestamp", timestamp.to_string()),
        ("Wechatpay-Nonce", nonce),
        ("Wechatpay-Serial", inner.key_id.clone()),
        ("Wechatpay-Signature", signature),
        (
            "Wechatpay-Signature-Type",
            "WECHATPAY2-SHA256-RSA2048".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Ok(Notification { headers, body })
}
