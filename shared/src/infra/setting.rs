//! Reading one setting: the error that names it, and the parsers every setting block uses.

/// A setting that is missing or malformed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration error: {setting}: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: &'static str, problem: impl Into<String>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }
}

pub(super) fn secs_setting(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: i64,
    max: i64,
) -> Result<i64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|t| (0..=max).contains(t))
            .ok_or_else(|| {
                ConfigError::new(name, format!("must be whole seconds from 0 to {max}"))
            }),
    }
}

/// A count from `min` to `max`.
pub(super) fn count_setting(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: usize,
    (min, max): (usize, usize),
) -> Result<usize, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| {
                ConfigError::new(name, format!("must be a whole number from {min} to {max}"))
            }),
    }
}

pub(super) fn bool_setting(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ConfigError::new(name, "must be true or false")),
    }
}

/// A URL setting: absolute http(s) with a host (the rule merchant URLs follow too).
pub(super) fn url_setting(name: &'static str, url: &str) -> Result<(), ConfigError> {
    crate::domain::notice::check_http_url(url).map_err(|rule| ConfigError::new(name, rule))
}

/// A channel call timeout in milliseconds (default 8000, 100..=30000).
pub(super) fn timeout_setting(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(8000),
        Some(v) => v
            .parse()
            .ok()
            .filter(|t| (100..=30_000).contains(t))
            .ok_or_else(|| ConfigError::new(name, "must be milliseconds from 100 to 30000")),
    }
}
