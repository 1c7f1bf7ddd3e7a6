//! The progress hub: one LISTEN connection per API process (`bw_progress`, notified by triggers when a run or an LLM
//! job changes; see migration `live_progress`), fanned out to every open progress stream.

use std::sync::Arc;

use bw_db::notify::{Notice, listen_forever};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// The channel the triggers notify.
pub const CHANNEL: &str = "bw_progress";

/// What woke the streams up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// Notifications may have been missed (the listener reconnected, or a stream fell behind): everyone re-reads.
    All,
    Run(Uuid),
    Job(Uuid),
}

impl Wake {
    fn parse(notice: Notice) -> Option<Self> {
        match notice {
            Notice::Resync => Some(Self::All),
            Notice::Payload(payload) => {
                let (kind, id) = payload.split_once(':')?;
                let id = id.parse().ok()?;
                match kind {
                    "run" => Some(Self::Run(id)),
                    "job" => Some(Self::Job(id)),
                    _ => None,
                }
            }
        }
    }
}

/// Subscriptions to progress notifications. Cloning shares the listener; it stops when the last clone is dropped.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Wake>,
    _listener: Arc<AbortOnDrop>,
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Hub {
    /// Starts listening at `database_url` (in the background; it reconnects on its own).
    pub fn start(database_url: String) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let sender = tx.clone();
        let listener = tokio::spawn(async move {
            listen_forever(&database_url, CHANNEL, move |notice| {
                if let Some(wake) = Wake::parse(notice) {
                    // No subscriber is not an error.
                    let _ = sender.send(wake);
                }
            })
            .await;
        });
        Self { tx, _listener: Arc::new(AbortOnDrop(listener)) }
    }

    /// A receiver of every wake-up from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Wake> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_into_wakes_and_strangers_are_ignored() {
        let id = Uuid::new_v4();
        assert_eq!(Wake::parse(Notice::Payload(format!("run:{id}"))), Some(Wake::Run(id)));
        assert_eq!(Wake::parse(Notice::Payload(format!("job:{id}"))), Some(Wake::Job(id)));
        assert_eq!(Wake::parse(Notice::Resync), Some(Wake::All));
        for odd in ["run", "run:not-a-uuid", &format!("user:{id}"), ""] {
            assert_eq!(Wake::parse(Notice::Payload(odd.to_owned())), None, "{odd}");
        }
    }
}
