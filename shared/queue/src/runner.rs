//! The local event-source runner: what an SQS event source mapping does for a Lambda, done by a long-running
//! process. It long-polls the queue, gathers a batch (batch size, batching window), hands it to the same handler the
//! Lambda uses, deletes what succeeded, and hands failures back on the consumer's schedule ([`crate::backoff`],
//! within the queue's visibility timeout), to reach the DLQ through the queue's own redrive policy when they keep
//! failing. On shutdown it finishes the batch in hand, gives back at once what a receive under way brings in, then
//! stops.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use tokio::sync::watch;

use crate::backoff::Backoff;
use crate::batch::{Invocation, RecordHandler, handle_event};
use crate::client::Queue;

/// How the runner gathers and handles batches; mirrors an event source mapping's settings.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Records per handler call (an event source mapping's `BatchSize`).
    pub batch_size: usize,
    /// How long to keep gathering once the first record arrived (`MaximumBatchingWindowInSeconds`).
    pub batching_window: Duration,
    /// Long-poll wait for the first record.
    pub wait: Duration,
    /// Records of one batch handled at once.
    pub concurrency: usize,
    /// Batches handled at once, like concurrent invocations of a Lambda (`MaximumConcurrency` of a mapping).
    pub max_batches: usize,
    /// How often the runner re-reads whether an operator paused the queue's consumers (`ctl consumers pause`).
    pub pause_check: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch_size: 10,
            batching_window: Duration::from_millis(500),
            wait: Duration::from_secs(10),
            concurrency: 4,
            max_batches: 4,
            pause_check: Duration::from_secs(5),
        }
    }
}

/// What a runner did, for its last log line and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunnerStats {
    pub batches: u64,
    pub succeeded: u64,
    pub failed: u64,
}

/// Polls `queue_url` and feeds `handler` until `shutdown` turns true, with up to `max_batches` batches in hand.
/// A receive under way is never abandoned for a finishing batch (an abandoned long poll can still take a message,
/// which then stays invisible for the visibility timeout); on shutdown the batches in hand are finished.
pub async fn run<Q: Queue, H: RecordHandler>(
    queue: &Q,
    queue_url: &str,
    handler: &H,
    config: &RunnerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> RunnerStats {
    use futures::StreamExt as _;
    let mut stats = RunnerStats::default();
    let mut in_hand = futures::stream::FuturesUnordered::new();
    let mut receiving = None;
    let mut pause = PauseState::default();
    // Records carry the queue's ARN as an event source mapping's do (consumers name the queue in what they record).
    let arn = match queue.arn(queue_url).await {
        Ok(arn) => Some(arn),
        Err(error) => {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not read the queue's ARN; records will carry none");
            None
        }
    };
    // Failed records come back on the backoff schedule, never later than the queue itself would bring them back.
    let backoff = backoff_for(queue, queue_url).await;
    tracing::info!(
        queue.url = queue_url,
        batch_size = config.batch_size,
        max_batches = config.max_batches,
        backoff = ?backoff,
        "local event-source runner started"
    );
    loop {
        if *shutdown.borrow() {
            break;
        }
        let paused = pause.check(queue, queue_url, config.pause_check).await;
        if !paused && receiving.is_none() && in_hand.len() < config.max_batches.max(1) {
            receiving = Some(Box::pin(gather(queue, queue_url, config)));
        }
        tokio::select! {
            batch = async { receiving.as_mut()?.await.into() }, if receiving.is_some() => {
                receiving = None;
                match batch {
                    Some(Ok(mut records)) if !records.is_empty() => {
                        for record in &mut records {
                            record.event_source_arn.clone_from(&arn);
                        }
                        in_hand.push(handle_batch(queue, queue_url, handler, config, backoff, records));
                    }
                    Some(Ok(_)) | None => {}
                    Some(Err(error)) => {
                        tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "receive failed; retrying in 1 s");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
            Some(done) = in_hand.next(), if !in_hand.is_empty() => stats.add(done),
            () = tokio::time::sleep(config.pause_check), if paused && receiving.is_none() => {}
            _ = shutdown.changed() => break,
        }
    }
    // A long poll under way may still take messages: let it end, and give back at once what it took, rather than
    // leave them invisible for the whole visibility timeout.
    if let Some(receiving) = receiving.take() {
        let ((), _) = tokio::join!(release(queue, queue_url, receiving), async {
            while let Some(done) = in_hand.next().await {
                stats.add(done);
            }
        });
    }
    while let Some(done) = in_hand.next().await {
        stats.add(done);
    }
    tracing::info!(batches = stats.batches, succeeded = stats.succeeded, failed = stats.failed, "runner stopped");
    stats
}

/// The backoff within the queue's visibility timeout, read with a few tries; without it (the queue's attributes
/// unreadable) failed records return when their visibility timeout ends.
async fn backoff_for<Q: Queue>(queue: &Q, queue_url: &str) -> Option<Backoff> {
    for tries_left in (0..3).rev() {
        match queue.visibility_timeout(queue_url).await {
            Ok(visibility) => return Some(Backoff::within(visibility)),
            Err(error) if tries_left > 0 => {
                tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not read the visibility timeout; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not read the visibility timeout; \
                failed records will return when it ends")
            }
        }
    }
    None
}

/// What the runner last read of the operators' pause tag, and when.
#[derive(Default)]
struct PauseState {
    paused: bool,
    checked: Option<Instant>,
}

impl PauseState {
    /// Whether the consumers are paused, re-read at most every `every`. A failed read keeps the last state: a
    /// flaky tag read must neither pause the consumers nor resume paused ones.
    async fn check<Q: Queue>(&mut self, queue: &Q, queue_url: &str, every: Duration) -> bool {
        if self.checked.is_some_and(|at| at.elapsed() < every) {
            return self.paused;
        }
        self.checked = Some(Instant::now());
        match queue.paused(queue_url).await {
            Ok(paused) if paused != self.paused => {
                self.paused = paused;
                if paused {
                    tracing::warn!(queue.url = queue_url, "consumers paused by an operator: taking no new messages");
                } else {
                    tracing::info!(queue.url = queue_url, "consumers resumed by an operator");
                }
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), paused = self.paused, "could not read the pause tag; keeping the last state")
            }
        }
        self.paused
    }
}

impl RunnerStats {
    fn add(&mut self, other: RunnerStats) {
        self.batches += other.batches;
        self.succeeded += other.succeeded;
        self.failed += other.failed;
    }
}

async fn handle_batch<Q: Queue, H: RecordHandler>(
    queue: &Q,
    queue_url: &str,
    handler: &H,
    config: &RunnerConfig,
    backoff: Option<Backoff>,
    records: Vec<aws_lambda_events::sqs::SqsMessage>,
) -> RunnerStats {
    let receipts: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.message_id.clone().unwrap_or_default(), r.receipt_handle.clone().unwrap_or_default()))
        .collect();
    let mut event = SqsEvent::default();
    event.records = records;
    let handled = handle_event(handler, event, config.concurrency, &Invocation::default()).await;
    if let Some(backoff) = backoff {
        backoff.apply(queue, queue_url, &handled.retries).await;
    }
    let failed: std::collections::HashSet<&str> =
        handled.response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    let done: Vec<String> =
        receipts.iter().filter(|(id, _)| !failed.contains(id.as_str())).map(|(_, receipt)| receipt.clone()).collect();
    let stats = RunnerStats { batches: 1, failed: failed.len() as u64, succeeded: done.len() as u64 };
    match queue.delete(queue_url, done).await {
        Ok(undeleted) if undeleted.is_empty() => {}
        Ok(undeleted) => {
            tracing::warn!(
                count = undeleted.len(),
                "some handled messages could not be deleted; they will be redelivered"
            )
        }
        Err(error) => {
            tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "delete failed; handled messages will be redelivered")
        }
    }
    stats
}

