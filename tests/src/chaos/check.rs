//! What a phase left, read straight from its database and queues, and the comparison of the chaos phase with the
//! fault-free reference: runs' counts, the postings table, the jobs' decisions and flags, and the dead letters.

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde_json::Value;

use bw_vocab::{JobStatus, RunStatus};

use super::workload::{Plan, Started};
use super::world::World;

/// A phase's end state, keyed by what the workload names (users, rounds, companies, external ids), not by ids.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// (user, round) -> the run's status, counts and per-company counts.
    pub runs: BTreeMap<(String, usize), Value>,
    pub aborted_ended: usize,
    pub aborted_total: usize,
    /// (user, company, external id) -> the posting's content and status.
    pub postings: BTreeMap<(String, String, String), Value>,
    /// (user, mode) -> the job's status, and each item's (company, external id) -> status and decision.
    pub jobs: BTreeMap<(String, String), Job>,
    /// Dead letters: (queue, message id, recorded reason if any).
    pub dead_letters: Vec<(String, String, Option<String>)>,
}

#[derive(Debug, Default, PartialEq)]
pub struct Job {
    pub status: String,
    pub items: BTreeMap<(String, String), Value>,
    pub flags_applied: i64,
    pub flag_rows: i64,
    /// Items with a decision: each is applied as one `entity_flags` row (flagged or not).
    pub decided_items: i64,
}

/// Keys of a run's counts that are timings, not counts.
fn is_timing(key: &str) -> bool {
    key.ends_with("_ms") || key.ends_with("_secs") || key.contains("duration")
}

impl Snapshot {
    pub async fn take(world: &World, plan: &Plan, started: &Started) -> anyhow::Result<Self> {
        let mut snapshot = Snapshot::default();
        for (user, round, id) in &started.runs {
            snapshot.runs.insert((plan.users[*user].clone(), *round), run(world, id).await?);
        }
        for id in &started.aborted {
            snapshot.aborted_total += 1;
            let rows = world.db.rows(&format!("SELECT status FROM runs WHERE id = '{id}'")).await?;
            let status = rows.first().and_then(|r| r["status"].as_str()).and_then(RunStatus::exact);
            snapshot.aborted_ended += usize::from(status.is_some_and(RunStatus::is_terminal));
        }
        let postings = world
            .db
            .rows(
                "SELECT p.user_id, c.name AS company, p.external_id, p.status, encode(p.content_hash, 'hex') AS hash, \
                 p.title, p.url, p.location, p.remote, p.department, p.employment_type, p.compensation, p.pay_min, \
                 p.pay_max, p.pay_currency, p.pay_interval, p.description, p.posted_at, p.source_updated_at, p.ingest_error, p.expired_at IS NOT NULL AS expired \
                 FROM postings p JOIN companies c ON c.id = p.company_id",
            )
            .await?;
        for mut row in postings {
            let key = (text(&row, "user_id"), text(&row, "company"), text(&row, "external_id"));
            if let Value::Object(map) = &mut row {
                for k in ["user_id", "company", "external_id"] {
                    map.remove(k);
                }
            }
            snapshot.postings.insert(key, row);
        }
        for (user, mode, id) in &started.jobs {
            snapshot.jobs.insert((plan.users[*user].clone(), mode.clone()), job(world, id).await?);
        }
        snapshot.dead_letters = dead_letters(world).await?;
        Ok(snapshot)
    }
}

fn text(row: &Value, key: &str) -> String {
    row[key].as_str().unwrap_or_default().to_owned()
}

async fn run(world: &World, id: &str) -> anyhow::Result<Value> {
    let rows = world.db.rows(&format!("SELECT status, counts, error FROM runs WHERE id = '{id}'")).await?;
    let mut row = rows.into_iter().next().with_context(|| format!("run {id} is missing"))?;
    if let Some(counts) = row["counts"].as_object_mut() {
        counts.retain(|k, _| !is_timing(k));
        // Company ids are the phase's own; the name says which company.
        for company in counts.get_mut("companies").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Some(company) = company.as_object_mut() {
                company.remove("company_id");
            }
        }
    }
    let companies = world
        .db
        .rows(&format!(
            "SELECT c.name, rc.extract_status, rc.found, rc.inserted, rc.updated, rc.unchanged, rc.expired, rc.ready, \
             rc.failed, rc.expiry_held FROM run_companies rc JOIN companies c ON c.id = rc.company_id \
             WHERE rc.run_id = '{id}' ORDER BY c.name"
        ))
        .await?;
    row["companies"] = Value::Array(companies);
    Ok(row)
}

async fn job(world: &World, id: &str) -> anyhow::Result<Job> {
    let rows = world.db.rows(&format!("SELECT status, flags_applied FROM llm_jobs WHERE id = '{id}'")).await?;
    let row = rows.into_iter().next().with_context(|| format!("job {id} is missing"))?;
    let items = world
        .db
        .rows(&format!(
            "SELECT c.name AS company, p.external_id, i.status, i.decision->'flag' AS flag, \
             i.decision->'label' AS label FROM llm_job_items i JOIN postings p ON p.id = i.entity_id \
             JOIN companies c ON c.id = p.company_id WHERE i.job_id = '{id}'"
        ))
        .await?;
    let flag_rows = world.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{id}'")).await?;
    let items: BTreeMap<(String, String), Value> = items
        .into_iter()
        .map(|r| {
            ((text(&r, "company"), text(&r, "external_id")), serde_json::json!([r["status"], r["flag"], r["label"]]))
        })
        .collect();
    // An item has a decision when its flag is there (null without one).
    let decided_items = items.values().filter(|item: &&Value| !item[1].is_null()).count();
    Ok(Job {
        status: text(&row, "status"),
        decided_items: i64::try_from(decided_items)?,
        items,
        flags_applied: row["flags_applied"].as_i64().unwrap_or(-1),
        flag_rows,
    })
}

