//! `ctl`: the operators' and developers' command line. Parses arguments, calls `bw_ctl`, prints.

use std::io::{IsTerminal as _, Write as _};

use anyhow::Context as _;
use bw_ctl::aws::Aws;
use bw_ctl::client::{ApiArgs, CompaniesCommand, JobsCommand, RunsCommand, ScheduleCommand, ScreensCommand};
use bw_ctl::filter::Filter;
use bw_ctl::{consumers, dlq, queues, redrive, render};
use bw_ops::Ops;
use bw_ops::peek::{self, Reasons};
use bw_ops::target::{QueueRef, dlq_of, resolve};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "ctl",
    about = "Operate the job-postings system: migrations, queues and DLQs, consumers; and drive it through its API"
)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Prefix of the queues' real names (`runs` is `{prefix}runs`).
    #[arg(long, global = true, env = "QUEUE_PREFIX", default_value = "bw-")]
    prefix: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations (a deploy step; services never migrate at start-up).
    Migrate {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// Create the database first when it does not exist.
        #[arg(long)]
        create: bool,
    },
    /// Every queue with its visible, in-flight and delayed messages, the age of its oldest, and its DLQ's depth.
    Queues {
        #[command(subcommand)]
        command: Option<QueuesCommand>,
    },
    /// Dead-letter queues: look at what failed, and put it back once the cause is fixed.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Print an API token (an HS256 JWT signed with JWT_SECRET, or the Secrets Manager secret JWT_SECRET_ID).
    Token {
        /// The user the token names; the API scopes everything to it.
        #[arg(long)]
        user: String,
        /// Let the token use the operators' routes (queue depths, DLQ peek and redrive).
        #[arg(long)]
        operator: bool,
        /// How long the token is valid, in hours.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24 * 30))]
        hours: u64,
    },
    /// Pause or resume a queue's consumers (Lambda event source mappings, and local runners).
    Consumers {
        #[command(subcommand)]
        command: ConsumersCommand,
    },
    /// Through the API: the companies whose boards the token's user follows.
    Companies {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: CompaniesCommand,
    },
    /// Through the API: dry-run, start, show and follow ingestion runs.
    Runs {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Through the API: standing screens, which judge each finished run's new and changed postings.
    Screens {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: ScreensCommand,
    },
    /// Through the API: the schedule of runs (every N hours, or a cron expression in a time zone).
    Schedule {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Through the API: create, show and follow LLM screening jobs.
    Jobs {
        #[command(flatten)]
        api: ApiArgs,
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Through the API: the user's postings, newest first; with --flag or --job, those screening jobs flagged.
    Postings {
        #[command(flatten)]
        api: ApiArgs,
        /// Only those flagged with this label.
        #[arg(long)]
        flag: Option<String>,
        /// Only those flagged by this job.
        #[arg(long)]
        job: Option<uuid::Uuid>,
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
}

#[derive(Subcommand)]
enum QueuesCommand {
    /// Create (or update) every queue and its DLQ with its redrive policy, from the definitions in
    /// infra/template.yaml.
    Create,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// Show messages without consuming them (they stay in the DLQ): body, attributes, receive count, first-receive
    /// time, and the failure reason where the consumer recorded one (needs DATABASE_URL).
    Peek {
        /// A DLQ, or a queue whose DLQ to peek at (name or URL).
        queue: String,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Move messages back. A dry run unless --yes. The whole DLQ moves with an SQS message move task; with --filter
    /// or --max, ctl moves message by message (send, then delete).
    Redrive(RedriveArgs),
    /// Message move tasks of a DLQ (of every DLQ of the system without QUEUE).
    Status { queue: Option<String> },
    /// Cancel the running message move task of a DLQ.
    Cancel { queue: String },
    /// Delete every message of a DLQ (asks for the queue's name unless --yes).
    Purge {
        queue: String,
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Args)]
struct RedriveArgs {
    /// A DLQ, or a queue whose DLQ to redrive (name or URL).
    queue: String,
    /// Destination; default: the queue each message came from. Must be the DLQ's source unless --force.
    #[arg(long)]
    to: Option<String>,
    /// Only messages where KEY=VALUE, KEY!=VALUE or KEY~TEXT holds; KEY is id, body, body.FIELD, attr.NAME or
    /// reason. Repeat to require several.
    #[arg(long = "filter", value_name = "EXPR")]
    filters: Vec<String>,
    /// Move at most N messages.
    #[arg(long)]
    max: Option<usize>,
    /// At most N messages a second (`5` or `5/s`).
    #[arg(long, value_parser = parse_rate)]
    rate: Option<u32>,
    /// Do it (without it, only say what would move).
    #[arg(long)]
    yes: bool,
    /// Allow a destination that is not the DLQ's source queue.
    #[arg(long)]
    force: bool,
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum ConsumersCommand {
    /// The consumers of every work queue (or of QUEUE): local pause state and event source mappings.
    List { queue: Option<String> },
    /// Stop taking new messages from QUEUE (or every work queue with --all); nothing in the queue is lost.
    Pause(ConsumersTarget),
    /// Take messages again.
    Resume(ConsumersTarget),
}

#[derive(Args)]
struct ConsumersTarget {
    #[arg(required_unless_present = "all")]
    queue: Option<String>,
    #[arg(long, conflicts_with = "queue")]
    all: bool,
}

fn parse_rate(s: &str) -> Result<u32, String> {
    let n = s.trim().trim_end_matches("/s");
    match n.parse::<u32>() {
        Ok(rate) if (1..=500).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "{s:?} is not a rate: write a whole number of messages a second from 1 to 500 (the SQS limit), like 5 or 5/s"
        )),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init_with(bw_telemetry::Format::Text, "warn");
    bw_telemetry::exit_status(run(Cli::parse()).await)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let json = cli.json;
    match cli.command {
        Command::Companies { api, command } => bw_ctl::client::companies(&api, command, json).await,
        Command::Runs { api, command } => bw_ctl::client::runs(&api, command, json).await,
        Command::Jobs { api, command } => bw_ctl::client::jobs(&api, command, json).await,
        Command::Schedule { api, command } => bw_ctl::client::schedule(&api, command, json).await,
        Command::Screens { api, command } => bw_ctl::client::screens(&api, command, json).await,
        Command::Postings { api, flag, job, limit } => bw_ctl::client::postings(&api, flag, job, limit, json).await,
        Command::Migrate { database_url, create } => {
            if create && bw_db::migrate::create_database_if_missing(&database_url).await? {
                eprintln!("created database {}", bw_db::migrate::redact(&database_url));
            }
            let applied = bw_db::migrate::run_pending(&database_url).await?;
            print(json, &applied, || {
                let applied = if applied.is_empty() { "none (up to date)".to_owned() } else { applied.join(", ") };
                format!("migrations applied: {applied}\n")
            })
        }
        Command::Queues { command: Some(QueuesCommand::Create) } => {
            let aws = Aws::from_env(cli.prefix.clone()).await;
            let mut created = Vec::new();
            for def in bw_queue::definitions::ALL {
                let name = format!("{}{}", cli.prefix, def.name);
                let queue = bw_queue::definitions::ensure(aws.ops.sqs(), &cli.prefix, &def)
                    .await
                    .with_context(|| format!("failed to create queue {name}"))?;
                created.push(serde_json::json!({ "name": name, "url": queue.url, "dlq_url": queue.dlq_url }));
            }
            print(json, &created, || {
                let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
                created
                    .iter()
                    .map(|q| format!("{}: {} (dlq {})\n", text(&q["name"]), text(&q["url"]), text(&q["dlq_url"])))
                    .collect()
            })
        }
        Command::Queues { command: None } => {
            let aws = Aws::from_env(cli.prefix).await;
            let rows = queues::list(&aws.ops).await?;
            print(json, &rows, || render::queues(&rows))
        }
        Command::Token { user, operator, hours } => {
            // The AWS configuration is loaded only if the key is in Secrets Manager.
            let keys = bw_auth::Keys::from_env(&bw_aws::AwsSecrets::from_env()).await?;
            let token = keys.sign(&user, std::time::Duration::from_secs(hours * 3600), operator)?;
            let out = serde_json::json!({ "user": user.trim(), "operator": operator, "hours": hours, "token": token });
            print(json, &out, || format!("{token}\n"))
        }
        Command::Dlq { command } => run_dlq(&Aws::from_env(cli.prefix).await.ops, command, json).await,
        Command::Consumers { command } => run_consumers(&Aws::from_env(cli.prefix).await, command, json).await,
    }
}

async fn run_dlq(ops: &Ops, command: DlqCommand, json: bool) -> anyhow::Result<()> {
    match command {
        DlqCommand::Peek { queue, limit, database_url } => {
            anyhow::ensure!(limit > 0, "--limit must be at least 1");
            let dlq = dlq_of(ops, &resolve(ops, &queue).await?).await?;
            let reasons = Reasons::open(database_url.as_deref())?;
            let messages = peek::peek(ops, &dlq.url, limit, reasons.as_ref()).await?;
            print(json, &messages, || render::peeked(&dlq.name, &messages))
        }
        DlqCommand::Redrive(args) => {
            let filters = args.filters.iter().map(|f| Filter::parse(f)).collect::<Result<Vec<_>, _>>()?;
            anyhow::ensure!(args.max != Some(0), "--max must be at least 1");
            let dlq = dlq_of(ops, &resolve(ops, &args.queue).await?).await?;
            let to = match &args.to {
                Some(to) => Some(resolve(ops, to).await?),
                None => None,
            };
            let request = redrive::Request {
                to,
                filters,
                max: args.max,
                rate: args.rate,
                execute: args.yes,
                force: args.force,
                database_url: args.database_url,
                progress: !json && std::io::stderr().is_terminal(),
            };
            let summary = redrive::redrive(ops, &dlq, &request).await?;
            print(json, &summary, || render::redrive(&summary))
        }
        DlqCommand::Status { queue } => {
            let dlqs = match queue {
                Some(queue) => vec![dlq_of(ops, &resolve(ops, &queue).await?).await?],
                None => system_dlqs(ops).await?,
            };
            let mut all = Vec::new();
            for dlq in &dlqs {
                all.extend(bw_ops::tasks::list(ops, dlq, 10).await?);
            }
            print(json, &all, || render::tasks(&all))
        }
        DlqCommand::Cancel { queue } => {
            let dlq = dlq_of(ops, &resolve(ops, &queue).await?).await?;
            let task = dlq::cancel(ops, &dlq).await?;
            print(json, &task, || format!("cancelling the move task on {} after {} message(s)\n", dlq.name, task.moved))
        }
        DlqCommand::Purge { queue, yes } => {
            let dlq = dlq_of(ops, &resolve(ops, &queue).await?).await?;
            if !yes {
                confirm_purge(ops, &dlq).await?;
            }
            let purged = dlq::purge(ops, &dlq).await?;
            let out = serde_json::json!({ "queue": dlq.name, "purged": purged });
            print(json, &out, || format!("purged {} (about {purged} message(s))\n", dlq.name))
        }
    }
}

/// Asks the operator to type the queue's name; refuses without a terminal to ask on.
async fn confirm_purge(ops: &Ops, dlq: &QueueRef) -> anyhow::Result<()> {
    anyhow::ensure!(
        std::io::stdin().is_terminal(),
        "refusing to purge {} without --yes: there is no terminal to confirm on",
        dlq.name
    );
    let depth = ops.depth(&dlq.url).await?;
    eprint!(
        "This deletes every message of {} (about {}) for good. Type the queue's name to go on: ",
        dlq.name,
        bw_ops::total(&depth)
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    anyhow::ensure!(answer.trim() == dlq.name, "not confirmed: nothing was purged");
    Ok(())
}

async fn run_consumers(aws: &Aws, command: ConsumersCommand, json: bool) -> anyhow::Result<()> {
    let (targets, paused) = match command {
        ConsumersCommand::List { queue } => {
            let queues = work_queues(&aws.ops, queue.as_deref()).await?;
            let mut all = Vec::new();
            for queue in &queues {
                all.push(consumers::list(aws, queue).await?);
            }
            return print(json, &all, || render::consumers(&all));
        }
        ConsumersCommand::Pause(target) => (target, true),
        ConsumersCommand::Resume(target) => (target, false),
    };
    let queues = work_queues(&aws.ops, if targets.all { None } else { targets.queue.as_deref() }).await?;
    let mut all = Vec::new();
    for queue in &queues {
        all.push(consumers::set(aws, queue, paused).await?);
    }
    print(json, &all, || render::consumers(&all))
}

/// The named queue, or every work queue of the system.
async fn work_queues(ops: &Ops, queue: Option<&str>) -> anyhow::Result<Vec<QueueRef>> {
    if let Some(queue) = queue {
        return Ok(vec![resolve(ops, queue).await?]);
    }
    let mut all = Vec::new();
    for def in bw_queue::definitions::ALL {
        all.push(resolve(ops, &ops.real_name(def.name)).await?);
    }
    Ok(all)
}

async fn system_dlqs(ops: &Ops) -> anyhow::Result<Vec<QueueRef>> {
    let mut all = Vec::new();
    for queue in work_queues(ops, None).await? {
        all.push(dlq_of(ops, &queue).await?);
    }
    Ok(all)
}

/// Prints `value` as JSON, or the text `human` makes.
fn print<T: Serialize>(json: bool, value: &T, human: impl FnOnce() -> String) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, value)?;
        writeln!(out)?;
    } else {
        out.write_all(human().as_bytes())?;
    }
    Ok(())
}
