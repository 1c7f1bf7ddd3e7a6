//! The progress hub: one LISTEN connection per API process (`bw_progress`, notified by triggers when a run or an LLM
//! job changes; see migration `live_progress`), fanned out to every open progress stream.

use std::sync::Arc;

use bw_db::notify::{Notice, listen_forever};
use tokio::sync::{broadcast, watch};
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
    closing: Arc<watch::Sender<bool>>,
    _listener: Arc<AbortOnDrop>,
}

/// One stream's subscription: its wake-ups, and whether the server is shutting down.
pub struct Subscription {
    wakes: broadcast::Receiver<Wake>,
    closing: watch::Receiver<bool>,
}

impl Subscription {
    /// Waits for a wake-up that `concerns` says is ours; `false` when the server is shutting down or the hub stopped.
    pub async fn woken(&mut self, concerns: impl Fn(Wake) -> bool) -> bool {
        loop {
            tokio::select! {
                received = self.wakes.recv() => match received {
                    Ok(wake) if concerns(wake) => return true,
                    Ok(_) => {}
                    // Fell behind: whatever was missed may have concerned us.
                    Err(broadcast::error::RecvError::Lagged(_)) => return true,
                    Err(broadcast::error::RecvError::Closed) => return false,
                },
                _ = self.closing.wait_for(|closing| *closing) => return false,
            }
        }
    }
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
        let (closing, _) = watch::channel(false);
        Self { tx, closing: Arc::new(closing), _listener: Arc::new(AbortOnDrop(listener)) }
    }

    /// Every wake-up from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription { wakes: self.tx.subscribe(), closing: self.closing.subscribe() }
    }

    /// Ends every stream (they are endless while their run is active, and a graceful shutdown waits for them); a
    /// browser reconnects with its `Last-Event-ID` to whichever server answers next.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_wait_ends_on_its_own_wake_and_on_close_but_not_on_anothers() {
        // Nothing listens there: the hub's listener retries in the background, which these waits do not need.
        let hub = Hub::start("postgres://127.0.0.1:1/nothing".to_owned());
        let (ours, theirs) = (Uuid::new_v4(), Uuid::new_v4());
        let mut subscription = hub.subscribe();
        let _ = hub.tx.send(Wake::Run(theirs));
        let _ = hub.tx.send(Wake::Job(ours));
        let _ = hub.tx.send(Wake::Run(ours));
        let woke = tokio::time::timeout(Duration::from_secs(5), subscription.woken(|w| w == Wake::Run(ours))).await;
        assert_eq!(woke.ok(), Some(true));
        let waiting = tokio::spawn(async move { subscription.woken(|w| w == Wake::Run(ours)).await });
        let _ = hub.tx.send(Wake::Run(theirs));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "another run's wake-up does not end the wait");
        hub.close();
        let closed = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(closed.ok().and_then(Result::ok), Some(false), "closing the hub ends the wait");
    }

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
