//! The commands that drive the system through its API, as a user would: follow companies, start and follow runs,
//! screen postings with LLM jobs and follow them, list what they flagged. They need the API's address
//! (`--api`/`API_URL`) and a token (`--token`/`API_TOKEN`; `ctl token --user NAME` prints one).

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::{Api, ApiError, DryRun, Posting, read};
use crate::{follow, report};

/// Where the API is and who calls it.
#[derive(Args, Clone, Debug)]
pub struct ApiArgs {
    /// The API's base URL.
    #[arg(long = "api", env = "API_URL", default_value = "http://127.0.0.1:8080", global = true)]
    pub url: String,
    /// An API token (`ctl token --user NAME` prints one).
    #[arg(long, env = "API_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

impl ApiArgs {
    fn api(&self) -> anyhow::Result<Api> {
        let token = self.token.as_deref().filter(|t| !t.trim().is_empty()).ok_or_else(|| {
            anyhow::anyhow!("no API token: pass --token or set API_TOKEN (`ctl token --user NAME` prints one)")
        })?;
        Ok(Api::new(&self.url, token)?)
    }
}

#[derive(Subcommand, Debug)]
pub enum CompaniesCommand {
    /// Follow a company's career board: KIND is greenhouse, lever, ashby, workday, workable, smartrecruiters,
    /// teamtailor, recruitee, personio, bamboohr or jsonld; TOKEN the board's name (for workday the careers site's
    /// URL, for jsonld the careers page's URL).
    Add {
        name: String,
        kind: String,
        #[arg(value_name = "TOKEN")]
        board_token: String,
        /// The host the board is on: `us` (the main one) or `eu` (Greenhouse's and Lever's EU hosts).
        #[arg(long, default_value = "us")]
        region: String,
        /// A board already followed is not an error.
        #[arg(long)]
        exists_ok: bool,
    },
    /// Follow a company by pasting its careers URL: the API recognises the board (its kind and token) from it, and
    /// takes any other web page for a careers page.
    AddUrl {
        name: String,
        #[arg(value_name = "URL")]
        careers_url: String,
        /// A board already followed is not an error.
        #[arg(long)]
        exists_ok: bool,
    },
    /// The companies followed.
    List,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// Your runs, newest first: id, status, what started it, when.
    List {
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
        limit: u32,
    },
    /// What a run would find now, per company, writing nothing.
    DryRun,
    /// Start a run; prints its id (then follows it with --follow).
    Start {
        /// When a run is already active, use it instead of failing.
        #[arg(long)]
        reuse_active: bool,
        #[arg(long)]
        follow: bool,
    },
    /// Show a run: status, stage and counts.
    Show { id: Uuid },
    /// Follow a run to its end: its log as it is written and a progress bar, then its counts. Exits non-zero when
    /// the run ends other than finished.
    Follow { id: Uuid },
}

#[derive(Subcommand, Debug)]
pub enum JobsCommand {
    /// Screen postings with an LLM job: INSTRUCTIONS asked of each posting; prints the job's id (then follows it
    /// with --follow). Without --run or --posting-id, the postings with --status (default ready).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        instructions: String,
        #[arg(long, default_value = "gpt-4.1-nano")]
        model: String,
        /// background (one request per posting) or batch (one OpenAI batch, half the price).
        #[arg(long, default_value = "background")]
        mode: String,
        /// The ready postings of this run.
        #[arg(long, conflicts_with_all = ["posting_ids", "status"])]
        run: Option<Uuid>,
        /// These postings (repeat the flag).
        #[arg(long = "posting-id", conflicts_with = "status")]
        posting_ids: Vec<i64>,
        /// The postings in this status: pending, ready, failed or expired.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        follow: bool,
    },
    /// Show a job: status, item counts, progress.
    Show { id: Uuid },
    /// Follow a job to its resolution with a progress bar. Exits non-zero when it ends other than completed.
    Follow { id: Uuid },
}

