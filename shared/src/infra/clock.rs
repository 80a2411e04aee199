//! Where "now" comes from: the system clock, or a fixed instant in tests.

/// A source of the current time in epoch seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(i64),
}

impl Clock {
    /// Epoch seconds.
    pub fn now(self) -> i64 {
        match self {
            Self::System => now_secs(),
            Self::Fixed(t) => t,
        }
    }
}

/// Current time in epoch seconds.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
