//! Benchmarks that print `key: value` figures (not timed tests). Run through `scripts/bench.sh`.

pub mod boards;
pub mod delivery;
pub mod export;
pub mod ingestion;
pub mod lambda;
pub mod poller;
pub mod progress;
pub mod scale;

/// Peak resident set size of this process so far, in MiB (Linux; 0 elsewhere).
pub fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status").ok().and_then(|s| vm_hwm_kb(&s)).map_or(0, |kb| kb / 1024)
}

/// The `VmHWM` (peak resident set) line of a `/proc/PID/status`, in KiB.
pub fn vm_hwm_kb(status: &str) -> Option<u64> {
    status.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
}

pub use bw_tests::figure;
