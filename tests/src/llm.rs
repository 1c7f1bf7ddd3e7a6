//! LLM-job scaffolding the tests share: alice's ready postings from one finished run, a job over them, a job's row,
//! a poller worker wired to the test app's `llm-jobs` queue and a fake OpenAI, and all of them together
//! ([`Screening`]).

use std::time::Duration;

use anyhow::Context as _;
use bw_db::llm::{self, LlmJob, NewJob};
use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi, FakeOpenAiServer};
use bw_messages::{Database, RunMessage};
use bw_openai::{OpenAi, OpenAiConfig};
use bw_poller::stats::Stats;
use bw_poller::{Settings, Worker};
use bw_queue::SqsQueue;
use bw_vocab::JobMode;
use uuid::Uuid;

use crate::app::TestApp;
use crate::client::Api as _;

/// A test app whose user alice has `count` ready postings from the board `kind`/`token`, ingested by one run
/// (handled in-process); returns the app and the run id.
pub async fn app_with_ready_postings(kind: Kind, token: &str, count: usize) -> anyhow::Result<(TestApp, String)> {
    let app = TestApp::spawn().await?;
    app.ats.generate_board(kind, token, count, 1);
    app.add_company("alice", token, kind.as_str(), token).await?;
    let run_id = app.start_run("alice").await?;
    app.ingestion
        .handle_run(&RunMessage::new(run_id.parse()?, "alice", Database::Primary), 1)
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    Ok((app, run_id))
}

/// Creates alice's job "remote?" in `mode` over all her ready postings (there must be `expected` of them).
pub async fn create_job(app: &TestApp, mode: JobMode, expected: usize) -> anyhow::Result<Uuid> {
    let ids: Vec<i64> = app
        .db
        .rows("SELECT id FROM postings WHERE status = 'ready' ORDER BY id")
        .await?
        .iter()
        .filter_map(|r| r["id"].as_i64())
        .collect();
    anyhow::ensure!(ids.len() == expected, "expected {expected} ready postings, got {}", ids.len());
    let job =
        NewJob { user_id: "alice", name: "remote?", model: "gpt-4.1-nano", instructions: "Is this job remote?", mode };
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    Ok(llm::create(&mut conn, job, &ids).await?.id)
}

/// The job's row.
pub async fn job_row(app: &TestApp, id: Uuid) -> anyhow::Result<LlmJob> {
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    llm::load(&mut conn, id).await?.with_context(|| format!("job {id} missing"))
}

/// A worker over the app's database and `llm-jobs` queue, talking to the (fake) OpenAI at `base_url` with short
/// backoffs.
pub fn worker(app: &TestApp, base_url: &str) -> anyhow::Result<Worker<SqsQueue>> {
    let mut openai = OpenAiConfig::new(bw_config::Secret::new("sk-test"));
    openai.base_url = base_url.to_owned();
    openai.initial_backoff = Duration::from_millis(50);
    openai.max_backoff = Duration::from_secs(2);
    Ok(Worker {
        pool: app.db.pool.clone(),
        openai: OpenAi::new(openai)?,
        queue: app.llm_queue.sqs.clone(),
        queue_url: app.llm_queue.url.clone(),
        settings: Settings { budget: Duration::from_secs(20), ..Settings::default() },
    })
}

/// Polls the job the way its messages would, until it resolves (at most a minute); returns its row.
pub async fn poll_until_resolved(app: &TestApp, worker: &Worker<SqsQueue>, id: Uuid) -> anyhow::Result<LlmJob> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        worker.poll_job(id, None).await.map_err(|f| anyhow::anyhow!("{f}"))?;
        let job = job_row(app, id).await?;
        if job.resolved_at.is_some() {
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    anyhow::bail!("job {id} did not resolve: {:?}", job_row(app, id).await?)
}

/// Alice's run of 12 ready postings, a fake OpenAI, and a worker wired to them and the app's `llm-jobs` queue.
pub struct Screening {
    pub app: TestApp,
    pub fake: FakeOpenAi,
    pub server: FakeOpenAiServer,
    pub worker: Worker<SqsQueue>,
}

impl Screening {
    /// The postings and a fake OpenAI behaving as `config` says, on the system clock.
    pub async fn start(config: FakeConfig) -> anyhow::Result<Self> {
        Self::with_fake(FakeOpenAi::new(config)).await
    }

    /// The postings and `fake` (for a fake on a clock of the test's own).
    pub async fn with_fake(fake: FakeOpenAi) -> anyhow::Result<Self> {
        let (app, _run) = app_with_ready_postings(Kind::Greenhouse, "acme", 12).await?;
        let server = fake.serve(([127, 0, 0, 1], 0).into()).await?;
        let worker = worker(&app, &server.base_url)?;
        Ok(Self { app, fake, server, worker })
    }

    /// Alice's job over the 12 postings.
    pub async fn create_job(&self, mode: JobMode) -> anyhow::Result<Uuid> {
        create_job(&self.app, mode, 12).await
    }

    /// The job's row.
    pub async fn job(&self, id: Uuid) -> anyhow::Result<LlmJob> {
        job_row(&self.app, id).await
    }

    /// One invocation's work on the job, without a Lambda deadline.
    pub async fn poll_once(&self, id: Uuid) -> anyhow::Result<Stats> {
        self.worker.poll_job(id, None).await.map_err(|f| anyhow::anyhow!("{f}"))
    }

    /// Polls the job until it resolves (at most a minute); returns its row.
    pub async fn poll_until_resolved(&self, id: Uuid) -> anyhow::Result<LlmJob> {
        poll_until_resolved(&self.app, &self.worker, id).await
    }

    /// How many of the job's items match the SQL condition `cond`.
    pub async fn items_where(&self, id: Uuid, cond: &str) -> anyhow::Result<i64> {
        self.app.db.scalar(&format!("SELECT count(*) FROM llm_job_items WHERE job_id = '{id}' AND ({cond})")).await
    }
}
