//! The system in one process for a test: API on port 0, ingestion runner over a test queue, fake ATS boards.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bw_api::AppState;
use bw_api::seams::sqs::{SqsEnqueue, SqsOps};
use bw_extract::{BoardUrls, HttpBoards};
use bw_fake_ats::{FakeAts, FakeAtsServer};
use bw_ingestion::{Continuation, Ingestion, Settings};
use bw_messages::Database;
use bw_queue::definitions::QueueDef;
use bw_queue::runner::{self, RunnerConfig};
use bw_vocab::BoardKind;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::client::Api;
use crate::db::TestDb;
use crate::sqs::{TestQueue, unique_prefix};

/// The JWT secret of every test app.
pub const JWT_SECRET: &str = "test-secret-of-at-least-32-bytes-0123";

/// The keys signing and verifying test apps' tokens.
pub fn test_keys() -> bw_auth::Keys {
    bw_auth::Keys::new(&bw_config::Secret::new(JWT_SECRET)).unwrap_or_else(|e| panic!("{e}"))
}

/// A token for `user`, valid for an hour; operators may use the operators' routes.
pub fn token_for(user: &str, operator: bool) -> String {
    test_keys().sign(user, Duration::from_secs(3600), operator).unwrap_or_else(|e| panic!("{e}"))
}

/// One test's running system.
pub struct TestApp {
    pub db: TestDb,
    pub queue: TestQueue,
    /// The `llm-jobs` queue the API sends new jobs to.
    pub llm_queue: TestQueue,
    pub ats: FakeAts,
    pub ats_server: FakeAtsServer,
    pub api_url: String,
    pub http: reqwest::Client,
    pub ingestion: Arc<Ingestion<HttpBoards>>,
    runner: Option<(watch::Sender<bool>, JoinHandle<runner::RunnerStats>)>,
    api_task: JoinHandle<()>,
}

/// The test's `runs` queue: failures return after 2 s.
fn test_queue(max_receive_count: u32) -> QueueDef {
    QueueDef { name: "runs", visibility_timeout_secs: 2, max_receive_count, retention_secs: 3_600 }
}

/// Settings suited to tests: small chunks so chunking is exercised, short timeouts so a hanging board fails fast.
pub fn test_settings() -> Settings {
    Settings {
        lease_secs: 30,
        ingest_chunk: 40,
        max_receive_count: 3,
        request_timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(2),
        ..Settings::default()
    }
}

impl TestApp {
    /// Starts everything but the ingestion runner (see [`TestApp::start_runner`]).
    pub async fn spawn() -> anyhow::Result<Self> {
        Self::spawn_with(test_settings()).await
    }

    /// Like [`TestApp::spawn`], with settings of the caller's.
    pub async fn spawn_with(settings: Settings) -> anyhow::Result<Self> {
        let runs = test_queue(settings.max_receive_count);
        Self::spawn_in(TestDb::new().await?, settings, runs).await
    }

    /// Like [`TestApp::spawn`], on a database of the caller's (another server's, say).
    pub async fn spawn_on(db: TestDb) -> anyhow::Result<Self> {
        let settings = test_settings();
        let runs = test_queue(settings.max_receive_count);
        Self::spawn_in(db, settings, runs).await
    }

    /// Like [`TestApp::spawn`], with the `runs` queue as the stack defines it (90-minute visibility timeout, five
    /// receives) instead of a test queue that returns failures in 2 s.
    pub async fn spawn_with_real_runs_queue() -> anyhow::Result<Self> {
        let runs = bw_queue::definitions::RUNS;
        let settings = Settings { max_receive_count: runs.max_receive_count, ..test_settings() };
        Self::spawn_in(TestDb::new().await?, settings, runs).await
    }

