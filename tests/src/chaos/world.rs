//! One phase's system: a database of its own, the real queue definitions under a prefix of its own, the fake OpenAI,
//! fault proxies in front of PostgreSQL and the fake OpenAI, and the four services as processes. The fake ATS is
//! shared by the phases of a trial (its boards are rebuilt from the seed before each), so careers-page URLs, and so
//! the postings, are the same in both.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use bw_fake_openai::{FakeConfig, FakeOpenAi, FakeOpenAiServer};
use bw_queue::definitions::{LLM_JOBS, RUNS};
use serde_json::Value;

use super::procs::Services;
use super::proxy::FaultProxy;
use crate::db::TestDb;
use crate::sqs::{TestQueue, unique_prefix};

/// The parts the workload and the checks use (the services are apart: the fault schedule owns them).
pub struct World {
    pub db: TestDb,
    pub runs: TestQueue,
    pub llm_jobs: TestQueue,
    pub db_proxy: FaultProxy,
    pub openai_proxy: FaultProxy,
    pub openai: FakeOpenAi,
    _openai_server: FakeOpenAiServer,
    pub api: Api,
}

impl World {
    /// Builds the phase's system and starts its services (logs under `dir`).
    pub async fn start(ats_base_url: &str, seed: u64, dir: &Path) -> anyhow::Result<(World, Services)> {
        let db = TestDb::new().await?;
        let prefix = unique_prefix();
        let runs = TestQueue::from_def(&format!("{prefix}runs"), &RUNS).await?;
        let llm_jobs = TestQueue::from_def(&format!("{prefix}llm-jobs"), &LLM_JOBS).await?;
        let db_addr = db_address(&db.url)?;
        let db_proxy = FaultProxy::start(db_addr, seed).await?;
        // Answers fast, as the real API's background mode does for a short prompt.
        let openai = FakeOpenAi::new(FakeConfig { seed, ..FakeConfig::default() });
        let openai_server = openai.serve(([127, 0, 0, 1], 0).into()).await?;
        let openai_proxy = FaultProxy::start(openai_server.addr, seed.wrapping_add(1)).await?;
        let api_addr = free_port().await?;
        let env = service_env(&db.url, &db_proxy, &openai_proxy, &prefix, ats_base_url, &api_addr)?;
        let services = Services::start(env, dir)?;
        let api = Api::new(format!("http://{api_addr}"))?;
        api.wait_healthy(Duration::from_secs(60)).await.context("the api did not come up")?;
        let world = World { db, runs, llm_jobs, db_proxy, openai_proxy, openai, _openai_server: openai_server, api };
        Ok((world, services))
    }
}

fn db_address(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    let parsed = url::Url::parse(url).with_context(|| format!("bad database URL {url}"))?;
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    format!("{host}:{}", parsed.port().unwrap_or(5432)).parse().context("the database must be at a loopback IP")
}

/// `url` with its host and port replaced by the proxy's, and libpq's `connect_timeout` (seconds) short, so that a
/// cut connection fails a call instead of hanging it.
fn through(url: &str, proxy: &FaultProxy) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url)?;
    parsed.set_host(Some("127.0.0.1"))?;
    parsed.set_port(Some(proxy.addr.port())).map_err(|()| anyhow::anyhow!("cannot set a port on {url}"))?;
    parsed.query_pairs_mut().append_pair("connect_timeout", "3");
    Ok(parsed.into())
}

async fn free_port() -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?.to_string())
}

/// The services' environment: everything through the proxies, the settings as shipped except where a local
/// process needs its own (listen address, board hosts on loopback, timeouts short enough for a test's boards).
fn service_env(
    db_url: &str,
    db_proxy: &FaultProxy,
    openai_proxy: &FaultProxy,
    prefix: &str,
    ats_base_url: &str,
    api_addr: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let pairs = [
        ("DATABASE_URL", through(db_url, db_proxy)?),
        ("DATABASE_POOL_SIZE", "4".to_owned()),
        ("QUEUE_PREFIX", prefix.to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("API_LISTEN", api_addr.to_owned()),
        ("JWT_SECRET", crate::app::JWT_SECRET.to_owned()),
        ("ATS_BASE_URL", ats_base_url.to_owned()),
        ("ALLOW_PRIVATE_CAREERS_URLS", "true".to_owned()),
        ("BOARD_TIMEOUT_SECS", "5".to_owned()),
        ("BOARD_CONNECT_TIMEOUT_SECS", "2".to_owned()),
        ("OPENAI_BASE_URL", format!("http://{}/v1", openai_proxy.addr)),
        ("OPENAI_API_KEY", "sk-chaos".to_owned()),
        // A stalled connection is given up well before the stall ends.
        ("OPENAI_REQUEST_TIMEOUT_MS", "3000".to_owned()),
        ("OPENAI_CONNECT_TIMEOUT_MS", "2000".to_owned()),
    ];
    let mut env: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    // The parent's settings win only for what a run of the suite may tune (e.g. RUN_LEASE_SECS for a comparison).
    for name in ["RUN_LEASE_SECS", "STALE_RUN_SECS", "STALE_SWEEP_SECS", "JOB_LEASE_SECS", "DISPATCH_EVERY_SECS"] {
        if let Some(value) = bw_config::optional(&format!("CHAOS_{name}")) {
            env.push((name.to_owned(), value));
        }
    }
    Ok(env)
}

/// The API as the workload's users call it: a short timeout, and retries while the service is down.
pub struct Api {
    pub url: String,
    http: reqwest::Client,
}

impl Api {
    fn new(url: String) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(Self { url, http })
    }

    pub async fn healthy(&self) -> bool {
        let answer = self.http.get(format!("{}/healthz", self.url)).timeout(Duration::from_secs(2)).send().await;
        answer.is_ok_and(|r| r.status().is_success())
    }

    pub async fn wait_healthy(&self, timeout: Duration) -> anyhow::Result<()> {
        let what = format!("{}/healthz to answer", self.url);
        crate::sqs::TestQueue::wait_until(timeout, &what, || async { Ok(self.healthy().await) }).await
    }

    /// One request as `user`: (status, JSON body or Null); `Err` when no answer came.
    pub async fn call(
        &self,
        user: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request =
            self.http.request(method, format!("{}{path}", self.url)).bearer_auth(crate::app::token_for(user, false));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }

    /// [`Api::call`] until it answers something other than a 5xx (the service down, restarting or without its
    /// database), for at most `timeout`.
    pub async fn call_retrying(
        &self,
        user: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        timeout: Duration,
    ) -> anyhow::Result<(u16, Value)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let last = match self.call(user, method.clone(), path, body).await {
                Ok((status, body)) if status < 500 => return Ok((status, body)),
                Ok((status, body)) => format!("{status} {body}"),
                Err(e) => format!("{e:#}"),
            };
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{method} {path} as {user} got no answer within {timeout:?}; last: {last}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
