//! A queue that keeps what is sent to it, and can be told to fail.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use bw_api::seams::{Destination, Enqueue};
use bw_queue::Outgoing;

/// Keeps every message sent, in order; fails every send while [`MemoryQueue::fail_sends`] is on.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<(Destination, Outgoing)>>,
    failing: AtomicBool,
}

impl MemoryQueue {
    /// Makes every later send fail (`true`) or succeed again.
    pub fn fail_sends(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// The messages sent so far to `to`, oldest first.
    pub fn sent_to(&self, to: Destination) -> Vec<Outgoing> {
        let sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        sent.iter().filter(|(d, _)| *d == to).map(|(_, m)| m.clone()).collect()
    }
}

#[async_trait::async_trait]
impl Enqueue for MemoryQueue {
    async fn send(&self, to: Destination, message: Outgoing) -> anyhow::Result<()> {
        anyhow::ensure!(!self.failing.load(Ordering::SeqCst), "the memory queue was told to fail ({to:?})");
        self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((to, message));
        Ok(())
    }
}
