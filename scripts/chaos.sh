#!/usr/bin/env bash
# The chaos suite: the real api, ingestion, poller worker and poller dispatch as processes against LocalStack,
# PostgreSQL (through a fault proxy), the fake ATS and the fake OpenAI. Each trial runs a seeded workload twice, once
# without faults (the reference) and once under kill -9s, database cuts and latency, OpenAI 429s/5xx/resets/stalls
# and failing boards, then compares what each left. Prints `key: value` figures; exits non-zero naming each failed
# trial and its seed.
#   scripts/chaos.sh [TRIALS=20] [SEED=now] [--short]
#       replay one trial: scripts/chaos.sh 1 <its seed>; the services' logs are in .local/chaos/seed-<seed>/
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh" >&2
load_env
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
log "building the services and the suite"
cargo build --quiet -p bw-api -p bw-ingestion -p bw-poller -p bw-tests --bins
rm -rf "$STATE_DIR/chaos"
exec "$TARGET_DIR/debug/chaos" "$@"
