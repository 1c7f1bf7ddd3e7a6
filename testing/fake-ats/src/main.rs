//! `fake-ats`: the fake career-board server as a process, for the demo and for benchmarks.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use bw_fake_ats::FakeAts;
use clap::Parser;

/// Serves fake career boards (Greenhouse, Lever, Ashby, JSON-LD careers pages, Workday, Workable, SmartRecruiters,
/// Teamtailor, Recruitee, Personio, BambooHR); steer it through /_fake/.
#[derive(Parser)]
#[command(name = "fake-ats", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FAKE_ATS_LISTEN", default_value = "127.0.0.1:8089")]
    listen: SocketAddr,
    /// Load the sample boards (real fixtures plus generated ones).
    #[arg(long)]
    sample: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init(bw_telemetry::Format::from_env());
    // Boxed: the services' futures are deep, and one more level of nesting overflows the compiler's layout query.
    bw_telemetry::exit_status(Box::pin(run()).await)
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let fake = FakeAts::new();
    if args.sample {
        fake.load_sample().context("loading the sample boards")?;
    }
    let server = fake.serve(args.listen).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "fake-ats listening on {}", server.base_url)?;
    stdout.flush()?;
    for board in fake.boards() {
        tracing::info!(kind = %board.kind, token = %board.token, postings = board.postings, source = %board.source, "board");
    }
    tokio::signal::ctrl_c().await.context("waiting for ctrl-c")?;
    drop(server);
    Ok(())
}
