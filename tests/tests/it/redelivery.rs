//! When failed records come back, on LocalStack's SQS: a permanent failure reaches the DLQ through the queue's own
//! redrive policy within seconds even on the `runs` queue as the stack defines it (90-minute visibility timeout), and
//! both redrives (the operators' route behind the web UI, and `ctl dlq redrive`) bring it back; a transient failure
//! returns after about 10 s, then later, never later than the visibility timeout; and what the pinned LocalStack does
//! with visibility changes. Needs the binaries built first (`cargo build --bins`, for `ctl`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_queue::definitions::QueueDef;
use bw_queue::runner::{self, RunnerConfig};
use bw_queue::{Failure, Invocation, Outgoing, Queue as _, RecordHandler, SqsMessage};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::ctl;
use bw_tests::sqs::{TestQueue, unique_prefix};
use reqwest::Method;
use serde_json::json;

/// Far below the hours a poison message took to reach the DLQ when SQS's own timing decided.
const SECONDS: Duration = Duration::from_secs(60);

const POISON: &str = "{\"v\":1,\"run_id\":\"not-a-uuid\"}";

/// Waits until the poison message is in the DLQ and nothing is left on the work queue.
async fn dead_lettered(app: &TestApp) -> anyhow::Result<()> {
    let (queue, dlq) = (&app.queue.url, &app.queue.dlq_url);
    TestQueue::wait_until(SECONDS, "the poison message to reach the DLQ", || async {
        Ok(app.queue.depth(dlq).await? == 1 && app.queue.depth(queue).await? == 0)
    })
    .await
}

