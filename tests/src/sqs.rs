//! LocalStack SQS queues unique per test, with a DLQ, a small `maxReceiveCount` and a short visibility timeout.

use std::time::Duration;

use anyhow::Context as _;
use bw_queue::definitions::{QueueDef, ensure_named};
use bw_queue::{Queue as _, SqsEvent, SqsMessage, SqsQueue};

/// A test's own queue and DLQ; deleted when dropped.
pub struct TestQueue {
    pub sqs: SqsQueue,
    pub url: String,
    pub dlq_url: String,
    pub max_receive_count: u32,
}

impl TestQueue {
    /// Creates `t{random}-{label}` with its DLQ.
    pub async fn new(label: &str, visibility_secs: u32, max_receive_count: u32) -> anyhow::Result<Self> {
        Self::named(&format!("{}{label}", unique_prefix()), visibility_secs, max_receive_count).await
    }

    /// Creates the queue `name` with its DLQ `{name}-dlq`.
    pub async fn named(name: &str, visibility_secs: u32, max_receive_count: u32) -> anyhow::Result<Self> {
        let def = QueueDef {
            name: "test",
            visibility_timeout_secs: visibility_secs,
            max_receive_count,
            retention_secs: 3_600,
        };
        Self::from_def(name, &def).await
    }

    /// Creates the queue `name` and its DLQ `{name}-dlq` with `def`'s settings (one of the system's queues' real
    /// definitions, say).
    pub async fn from_def(name: &str, def: &QueueDef) -> anyhow::Result<Self> {
        anyhow::ensure!(
            std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            "AWS_ENDPOINT_URL is not set: run the tests through scripts/test.sh (it starts LocalStack)"
        );
        let sqs = SqsQueue::from_env().await;
        let created =
            ensure_named(sqs.client(), name, def).await.context("is LocalStack running? (scripts/bootstrap.sh)")?;
        Ok(Self { sqs, url: created.url, dlq_url: created.dlq_url, max_receive_count: def.max_receive_count })
    }

    /// Approximate number of visible plus in-flight messages on `url`.
    pub async fn depth(&self, url: &str) -> anyhow::Result<i64> {
        let depth = self.sqs.depth(url).await?;
        Ok(depth.visible + depth.in_flight)
    }

    /// Messages visible on `url`.
    pub async fn visible(&self, url: &str) -> anyhow::Result<i64> {
        Ok(self.sqs.depth(url).await?.visible)
    }

    /// Waits up to a minute until `want` messages are visible on `url`.
    pub async fn wait_visible(&self, url: &str, want: i64) -> anyhow::Result<()> {
        Self::wait_until(Duration::from_secs(60), &format!("{want} visible message(s) on {url}"), || async {
            Ok(self.visible(url).await? == want)
        })
        .await
    }

    /// Takes every message now visible on `url` (up to ten) away, deleting it unhandled: a lost message. Returns
    /// how many.
    pub async fn take_all(&self, url: &str) -> anyhow::Result<usize> {
        let taken = self.sqs.receive(url, 10, Duration::from_secs(2)).await?;
        let count = taken.len();
        self.sqs.delete(url, taken.into_iter().filter_map(|m| m.receipt_handle).collect()).await?;
        Ok(count)
    }

    /// Waits until `check` holds, polling every 100 ms, for at most `timeout`.
    pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<bool>>,
    {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if check().await? {
                return Ok(());
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// One SQS record as a consumer receives it, delivered for the `receive_count`th time.
pub fn record(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    let mut record = SqsMessage::default();
    record.message_id = Some(id.to_owned());
    record.body = Some(body.to_owned());
    record.attributes.insert("ApproximateReceiveCount".to_owned(), receive_count.to_string());
    record
}

/// An SQS event of these records.
pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// A queue name prefix no other test uses: `t{12 hex}-`.
pub fn unique_prefix() -> String {
    format!("t{}-", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

impl Drop for TestQueue {
    fn drop(&mut self) {
        let client = self.sqs.client().clone();
        let urls = [self.url.clone(), self.dlq_url.clone()];
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for url in urls {
                    let _ = client.delete_queue().queue_url(url).send().await;
                }
            });
        }
    }
}
