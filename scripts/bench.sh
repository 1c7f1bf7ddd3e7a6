#!/usr/bin/env bash
# Benchmarks that print `key: value` figures (they are measurements, not pass/fail tests).
#   scripts/bench.sh ingestion [COMPANIES=100] [POSTINGS_PER_COMPANY=500] [ROW_BY_ROW_SAMPLE=5000]
#   scripts/bench.sh poller [JOBS=200] [ITEMS=100] [RATE_LIMIT_PER_MINUTE=60000]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[[ $# -ge 1 ]] || die "usage: scripts/bench.sh ingestion|poller [ARGS...]"
"$ROOT/scripts/bootstrap.sh" >&2
load_env
log "building the benchmark (release)"
cargo build --release --quiet -p bw-tests --bin bench
exec ./target/release/bench "$@"
