//! A queue whose sends go down a channel, for a worker run in-process (a benchmark, a test of what it sends).

use std::time::Duration;

use bw_api::seams::{Destination, Enqueue};
use bw_queue::{Outgoing, Queue, SqsMessage};
use tokio::sync::mpsc;

/// Sends go down an unbounded channel, in order, as [`Outgoing`] (with their delay); nothing is ever received or
/// deleted through it. It is a [`Queue`] (a worker's re-enqueues, dispatch's sends) and an [`Enqueue`] (the API's
/// sends), so an API and a worker in one process can share it.
#[derive(Clone, Debug)]
pub struct ChannelQueue {
    tx: mpsc::UnboundedSender<Outgoing>,
}

impl ChannelQueue {
    /// The queue and the receiving end of what is sent to it.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Outgoing>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx }, rx)
    }

    fn push(&self, message: Outgoing) -> anyhow::Result<()> {
        self.tx.send(message).map_err(|_| anyhow::anyhow!("the channel queue's receiver is gone"))
    }
}

impl Queue for ChannelQueue {
    async fn send(&self, _url: &str, message: Outgoing) -> anyhow::Result<String> {
        self.push(message)?;
        Ok(String::new())
    }

    async fn send_batch(&self, _url: &str, messages: Vec<Outgoing>) -> anyhow::Result<usize> {
        messages.into_iter().try_for_each(|m| self.push(m))?;
        Ok(0)
    }

    async fn receive(&self, _: &str, _: i32, _: Duration) -> anyhow::Result<Vec<SqsMessage>> {
        Ok(Vec::new())
    }

    async fn delete(&self, _: &str, _: Vec<String>) -> anyhow::Result<Vec<String>> {
        Ok(Vec::new())
    }
}

#[async_trait::async_trait]
impl Enqueue for ChannelQueue {
    async fn send(&self, _to: Destination, message: Outgoing) -> anyhow::Result<()> {
        self.push(message)
    }
}
