//! The job message that travels through SQS (SPEC §7): services enqueue it, the worker decodes
//! it. Each is idempotent: delivering one twice, or two at once, ends in the same state.

use crate::domain::{Channel, Topic};
use serde::{Deserialize, Serialize};

/// One unit of asynchronous work. JSON: `{"kind": "sync", "allocationNo": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// A verified channel notification, as received (re-verified by the worker).
    ChannelCallback {
        channel: Channel,
        /// The raw body (Alipay: the form; WeChat: the JSON).
        body: String,
        /// Signature headers (WeChat), name → value.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<(String, String)>,
        /// When the api verified it (epoch seconds). The worker verifies it as of this time: a
        /// retried job may run after the channel's freshness window (WeChat: 5 min) has passed.
        #[serde(rename = "receivedAt")]
        received_at: i64,
    },
    /// Ask the channel about an order now.
    Sync {
        #[serde(rename = "allocationNo")]
        allocation_no: String,
    },
    /// Allocate a pay order with its channel's default group.
    AutoAllocate {
        #[serde(rename = "orderNo")]
        order_no: String,
    },
    /// Ask the channel again about a return still processing.
    SyncReturn {
        #[serde(rename = "allocationNo")]
        allocation_no: String,
        #[serde(rename = "returnNo")]
        return_no: String,
    },
    /// A frozen pay order nears the channel's freeze deadline.
    Deadline {
        #[serde(rename = "orderNo")]
        order_no: String,
    },
    /// Finish an order that reached `allocation_end`.
    Finish {
        #[serde(rename = "allocationNo")]
        allocation_no: String,
    },
    /// Refresh a merchant's Alipay authorisation of a provider's app (a stack job: the app
    /// is named here, the message names none).
    RefreshAppAuth {
        #[serde(rename = "appId")]
        app_id: String,
    },
    /// Reconcile a day of the app's channel account with the channel's bill (SPEC §4.13):
    /// `day` (`yyyy-MM-dd`) when asked for one, else the app's next day due.
    Reconcile {
        channel: Channel,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        day: Option<String>,
    },
    /// A merchant notice: of an order (`allocationNo`, the status and, for a return, its
    /// `returnNo`), or of a pay order nearing its freeze deadline (`orderNo`).
    Notify {
        #[serde(
            rename = "allocationNo",
            default,
            skip_serializing_if = "String::is_empty"
        )]
        allocation_no: String,
        #[serde(rename = "orderNo", default, skip_serializing_if = "Option::is_none")]
        order_no: Option<String>,
        status: String,
        #[serde(rename = "returnNo", default, skip_serializing_if = "Option::is_none")]
        return_no: Option<String>,
    },
}

/// A job as it travels through SQS: the job's members, and `app`, the app it is for (absent:
/// the stack's default app, so messages written before apps existed still run as its own).
/// JSON: `{"app": "shop-1", "kind": "sync", "allocationNo": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    #[serde(flatten)]
    pub job: Job,
}

impl Job {
    /// The job that delivers the notice of `subject` and `topic`.
    pub fn notify(subject: &str, topic: &Topic) -> Job {
        let (allocation_no, order_no) = match topic {
            Topic::Expiring => (String::new(), Some(subject.to_owned())),
            _ => (subject.to_owned(), None),
        };
        Job::Notify {
            allocation_no,
            order_no,
            status: topic.status_code().to_owned(),
            return_no: match topic {
                Topic::Return { return_no, .. } => Some(return_no.clone()),
                _ => None,
            },
        }
    }