/// Waits until the message is back on the work queue and the DLQ is empty.
async fn back_on_the_work_queue(app: &TestApp) -> anyhow::Result<()> {
    let (queue, dlq) = (&app.queue.url, &app.queue.dlq_url);
    TestQueue::wait_until(SECONDS, "the message to return to its work queue", || async {
        Ok(app.queue.visible(queue).await? == 1 && app.queue.depth(dlq).await? == 0)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_real_runs_queue_a_malformed_body_is_dead_lettered_in_seconds_and_both_redrives_bring_it_back()
-> anyhow::Result<()> {
    let mut app = TestApp::spawn_with_real_runs_queue().await?;
    app.queue.sqs.send(&app.queue.url, Outgoing { body: POISON.to_owned(), ..Outgoing::default() }).await?;
    app.start_runner();
    dead_lettered(&app).await?;
    app.stop_runner().await?;

    let (status, peeked) =
        app.call("ops", Method::POST, "/api/ops/queues/runs/dlq/peek", Some(json!({ "limit": 10 }))).await?;
    assert_eq!(status, 200, "{peeked}");
    let message = &peeked["messages"][0];
    assert_eq!(message["body"], POISON, "{peeked}");
    let receives = bw_queue::definitions::RUNS.max_receive_count + 1;
    assert_eq!(message["receive_count"], receives, "every delivery failed, then the peek: {peeked}");
    let reason = message["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not a valid run message"), "the consumer's reason: {peeked}");

    // The web UI's redrive: a message move task back to the source queue SQS recorded when it dead-lettered it.
    let (status, moved) =
        app.call("ops", Method::POST, "/api/ops/queues/runs/dlq/redrive", Some(json!({ "dry_run": false }))).await?;
    assert_eq!((status, moved["messages"].as_i64()), (202, Some(1)), "{moved}");
    back_on_the_work_queue(&app).await?;

    // Still malformed: back to the DLQ as fast, and `ctl dlq redrive` brings it back too.
    app.start_runner();
    dead_lettered(&app).await?;
    app.stop_runner().await?;
    let done = ctl::json(&["dlq", "redrive", "--yes", &app.queue.dlq_url], None).await?;
    assert_eq!(done["moved"], 1, "{done}");
    back_on_the_work_queue(&app).await
}

/// Fails every delivery as a transient error and notes when each came.
#[derive(Default)]
struct Blip {
    deliveries: Mutex<Vec<Instant>>,
}

impl RecordHandler for Blip {
    async fn handle(&self, _: &SqsMessage, _: &Invocation) -> Result<(), Failure> {
        self.deliveries.lock().map_err(|_| Failure::Permanent(anyhow::anyhow!("poisoned")))?.push(Instant::now());
        Err(Failure::Transient(anyhow::anyhow!("the database did not answer (simulated)")))
    }
}

impl Blip {
    fn gaps(&self) -> Vec<f64> {
        let at = self.deliveries.lock().map(|d| d.clone()).unwrap_or_default();
        at.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transient_failure_comes_back_in_seconds_then_later_but_never_after_the_visibility_timeout()
-> anyhow::Result<()> {
    // 30 s of visibility: the second delay (40 s on the schedule) is cut to it.
    let def = QueueDef { name: "blip", visibility_timeout_secs: 30, max_receive_count: 5, retention_secs: 3_600 };
    let queue = TestQueue::from_def(&format!("{}blip", unique_prefix()), &def).await?;
    queue.sqs.send(&queue.url, Outgoing { body: "{}".to_owned(), ..Outgoing::default() }).await?;
    let blip = Blip::default();
    let config = RunnerConfig { batch_size: 1, wait: Duration::from_secs(1), ..RunnerConfig::default() };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let watching = async {
        let waited =
            TestQueue::wait_until(Duration::from_secs(90), "a third delivery", || async { Ok(blip.gaps().len() >= 2) })
                .await;
        let _ = tx.send(true);
        waited
    };
    let (waited, _) = tokio::join!(watching, runner::run(&queue.sqs, &queue.url, &blip, &config, rx));
    waited?;
    let gaps = blip.gaps();
    // Nominal 10 s and 30 s, each drawn within a quarter either side (the second then cut to 30 s); the slack above
    // is the runner's long poll on a loaded machine.
    assert!((7.0..=20.0).contains(&gaps[0]), "first retry after {gaps:?}");
    assert!((22.0..=40.0).contains(&gaps[1]) && gaps[1] > gaps[0], "second retry after {gaps:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localstack_keeps_visibility_changes_deletes_after_them_and_refuses_a_bad_receipt() -> anyhow::Result<()> {
    let def = QueueDef { name: "vis", visibility_timeout_secs: 600, max_receive_count: 5, retention_secs: 3_600 };
    let queue = TestQueue::from_def(&format!("{}vis", unique_prefix()), &def).await?;
    let (sqs, url) = (&queue.sqs, queue.url.as_str());
    let receive_one = async || -> anyhow::Result<SqsMessage> {
        let mut got = sqs.receive(url, 1, Duration::from_secs(2)).await?;
        got.pop().context("no message received")
    };
    sqs.send(url, Outgoing { body: "a".to_owned(), ..Outgoing::default() }).await?;

    // Visibility 0: delivered again at once, its receive count moving on.
    let first = receive_one().await?;
    let receipt = first.receipt_handle.clone().context("no receipt handle")?;
    assert!(sqs.change_visibility(url, vec![(receipt, 0)]).await?.is_empty());
    let again = receive_one().await?;
    assert_eq!(again.attributes.get("ApproximateReceiveCount").map(String::as_str), Some("2"));

    // A later visibility keeps it hidden, and deleting it afterwards works (some LocalStack versions refused that
    // delete; 4.13.1 does not).
    let receipt = again.receipt_handle.clone().context("no receipt handle")?;
    let refused = sqs.change_visibility(url, vec![(receipt.clone(), 30), ("not-a-receipt".to_owned(), 30)]).await?;
    assert_eq!(refused, ["not-a-receipt"], "only the bad entry of the batch is refused");
    assert!(sqs.receive(url, 1, Duration::from_secs(1)).await?.is_empty(), "hidden for 30 s");
    assert!(sqs.delete(url, vec![receipt]).await?.is_empty(), "deleted after its visibility changed");
    assert_eq!(queue.depth(url).await?, 0);
    Ok(())
}
