//! The chaos suite (`scripts/chaos.sh`): the real binaries as processes, a seeded workload run twice per trial (a
//! fault-free reference, then under faults), and the comparison of what each left. See `README.md`, "Chaos".

pub mod check;
pub mod faults;
pub mod procs;
pub mod proxy;
pub mod workload;
pub mod world;

use std::path::PathBuf;
use std::time::Instant;

use bw_fake_ats::FakeAts;
use tokio::sync::watch;

use crate::figure;
use check::{Snapshot, Verdict};
use faults::FaultLog;
use workload::Plan;
use world::World;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub trials: u32,
    /// Trial `i` runs seed `seed + i`.
    pub seed: u64,
    /// Fewer users, rounds, postings and faults (the form `scripts/test.sh` runs).
    pub short: bool,
    /// Trials run at once (each has its own database, queues, proxies and services).
    pub parallel: usize,
    /// Where the services' logs go (a folder per trial and phase).
    pub dir: PathBuf,
}

/// One trial's figures.
#[derive(Debug, Default)]
pub struct Trial {
    pub faults: FaultLog,
    pub openai_faults: u64,
    pub board_faults: usize,
    pub verdict: Verdict,
    pub messages_lost: usize,
    pub seconds: f64,
}

/// Recoveries after kills may take at most this long (the bound).
pub const RECOVERY_AFTER_KILL_MAX_SECS: f64 = 60.0;

/// Runs the trials (`parallel` at a time), prints the figures, and fails naming each trial whose invariants broke
/// (with its seed).
pub async fn run(config: &Config) -> anyhow::Result<()> {
    use futures::StreamExt as _;
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    let (ats, server) = (&ats, &server);
    let outcomes: Vec<(u32, u64, anyhow::Result<Trial>)> = futures::stream::iter(0..config.trials)
        .map(|i| async move {
            let seed = config.seed.wrapping_add(u64::from(i));
            eprintln!("chaos: trial {} of {} (seed {seed}) started", i + 1, config.trials);
            (i, seed, trial(config, seed, ats, server).await)
        })
        .buffer_unordered(config.parallel.max(1))
        .collect()
        .await;
    let mut trials = Vec::new();
    let mut failures = Vec::new();
    for (i, seed, outcome) in outcomes {
        match outcome {
            Ok(trial) => {
                let problems = problems(&trial);
                if !problems.is_empty() {
                    failures.push(format!("trial {} (seed {seed}): {}", i + 1, problems.join("; ")));
                }
                eprintln!(
                    "chaos: trial {} (seed {seed}) done in {:.0} s: {} kills, {} outages, recoveries {:?}",
                    i + 1,
                    trial.seconds,
                    trial.faults.kills,
                    trial.faults.db_outages,
                    trial.faults.recoveries
                );
                trials.push(trial);
            }
            Err(e) => failures.push(format!("trial {} (seed {seed}): {e:#}", i + 1)),
        }
    }
    print_figures(config, &trials);
    if failures.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of {} trials failed (replay one with scripts/chaos.sh 1 <its seed>; logs in {}):\n{}",
        failures.len(),
        config.trials,
        config.dir.display(),
        failures.join("\n")
    )
}

fn problems(trial: &Trial) -> Vec<String> {
    let mut problems = trial.verdict.diffs.clone();
    if trial.messages_lost > 0 {
        problems.push(format!("{} messages lost (runs or jobs that never ended)", trial.messages_lost));
    }
    for (what, seconds) in &trial.faults.recoveries {
        if what.starts_with("kill") && *seconds > RECOVERY_AFTER_KILL_MAX_SECS {
            problems.push(format!("{seconds:.1} s to recover from {what} (at most {RECOVERY_AFTER_KILL_MAX_SECS})"));
        }
    }
    problems
}

