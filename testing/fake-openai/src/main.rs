//! `fake-openai`: the fake OpenAI server as a process, for the demo and for benchmarks.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use bw_fake_openai::{FakeConfig, FakeOpenAi, Timing};
use clap::Parser;

/// Serves fake OpenAI Responses, Files and Batch APIs; steer it at runtime through /_fake/config.
#[derive(Parser)]
#[command(name = "fake-openai", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "FAKE_OPENAI_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Milliseconds from creation until a background response is done.
    #[arg(long, env = "FAKE_OPENAI_COMPLETE_AFTER_MS")]
    complete_after_ms: Option<u64>,
    /// Requests per minute before answering 429 (default: no limit).
    #[arg(long, env = "FAKE_OPENAI_RATE_LIMIT_PER_MINUTE")]
    rate_limit_per_minute: Option<u32>,
    /// Milliseconds added before every API request is answered.
    #[arg(long, env = "FAKE_OPENAI_LATENCY_MS")]
    latency_ms: Option<u64>,
    /// Seed for every random choice.
    #[arg(long, env = "FAKE_OPENAI_SEED")]
    seed: Option<u64>,
    /// The only bearer token accepted (default: any).
    #[arg(long, env = "FAKE_OPENAI_API_KEY")]
    api_key: Option<String>,
    /// A JSON object of settings applied on top of the defaults (as POST /_fake/config takes).
    #[arg(long, env = "FAKE_OPENAI_CONFIG")]
    config: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bw_telemetry::init(bw_telemetry::Format::from_env());
    // Boxed: the services' futures are deep, and one more level of nesting overflows the compiler's layout query.
    bw_telemetry::exit_status(Box::pin(run()).await)
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = FakeConfig::default();
    if let Some(json) = &args.config {
        let patch: serde_json::Value = serde_json::from_str(json).context("--config is not JSON")?;
        config = config.patched(&patch)?;
    }
    if let Some(ms) = args.complete_after_ms {
        config.complete_after_ms = Timing::ms(ms);
    }
    if args.rate_limit_per_minute.is_some() {
        config.rate_limit_per_minute = args.rate_limit_per_minute;
    }
    if let Some(ms) = args.latency_ms {
        config.latency_ms = ms;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if args.api_key.is_some() {
        config.api_key = args.api_key;
    }
    let fake = FakeOpenAi::try_new(config, bw_fake_openai::Clock::system())?;
    let server = fake.serve(args.listen).await?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "fake-openai listening on {}", server.base_url)?;
    stdout.flush()?;
    tokio::signal::ctrl_c().await.context("waiting for ctrl-c")?;
    drop(server);
    Ok(())
}
