//! Money and shares: amounts are whole fen, rates basis points (1/10000 of the pay amount).
//! The newtypes validate once, where a value enters (a request, a notice).

use serde::{Deserialize, Deserializer};

/// The largest amount in fen we accept anywhere (one billion yuan). Keeps every product of an
/// amount and a basis-point rate far inside `i64`.
pub const MAX_AMOUNT: i64 = 100_000_000_000;

/// The most a group may share out, in basis points.
pub const FULL_RATE: i64 = 10_000;

/// The most receivers one allocation (or one group) may have: WeChat Pay takes at most 50
/// receivers per split, and one DynamoDB transaction at most 100 items.
pub const MAX_RECEIVERS: usize = 50;

/// An amount to pay: whole fen from 1 to [`MAX_AMOUNT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Fen(i64);

impl Fen {
    pub const RULE: &str = "must be an integer amount in fen from 1 to 100000000000";

    pub fn new(fen: i64) -> Result<Self, &'static str> {
        if (1..=MAX_AMOUNT).contains(&fen) {
            Ok(Self(fen))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Fen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Fen::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A share of a group: basis points from 0 to [`FULL_RATE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Rate(i64);

impl Rate {
    pub const RULE: &str = "must be an integer from 0 to 10000 (basis points)";

    pub fn new(rate: i64) -> Result<Self, &'static str> {
        if (0..=FULL_RATE).contains(&rate) {
            Ok(Self(rate))
        } else {
            Err(Self::RULE)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }

    /// `floor(amount × rate / 10000)`: a group member's share of a pay amount.
    pub fn share_of(self, amount: i64) -> i64 {
        amount.saturating_mul(self.0) / FULL_RATE
    }

    /// `floor(part × 10000 / whole)`: the rate an explicit amount is of the pay amount.
    pub fn of(part: i64, whole: i64) -> i64 {
        if whole > 0 {
            part.saturating_mul(FULL_RATE) / whole
        } else {
            0
        }
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Rate::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Renders fen as a yuan string with two decimals (`6000` → `"60.00"`).
pub fn fen_to_yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Reads a yuan string of at most two decimals as fen (`"60.1"` → `6010`); `None` for
/// anything else (a sign, more decimals, no digits, too large).
pub fn yuan_to_fen(yuan: &str) -> Option<i64> {
    let (whole, frac) = yuan.split_once('.').unwrap_or((yuan, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 15 || frac.len() > 2 || !digits(whole) || !digits(frac) {
        return None;
    }
    let frac_fen = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(frac_fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_strings_read_as_fen() {
        for (yuan, fen) in [
            ("60.00", Some(6000)),
            ("0.01", Some(1)),
            ("60.1", Some(6010)),
            ("7", Some(700)),
        ] {
            assert_eq!(yuan_to_fen(yuan), fen, "{yuan}");
        }
        for bad in ["", ".5", "1.234", "-1.00", "1e3", "1.-1", " 1.00"] {
            assert_eq!(yuan_to_fen(bad), None, "{bad}");
        }
    }

    #[test]
    fn amounts_and_rates_validate_at_the_edge() {
        assert!(Fen::new(0).is_err() && Fen::new(-5).is_err() && Fen::new(MAX_AMOUNT + 1).is_err());
        assert_eq!(Fen::new(1).map(Fen::get), Ok(1));
        assert!(Rate::new(-1).is_err() && Rate::new(10_001).is_err());
        assert_eq!(Rate::new(3333).map(|r| r.share_of(999)), Ok(332));
        assert_eq!(Rate::of(6000, 10000), 6000);
        assert_eq!(Rate::of(1, 0), 0);
        let parsed: Result<Fen, _> = serde_json::from_str("0");
        assert!(parsed.is_err_and(|e| e.to_string().contains(Fen::RULE)));
    }

    #[test]
    fn fen_to_yuan_has_two_decimals() {
        for (fen, yuan) in [
            (6000, "60.00"),
            (1, "0.01"),
            (10, "0.10"),
            (123456, "1234.56"),
        ] {
            assert_eq!(fen_to_yuan(fen), yuan);
        }
    }
}
