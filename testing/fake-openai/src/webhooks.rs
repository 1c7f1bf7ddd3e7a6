//! Webhooks, as OpenAI sends them: when a background response or a batch ends, an event
//! (`{"id": "evt_…", "object": "event", "created_at", "type": "response.completed", "data": {"id"}}`) is POSTed to
//! [`FakeConfig::webhook_url`](crate::FakeConfig) with Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`) signed with `webhook_secret`. A delivery that is not answered 2xx
//! is retried a few times, with the same `webhook-id`, as OpenAI retries.
//!
//! On request it misbehaves as a real sender may: `webhook_loss_rate` of the events are never sent,
//! `webhook_duplicate_rate` are sent twice, and each delivery waits a `webhook_delay_ms` drawn on its own, so a
//! range reorders them.
//!
//! Ends are found by an outbox: each background response (and batch) is watched from its creation, due at the time
//! its lifecycle ends; a sender task looks every 20 ms for what came due on the fake's clock.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::json;

use crate::state::State;

/// How often the sender looks for ends.
const TICK: Duration = Duration::from_millis(20);
/// Deliveries of one event, the first included, before it is given up.
const TRIES: u32 = 4;
/// How long after a batch is created the outbox first looks at it, and then again until it ends.
const BATCH_LOOK_MS: u64 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Subject {
    Response,
    Batch,
}

/// What is watched for its end, earliest first, and what has been announced.
#[derive(Default)]
pub(crate) struct Outbox {
    due: BinaryHeap<Reverse<(u64, Subject, String)>>,
    announced: HashSet<(Subject, String)>,
}

impl Outbox {
    /// Watches a background response that ends at `done_ms` (or sooner, when cancelled: see [`Self::look_now`]).
    pub(crate) fn watch_response(&mut self, id: &str, done_ms: u64) {
        self.due.push(Reverse((done_ms, Subject::Response, id.to_owned())));
    }

    /// Watches a batch from its creation at `now_ms`.
    pub(crate) fn watch_batch(&mut self, id: &str, now_ms: u64) {
        self.due.push(Reverse((now_ms.saturating_add(BATCH_LOOK_MS), Subject::Batch, id.to_owned())));
    }

    /// Looks at `id` again at `now_ms` (a cancel may end it sooner than planned).
    pub(crate) fn look_now(&mut self, subject: Subject, id: &str, now_ms: u64) {
        self.due.push(Reverse((now_ms, subject, id.to_owned())));
    }
}

/// One event to deliver.
struct Event {
    webhook_id: String,
    body: String,
    copies: Vec<u64>,
}

/// Runs the sender until the returned task is aborted.
pub(crate) fn spawn_sender(state: Arc<State>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        loop {
            tokio::time::sleep(TICK).await;
            let (url, secret, events) = {
                let now_ms = state.clock.now_ms();
                let mut inner = state.lock();
                let Some((url, secret)) = inner.config.webhook_target() else { continue };
                let events = due_events(&mut inner, now_ms);
                (url, secret, events)
            };
            for event in events {
                for delay_ms in &event.copies {
                    let delivery = Delivery {
                        http: http.clone(),
                        url: url.clone(),
                        secret: secret.clone(),
                        webhook_id: event.webhook_id.clone(),
                        body: event.body.clone(),
                    };
                    let (state, delay) = (Arc::clone(&state), Duration::from_millis(*delay_ms));
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        let delivered = delivery.send().await;
                        let mut inner = state.lock();
                        if delivered {
                            inner.stats.webhooks_delivered += 1;
                        } else {
                            inner.stats.webhooks_failed += 1;
                        }
                    });
                }
            }
        }
    })
}

/// What a watched object is at a look.
enum Look {
    /// It ended: the event type announcing it.
    Ended(String),
    /// Still running: look again then.
    Later(u64),
    /// Not known (any more).
    Gone,
}

fn look(inner: &crate::state::Inner, subject: Subject, id: &str, now_ms: u64) -> Look {
    match subject {
        Subject::Response => match inner.responses.get(id) {
            Some(r) if r.status(now_ms).is_terminal() => Look::Ended(format!("response.{}", r.status(now_ms).as_str())),
            Some(r) => Look::Later(r.done_ms.max(now_ms.saturating_add(1))),
            None => Look::Gone,
        },
        Subject::Batch => match inner.batches.get(id) {
            Some(b) if b.terminal_ms(now_ms).is_some() => Look::Ended(format!("batch.{}", b.status(now_ms).as_str())),
            Some(_) => Look::Later(now_ms.saturating_add(BATCH_LOOK_MS)),
            None => Look::Gone,
        },
    }
}

/// The events of everything that ended by `now_ms`, with their deliveries drawn (lost, doubled, delayed).
fn due_events(inner: &mut crate::state::Inner, now_ms: u64) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(Reverse((due, _, _))) = inner.outbox.due.peek() {
        if *due > now_ms {
            break;
        }
        let Some(Reverse((_, subject, id))) = inner.outbox.due.pop() else { break };
        if inner.outbox.announced.contains(&(subject, id.clone())) {
            continue;
        }
        let event_type = match look(inner, subject, &id, now_ms) {
            Look::Ended(event_type) => event_type,
            Look::Later(at) => {
                inner.outbox.due.push(Reverse((at, subject, id)));
                continue;
            }
            Look::Gone => continue,
        };
        inner.outbox.announced.insert((subject, id.clone()));
        let config = &inner.config;
        let rng = &mut inner.webhook_rng;
        if rng.random_bool(config.webhook_loss_rate) {
            inner.stats.webhooks_lost += 1;
            continue;
        }
        let copies = if rng.random_bool(config.webhook_duplicate_rate) { 2 } else { 1 };
        let copies: Vec<u64> = (0..copies).map(|_| config.webhook_delay_ms.draw(rng)).collect();
        if copies.len() > 1 {
            inner.stats.webhooks_duplicated += 1;
        }
        // Unique across restarts, unlike the seeded ids: a receiver's store outlives the fake (the demo's database
        // keeps the events of its earlier runs), and a repeated webhook-id would be taken for a redelivery.
        let body = json!({
            "id": format!("evt_{}", uuid::Uuid::new_v4().simple()),
            "object": "event",
            "created_at": now_ms / 1000,
            "type": event_type,
            "data": {"id": id},
        });
        events.push(Event {
            webhook_id: format!("wh_{}", uuid::Uuid::new_v4().simple()),
            body: body.to_string(),
            copies,
        });
    }
    events
}

/// One delivery of one event.
struct Delivery {
    http: reqwest::Client,
    url: String,
    secret: bw_webhooks::Secret,
    webhook_id: String,
    body: String,
}

impl Delivery {
    /// Sends it, retrying what is not answered 2xx; whether it was acknowledged.
    async fn send(&self) -> bool {
        for attempt in 0..TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            // Signed at each try with the wall clock, as the receiver checks the timestamp against its own.
            let timestamp = chrono::Utc::now().timestamp();
            let signature = bw_webhooks::sign(&self.secret, &self.webhook_id, timestamp, self.body.as_bytes());
            let sent = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("user-agent", "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)")
                .header("webhook-id", &self.webhook_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(self.body.clone())
                .send()
                .await;
            match sent {
                Ok(answer) if answer.status().is_success() => return true,
                Ok(answer) => {
                    tracing::warn!(webhook.id = %self.webhook_id, status = answer.status().as_u16(), attempt, "webhook not acknowledged")
                }
                Err(error) => tracing::warn!(webhook.id = %self.webhook_id, %error, attempt, "webhook not delivered"),
            }
        }
        false
    }
}
