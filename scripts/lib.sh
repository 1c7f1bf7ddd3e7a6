# Shared helpers for the scripts in this folder. Source it; do not run it.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="$ROOT/.local"
mkdir -p "$STATE_DIR"

# LocalStack, pinned: recent releases need Python 3.12 or do not resolve.
LOCALSTACK_VERSION="4.13.1"
LOCALSTACK_EXCLUDE_NEWER="2026-02-03"
LOCALSTACK_VENV="$ROOT/.venv/localstack"
LOCALSTACK_PORT="${LOCALSTACK_PORT:-4566}"

export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$LOCALSTACK_PORT}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# wait_for SECONDS COMMAND...: retries COMMAND every 0.25 s until it succeeds or SECONDS pass.
wait_for() {
  local secs="$1" i
  shift
  for ((i = 0; i < secs * 4; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  return 1
}

# Loads what bootstrap.sh found (database URLs) into the environment.
load_env() {
  [[ -f "$STATE_DIR/env.sh" ]] || die "run scripts/bootstrap.sh first"
  # shellcheck disable=SC1091
  source "$STATE_DIR/env.sh"
}
