//! Timing of the asynchronous side (SPEC §4.4, §4.6, §4.7, §7): auto finish, auto
//! allocation, sync backoff, notices.

use super::setting::{ConfigError, bool_setting, count_setting, secs_setting, url_setting};
use crate::domain::Spelling;
use crate::domain::lifecycle::Timing;
use crate::domain::notice::{DAXPAY_NOTIFY_DELAYS, Schedule};

/// Timing of the asynchronous side (SPEC §4.4, §4.6, §4.7, §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSettings {
    /// `AUTO_FINISH` (default true) and `AUTO_FINISH_DELAY_SECS` (default 60).
    pub auto_finish: bool,
    pub auto_finish_delay_secs: i64,
    /// `AUTO_ALLOCATION_DELAY_SECS` after payTime (default 60).
    pub auto_allocation_delay_secs: i64,
    /// `SYNC_FIRST_DELAY_SECS` (default 30): first sync of an order still processing.
    pub sync_first_delay_secs: i64,
    /// `SYNC_MAX_INTERVAL_SECS` (default 1800): the backoff cap.
    pub sync_max_interval_secs: i64,
    /// `SYNC_MAX_AGE_SECS` (default 172800): after this an order still processing is flagged
    /// for a human instead of polled.
    pub sync_max_age_secs: i64,
    /// `DEFAULT_NOTIFY_URL`: where notices go when the order has no notifyUrl.
    pub default_notify_url: Option<String>,
    /// `ALLOW_PRIVATE_NOTIFY_URLS` (default false): allow loopback/private/link-local targets
    /// (local runs only).
    pub allow_private_notify_urls: bool,
    /// `NOTIFY_DELAYS_SECS`: the retry delays after each failed attempt (default DaxPay's
    /// 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m, 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h).
    /// Each notice keeps the schedule in force when it was written.
    pub notify_delays_secs: Vec<i64>,
    /// `WORKER_CONCURRENCY` (default 10, the SQS batch size): jobs of one batch run at once.
    pub worker_concurrency: usize,
    /// `JOB_BUDGET_SECS` (default 20): the longest one job may take (a sync may query the
    /// channel and send the split again: two channel timeouts, plus DynamoDB). A job still
    /// running then is cut and reported failed (every job is idempotent); no job starts when
    /// less than this is left before the invocation's deadline.
    pub job_budget_secs: i64,
    /// `DEFAULT_FIELD_NAMES` (`2.0.7` default, or `2.0.8`): the DaxPay field names of notices
    /// of orders no merchant request created (auto allocation).
    pub default_spelling: Spelling,
    /// `FREEZE_DEADLINE_SECS` (default 30 days): how long a channel keeps a payment's funds
    /// frozen for sharing before it releases them to the merchant (SPEC §4.11; WeChat direct
    /// merchants and Alipay 30 days, WeChat service providers 180).
    pub freeze_deadline_secs: i64,
    /// `FREEZE_DEADLINE_MARGIN_SECS` (default 3 days): how long before that deadline an
    /// unsplit pay order is acted on.
    pub freeze_deadline_margin_secs: i64,
    /// `FREEZE_DEADLINE_ACTION` (`notify`, default, or `allocate`): at the margin, send the
    /// merchant an `allocation_expiring` notice, or allocate with the default group.
    pub freeze_deadline_allocates: bool,
}

impl Default for JobSettings {
    fn default() -> Self {
        Self {
            auto_finish: true,
            auto_finish_delay_secs: 60,
            auto_allocation_delay_secs: 60,
            sync_first_delay_secs: 30,
            sync_max_interval_secs: 1800,
            sync_max_age_secs: 172_800,
            default_notify_url: None,
            allow_private_notify_urls: false,
            notify_delays_secs: DAXPAY_NOTIFY_DELAYS.to_vec(),
            default_spelling: Spelling::V207,
            worker_concurrency: 10,
            job_budget_secs: 20,
            freeze_deadline_secs: 30 * 86_400,
            freeze_deadline_margin_secs: 3 * 86_400,
            freeze_deadline_allocates: false,
        }
    }
}

