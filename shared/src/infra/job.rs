//! The job message that travels through SQS (SPEC §7): services enqueue it, the worker decodes
//! it. Each is idempotent: delivering one twice, or two at once, ends in the same state.

use crate::domain::{AllocationStatus, Channel};
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
    /// Finish an order that reached `allocation_end`.
    Finish {
        #[serde(rename = "allocationNo")]
        allocation_no: String,
    },
    /// Deliver the merchant notice of an order's status.
    Notify {
        #[serde(rename = "allocationNo")]
        allocation_no: String,
        status: AllocationStatus,
    },
}

impl Job {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ChannelCallback { .. } => "channel_callback",
            Self::Sync { .. } => "sync",
            Self::AutoAllocate { .. } => "auto_allocate",
            Self::Finish { .. } => "finish",
            Self::Notify { .. } => "notify",
        }
    }

    /// The order number the job is about, for logs.
    pub fn subject(&self) -> &str {
        match self {
            Self::ChannelCallback { channel, .. } => channel.code(),
            Self::Sync { allocation_no }
            | Self::Finish { allocation_no }
            | Self::Notify { allocation_no, .. } => allocation_no,
            Self::AutoAllocate { order_no } => order_no,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format() {
        let j = Job::Notify {
            allocation_no: "A1".into(),
            status: AllocationStatus::End,
        };
        assert_eq!(
            serde_json::to_string(&j).ok().as_deref(),
            Some(r#"{"kind":"notify","allocationNo":"A1","status":"allocation_end"}"#)
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
}
