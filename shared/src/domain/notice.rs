//! Merchant notices (SPEC §4.7): the outbox item, its attempts and its retry schedule.

use super::codes::{AllocationStatus, Channel, ReturnStatus};
use super::due::Due;

/// The topic of the notice sent when a pay order nears its freeze deadline (SPEC §4.11).
pub const EXPIRING: &str = "allocation_expiring";

/// The topic of the notice sent when a day's reconciliation keeps unresolved discrepancies
/// (SPEC §4.13).
pub const RECONCILE_DISCREPANCY: &str = "reconcile_discrepancy";

/// The subject of a day's statement notice: `<channel>#<yyyy-MM-dd>` (`wechat_pay#2026-12-01`).
pub fn statement_subject(channel: Channel, day: &str) -> String {
    format!("{channel}#{day}")
}

/// The channel and day a [`statement_subject`] names.
pub fn statement_of_subject(subject: &str) -> Option<(Channel, &str)> {
    let (channel, day) = subject.split_once('#')?;
    Some((Channel::from_code(channel)?, day)).filter(|(_, d)| !d.is_empty())
}

/// What a notice is about. With its subject (an allocationNo; for [`Topic::Expiring`] the pay
/// order's orderNo; for [`Topic::ReconcileDiscrepancy`] a [`statement_subject`]) it names the
/// notice: at most one per subject and topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// The allocation order entered this status.
    Status(AllocationStatus),
    /// A return of the order ended.
    Return {
        return_no: String,
        status: ReturnStatus,
    },
    /// The pay order nears the channel's freeze deadline unsplit.
    Expiring,
    /// A day's statement of a channel kept unresolved discrepancies.
    ReconcileDiscrepancy,
}

impl Topic {
    /// The status the notice reports (`allocation_end`, `return_success`,
    /// `allocation_expiring`, `reconcile_discrepancy`).
    pub fn status_code(&self) -> &'static str {
        match self {
            Self::Status(s) => s.code(),
            Self::Return { status, .. } => status.code(),
            Self::Expiring => EXPIRING,
            Self::ReconcileDiscrepancy => RECONCILE_DISCREPANCY,
        }
    }

    /// The notice's name within its subject: the status, and for a return its number.
    pub fn code(&self) -> String {
        match self {
            Self::Return { return_no, status } => format!("{status}#{return_no}"),
            other => other.status_code().to_owned(),
        }
    }

    /// The topic a [`Topic::code`] names.
    pub fn parse(code: &str) -> Option<Self> {
        match code.split_once('#') {
            Some((status, return_no)) => Self::from_parts(status, Some(return_no)),
            None => Self::from_parts(code, None),
        }
    }

    /// The topic of a reported status and, for a return, its number.
    pub fn from_parts(status: &str, return_no: Option<&str>) -> Option<Self> {
        match return_no {
            Some(no) if !no.is_empty() => Some(Self::Return {
                return_no: no.to_owned(),
                status: ReturnStatus::from_code(status)?,
            }),
            Some(_) => None,
            None if status == EXPIRING => Some(Self::Expiring),
            None if status == RECONCILE_DISCREPANCY => Some(Self::ReconcileDiscrepancy),
            None => AllocationStatus::from_code(status).map(Self::Status),
        }
    }
}

/// One attempt to deliver a merchant notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeAttempt {
    pub number: i64,
    pub at: i64,
    pub delivered: bool,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why it failed: a transport error or the first 100 characters of the answer.
    pub error: Option<String>,
}

/// One merchant notice (outbox item, SPEC §4.7): of an order's status, a return's end, a pay
/// order's coming freeze deadline, or a day's reconciliation that found discrepancies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The allocationNo (the orderNo for [`Topic::Expiring`], the channel and day for
    /// [`Topic::ReconcileDiscrepancy`]).
    pub subject: String,
    pub topic: Topic,
    pub url: String,
    /// The signed JSON body, built once when the status changed; every attempt sends it.
    pub body: String,
    pub delivered: bool,
    pub attempts: Vec<NoticeAttempt>,
    /// How many attempts were claimed: one more than `attempts` while an attempt is under way,
    /// or when the function making it stopped before recording it.
    pub claimed: i64,
    /// Until when the last claimed attempt is leased to the job making it.
    pub claim_lease: Option<i64>,
    /// When the next attempt may be made (the schedule); `due` may run later than this while
    /// the scheduler leases the item.
    pub next_at: Option<i64>,
    pub due: Option<Due>,
    /// The retry schedule, fixed when the notice is written (a later change of the setting
    /// does not re-time notices in flight).
    pub schedule: Schedule,
}

impl Notice {
    /// The attempt claimed but never recorded, once its lease has passed at `now`: the function
    /// making it stopped (SPEC §9). Whether the merchant got it is unknown, so it counts as a
    /// failed attempt, and the notice goes on with its schedule.
    pub fn interrupted_attempt(&self, now: i64, lease_secs: i64) -> Option<NoticeAttempt> {
        let recorded = self.attempts.len() as i64;
        if self.delivered || self.claimed <= recorded {
            return None;
        }
        // a claim made before leases were stored is long over
        let lease_until = self.claim_lease.unwrap_or(now);
        (lease_until <= now).then(|| NoticeAttempt {
            number: recorded + 1,
            at: self.claim_lease.map_or(now, |l| l - lease_secs),
            delivered: false,
            status: None,
            error: Some("the attempt did not finish; whether it arrived is unknown".into()),
        })
    }

