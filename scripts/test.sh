#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, then the whole test suite against PostgreSQL and LocalStack
# (brought up by bootstrap.sh) and, for the browser tests, headless Chromium (installed with apt-get when missing) and
# schemathesis against the API's OpenAPI document (installed into .venv/schemathesis).
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

