//! Paths of a run the end-to-end tests do not reach through the fake boards alone: details fetched because a
//! listing lacks them (and failing for some postings), the `test` database, and the runner's graceful shutdown.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bw_extract::{Board, BoardSource, ExtractError, Fetched, HttpBoards, ListingBody, Validators};
use bw_fake_ats::Kind;
use bw_ingestion::Ingestion;
use bw_ingestion::pipeline::Outcome;
use bw_messages::{Database, RunMessage};
use bw_queue::runner::{self, RunnerConfig};
use bw_tests::app::{TestApp, test_settings};
use bw_tests::client::Api as _;
use bw_tests::db::TestDb;
use bw_tests::sqs::TestQueue;
use bw_vocab::RunStatus;
use tokio::sync::watch;

/// The real HTTP boards, except that Greenhouse listings arrive without `content` (so details must be fetched),
/// and the detail of some postings fails as a board's would.
struct ListingsWithoutContent {
    inner: HttpBoards,
    failing: HashSet<String>,
}

impl BoardSource for ListingsWithoutContent {
    async fn fetch(&self, board: &Board, _: &Validators) -> Result<Fetched, ExtractError> {
        let mut listed = self.inner.list(board).await?;
        for posting in &mut listed.postings {
            if let Some(item) = posting.raw.as_object_mut() {
                item.remove("content");
            }
        }
        Ok(Fetched::Listing(ListingBody::from_listing(board.kind, "test", listed)))
    }

    async fn detail(&self, board: &Board, external_id: &str) -> Result<serde_json::Value, ExtractError> {
        if self.failing.contains(external_id) {
            return Err(ExtractError::Status { url: format!("detail of {external_id}"), status: 404 });
        }
        self.inner.detail(board, external_id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_are_fetched_where_the_listing_lacks_them_and_a_failing_posting_does_not_stop_the_run()
-> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 12, 5);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let ids = app.ats.posting_ids(Kind::Greenhouse, "acme");
    let failing: HashSet<String> = ids.iter().take(2).cloned().collect();
    let handler = Ingestion {
        primary: app.db.pool.clone(),
        test: None,
        boards: ListingsWithoutContent { inner: app.ingestion.boards.clone(), failing: failing.clone() },
        settings: test_settings(),
        continuation: None,
    };
    let run_id = app.start_run("alice").await?;
    let outcome = handler.handle_run(&RunMessage::new(run_id.parse()?, "alice", Database::Primary), 1).await;
    assert_eq!(outcome.ok(), Some(Outcome::Finished));

    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.counts.total.ready, 10, "{run:?}");
    assert_eq!(run.counts.total.failed, 2, "{run:?}");
    assert_eq!(app.ats.request_count("/v1/boards/acme/jobs/"), 10, "one detail request per posting that needed it");
    let failed = app.db.rows("SELECT external_id, ingest_error FROM postings WHERE status = 'failed'").await?;
    let failed_ids: HashSet<String> =
        failed.iter().filter_map(|r| r["external_id"].as_str().map(str::to_owned)).collect();
    assert_eq!(failed_ids, failing);
    assert!(
        failed.iter().all(|r| r["ingest_error"]
            .as_str()
            .is_some_and(|e| e.contains("detail fetch failed") && e.contains("404")))
    );
    let described = "SELECT count(*) FROM postings WHERE status = 'ready' AND length(description) > 100";
    assert_eq!(app.db.scalar(described).await?, 10, "descriptions come from the details");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_message_runs_against_test_database_url() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Lever, "globex", 6, 2);
    app.add_company("alice", "Globex", "lever", "globex").await?;
    let run_id = app.start_run("alice").await?;
    let message = RunMessage::new(run_id.parse()?, "alice", Database::Test);

    // Without TEST_DATABASE_URL such a message fails, saying why.
    let failure = app.ingestion.handle_run(&message, 1).await.err().map(|f| f.to_string()).unwrap_or_default();
    assert!(failure.contains("TEST_DATABASE_URL is not set"), "{failure}");

    // With it, the run is worked in the test database; the primary database stays untouched.
    let primary = TestDb::new().await?;
    let handler = Ingestion {
        primary: primary.pool.clone(),
        test: Some(app.db.pool.clone()),
        boards: app.ingestion.boards.clone(),
        settings: test_settings(),
        continuation: None,
    };
    assert_eq!(handler.handle_run(&message, 1).await.ok(), Some(Outcome::Finished));
    assert_eq!(app.run("alice", &run_id).await?.counts.total.ready, 6);
    assert_eq!(
        primary.scalar("SELECT count(*) FROM runs").await? + primary.scalar("SELECT count(*) FROM postings").await?,
        0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_shutdown_the_runner_finishes_the_batch_in_hand() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Ashby, "initech", 8, 3);
    app.ats.set_delay(Kind::Ashby, "initech", Duration::from_millis(1500));
    app.add_company("alice", "Initech", "ashby", "initech").await?;
    let run_id = app.start_run("alice").await?;

    let (tx, rx) = watch::channel(false);
    let (sqs, url, handler) = (app.queue.sqs.clone(), app.queue.url.clone(), Arc::clone(&app.ingestion));
    let config = RunnerConfig { batch_size: 1, wait: Duration::from_secs(1), ..RunnerConfig::default() };
    let runner = tokio::spawn(async move { runner::run(&sqs, &url, &*handler, &config, rx).await });
    TestQueue::wait_until(Duration::from_secs(30), "the run to start", || async {
        Ok(app.run("alice", &run_id).await?.status == RunStatus::Initializing)
    })
    .await?;
    tx.send(true)?;
    let stats = runner.await?;

    assert_eq!((stats.batches, stats.succeeded, stats.failed), (1, 1, 0));
    assert_eq!(app.run("alice", &run_id).await?.status, RunStatus::Finished, "the batch in hand was finished");
    assert_eq!(app.queue.depth(&app.queue.url).await?, 0, "and its message deleted");
    Ok(())
}