/// Every message in the phase's DLQs (left there), with the reason the consumers recorded for it.
pub async fn dead_letters(world: &World) -> anyhow::Result<Vec<(String, String, Option<String>)>> {
    let ops = bw_ops::Ops::from_config(&bw_aws::aws_config().await, "");
    let reasons = bw_ops::peek::Reasons::from_pool(world.db.pool.clone());
    let mut found = Vec::new();
    for (name, queue) in [("runs", &world.runs), ("llm-jobs", &world.llm_jobs)] {
        let depth = usize::try_from(queue.depth(&queue.dlq_url).await?).unwrap_or(0);
        for message in bw_ops::peek::peek(&ops, &queue.dlq_url, depth, Some(&reasons)).await? {
            found.push((name.to_owned(), message.message_id, message.failure.map(|f| f.reason)));
        }
    }
    Ok(found)
}

/// The figures of one trial's comparison.
#[derive(Debug, Default)]
pub struct Verdict {
    pub runs_total: usize,
    pub runs_ended: usize,
    pub runs_counts_equal: usize,
    pub postings_equal: bool,
    pub jobs_total: usize,
    pub jobs_resolved: usize,
    pub items_total: usize,
    pub decisions_applied_twice: i64,
    pub messages_in_dlq: usize,
    /// What differed, for the failure message.
    pub diffs: Vec<String>,
}

/// Compares the chaos phase's snapshot with the reference's.
pub fn compare(reference: &Snapshot, chaos: &Snapshot) -> Verdict {
    let mut v = Verdict { runs_total: chaos.runs.len() + chaos.aborted_total, ..Verdict::default() };
    let ended = |r: &&Value| r["status"].as_str().and_then(RunStatus::exact).is_some_and(RunStatus::is_terminal);
    v.runs_ended = chaos.runs.values().filter(ended).count() + chaos.aborted_ended;
    if v.runs_ended < v.runs_total {
        v.diffs.push(format!("{} of {} runs did not end", v.runs_total - v.runs_ended, v.runs_total));
    }
    for (key, run) in &chaos.runs {
        match reference.runs.get(key) {
            Some(expected) if expected == run => v.runs_counts_equal += 1,
            Some(expected) => v.diffs.push(format!("run of {} in round {}: {}", key.0, key.1, diff(expected, run))),
            None => v.diffs.push(format!("run of {} in round {} has no reference", key.0, key.1)),
        }
    }
    v.postings_equal = reference.postings == chaos.postings;
    if !v.postings_equal {
        v.diffs.push(postings_diff(&reference.postings, &chaos.postings));
    }
    for (key, job) in &chaos.jobs {
        v.jobs_total += 1;
        v.items_total += job.items.len();
        if JobStatus::exact(&job.status).is_some_and(JobStatus::is_resolved) {
            v.jobs_resolved += 1;
        }
        // A decision applied twice counts a flag twice: the counter runs ahead of the rows.
        v.decisions_applied_twice += (job.flags_applied - job.flag_rows).max(0);
        if job.flag_rows != job.decided_items || job.flags_applied != job.flag_rows {
            v.diffs.push(format!(
                "job {} {}: flags_applied {}, flag rows {}, decided items {}",
                key.0, key.1, job.flags_applied, job.flag_rows, job.decided_items
            ));
        }
        match reference.jobs.get(key) {
            Some(expected) if expected.items == job.items && expected.status == job.status => {}
            Some(expected) => v.diffs.push(format!(
                "job {} {}: status {} (reference {}), {} of {} items differ",
                key.0,
                key.1,
                job.status,
                expected.status,
                job.items.iter().filter(|(k, item)| expected.items.get(*k) != Some(*item)).count()
                    + expected.items.keys().filter(|k| !job.items.contains_key(*k)).count(),
                expected.items.len()
            )),
            None => v.diffs.push(format!("job {} {} has no reference", key.0, key.1)),
        }
    }
    v.messages_in_dlq = chaos.dead_letters.len();
    for (queue, id, reason) in &chaos.dead_letters {
        if reason.is_none() {
            v.diffs.push(format!("dead letter {id} on {queue} has no recorded reason"));
        }
    }
    v
}

fn diff(expected: &Value, got: &Value) -> String {
    let mut parts = Vec::new();
    for key in ["status", "error", "counts"] {
        if expected[key] != got[key] {
            parts.push(format!("{key} {} (reference {})", got[key], expected[key]));
        }
    }
    let (a, b) = (expected["companies"].as_array(), got["companies"].as_array());
    for (e, g) in a.into_iter().flatten().zip(b.into_iter().flatten()) {
        if e != g {
            parts.push(format!("company {g} (reference {e})"));
        }
    }
    if a.map(Vec::len) != b.map(Vec::len) {
        parts.push("a different number of companies".to_owned());
    }
    parts.join("; ")
}

fn postings_diff(
    reference: &BTreeMap<(String, String, String), Value>,
    chaos: &BTreeMap<(String, String, String), Value>,
) -> String {
    let missing = reference.keys().filter(|k| !chaos.contains_key(*k)).count();
    let extra = chaos.keys().filter(|k| !reference.contains_key(*k)).count();
    let changed: Vec<_> = chaos.iter().filter(|(k, p)| reference.get(*k).is_some_and(|r| r != *p)).collect();
    let first = changed.first().map_or_else(String::new, |(k, p)| {
        format!("; first: {k:?} is {p} (reference {})", reference.get(*k).unwrap_or(&Value::Null))
    });
    format!("postings differ: {missing} missing, {extra} extra, {} changed{first}", changed.len())
}
