//! The workload of a trial, the same in the reference and the chaos phase: users with companies on every board kind,
//! rounds of runs with boards changed between them (postings added, changed, removed) and some boards failing, an
//! aborted run, then a background and a batch screening job per user. Everything is drawn from the trial's seed.

use std::time::Duration;

use anyhow::Context as _;
use bw_fake_ats::{Failure, FakeAts, FakeAtsServer, Kind};
use bw_vocab::{JobStatus, RunStatus};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use reqwest::Method;
use serde_json::{Value, json};

use super::world::World;
use crate::sqs::TestQueue;

/// The shape of a trial's workload.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    pub users: Vec<String>,
    pub companies: Vec<CompanyPlan>,
    pub rounds: usize,
    /// The user whose extra run of the last round is aborted as soon as it is started.
    pub abort_user: usize,
}

#[derive(Clone, Debug)]
pub struct CompanyPlan {
    pub user: usize,
    pub name: String,
    pub kind: Kind,
    pub token: String,
    pub postings: usize,
}

/// How long anything in a phase may take before the trial fails as stuck.
pub const SETTLE: Duration = Duration::from_secs(600);
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

impl Plan {
    pub fn new(seed: u64, short: bool) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let (users, rounds, sizes) = if short { (2, 2, 8..=24) } else { (3, 3, 10..=60) };
        let users: Vec<String> = (0..users).map(|u| format!("user{u}")).collect();
        let mut companies = Vec::new();
        for user in 0..users.len() {
            let mut kinds = Kind::ALL.to_vec();
            kinds.push(Kind::ALL[rng.random_range(0..Kind::ALL.len())]);
            for (i, kind) in kinds.into_iter().enumerate() {
                // The fake keeps a Workday board under `{tenant}.{site}`.
                let site = if kind == Kind::Workday { ".Careers" } else { "" };
                companies.push(CompanyPlan {
                    user,
                    name: format!("{kind}-{i}"),
                    kind,
                    token: format!("s{seed}-u{user}-{kind}-{i}{site}"),
                    postings: rng.random_range(sizes.clone()),
                });
            }
        }
        let abort_user = rng.random_range(0..users.len());
        Self { seed, users, companies, rounds, abort_user }
    }

    /// Builds every board afresh from the seed (before each phase).
    pub fn build_boards(&self, ats: &FakeAts) {
        for (i, company) in self.companies.iter().enumerate() {
            ats.generate_board(company.kind, &company.token, company.postings, self.seed.wrapping_add(i as u64));
            ats.set_failure(company.kind, &company.token, None);
        }
    }

    /// Changes the boards before `round` (none before the first) and sets the round's failing boards; returns how
    /// many boards fail in it.
    pub fn prepare_round(&self, ats: &FakeAts, round: usize) -> usize {
        let mut rng = StdRng::seed_from_u64(self.seed ^ (0x5eed_0000 + round as u64));
        let mut failing = 0;
        for company in &self.companies {
            let (kind, token) = (company.kind, company.token.as_str());
            if round > 0 {
                let ids = ats.posting_ids(kind, token);
                // Small changes: the expiry guard holds a listing that shrinks by most of itself.
                for id in ids.iter().filter(|_| rng.random_bool(0.1)) {
                    ats.change_posting(kind, token, id);
                }
                for id in ids.iter().filter(|_| rng.random_bool(0.05)) {
                    ats.remove_posting(kind, token, id);
                }
                ats.add_postings(kind, token, rng.random_range(0..=3));
            }
            // Slow boards, so that runs are in flight long enough for the faults to find them.
            ats.set_delay(kind, token, Duration::from_millis(rng.random_range(500..4_000)));
            let failure = match rng.random_range(0..100) {
                0..6 => Some(Failure::ServerError),
                6..9 => Some(Failure::Malformed),
                9..11 => Some(Failure::Hang),
                _ => None,
            };
            failing += usize::from(failure.is_some());
            ats.set_failure(kind, token, failure);
        }
        failing
    }
}

/// The runs a phase started: `(user, round) -> run id`, and the aborted ones.
#[derive(Debug, Default)]
pub struct Started {
    pub runs: Vec<(usize, usize, String)>,
    pub aborted: Vec<String>,
    pub jobs: Vec<(usize, String, String)>,
    pub board_faults: usize,
}

/// Drives the whole workload through the API, as its users would, and waits for every run and job to end.
pub async fn drive(world: &World, plan: &Plan, ats: &FakeAts, server: &FakeAtsServer) -> anyhow::Result<Started> {
    let mut started = Started::default();
    for company in &plan.companies {
        add_company(world, plan, company, server).await?;
    }
    for round in 0..plan.rounds {
        started.board_faults += plan.prepare_round(ats, round);
        let mut ids = Vec::new();
        for user in 0..plan.users.len() {
            ids.push((user, start_run(world, &plan.users[user]).await?));
        }
        for (user, id) in &ids {
            wait_run_ended(world, id).await.with_context(|| format!("round {round}, {}", plan.users[*user]))?;
        }
        started.runs.extend(ids.into_iter().map(|(user, id)| (user, round, id)));
    }
    // An aborted run over unchanged boards: whatever it got to do, it changes no posting's content.
    let user = &plan.users[plan.abort_user];
    let id = start_run(world, user).await?;
    let path = format!("/api/ingestion/runs/{id}/abort");
    let (status, body) = world.api.call_retrying(user, Method::POST, &path, None, CALL_TIMEOUT).await?;
    anyhow::ensure!(matches!(status, 200 | 202 | 409), "aborting run {id} answered {status}: {body}");
    wait_run_ended(world, &id).await.context("the aborted run")?;
    started.aborted.push(id);
    for (u, user) in plan.users.iter().enumerate() {
        for mode in ["background", "batch"] {
            started.jobs.push((u, mode.to_owned(), create_job(world, user, mode).await?));
        }
    }
    for (_, _, id) in &started.jobs {
        wait_job_resolved(world, id).await?;
    }
    Ok(started)
}

