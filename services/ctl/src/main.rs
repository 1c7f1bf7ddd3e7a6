//! `ctl`: the operators' and developers' command line.

use anyhow::Context as _;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "ctl", about = "Operate the job-postings system: migrations and queues")]
struct Cli {
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
    /// Queue administration.
    Queues {
        #[command(subcommand)]
        command: QueuesCommand,
    },
}

#[derive(Subcommand)]
enum QueuesCommand {
    /// Create (or update) every queue and its DLQ with its redrive policy, from the shared definitions.
    Create {
        #[arg(long, env = "QUEUE_PREFIX", default_value = "bw-")]
        prefix: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bw_telemetry::init(bw_telemetry::Format::Text);
    match Cli::parse().command {
        Command::Migrate { database_url, create } => {
            if create && bw_db::migrate::create_database_if_missing(&database_url).await? {
                println!("created database {}", bw_db::migrate::redact(&database_url));
            }
            let applied = bw_db::migrate::run_pending(&database_url).await?;
            println!(
                "migrations applied: {}",
                if applied.is_empty() { "none (up to date)".to_owned() } else { applied.join(", ") }
            );
        }
        Command::Queues { command: QueuesCommand::Create { prefix } } => {
            let queue = bw_queue::SqsQueue::from_env().await;
            for def in bw_queue::definitions::ALL {
                let created = bw_queue::definitions::ensure(queue.client(), &prefix, &def)
                    .await
                    .with_context(|| format!("failed to create queue {prefix}{}", def.name))?;
                println!("{prefix}{}: {} (dlq {})", def.name, created.url, created.dlq_url);
            }
        }
    }
    Ok(())
}