impl JobSettings {
    /// The timing of an order's life.
    pub fn timing(&self) -> Timing {
        Timing {
            auto_finish: self.auto_finish,
            auto_finish_delay_secs: self.auto_finish_delay_secs,
            sync_first_delay_secs: self.sync_first_delay_secs,
            sync_max_interval_secs: self.sync_max_interval_secs,
            sync_max_age_secs: self.sync_max_age_secs,
        }
    }

    /// When the channel releases the frozen funds of a payment made at `pay_time`.
    pub fn freeze_deadline(&self, pay_time: i64) -> i64 {
        pay_time + self.freeze_deadline_secs
    }

    /// The retry schedule a notice written now keeps.
    pub fn notice_schedule(&self) -> Schedule {
        Schedule::new(self.notify_delays_secs.clone())
    }

    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let d = Self::default();
        let notify_delays_secs = match get("NOTIFY_DELAYS_SECS") {
            None => d.notify_delays_secs,
            Some(list) => {
                let parsed: Option<Vec<i64>> = list
                    .split(',')
                    .map(|x| {
                        x.trim()
                            .parse()
                            .ok()
                            .filter(|t: &i64| (0..=86_400).contains(t))
                    })
                    .collect();
                parsed.filter(|v| v.len() == 15).ok_or_else(|| {
                    ConfigError::new(
                        "NOTIFY_DELAYS_SECS",
                        "must be 15 comma-separated whole seconds",
                    )
                })?
            }
        };
        let default_spelling = match get("DEFAULT_FIELD_NAMES") {
            None => d.default_spelling,
            Some(v) => Spelling::from_code(v.trim())
                .ok_or_else(|| ConfigError::new("DEFAULT_FIELD_NAMES", "must be 2.0.7 or 2.0.8"))?,
        };
        let default_notify_url = get("DEFAULT_NOTIFY_URL");
        if let Some(url) = &default_notify_url {
            url_setting("DEFAULT_NOTIFY_URL", url)?;
        }
        Ok(Self {
            auto_finish: bool_setting(get, "AUTO_FINISH", d.auto_finish)?,
            auto_finish_delay_secs: secs_setting(
                get,
                "AUTO_FINISH_DELAY_SECS",
                d.auto_finish_delay_secs,
                86_400,
            )?,
            auto_allocation_delay_secs: secs_setting(
                get,
                "AUTO_ALLOCATION_DELAY_SECS",
                d.auto_allocation_delay_secs,
                86_400,
            )?,
            sync_first_delay_secs: secs_setting(
                get,
                "SYNC_FIRST_DELAY_SECS",
                d.sync_first_delay_secs,
                86_400,
            )?,
            sync_max_interval_secs: secs_setting(
                get,
                "SYNC_MAX_INTERVAL_SECS",
                d.sync_max_interval_secs,
                86_400,
            )?,
            sync_max_age_secs: secs_setting(
                get,
                "SYNC_MAX_AGE_SECS",
                d.sync_max_age_secs,
                2_592_000,
            )?,
            default_notify_url,
            allow_private_notify_urls: bool_setting(get, "ALLOW_PRIVATE_NOTIFY_URLS", false)?,
            notify_delays_secs,
            default_spelling,
            worker_concurrency: count_setting(
                get,
                "WORKER_CONCURRENCY",
                d.worker_concurrency,
                (1, 100),
            )?,
            job_budget_secs: secs_setting(get, "JOB_BUDGET_SECS", d.job_budget_secs, 900)?.max(1),
            freeze_deadline_secs: secs_setting(
                get,
                "FREEZE_DEADLINE_SECS",
                d.freeze_deadline_secs,
                180 * 86_400,
            )?,
            freeze_deadline_margin_secs: secs_setting(
                get,
                "FREEZE_DEADLINE_MARGIN_SECS",
                d.freeze_deadline_margin_secs,
                30 * 86_400,
            )?,
            freeze_deadline_allocates: match get("FREEZE_DEADLINE_ACTION").as_deref().map(str::trim)
            {
                None | Some("notify") => false,
                Some("allocate") => true,
                Some(_) => {
                    return Err(ConfigError::new(
                        "FREEZE_DEADLINE_ACTION",
                        "must be notify or allocate",
                    ));
                }
            },
        })
    }
}