async fn add_company(world: &World, plan: &Plan, company: &CompanyPlan, server: &FakeAtsServer) -> anyhow::Result<()> {
    let token = match company.kind {
        Kind::Jsonld => server.careers_url(&company.token),
        Kind::Workday => {
            let (tenant, site) = company.token.split_once('.').unwrap_or((&company.token, "Careers"));
            format!("https://{tenant}.wd5.myworkdayjobs.com/{site}")
        }
        _ => company.token.clone(),
    };
    let body = json!({ "name": company.name, "board_kind": company.kind.as_str(), "board_token": token });
    let user = &plan.users[company.user];
    let (status, answer) =
        world.api.call_retrying(user, Method::POST, "/api/companies", Some(&body), CALL_TIMEOUT).await?;
    // 409: an earlier try was stored though its answer was lost.
    anyhow::ensure!(matches!(status, 201 | 409), "adding {} for {user} answered {status}: {answer}", company.name);
    Ok(())
}

/// Starts a run for `user` (all of whose runs have ended) and returns its id. A 409 after a try whose answer was
/// lost names the run that try started.
pub async fn start_run(world: &World, user: &str) -> anyhow::Result<String> {
    let (status, body) = world.api.call_retrying(user, Method::POST, "/api/ingestion/runs", None, CALL_TIMEOUT).await?;
    let id = match status {
        202 => body["id"].as_str(),
        409 => body["error"]["details"]["run_id"].as_str(),
        _ => None,
    };
    id.map(str::to_owned).with_context(|| format!("starting a run for {user} answered {status}: {body}"))
}

/// Creates the user's job in `mode` over their ready postings, once: before a retry, the user's jobs are looked at
/// for one an earlier try created.
pub async fn create_job(world: &World, user: &str, mode: &str) -> anyhow::Result<String> {
    let name = format!("chaos {mode}");
    let body = json!({
        "name": name, "model": "gpt-4.1-nano", "instructions": "Is this job remote? Answer with a flag.",
        "mode": mode, "entities": { "filter": { "status": "ready" } },
    });
    let deadline = tokio::time::Instant::now() + CALL_TIMEOUT;
    loop {
        if let Some(id) = existing_job(world, user, &name).await? {
            return Ok(id);
        }
        match world.api.call(user, Method::POST, "/api/llm-jobs", Some(&body)).await {
            Ok((201 | 202, answer)) => {
                let id = answer["id"].as_str().or(answer["job"]["id"].as_str());
                return id.map(str::to_owned).with_context(|| format!("job without id: {answer}"));
            }
            Ok((status, answer)) if status < 500 => anyhow::bail!("creating {name} answered {status}: {answer}"),
            _ => {}
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "could not create {name} for {user}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn existing_job(world: &World, user: &str, name: &str) -> anyhow::Result<Option<String>> {
    let sql = format!("SELECT id::text AS id FROM llm_jobs WHERE user_id = '{user}' AND name = '{name}'");
    let rows = world.db.rows(&sql).await?;
    anyhow::ensure!(rows.len() <= 1, "{user} has {} jobs named {name:?}: one was created twice", rows.len());
    Ok(rows.first().and_then(|r| r["id"].as_str()).map(str::to_owned))
}

pub async fn wait_run_ended(world: &World, id: &str) -> anyhow::Result<()> {
    let sql = format!("SELECT status FROM runs WHERE id = '{id}'");
    wait_for(world, &sql, &RunStatus::TERMINAL.map(RunStatus::as_str), &format!("run {id}")).await
}

pub async fn wait_job_resolved(world: &World, id: &str) -> anyhow::Result<()> {
    let open = JobStatus::UNRESOLVED.map(|s| format!("'{s}'")).join(", ");
    let sql = format!(
        "SELECT CASE WHEN status IN ({open}) THEN 'open: ' || status ELSE 'resolved' END AS status \
         FROM llm_jobs WHERE id = '{id}'"
    );
    wait_for(world, &sql, &["resolved"], &format!("job {id}")).await
}

/// Polls the phase's database directly (not through the fault proxy) until `sql`'s `status` is one of `ends`.
async fn wait_for(world: &World, sql: &str, ends: &[&str], what: &str) -> anyhow::Result<()> {
    let status = async || -> anyhow::Result<Value> {
        Ok(world.db.rows(sql).await?.first().map(|r| r["status"].clone()).unwrap_or(Value::Null))
    };
    let ended = TestQueue::wait_until(SETTLE, &format!("{what} to end"), || async {
        Ok(status().await?.as_str().is_some_and(|s| ends.contains(&s)))
    })
    .await;
    if ended.is_err() {
        let last = status().await.map_or_else(|e| format!("unknown ({e:#})"), |s| s.to_string());
        return ended.with_context(|| format!("{what} is still {last}"));
    }
    Ok(())
}