/// The real boards, except that the first posting's title carries NUL characters and its id is far too long for an
/// index key, as bad boards do.
struct HostileListing {
    inner: HttpBoards,
}

impl BoardSource for HostileListing {
    async fn fetch(&self, board: &Board, _: &Validators) -> Result<Fetched, ExtractError> {
        let mut listed = self.inner.list(board).await?;
        if let Some(first) = listed.postings.first_mut() {
            first.title = "Engineer\u{0}\u{0} (night shift)".to_owned();
            first.external_id = "x".repeat(5_000);
        }
        Ok(Fetched::Listing(ListingBody::from_listing(board.kind, "test", listed)))
    }

    async fn detail(&self, board: &Board, external_id: &str) -> Result<serde_json::Value, ExtractError> {
        self.inner.detail(board, external_id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nul_characters_and_overlong_ids_do_not_fail_the_run() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Lever, "globex", 5, 2);
    app.add_company("alice", "Globex", "lever", "globex").await?;
    let handler = Ingestion {
        primary: app.db.pool.clone(),
        test: None,
        boards: HostileListing { inner: app.ingestion.boards.clone() },
        settings: test_settings(),
        continuation: None,
    };
    let run_id = app.start_run("alice").await?;
    let message = RunMessage::new(run_id.parse()?, "alice", Database::Primary);
    assert_eq!(handler.handle_run(&message, 1).await.ok(), Some(Outcome::Finished));
    assert_eq!(app.run("alice", &run_id).await?.counts.total.inserted, 5);
    let stored = "SELECT count(*) FROM postings WHERE external_id LIKE 'sha256:%' AND status = 'ready'";
    assert_eq!(app.db.scalar(stored).await?, 1);
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE status = 'ready'").await?, 5);
    Ok(())
}