/// Makes the records a receive brings visible again (shutting down, the runner will not handle them).
async fn release<Q: Queue>(
    queue: &Q,
    queue_url: &str,
    receiving: impl Future<Output = anyhow::Result<Vec<aws_lambda_events::sqs::SqsMessage>>>,
) {
    let records = match receiving.await {
        Ok(records) if !records.is_empty() => records,
        Ok(_) => return,
        Err(error) => return tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "the last receive failed"),
    };
    let receipts: Vec<(String, i32)> = records.into_iter().filter_map(|r| Some((r.receipt_handle?, 0))).collect();
    tracing::info!(count = receipts.len(), "giving back the messages received while stopping");
    crate::backoff::give_back(queue, queue_url, receipts, "messages received while stopping").await;
}

/// Receives until the batch is full or the batching window after the first record has passed.
async fn gather<Q: Queue>(
    queue: &Q,
    queue_url: &str,
    config: &RunnerConfig,
) -> anyhow::Result<Vec<aws_lambda_events::sqs::SqsMessage>> {
    let want = config.batch_size.max(1);
    let mut batch = queue.receive(queue_url, i32::try_from(want.min(10)).unwrap_or(10), config.wait).await?;
    if batch.is_empty() {
        return Ok(batch);
    }
    let deadline = Instant::now() + config.batching_window;
    while batch.len() < want && Instant::now() < deadline {
        let left = i32::try_from((want - batch.len()).min(10)).unwrap_or(10);
        let more = queue.receive(queue_url, left, Duration::ZERO).await?;
        if more.is_empty() {
            tokio::time::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()))).await;
        }
        batch.extend(more);
    }
    Ok(batch)
}

/// A receiver that turns true on Ctrl-C or SIGTERM.
pub fn shutdown_signal() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            () = term => {}
        }
        tracing::info!("shutdown requested; finishing the batch in hand");
        let _ = tx.send(true);
    });
    rx
}

impl RunnerConfig {
    /// Reads `RUNNER_BATCH_SIZE`, `RUNNER_BATCHING_WINDOW_MS`, `RUNNER_WAIT_SECS`, `RUNNER_CONCURRENCY`,
    /// `RUNNER_MAX_BATCHES`, `RUNNER_PAUSE_CHECK_MS` over `base`.
    pub fn from_env(base: Self) -> Result<Self, bw_config::ConfigError> {
        use bw_config::parse_or;
        Ok(Self {
            batch_size: parse_or("RUNNER_BATCH_SIZE", base.batch_size)?,
            batching_window: Duration::from_millis(parse_or(
                "RUNNER_BATCHING_WINDOW_MS",
                u64::try_from(base.batching_window.as_millis()).unwrap_or(500),
            )?),
            wait: Duration::from_secs(parse_or("RUNNER_WAIT_SECS", base.wait.as_secs())?),
            concurrency: parse_or("RUNNER_CONCURRENCY", base.concurrency)?,
            max_batches: parse_or("RUNNER_MAX_BATCHES", base.max_batches)?,
            // At least 100 ms: a paused runner sleeps this long between tag reads.
            pause_check: Duration::from_millis(
                parse_or("RUNNER_PAUSE_CHECK_MS", u64::try_from(base.pause_check.as_millis()).unwrap_or(5_000))?
                    .max(100),
            ),
        })
    }
}
