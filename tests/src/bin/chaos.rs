//! `chaos [TRIALS] [SEED] [--short]` (`CHAOS_PARALLEL` trials at once, default 2): the chaos suite; prints `key: value` figures and exits non-zero naming each
//! failed trial and its seed. See `scripts/chaos.sh`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--short").collect();
    let short = std::env::args().any(|a| a == "--short");
    let trials = match args.first() {
        Some(v) => v.parse().map_err(|e| anyhow::anyhow!("TRIALS ({v:?}) is not a count: {e}"))?,
        None => 20,
    };
    let seed = match args.get(1) {
        Some(v) => v.parse().map_err(|e| anyhow::anyhow!("SEED ({v:?}) is not a number: {e}"))?,
        None => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs(),
    };
    let parallel = bw_config::parse_or("CHAOS_PARALLEL", 2)?;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/chaos");
    eprintln!(
        "chaos: {trials} trial(s) from seed {seed}, {parallel} at a time{}; logs in {}",
        if short { ", short" } else { "" },
        dir.display()
    );
    bw_tests::chaos::run(&bw_tests::chaos::Config { trials, seed, short, parallel, dir }).await
}
