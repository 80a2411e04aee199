//! A few sandboxes of one function, as Lambda runs one sandbox per concurrent request: each
//! takes one invocation at a time, and an invocation goes to whichever is idle, so one slow
//! request does not hold up the others.

use std::sync::Mutex;

use tokio::sync::Semaphore;

use crate::runtime::{FunctionHost, HostError, Invocation};

/// Sandboxes of one function, each serving one invocation at a time.
pub struct HostPool {
    hosts: Vec<FunctionHost>,
    idle: Mutex<Vec<usize>>,
    available: Semaphore,
}

impl HostPool {
    /// A pool of these sandboxes (at least one).
    pub fn new(hosts: Vec<FunctionHost>) -> Self {
        let count = hosts.len();
        Self {
            hosts,
            idle: Mutex::new((0..count).rev().collect()),
            available: Semaphore::new(count),
        }
    }

    /// A pool of one sandbox.
    pub fn one(host: FunctionHost) -> Self {
        Self::new(vec![host])
    }

    /// Runs `event` on an idle sandbox, waiting for one when all are busy.
    pub async fn invoke(&self, event: serde_json::Value) -> Result<Invocation, HostError> {
        let Ok(_permit) = self.available.acquire().await else {
            return Err(HostError::ShutDown {
                name: String::from("pool"),
            });
        };
        let index = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .unwrap_or(0);
        let outcome = match self.hosts.get(index) {
            Some(host) => host.invoke(event).await,
            None => Err(HostError::ShutDown {
                name: String::from("pool"),
            }),
        };
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(index);
        outcome
    }

    /// The chaos the sandboxes run with (they share one), if any.
    pub fn chaos(&self) -> Option<&std::sync::Arc<crate::chaos::Chaos>> {
        self.hosts.first().and_then(FunctionHost::chaos)
    }

    /// Stops every sandbox.
    pub async fn stop(&self) {
        for host in &self.hosts {
            host.stop().await;
        }
    }
}