    async fn spawn_in(db: TestDb, settings: Settings, runs: QueueDef) -> anyhow::Result<Self> {
        crate::init_logging();
        // The system's queue names under a prefix of this app's own, so its operators' routes see exactly its queues.
        let prefix = unique_prefix();
        let queue = TestQueue::from_def(&format!("{prefix}runs"), &runs).await?;
        let llm_queue = TestQueue::named(&format!("{prefix}llm-jobs"), 2, 3).await?;
        let ats = FakeAts::new();
        let ats_server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
        let boards = HttpBoards::new(
            BoardUrls::all(&ats_server.base_url),
            settings.connect_timeout,
            settings.request_timeout,
            settings.max_body_bytes,
        )?
        .with_private_careers_pages();
        let enqueue =
            SqsEnqueue { queue: queue.sqs.clone(), runs_url: queue.url.clone(), llm_jobs_url: llm_queue.url.clone() };
        let ops = bw_ops::Ops::from_config(&bw_aws::aws_config().await, prefix);
        let state = AppState {
            pool: db.pool.clone(),
            queue: Arc::new(enqueue),
            database: Database::Primary,
            boards: Arc::new(boards.clone()),
            keys: test_keys(),
            ops: Arc::new(SqsOps { ops, reasons: bw_ops::peek::Reasons::from_pool(db.pool.clone()) }),
            live: Some(bw_api::live::Hub::start(db.url.clone())),
            webhook_secret: Some(crate::webhook_secret()),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let api_url = format!("http://{}", listener.local_addr()?);
        let api_task = tokio::spawn(async move {
            let _ = axum::serve(listener, bw_api::router(state)).await;
        });
        let continuation = Some(Continuation { queue: queue.sqs.clone(), queue_url: queue.url.clone() });
        let ingestion = Arc::new(Ingestion { primary: db.pool.clone(), test: None, boards, settings, continuation });
        Ok(Self {
            db,
            queue,
            llm_queue,
            ats,
            ats_server,
            api_url,
            http: reqwest::Client::new(),
            ingestion,
            runner: None,
            api_task,
        })
    }

    /// Starts the local event-source runner over the test queue.
    pub fn start_runner(&mut self) {
        self.start_runner_with(Arc::clone(&self.ingestion));
    }

    /// Starts the local event-source runner over the test queue with another handler (a service restarted with
    /// other settings).
    pub fn start_runner_with(&mut self, handler: Arc<Ingestion<HttpBoards>>) {
        let (tx, rx) = watch::channel(false);
        let sqs = self.queue.sqs.clone();
        let url = self.queue.url.clone();
        // As the ingestion service runs: one run per batch, several batches at once.
        let config = RunnerConfig {
            batch_size: 1,
            batching_window: Duration::from_millis(200),
            wait: Duration::from_secs(1),
            concurrency: 1,
            max_batches: 4,
            pause_check: Duration::from_millis(200),
        };
        let task = tokio::spawn(async move { runner::run(&sqs, &url, &*handler, &config, rx).await });
        self.runner = Some((tx, task));
    }

    /// The ingestion handler as a service configured with `TEST_DATABASE_URL` would build it.
    pub fn ingestion_with_test_database(&self, test: bw_db::PgPool) -> Arc<Ingestion<HttpBoards>> {
        let i = &self.ingestion;
        Arc::new(Ingestion {
            primary: i.primary.clone(),
            test: Some(test),
            boards: i.boards.clone(),
            settings: i.settings.clone(),
            continuation: i.continuation.clone(),
        })
    }

    /// Stops the runner after its batch in hand and returns its stats.
    pub async fn stop_runner(&mut self) -> anyhow::Result<runner::RunnerStats> {
        let (tx, task) = self.runner.take().context("runner not started")?;
        let _ = tx.send(true);
        Ok(task.await?)
    }

    /// A pending run of alice's written straight into `db` (another database than the app's, such as the `test`
    /// database of a scenario), with one company: greenhouse `acme`, which the fake ATS serves with `postings`.
    pub async fn run_in(&self, db: &TestDb, postings: usize) -> anyhow::Result<uuid::Uuid> {
        self.ats.generate_board(bw_fake_ats::Kind::Greenhouse, "acme", postings, 1);
        let mut conn = bw_db::pool::conn(&db.pool).await?;
        bw_db::companies::create(
            &mut conn,
            "alice",
            "Acme",
            bw_db::companies::BoardRef { kind: BoardKind::Greenhouse, region: Default::default(), token: "acme" },
        )
        .await?;
        match bw_db::runs::create(&mut conn, "alice").await? {
            bw_db::runs::Created::Run(run) => Ok(run.id),
            bw_db::runs::Created::ActiveExists(run) => anyhow::bail!("alice already has run {}", run.id),
        }
    }
}

impl Api for TestApp {
    async fn call(&self, user: &str, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<(u16, Value)> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.api_url)).bearer_auth(token_for(user, user == "ops"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.api_task.abort();
        if let Some((tx, task)) = self.runner.take() {
            let _ = tx.send(true);
            task.abort();
        }
    }
}
