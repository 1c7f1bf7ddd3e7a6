//! Benchmarks that print `key: value` figures (not timed tests). Run through `scripts/bench.sh`.

pub mod ingestion;
pub mod poller;

/// Peak resident set size of this process so far, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

/// Prints one figure.
pub fn figure(key: &str, value: impl std::fmt::Display) {
    println!("{key}: {value}");
}
