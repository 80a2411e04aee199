//! The day of a channel's bill (SPEC §4.13): a calendar day in Beijing time, when its bill can
//! be fetched (10:00 the day after), and the channels' 3-month window.

use time::{Date, Month, OffsetDateTime, UtcOffset};

const BEIJING: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The hour (Beijing time) of the day after from which a day's bills are fetched.
pub const READY_HOUR: u8 = 10;

/// A bill's day, `yyyy-MM-dd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BillDay(Date);

impl BillDay {
    /// Reads `yyyy-MM-dd`; `None` for anything else (or no such date).
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return None;
        }
        let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u16>().ok();
        let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
        let day = u8::try_from(num(8..10)?).ok()?;
        Date::from_calendar_date(i32::from(num(0..4)?), month, day)
            .ok()
            .map(Self)
    }

    /// The Beijing day of an instant (epoch seconds).
    pub fn of(epoch_secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(epoch_secs)
            .ok()
            .map(|t| Self(t.to_offset(BEIJING).date()))
    }

    pub fn text(self) -> String {
        let d = self.0;
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    pub fn next(self) -> Option<Self> {
        self.0.next_day().map(Self)
    }

    pub fn previous(self) -> Option<Self> {
        self.0.previous_day().map(Self)
    }

    /// When this day's bill may be fetched: 10:00 Beijing time the day after (epoch seconds).
    pub fn ready_at(self) -> i64 {
        let next = self.0.next_day().unwrap_or(self.0);
        next.with_hms(READY_HOUR, 0, 0)
            .map(|t| t.assume_offset(BEIJING).unix_timestamp())
            .unwrap_or(i64::MAX)
    }

    /// The first day whose bill the channels still serve at `now`: three calendar months back
    /// (the same day of the month, or that month's last day), in Beijing time.
    pub fn window_start(now: i64) -> Option<Self> {
        let today = Self::of(now)?.0;
        let (mut year, mut month) = (today.year(), u8::from(today.month()));
        for _ in 0..3 {
            if month == 1 {
                year -= 1;
                month = 12;
            } else {
                month -= 1;
            }
        }
        let month = Month::try_from(month).ok()?;
        let day = today.day().min(month.length(year));
        Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    /// Whether this day's bill can be asked for at `now`: before today, within the window.
    pub fn fetchable(self, now: i64) -> Result<(), &'static str> {
        let today = Self::of(now).ok_or("no such time")?;
        if self >= today {
            return Err("must be a day before today (Beijing time)");
        }
        if Self::window_start(now).is_some_and(|start| self < start) {
            return Err("must be within the last 3 months: the channels serve no older bill");
        }
        Ok(())
    }
}

impl std::fmt::Display for BillDay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(t: &str) -> BillDay {
        BillDay::parse(t).unwrap_or_else(|| panic!("{t}"))
    }

    #[test]
    fn reads_only_real_days() {
        assert_eq!(day("2026-02-28").text(), "2026-02-28");
        for bad in [
            "2026-02-29",
            "2026-2-28",
            "2026/02/28",
            "20260228",
            "2026-13-01",
            "",
        ] {
            assert_eq!(BillDay::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_day_is_beijings_and_its_bill_is_ready_at_ten_the_day_after() {
        // 2026-12-06 16:30 UTC is 2026-12-07 00:30 in Beijing
        assert_eq!(
            BillDay::of(1_796_574_600).map(BillDay::text).as_deref(),
            Some("2026-12-07")
        );
        // 2026-12-08 10:00 Beijing = 02:00 UTC
        assert_eq!(day("2026-12-07").ready_at(), 1_796_695_200);
        assert_eq!(day("2026-12-31").next(), Some(day("2027-01-01")));
    }

    #[test]
    fn the_window_is_three_calendar_months() {
        let now = day("2026-05-31").ready_at() - 86_400; // 2026-05-31 10:00 Beijing
        assert_eq!(BillDay::window_start(now), Some(day("2026-02-28")));
        assert_eq!(day("2026-02-28").fetchable(now), Ok(()));
        assert!(day("2026-02-27").fetchable(now).is_err());
        assert!(
            day("2026-05-31").fetchable(now).is_err(),
            "today is not fetchable"
        );
        assert_eq!(day("2026-05-30").fetchable(now), Ok(()));
    }
}