    /// The notice a `Notify` job names: its subject and topic (`None`: not a notice, or one
    /// of a shape we do not know).
    pub fn notice(&self) -> Option<(&str, Topic)> {
        let Job::Notify {
            allocation_no,
            order_no,
            status,
            return_no,
        } = self
        else {
            return None;
        };
        let topic = Topic::from_parts(status, return_no.as_deref())?;
        let subject = match (&topic, order_no) {
            (Topic::Expiring, Some(o)) => o.as_str(),
            (Topic::Expiring, None) => return None,
            _ => allocation_no.as_str(),
        };
        (!subject.is_empty()).then_some((subject, topic))
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::ChannelCallback { .. } => "channel_callback",
            Self::Sync { .. } => "sync",
            Self::AutoAllocate { .. } => "auto_allocate",
            Self::SyncReturn { .. } => "sync_return",
            Self::Deadline { .. } => "deadline",
            Self::Finish { .. } => "finish",
            Self::Notify { .. } => "notify",
            Self::RefreshAppAuth { .. } => "refresh_app_auth",
            Self::Reconcile { .. } => "reconcile",
        }
    }

    /// The order number the job is about, for logs.
    pub fn subject(&self) -> &str {
        match self {
            Self::ChannelCallback { channel, .. } => channel.code(),
            Self::Notify {
                order_no: Some(order_no),
                ..
            } => order_no,
            Self::Sync { allocation_no }
            | Self::Finish { allocation_no }
            | Self::Notify { allocation_no, .. } => allocation_no,
            Self::AutoAllocate { order_no } | Self::Deadline { order_no } => order_no,
            Self::SyncReturn { return_no, .. } => return_no,
            Self::RefreshAppAuth { app_id } => app_id,
            Self::Reconcile { day: Some(day), .. } => day,
            Self::Reconcile { channel, .. } => channel.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        use crate::domain::{AllocationStatus, ReturnStatus};
        let end = Topic::Status(AllocationStatus::End);
        let j = Job::notify("A1", &end);
        assert_eq!(
            serde_json::to_string(&j).ok().as_deref(),
            Some(r#"{"kind":"notify","allocationNo":"A1","status":"allocation_end"}"#)
        );
        assert_eq!(j.notice(), Some(("A1", end)));
        let returned = Topic::Return {
            return_no: "R1".into(),
            status: ReturnStatus::Success,
        };
        let j = Job::notify("A1", &returned);
        assert_eq!(
            serde_json::to_string(&j).ok().as_deref(),
            Some(
                r#"{"kind":"notify","allocationNo":"A1","status":"return_success","returnNo":"R1"}"#
            )
        );
        assert_eq!(j.notice(), Some(("A1", returned)));
        let j = Job::notify("P1", &Topic::Expiring);
        assert_eq!(
            serde_json::to_string(&j).ok().as_deref(),
            Some(r#"{"kind":"notify","orderNo":"P1","status":"allocation_expiring"}"#)
        );
        assert_eq!(
            (j.subject(), j.notice()),
            ("P1", Some(("P1", Topic::Expiring)))
        );
        let odd: Result<Job, _> =
            serde_json::from_str(r#"{"kind":"notify","allocationNo":"A1","status":"dancing"}"#);
        assert_eq!(
            odd.ok()
                .and_then(|j| j.notice().map(|(s, t)| (s.to_owned(), t))),
            None
        );
        let back: Result<Job, _> = serde_json::from_str(r#"{"kind":"sync","allocationNo":"A2"}"#);
        assert_eq!(
            back.ok(),
            Some(Job::Sync {
                allocation_no: "A2".into()
            })
        );
        assert!(serde_json::from_str::<Job>(r#"{"kind":"dance"}"#).is_err());
    }

    #[test]
    fn a_message_names_its_app_unless_it_is_the_default_apps() {
        let job = Job::Sync {
            allocation_no: "A2".into(),
        };
        let of = |app: Option<&str>| Message {
            app: app.map(str::to_owned),
            job: job.clone(),
        };
        let text = |m: &Message| serde_json::to_string(m).ok();
        assert_eq!(
            text(&of(None)).as_deref(),
            Some(r#"{"kind":"sync","allocationNo":"A2"}"#)
        );
        assert_eq!(
            text(&of(Some("shop-1"))).as_deref(),
            Some(r#"{"app":"shop-1","kind":"sync","allocationNo":"A2"}"#)
        );
        // a message queued before apps existed is the default app's
        let old: Result<Message, _> =
            serde_json::from_str(r#"{"kind":"sync","allocationNo":"A2"}"#);
        assert_eq!(old.ok(), Some(of(None)));
        let back: Result<Message, _> =
            serde_json::from_str(r#"{"kind":"sync","app":"shop-1","allocationNo":"A2"}"#);
        assert_eq!(back.ok(), Some(of(Some("shop-1"))));
        assert!(serde_json::from_str::<Message>(r#"{"app":"x","kind":"dance"}"#).is_err());
    }
}