async fn trial(
    config: &Config,
    seed: u64,
    ats: &FakeAts,
    server: &bw_fake_ats::FakeAtsServer,
) -> anyhow::Result<Trial> {
    let started = Instant::now();
    let plan = Plan::new(seed, config.short);
    let dir = config.dir.join(format!("seed-{seed}"));

    plan.build_boards(ats);
    let (world, mut services) = World::start(&server.base_url, seed, &dir.join("reference")).await?;
    let done = workload::drive(&world, &plan, ats, server).await;
    services.check_running()?;
    let done = done.map_err(|e| e.context("the fault-free reference failed"))?;
    let reference = Snapshot::take(&world, &plan, &done).await?;
    services.stop().await;
    drop(world);

    plan.build_boards(ats);
    let (world, mut services) = World::start(&server.base_url, seed, &dir.join("chaos")).await?;
    faults::openai_faults(&world)?;
    let (stop, stopped) = watch::channel(false);
    let workload = async {
        let result = workload::drive(&world, &plan, ats, server).await;
        let _ = stop.send(true);
        result
    };
    let (done, log) = tokio::join!(workload, faults::schedule(&world, &mut services, seed, config.short, stopped));
    let log = log?;
    services.check_running()?;
    let panics: Vec<String> = procs::Role::ALL.iter().flat_map(|r| procs::panics(&services.log_path(*r))).collect();
    anyhow::ensure!(panics.is_empty(), "a service panicked: {}", panics.join("\n"));
    let done = done?;
    let chaos = Snapshot::take(&world, &plan, &done).await?;
    services.stop().await;
    let fake = world.openai.stats();
    let proxy = world.openai_proxy.stats();
    let verdict = check::compare(&reference, &chaos);
    let messages_lost = (verdict.runs_total - verdict.runs_ended) + (verdict.jobs_total - verdict.jobs_resolved);
    Ok(Trial {
        faults: log,
        openai_faults: fake.rate_limited + fake.server_errors + proxy.resets + proxy.stalls,
        board_faults: done.board_faults,
        verdict,
        messages_lost,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn print_figures(config: &Config, trials: &[Trial]) {
    let sum = |f: &dyn Fn(&Trial) -> usize| trials.iter().map(f).sum::<usize>();
    figure("trials", trials.len());
    figure("seed", config.seed);
    figure("kills", sum(&|t| t.faults.kills));
    figure("db_outages", sum(&|t| t.faults.db_outages));
    figure("db_latency_spikes", sum(&|t| t.faults.latency_spikes));
    figure("openai_faults", trials.iter().map(|t| t.openai_faults).sum::<u64>());
    figure("board_faults", sum(&|t| t.board_faults));
    figure("runs_total", sum(&|t| t.verdict.runs_total));
    figure("runs_ended", sum(&|t| t.verdict.runs_ended));
    figure("runs_counts_equal_reference", sum(&|t| t.verdict.runs_counts_equal));
    figure("postings_equal_reference", !trials.is_empty() && trials.iter().all(|t| t.verdict.postings_equal));
    figure("jobs_total", sum(&|t| t.verdict.jobs_total));
    figure("jobs_resolved", sum(&|t| t.verdict.jobs_resolved));
    figure("items_total", sum(&|t| t.verdict.items_total));
    figure("decisions_applied_twice", trials.iter().map(|t| t.verdict.decisions_applied_twice).sum::<i64>());
    figure("messages_lost", sum(&|t| t.messages_lost));
    figure("messages_in_dlq", sum(&|t| t.verdict.messages_in_dlq));
    let mut all: Vec<f64> = trials.iter().flat_map(|t| t.faults.recoveries.iter().map(|(_, s)| *s)).collect();
    let mut kills: Vec<f64> = trials
        .iter()
        .flat_map(|t| t.faults.recoveries.iter().filter(|(w, _)| w.starts_with("kill")).map(|(_, s)| *s))
        .collect();
    all.sort_by(f64::total_cmp);
    kills.sort_by(f64::total_cmp);
    let seconds = |v: Option<&f64>| v.map_or_else(|| "none".to_owned(), |s| format!("{s:.1}"));
    figure("recovery_seconds_p50", seconds(all.get(all.len() / 2)));
    figure("recovery_seconds_max", seconds(all.last()));
    figure("recovery_seconds_max_after_kill", seconds(kills.last()));
    figure("trial_seconds_max", format!("{:.0}", trials.iter().map(|t| t.seconds).fold(0.0, f64::max)));
}