#[derive(Subcommand, Debug)]
pub enum ScreensCommand {
    /// Your standing screens.
    List,
    /// Add one: from the next finished run on, each run's new and changed postings are judged by a job of its own.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        instructions: String,
        #[arg(long, default_value = "gpt-4.1-nano")]
        model: String,
        /// background or batch.
        #[arg(long, default_value = "background")]
        mode: String,
    },
    /// Remove one (its jobs and their decisions stay).
    Delete { id: Uuid },
}

#[derive(Subcommand, Debug)]
pub enum ScheduleCommand {
    /// The schedule of runs and its next due time.
    Show,
    /// Set (or replace) the schedule: a run every N hours, or on a cron expression (five fields, at most hourly) in a
    /// time zone.
    Set {
        #[arg(long, conflicts_with_all = ["cron", "time_zone"], required_unless_present = "cron")]
        every_hours: Option<i64>,
        /// With --every-hours: the first run's time (RFC 3339; default: N hours from now).
        #[arg(long, requires = "every_hours")]
        first_at: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        cron: Option<String>,
        /// The IANA time zone of --cron (default UTC).
        #[arg(long)]
        time_zone: Option<String>,
    },
    /// Remove the schedule (runs already started go on).
    Delete,
}

/// How often a follow asks.
const RUN_EVERY: Duration = Duration::from_millis(500);
const JOB_EVERY: Duration = Duration::from_secs(1);

fn print_json(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    Ok(())
}

/// Prints the API's answer to `method path`: as it is with `--json`, else read as `what` and rendered.
fn show<T: serde::de::DeserializeOwned>(
    answer: Value,
    json: bool,
    (method, path, what): (&'static str, &str, &'static str),
    render: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        return print_json(&answer);
    }
    print!("{}", render(&read(method, path, what, answer)?));
    Ok(())
}

