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

# uv, pinned, in a virtualenv of its own (nothing is installed into the system's or the user's Python). Prints its
# path; installs it the first time.
UV_VERSION="0.13.9"
UV_VENV="$ROOT/.venv/uv"
uv_bin() {
  if ! "$UV_VENV/bin/uv" --version 2>/dev/null | grep -q "^uv $UV_VERSION "; then
    command -v python3 >/dev/null || die "python3 is required to install uv (then LocalStack, cfn-lint, cargo-lambda)"
    log "installing uv $UV_VERSION into .venv/uv (one time)"
    python3 -m venv "$UV_VENV" || die "python3 -m venv failed (on Debian and Ubuntu: apt install python3-venv)"
    "$UV_VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION" || die "could not install uv $UV_VERSION from PyPI"
  fi
  echo "$UV_VENV/bin/uv"
}

# tool_venv VENV EXCLUDE_NEWER REQUIREMENT...: a Python 3.11 virtualenv at VENV holding the pinned REQUIREMENTs,
# resolved as of EXCLUDE_NEWER (a date), so a tool's dependencies cannot move under it either.
tool_venv() {
  local venv="$1" newer="$2" uv
  shift 2
  uv="$(uv_bin)"
  "$uv" venv --quiet --allow-existing --python 3.11 "$venv"
  VIRTUAL_ENV="$venv" "$uv" pip install --quiet --exclude-newer "$newer" "$@"
}

# Schemathesis, pinned, in .venv/schemathesis: the API fuzzing test (tests/tests/it/openapi.rs) runs it against the
# API's own OpenAPI document. Installs it the first time.
SCHEMATHESIS_VERSION="4.32.5"
SCHEMATHESIS_EXCLUDE_NEWER="2026-11-01"
ensure_schemathesis() {
  local venv="$ROOT/.venv/schemathesis"
  if [[ "$("$venv/bin/st" --version 2>/dev/null)" == "st, version $SCHEMATHESIS_VERSION" ]]; then return; fi
  log "installing schemathesis $SCHEMATHESIS_VERSION into .venv/schemathesis (one time)"
  tool_venv "$venv" "$SCHEMATHESIS_EXCLUDE_NEWER" "schemathesis==$SCHEMATHESIS_VERSION"
}

# Loads what bootstrap.sh found (database URLs) into the environment.
load_env() {
  [[ -f "$STATE_DIR/env.sh" ]] || die "run scripts/bootstrap.sh first"
  # shellcheck disable=SC1091
  source "$STATE_DIR/env.sh"
}

# Debian's chromium and chromium-driver, which the browser tests drive (tests/src/browser.rs). Installs them with
# apt-get when either is missing (apt-get update only when the install fails without it) and exports CHROMIUM and
# CHROMEDRIVER, the paths the tests use. fonts-liberation comes along: without a font the screenshots show boxes,
# and it is the one recommendation of chromium's that the tests need (the others pull in udev, upower, printing).
ensure_chromium() {
  export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
  [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]] && return 0
  local packages=(chromium chromium-driver fonts-liberation) apt_log="$STATE_DIR/apt.log"
  local what="the browser tests need $CHROMIUM and $CHROMEDRIVER: install Debian's packages (apt-get install ${packages[*]}) or set CHROMIUM and CHROMEDRIVER to where they are"
  command -v apt-get >/dev/null || die "$what (no apt-get here)"
  [[ "$(id -u)" == 0 ]] || die "$what (as root; this script runs as $(id -un))"
  log "installing ${packages[*]} with apt-get (one time); log in .local/apt.log"
  local install=(apt-get install -y -q --no-install-recommends "${packages[@]}")
  if ! DEBIAN_FRONTEND=noninteractive "${install[@]}" >"$apt_log" 2>&1; then
    log "apt-get install failed without a package list; apt-get update, then again"
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$apt_log" 2>&1 || die "apt-get update failed (see .local/apt.log); $what"
    DEBIAN_FRONTEND=noninteractive "${install[@]}" >>"$apt_log" 2>&1 || die "apt-get install failed (see .local/apt.log); $what"
  fi
  [[ -x "$CHROMIUM" && -x "$CHROMEDRIVER" ]] || die "apt-get installed ${packages[*]}, yet $CHROMIUM or $CHROMEDRIVER is missing; $what"
}
