//! `bench boards|ingestion|poller|lambda|progress|delivery|export|scale …`: prints `key: value` figures. See `scripts/bench.sh`.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> anyhow::Result<usize> {
        args.get(i)
            .map_or(Ok(default), |v| v.parse().map_err(|e| anyhow::anyhow!("argument {i} ({v:?}) is not a count: {e}")))
    };
    match args.first().map(String::as_str) {
        Some("boards") => bw_bench::boards::run(number(1, 2_000)?.max(1)).await,
        Some("ingestion") => bw_bench::ingestion::run(number(1, 100)?, number(2, 500)?, number(3, 5_000)?).await,
        Some("poller") => {
            let rpm = u32::try_from(number(3, 60_000)?).map_err(|e| anyhow::anyhow!("rate limit: {e}"))?;
            let parts = args.get(4).map_or("all", String::as_str);
            bw_bench::poller::run(number(1, 200)?, number(2, 100)?, rpm, parts).await
        }
        Some("lambda") => bw_bench::lambda::run(number(1, 5)?.max(1), number(2, 500)?).await,
        Some("delivery") => bw_bench::delivery::run(u64::try_from(number(1, 10)?.max(1))?).await,
        Some("export") => bw_bench::export::run(number(1, 1_000_000)?.max(1)).await,
        Some("scale") => {
            bw_bench::scale::run(number(1, 20)?.max(1), number(2, 200)?.max(1), number(3, 100)?.max(1)).await
        }
        Some("progress") => bw_bench::progress::run(number(1, 50)?.max(1), number(2, 200)?.max(1)).await,
        other => anyhow::bail!(
            "unknown benchmark {other:?}; try: bench boards [POSTINGS] | bench ingestion [COMPANIES] [POSTINGS] [ROW_BY_ROW_SAMPLE] | bench poller [JOBS] [ITEMS] [RPM] [all|polling,old,webhook,batch,large] | bench lambda [ROUNDS] [POSTINGS] | bench scale [USERS] [COMPANIES] [POSTINGS] | bench progress [STREAMS] [CHANGES] | bench delivery [MINUTES] | bench export [POSTINGS]"
        ),
    }
}