pub async fn companies(args: &ApiArgs, command: CompaniesCommand, json: bool) -> anyhow::Result<()> {
    let api = args.api()?;
    match command {
        CompaniesCommand::Add { name, kind, board_token: token, region, exists_ok } => {
            let body = json!({ "name": name, "board_kind": kind, "board_token": token, "board_region": region });
            match api.post("/api/companies", Some(&body)).await {
                Ok(company) if json => print_json(&company),
                Ok(company) => {
                    println!("{} {name}: {kind} {token}", company["id"].as_str().unwrap_or("-"));
                    Ok(())
                }
                Err(e) if exists_ok && e.status() == Some(409) => {
                    eprintln!("{name}: already followed ({kind} {token})");
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
        CompaniesCommand::AddUrl { name, careers_url: url, exists_ok } => {
            let body = json!({ "name": name, "url": url });
            match api.post("/api/companies", Some(&body)).await {
                Ok(company) if json => print_json(&company),
                Ok(company) => {
                    let text = |k: &str| company[k].as_str().unwrap_or("-").to_owned();
                    println!("{} {name}: {} {}", text("id"), text("board_kind"), text("board_token"));
                    Ok(())
                }
                Err(e) if exists_ok && e.status() == Some(409) => {
                    eprintln!("{name}: already followed ({url})");
                    Ok(())
                }
                Err(e) => Err(e.into()),
            }
        }
        CompaniesCommand::List => {
            let list = api.get("/api/companies").await?;
            if json {
                return print_json(&list);
            }
            for c in list["companies"].as_array().into_iter().flatten() {
                let text = |k: &str| c[k].as_str().unwrap_or("").to_owned();
                let kind = match c["board_region"].as_str() {
                    Some("eu") => format!("{} (eu)", text("board_kind")),
                    _ => text("board_kind"),
                };
                println!("{} {:<20} {:<15} {}", text("id"), text("name"), kind, text("board_token"));
            }
            Ok(())
        }
    }
}

pub async fn runs(args: &ApiArgs, command: RunsCommand, json: bool) -> anyhow::Result<()> {
    let api = args.api()?;
    match command {
        RunsCommand::List { limit } => {
            let path = format!("/api/ingestion/runs?limit={limit}");
            #[derive(serde::Deserialize)]
            struct Runs {
                runs: Vec<crate::api::Run>,
            }
            show(api.get(&path).await?, json, ("GET", &path, "runs"), |r: &Runs| report::runs(&r.runs))
        }
        RunsCommand::DryRun => {
            let path = "/api/ingestion/dry-run";
            show(api.post(path, None).await?, json, ("POST", path, "a dry run"), |d: &DryRun| report::dry_run(d))
        }
        RunsCommand::Start { reuse_active, follow } => {
            let id = match api.post("/api/ingestion/runs", None).await {
                Ok(run) => read_id(&run)?,
                Err(ApiError::Status { status: 409, details, message, .. }) if reuse_active => {
                    let id = details["run_id"].as_str().and_then(|i| i.parse().ok());
                    let id =
                        id.ok_or_else(|| anyhow::anyhow!("a run is active, but the API did not say which: {message}"))?;
                    eprintln!("a run is already active ({message}); using it");
                    id
                }
                Err(e) => return Err(e.into()),
            };
            if follow {
                return follow_run(&api, id, json).await;
            }
            println!("{id}");
            Ok(())
        }
        RunsCommand::Show { id } => {
            let path = format!("/api/ingestion/runs/{id}");
            show(api.get(&path).await?, json, ("GET", &path, "a run"), report::run_summary)
        }
        RunsCommand::Follow { id } => follow_run(&api, id, json).await,
    }
}

fn read_id(answer: &Value) -> anyhow::Result<Uuid> {
    answer["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the API answered no id: {answer}"))
}

/// A bar on stderr when it is a terminal and the output is text.
fn bar(json: bool, template: &str) -> Option<ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    Some(bar)
}

async fn follow_run(api: &Api, id: Uuid, json: bool) -> anyhow::Result<()> {
    let bar = bar(json, "   {msg:<24} [{bar:30}] {pos}/{len} companies ({elapsed})");
    let (run, raw) = follow::run(api, id, RUN_EVERY, |update| match update {
        follow::RunUpdate::Line(line) if json => println!("{line}"),
        follow::RunUpdate::Line(line) => match &bar {
            Some(bar) => bar.println(report::log_line(line)),
            None => println!("{}", report::log_line(line)),
        },
        follow::RunUpdate::State(run) => {
            if let Some(bar) = &bar {
                bar.set_length(u64::try_from(run.counts.companies_total).unwrap_or(0));
                bar.set_position(u64::try_from(run.counts.companies_done).unwrap_or(0));
                bar.set_message(format!("{} {}", run.status.as_str(), run.stage.map_or("", |s| s.as_str())));
            }
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if json {
        print_json(&raw)?;
    } else {
        print!("\n{}", report::run_summary(&run));
    }
    anyhow::ensure!(
        run.status == bw_vocab::RunStatus::Finished,
        "run {id} ended {}{}",
        run.status,
        run.error.map(|e| format!(": {e}")).unwrap_or_default()
    );
    Ok(())
}

pub async fn jobs(args: &ApiArgs, command: JobsCommand, json: bool) -> anyhow::Result<()> {
    let api = args.api()?;
    match command {
        JobsCommand::Create { name, instructions, model, mode, run, posting_ids, status, follow } => {
            let entities = match (run, posting_ids.is_empty()) {
                (Some(run), _) => json!({ "run_id": run }),
                (None, false) => json!({ "posting_ids": posting_ids }),
                (None, true) => json!({ "filter": { "status": status.unwrap_or_else(|| "ready".to_owned()) } }),
            };
            let body = json!({ "name": name, "model": model, "instructions": instructions, "mode": mode, "entities": entities });
            let id = read_id(&api.post("/api/llm-jobs", Some(&body)).await?)?;
            if follow {
                return follow_job(&api, id, json).await;
            }
            println!("{id}");
            Ok(())
        }
        JobsCommand::Show { id } => {
            let path = format!("/api/llm-jobs/{id}");
            show(api.get(&path).await?, json, ("GET", &path, "a job"), |job| format!("{}\n", report::job_line(job)))
        }
        JobsCommand::Follow { id } => follow_job(&api, id, json).await,
    }
}

async fn follow_job(api: &Api, id: Uuid, json: bool) -> anyhow::Result<()> {
    let bar = bar(json, "   {msg:<10} [{bar:30}] {pos}/{len} items ({elapsed})");
    let (job, _) = follow::job(api, id, JOB_EVERY, |job, raw| {
        if json {
            println!("{raw}");
        } else if let Some(bar) = &bar {
            bar.set_length(u64::try_from(job.items_total).unwrap_or(0));
            bar.set_position(u64::try_from(job.done()).unwrap_or(0));
            bar.set_message(job.status.as_str().to_owned());
        }
    })
    .await?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    if !json {
        println!("{}", report::job_line(&job));
    }
    anyhow::ensure!(
        job.status == bw_vocab::JobStatus::Completed,
        "job {id} ended {}{}",
        job.status,
        job.error.map(|e| format!(": {e}")).unwrap_or_default()
    );
    Ok(())
}

pub async fn screens(args: &ApiArgs, command: ScreensCommand, json: bool) -> anyhow::Result<()> {
    let api = args.api()?;
    match command {
        ScreensCommand::List => {
            let answer = api.get("/api/screens").await?;
            if json {
                return print_json(&answer);
            }
            for s in answer["screens"].as_array().into_iter().flatten() {
                let text = |k: &str| s[k].as_str().unwrap_or("").to_owned();
                println!("{} {:<24} {:<14} {}", text("id"), text("name"), text("model"), text("mode"));
            }
            Ok(())
        }
        ScreensCommand::Add { name, instructions, model, mode } => {
            let body = json!({ "name": name, "instructions": instructions, "model": model, "mode": mode });
            let screen = api.post("/api/screens", Some(&body)).await?;
            if json {
                return print_json(&screen);
            }
            println!("{}", read_id(&screen)?);
            Ok(())
        }
        ScreensCommand::Delete { id } => {
            api.delete(&format!("/api/screens/{id}")).await?;
            eprintln!("screen {id} removed");
            Ok(())
        }
    }
}

pub async fn schedule(args: &ApiArgs, command: ScheduleCommand, json: bool) -> anyhow::Result<()> {
    let api = args.api()?;
    let path = "/api/schedule";
    let answer = match command {
        ScheduleCommand::Show => match api.get(path).await {
            Err(e) if e.status() == Some(404) && !json => {
                println!("no schedule: runs start only when started");
                return Ok(());
            }
            answer => answer?,
        },
        ScheduleCommand::Set { every_hours, first_at, cron, time_zone } => {
            let body =
                json!({ "every_hours": every_hours, "first_at": first_at, "cron": cron, "time_zone": time_zone });
            let body: serde_json::Map<String, Value> = body
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            api.put(path, &Value::Object(body)).await?
        }
        ScheduleCommand::Delete => {
            api.delete(path).await?;
            eprintln!("schedule removed");
            return Ok(());
        }
    };
    show(answer, json, ("GET", path, "a schedule"), report::schedule)
}

/// `ctl postings`: the user's postings, newest first; with a flag or job, those flagged.
pub async fn postings(
    args: &ApiArgs,
    flag: Option<String>,
    job: Option<Uuid>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let api = args.api()?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("limit", &limit.to_string());
    if let Some(flag) = flag {
        query.append_pair("flag", &flag);
    }
    if let Some(job) = job {
        query.append_pair("job_id", &job.to_string());
    }
    let path = format!("/api/postings?{}", query.finish());
    #[derive(serde::Deserialize)]
    struct Postings {
        postings: Vec<Posting>,
    }
    show(api.get(&path).await?, json, ("GET", &path, "postings"), |p: &Postings| report::postings(&p.postings))
}
