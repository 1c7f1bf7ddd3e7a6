#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, then the whole test suite against PostgreSQL and LocalStack
# (brought up by bootstrap.sh) and, for the browser tests, headless Chromium (installed with apt-get when missing),
# schemathesis against the API's OpenAPI document (installed into .venv/schemathesis), and the chaos suite's short
# form.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh"
load_env
ensure_chromium
ensure_schemathesis

log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
"$ROOT/scripts/cfn-lint.sh"
log "building binaries (the Lambda-mode tests run them)"
cargo build --workspace --bins --quiet

if ! cargo nextest --version >/dev/null 2>&1; then
  log "installing cargo-nextest"
  cargo install --locked cargo-nextest
fi
log "running the tests"
cargo nextest run --workspace --no-fail-fast --test-threads "${TEST_THREADS:-4}" "$@"

# The chaos suite's short form (scripts/chaos.sh runs the full one): one trial of a smaller workload under kills,
# database cuts and OpenAI faults, against its fault-free reference. CHAOS_SEED replays another seed. Skipped when
# arguments select some tests.
if [[ $# -eq 0 ]]; then
  log "chaos suite, short form (seed ${CHAOS_SEED:-20261204}; logs in .local/chaos)"
  rm -rf "$STATE_DIR/chaos"
  "${CARGO_TARGET_DIR:-$ROOT/target}/debug/chaos" 1 "${CHAOS_SEED:-20261204}" --short
fi
