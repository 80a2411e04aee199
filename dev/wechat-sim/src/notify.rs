//! The profit-sharing notification (分账动账通知) WeChat POSTs to a MERCHANT_ID receiver:
//! the resource is AES-256-GCM encrypted with the APIv3 key, the body signed like an answer.
//! An order made in partner mode names `sp_mchid` and `sub_mchid` instead of `mchid` (the
//! partner variant, `/work/shared/reference/channels.md` §1.5;
//! pay.weixin.qq.com/wiki/doc/apiv3_partner/apis/chapter8_1_10.shtml) and is sealed with the
//! provider's APIv3 key.

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
    let (provider, owner, plaintext) = {
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
        let mut plaintext = json!({
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
        });
        match &order.provider {
            // The provider and the sub-merchant the order was made for.
            Some(sp_mchid) => {
                plaintext["sp_mchid"] = sp_mchid.as_str().into();
                plaintext["sub_mchid"] = order.mchid.as_str().into();
            }
            // The merchant the order (and transaction) belongs to.
            None => plaintext["mchid"] = order.mchid.as_str().into(),
        }
        (
            order.provider.clone(),
            order.mchid.clone(),
            plaintext.to_string(),
        )
    };
    // The own APIv3 key of the provider (partner order) or merchant, else the simulator's.
    let apiv3_key = {
        let merchants = inner.merchants();
        match &provider {
            Some(sp_mchid) => merchants.provider(sp_mchid).and_then(|p| p.0.apiv3_key),
            None => merchants.get(&owner).and_then(|m| m.apiv3_key),
        }
    }
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
