#!/usr/bin/env bash
# Benchmarks that print `key: value` figures (they are measurements, not pass/fail tests).
#   scripts/bench.sh boards [POSTINGS=2000]
#       one board of each kind (Greenhouse beside the seven later ones) through a full run, then an unchanged one:
#       postings a second and requests a posting, and what the unchanged run asked and took for changed
#   scripts/bench.sh ingestion [COMPANIES=100] [POSTINGS_PER_COMPANY=500] [ROW_BY_ROW_SAMPLE=5000]
#   scripts/bench.sh poller [JOBS=200] [ITEMS=100] [RATE_LIMIT_PER_MINUTE=60000] [all|polling,old,webhook,batch,large]
#       large: one batch job of BENCH_LARGE_BATCH_ITEMS (200,000) items worked by the release poller binary
#   scripts/bench.sh lambda [ROUNDS=5] [POSTINGS_PER_RUN=500]
#       each function's release binary in Lambda mode against a fake Runtime API: cold start and peak RSS
#   scripts/bench.sh progress [STREAMS=50] [CHANGES=200]
#       clients on a run's SSE progress stream: latency from a commit to each client's receipt of the event
#   scripts/bench.sh delivery [MINUTES=10]
#       the real runs queue and the ingestion binary: a malformed body until it is in the DLQ, and a record that
#       keeps failing transiently (its first retry, its deliveries in the window); BENCH_INGESTION_BIN=PATH runs
#       another build of the service (an older commit's) for before figures
#   scripts/bench.sh scale [USERS=20] [COMPANIES=200] [POSTINGS=100]
#       every user's run at once through the release ingestion binary's local runner, twice (a tenth of the boards
#       changed between): postings per second, run seconds, the process's peak, rows written per changed and per
#       unchanged posting
#   scripts/bench.sh export [POSTINGS=1000000]
#       the api's release binary exporting a user's postings (a tenth, then all, CSV then JSON lines): rows per
#       second and the process's peak resident set after each
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

[[ $# -ge 1 ]] || die "usage: scripts/bench.sh boards|ingestion|poller|lambda|progress|delivery|export|scale [ARGS...]"
"$ROOT/scripts/bootstrap.sh" >&2
load_env
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "building the benchmark (release)"
if [[ "$1" == delivery || "$1" == scale ]]; then
  cargo build --release --quiet -p bw-bench -p bw-ingestion --bins
elif [[ "$1" == export ]]; then
  cargo build --release --quiet -p bw-bench -p bw-api --bins
elif [[ "$1" == lambda ]]; then
  # The functions' binaries, beside `bench`, built as for Lambda but for this machine.
  cargo build --release --quiet -p bw-bench -p bw-api -p bw-ingestion -p bw-poller --bins
elif [[ "$1" == poller ]]; then
  # `bench`, and the worker's binary beside it for the large batch job (`large`).
  cargo build --release --quiet -p bw-bench -p bw-poller --bins
else
  cargo build --release --quiet -p bw-bench --bin bench
fi
exec "$TARGET_DIR/release/bench" "$@"
