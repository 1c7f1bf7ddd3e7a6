#!/usr/bin/env bash
# Brings up what the system needs locally, idempotently:
#   - LocalStack (pinned, in .venv/localstack, installed with uv), started in host mode and healthy;
#   - PostgreSQL: the server at DATABASE_URL, or a private cluster under .local/pg when none answers and
#     PostgreSQL's binaries are installed; the databases created and migrated;
#   - the SQS queues and their DLQs with redrive policies (from the definitions in shared/queue).
# Writes .local/env.sh with the resulting environment for the other scripts.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/boardwatch}"
PRIVATE_PG_PORT="${PRIVATE_PG_PORT:-54329}"

localstack_healthy() {
  local health
  health="$(curl -sf "$AWS_ENDPOINT_URL/_localstack/health")" || return 1
  local service
  for service in sqs secretsmanager lambda cloudwatch; do
    grep -Eq "\"$service\": \"(available|running)\"" <<<"$health" || return 1
  done
}

install_localstack() {
  if "$LOCALSTACK_VENV/bin/python" -c "import localstack" 2>/dev/null; then return; fi
  log "installing LocalStack $LOCALSTACK_VERSION into .venv/localstack (one time)"
  tool_venv "$LOCALSTACK_VENV" "$LOCALSTACK_EXCLUDE_NEWER" "localstack-core[runtime]==$LOCALSTACK_VERSION"
}

start_localstack() {
  if localstack_healthy; then log "LocalStack is up at $AWS_ENDPOINT_URL"; return; fi
  if curl -sf "$AWS_ENDPOINT_URL/_localstack/health" >/dev/null; then
    # A LocalStack without the services we need: restart ours, or say what to do about someone else's.
    if [[ -f "$STATE_DIR/localstack.pid" ]] && kill "$(cat "$STATE_DIR/localstack.pid")" 2>/dev/null; then
      log "restarting LocalStack with the services this project needs"
      wait_for 30 bash -c "! curl -sf $AWS_ENDPOINT_URL/_localstack/health" || die "LocalStack did not stop"
    else
      die "a LocalStack at $AWS_ENDPOINT_URL runs without SQS, Secrets Manager, Lambda or CloudWatch; stop it and run this again"
    fi
  fi
  install_localstack
  log "starting LocalStack (host mode) on 127.0.0.1:$LOCALSTACK_PORT; log in .local/localstack.log"
  GATEWAY_LISTEN="127.0.0.1:$LOCALSTACK_PORT" SERVICES=sqs,lambda,logs,events,cloudformation,iam,sts,secretsmanager,cloudwatch \
    LOCALSTACK_VOLUME_DIR="$STATE_DIR/localstack-volume" SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 \
    SQS_DISABLE_CLOUDWATCH_METRICS=1 \
    nohup setsid "$LOCALSTACK_VENV/bin/python" -m localstack.runtime.main >"$STATE_DIR/localstack.log" 2>&1 &
  echo $! >"$STATE_DIR/localstack.pid"
  wait_for 120 localstack_healthy || die "LocalStack did not become healthy in 120 s; see .local/localstack.log"
  log "LocalStack is up"
}

pg_answers() { # URL
  local hostport="${1#*@}"
  hostport="${hostport%%/*}"
  local host="${hostport%%:*}" port="${hostport##*:}"
  [[ "$port" == "$hostport" ]] && port=5432
  (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

find_pg_bin() {
  local dir
  for dir in $(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)") /usr/lib/postgresql/*/bin; do
    [[ -x "$dir/initdb" && -x "$dir/pg_ctl" ]] && { echo "$dir"; return 0; }
  done
  return 1
}

start_private_postgres() {
  local bin data="$STATE_DIR/pg" runas=()
  bin="$(find_pg_bin)" || die "no PostgreSQL answers at $DATABASE_URL and PostgreSQL is not installed.
  Install it (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) or set DATABASE_URL."
  if [[ "$(id -u)" == 0 ]]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runas=(runuser -u postgres --)
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "creating a private PostgreSQL cluster in .local/pg (port $PRIVATE_PG_PORT)"
    mkdir -p "$data" && [[ ${#runas[@]} -eq 0 ]] || chown -R postgres "$data"
    "${runas[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  if ! pg_answers "postgres@127.0.0.1:$PRIVATE_PG_PORT/x"; then
    "${runas[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -o "-p $PRIVATE_PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  fi
  DATABASE_URL="postgres://postgres@127.0.0.1:$PRIVATE_PG_PORT/boardwatch"
  wait_for 30 pg_answers "$DATABASE_URL" || die "the private PostgreSQL did not start; see .local/pg/server.log"
}

ensure_postgres() {
  if pg_answers "$DATABASE_URL"; then
    log "PostgreSQL answers at ${DATABASE_URL%%\?*}"
  else
    warn "no PostgreSQL answers at $DATABASE_URL"
    start_private_postgres
  fi
  # The other databases on the same server, with the same query (sslmode, sslrootcert=PATH, which may hold '/').
  local base="${DATABASE_URL%%\?*}" query=""
  [[ "$DATABASE_URL" == *\?* ]] && query="?${DATABASE_URL#*\?}"
  TEST_DATABASE_URL="${TEST_DATABASE_URL:-${base%/*}/boardwatch_test$query}"
  TEST_ADMIN_DATABASE_URL="${TEST_ADMIN_DATABASE_URL:-${base%/*}/postgres$query}"
}

start_localstack &
ls_pid=$!
ensure_postgres
log "building ctl"
cargo build --quiet -p bw-ctl
wait "$ls_pid" || die "LocalStack failed to start"
./target/debug/ctl migrate --create --database-url "$DATABASE_URL"
./target/debug/ctl migrate --create --database-url "$TEST_DATABASE_URL"
./target/debug/ctl queues create

# The local API's JWT secret: made once, kept in .local (never committed), so tokens from `ctl token` keep working.
if [[ ! -s "$STATE_DIR/jwt-secret" ]]; then
  (umask 077 && head -c 48 /dev/urandom | base64 | tr -d '\n=' >"$STATE_DIR/jwt-secret")
fi

cat >"$STATE_DIR/env.sh" <<ENV
export DATABASE_URL='$DATABASE_URL'
export TEST_DATABASE_URL='$TEST_DATABASE_URL'
export TEST_ADMIN_DATABASE_URL='$TEST_ADMIN_DATABASE_URL'
export AWS_ENDPOINT_URL='$AWS_ENDPOINT_URL'
export AWS_REGION='$AWS_REGION'
export AWS_ACCESS_KEY_ID='$AWS_ACCESS_KEY_ID'
export AWS_SECRET_ACCESS_KEY='$AWS_SECRET_ACCESS_KEY'
export JWT_SECRET="\$(cat '$STATE_DIR/jwt-secret')"
ENV
log "bootstrap done; environment in .local/env.sh"
