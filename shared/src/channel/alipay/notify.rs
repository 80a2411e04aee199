//! `alipay.trade.order.settle.notify` (SPEC §6.3): a form POSTed to our application gateway,
//! RSA2 over the sorted parameters without `sign` and `sign_type`, for our app, and recent.

use super::royalty::RoyaltyDetails;
use super::wire::sign_content;
use crate::infra::crypto::RsaVerifier;

/// How far a notification's `utc_timestamp` may lie in the past (Alipay retries for about a
/// day) or the future.
pub const NOTIFY_MAX_AGE_SECS: i64 = 25 * 3600;
pub const NOTIFY_MAX_AHEAD_SECS: i64 = 300;

/// The account a notification's form names (unverified): its `app_id`, and for a settle a
/// third-party app made for a merchant, `app_id/auth_app_id`.
pub fn account_of(body: &[u8]) -> Option<String> {
    let get = |name: &str| {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .filter(|v| !v.is_empty() && v.len() <= 32)
    };
    let app_id = get("app_id")?;
    Some(match get("auth_app_id").filter(|a| *a != app_id) {
        Some(auth) => format!("{app_id}/{auth}"),
        None => app_id,
    })
}

/// Verifies a settle notification and returns its `biz_content`. `Err` says why, safe to log.
/// `auth_app_id`: the authorising merchant's app, for a third-party app acting for one.
pub fn verify_notification(
    pairs: &[(String, String)],
    alipay_key: &RsaVerifier,
    app_id: &str,
    auth_app_id: Option<&str>,
    now: i64,
) -> Result<RoyaltyDetails, String> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let mut names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err("a parameter appears twice".into());
    }
    let sign = get("sign").ok_or("not signed")?;
    let content = sign_content(
        pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        &["sign", "sign_type"],
    );
    if !alipay_key.verify_base64(content.as_bytes(), sign) {
        return Err("signature does not verify".into());
    }
    if get("app_id") != Some(app_id) {
        return Err("notification for another app".into());
    }
    if let Some(auth) = auth_app_id
        && get("auth_app_id").unwrap_or(app_id) != auth
    {
        return Err("notification for another authorising merchant".into());
    }
    if get("msg_method") != Some("alipay.trade.order.settle.notify") {
        return Err("not a settle notification".into());
    }
    let sent_ms: i64 = get("utc_timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or("no utc_timestamp")?;
    let age = now - sent_ms / 1000;
    if !(-NOTIFY_MAX_AHEAD_SECS..=NOTIFY_MAX_AGE_SECS).contains(&age) {
        return Err(format!("stale notification ({age} s old)"));
    }
    serde_json::from_str(get("biz_content").ok_or("no biz_content")?)
        .map_err(|_| "biz_content is not a settle notification object".to_owned())
}
