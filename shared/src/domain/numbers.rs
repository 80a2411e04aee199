//! Numbers we make up (allocation numbers, channel request numbers) and the Beijing clock
//! they, DaxPay and Alipay write times in.

use time::OffsetDateTime;
use time::macros::{format_description, offset};

const BEIJING_TIME: &[time::format_description::FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// `yyyy-MM-dd HH:mm:ss` in Beijing time (DaxPay's `LocalDateTime` text, Alipay's timestamps).
pub fn beijing_timestamp(epoch_secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(epoch_secs)
        .map(|t| t.to_offset(offset!(+8)))
        .ok()
        .and_then(|t| t.format(BEIJING_TIME).ok())
        .unwrap_or_default()
}

/// Parses a Beijing-time `yyyy-MM-dd HH:mm:ss` into epoch seconds.
pub fn parse_beijing_timestamp(text: &str) -> Option<i64> {
    time::PrimitiveDateTime::parse(text, BEIJING_TIME)
        .ok()
        .map(|t| t.assume_offset(offset!(+8)).unix_timestamp())
}

/// The Beijing day of an instant, `yyyy-MM-dd`.
pub fn beijing_day(epoch_secs: i64) -> String {
    let mut stamp = beijing_timestamp(epoch_secs);
    stamp.truncate(10);
    stamp
}

/// `text` when it is a real day written `yyyy-MM-dd`.
pub fn parse_beijing_day(text: &str) -> Option<&str> {
    let start = parse_beijing_timestamp(&format!("{text} 00:00:00"))?;
    (text.len() == 10 && beijing_day(start) == text).then_some(text)
}

/// `yyMMddHHmmss` in Beijing time.
fn beijing_digits(now: i64) -> String {
    let stamp = beijing_timestamp(now);
    stamp.chars().filter(char::is_ascii_digit).skip(2).collect()
}

/// The longest allocation number (it is the channel's request number; Alipay allows 32).
pub const MAX_ALLOCATION_NO: usize = 32;

/// The digits of an app's code in its numbers.
pub const APP_CODE_DIGITS: usize = 6;

/// How long our numbers may be: the finish's request number adds one character (`F`) and
/// must stay within Alipay's 32.
const MAX_NUMBER: usize = MAX_ALLOCATION_NO - 1;

/// `kind` + `yyMMddHHmmss` (Beijing time) after `prefix`, then the app's code (none for the
/// stack's default app) and random digits: 8 for the default app, as many as fit (at least 4)
/// for the others. An app's numbers are unique by the conditional write that stores them, and
/// two apps' numbers never meet: different codes, or (the default app's) a different length.
fn new_number(prefix: &str, kind: char, code: Option<&str>, now: i64) -> String {
    use rand::Rng;
    let stamp = beijing_digits(now);
    let code = code.unwrap_or_default();
    let random = if code.is_empty() {
        8
    } else {
        MAX_NUMBER
            .saturating_sub(prefix.len() + 1 + stamp.len() + code.len())
            .clamp(4, 12)
    };
    let mut rng = rand::rng();
    let digits: String = (0..random)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    format!("{prefix}{kind}{stamp}{code}{digits}")
}

/// A fresh allocation number (SPEC §5): prefix + `A` + `yyMMddHHmmss` (Beijing time) + the
/// app's code + random digits (see [`new_number`]).
pub fn new_allocation_no(prefix: &str, code: Option<&str>, now: i64) -> String {
    new_number(prefix, 'A', code, now)
}

/// A fresh return number: prefix + `R` + `yyMMddHHmmss` (Beijing time) + the app's code +
/// random digits; it is the channel's `out_return_no`.
pub fn new_return_no(prefix: &str, code: Option<&str>, now: i64) -> String {
    new_number(prefix, 'R', code, now)
}

/// A fresh app code: [`APP_CODE_DIGITS`] random digits (unique by the conditional write that
/// claims it).
pub fn new_app_code() -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random_range(0..1_000_000);
    format!("{n:06}")
}

/// A fresh request number for a receiver bind/unbind at the channel (≤ 32 of `[A-Za-z0-9]`).
pub fn new_request_no(kind: char, now: i64) -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{kind}{}{n:016x}", beijing_digits(now))
}

/// The channel request number of an order's finish (SPEC §4.4).
pub fn finish_request_no(allocation_no: &str) -> String {
    format!("{allocation_no}F")
}

/// The bizAllocationNo of a pay order's auto allocation (SPEC §4.6): a repeated job finds the
/// same order.
pub fn auto_biz_allocation_no(order_no: &str) -> String {
    format!("AUTO{order_no}")
}

/// The bizAllocationNo of the allocation made when a pay order nears its freeze deadline
/// (SPEC §4.11): its own, so that it never meets an auto allocation of the same pay order with
/// other parameters (a duplicate start must carry the same ones).
pub fn deadline_biz_allocation_no(order_no: &str) -> String {
    format!("DEADLINE{order_no}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_the_daxpay_shape() {
        let no = new_allocation_no("DEV", None, 1_719_475_200);
        assert!(no.starts_with("DEVA240627160000"), "{no}");
        assert_eq!(no.len(), 3 + 1 + 12 + 8);
        assert!(no.len() <= MAX_ALLOCATION_NO && no.chars().all(|c| c.is_ascii_alphanumeric()));
        let r = new_request_no('B', 1_719_475_200);
        assert!(
            r.len() <= 32 && r.chars().all(|c| c.is_ascii_alphanumeric()),
            "{r}"
        );
        assert_eq!(finish_request_no("A1"), "A1F");
    }

    #[test]
    fn an_apps_numbers_carry_its_code_and_never_meet_the_default_apps() {
        for prefix in ["", "DEV", "ABCDEFGH"] {
            let default = new_allocation_no(prefix, None, 1_719_475_200);
            let app = new_allocation_no(prefix, Some("004217"), 1_719_475_200);
            let ret = new_return_no(prefix, Some("004217"), 1_719_475_200);
            assert!(
                app.starts_with(&format!("{prefix}A240627160000004217")),
                "{app}"
            );
            assert!(
                ret.starts_with(&format!("{prefix}R240627160000004217")),
                "{ret}"
            );
            assert_ne!(default.len(), app.len(), "{prefix}");
            // the finish's request number (+F) stays within Alipay's 32
            assert!(app.len() < MAX_ALLOCATION_NO, "{app}");
            assert!(app.len() >= prefix.len() + 1 + 12 + 6 + 4, "{app}");
            assert!(app.chars().all(|c| c.is_ascii_alphanumeric()));
        }
        assert_eq!(new_app_code().len(), APP_CODE_DIGITS);
    }

    #[test]
    fn beijing_time_round_trip() {
        assert_eq!(beijing_timestamp(1_719_475_200), "2024-06-27 16:00:00");
        assert_eq!(
            parse_beijing_timestamp("2024-06-27 16:00:00"),
            Some(1_719_475_200)
        );
    }
}