    /// A notice written now: due at once, with no attempt yet, keeping `schedule`.
    pub fn new(
        subject: String,
        topic: Topic,
        url: String,
        body: String,
        schedule: Schedule,
        now: i64,
    ) -> Self {
        Self {
            subject,
            topic,
            url,
            body,
            delivered: false,
            attempts: Vec::new(),
            claimed: 0,
            claim_lease: None,
            next_at: Some(now),
            due: Some(Due {
                kind: super::due::DueKind::Notify,
                at: now,
            }),
            schedule,
        }
    }
}

/// A notice (or setting) URL: absolute `http`/`https` with a host. Where it may point is
/// decided when sending (the address guard).
pub fn check_http_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or(""));
    match host {
        Some(h) if !h.is_empty() && !h.contains(char::is_whitespace) => Ok(()),
        _ => Err("must be an absolute http:// or https:// URL"),
    }
}

/// DaxPay's retry delays after each failed attempt: 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m,
/// 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h (16 attempts, about 24 h).
pub const DAXPAY_NOTIFY_DELAYS: [i64; 15] = [
    15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600,
];

/// When a notice is tried again, and how often at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The delay after each failed attempt.
    pub delays: Vec<i64>,
    /// One more than the delays, plus one for every time the merchant asked for it again.
    pub max_attempts: i64,
}

impl Schedule {
    /// A schedule of `delays`: as many attempts as delays, plus the first.
    pub fn new(delays: Vec<i64>) -> Self {
        let max_attempts = delays.len() as i64 + 1;
        Self {
            delays,
            max_attempts,
        }
    }

    /// DaxPay's schedule (and that of notices stored before schedules were).
    pub fn daxpay() -> Self {
        Self::new(DAXPAY_NOTIFY_DELAYS.to_vec())
    }

    /// No attempt is left after `made` attempts.
    pub fn exhausted(&self, made: i64) -> bool {
        made >= self.max_attempts
    }

    /// When to try again after attempt number `made` failed at `now`; `None`: the attempts are
    /// used up. The delay after attempt `made` is entry `made - 1`; an attempt the merchant
    /// asked for past the end of the schedule waits as long as its last step.
    pub fn next_at(&self, made: i64, now: i64) -> Option<i64> {
        if self.exhausted(made) {
            return None;
        }
        let index = usize::try_from(made.saturating_sub(1)).unwrap_or(0);
        let delay = self
            .delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or(0);
        Some(now + delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_is_interrupted_only_once_its_lease_is_over() {
        let mut n = Notice::new(
            "A".into(),
            Topic::Expiring,
            "http://x".into(),
            "{}".into(),
            Schedule::daxpay(),
            100,
        );
        assert_eq!(n.interrupted_attempt(200, 60), None, "nothing claimed");
        n.claimed = 1;
        n.claim_lease = Some(160);
        assert_eq!(n.interrupted_attempt(159, 60), None, "still leased");
        let lost = n.interrupted_attempt(160, 60);
        assert_eq!(
            lost.as_ref().map(|a| (a.number, a.at, a.delivered)),
            Some((1, 100, false))
        );
        n.attempts.extend(lost);
        assert_eq!(n.interrupted_attempt(500, 60), None, "recorded");
        n.claimed = 2;
        n.delivered = true;
        assert_eq!(n.interrupted_attempt(500, 60), None, "delivered");
    }

    #[test]
    fn topics_name_themselves() {
        let topics = [
            Topic::Status(AllocationStatus::End),
            Topic::Return {
                return_no: "R1".into(),
                status: ReturnStatus::Success,
            },
            Topic::Expiring,
            Topic::ReconcileDiscrepancy,
        ];
        for t in topics {
            assert_eq!(Topic::parse(&t.code()), Some(t.clone()), "{}", t.code());
            assert_eq!(
                Topic::from_parts(t.status_code(), None).is_some(),
                !matches!(t, Topic::Return { .. })
            );
        }
        assert_eq!(Topic::ReconcileDiscrepancy.code(), "reconcile_discrepancy");
        assert_eq!(
            Topic::parse("reconcile_discrepancy#R1"),
            None,
            "not a return"
        );
        assert_eq!(Topic::parse("reconcile_discrepancy#"), None);
        assert_eq!(Topic::parse("return_success#"), None);
        assert_eq!(Topic::parse("allocation_end#R1"), None);
        assert_eq!(Topic::parse("nonsense"), None);
    }

    #[test]
    fn a_statement_subject_names_its_channel_and_day() {
        let subject = statement_subject(Channel::WechatPay, "2026-12-01");
        assert_eq!(subject, "wechat_pay#2026-12-01");
        assert_eq!(
            statement_of_subject(&subject),
            Some((Channel::WechatPay, "2026-12-01"))
        );
        let alipay = statement_subject(Channel::AliPay, "2026-12-02");
        assert_eq!(
            statement_of_subject(&alipay),
            Some((Channel::AliPay, "2026-12-02"))
        );
        for odd in ["wechat_pay", "wechat_pay#", "dance#2026-12-01", "T0001"] {
            assert_eq!(statement_of_subject(odd), None, "{odd}");
        }
    }

    #[test]
    fn daxpay_schedule_takes_sixteen_attempts() {
        let s = Schedule::daxpay();
        assert_eq!(s.next_at(1, 0), Some(15));
        assert_eq!(s.next_at(3, 0), Some(30));
        assert_eq!(s.next_at(15, 100), Some(100 + 21600));
        assert_eq!(s.next_at(16, 0), None);
        assert!(!s.exhausted(15) && s.exhausted(16));
        // one more attempt asked for after the last: tried, then given up
        let resent = Schedule {
            max_attempts: 17,
            ..Schedule::daxpay()
        };
        assert_eq!(resent.next_at(16, 0), Some(21600));
        assert_eq!(resent.next_at(17, 0), None);
    }
}
