#!/usr/bin/env bash
# The main job, end to end on local defaults: brings up LocalStack and PostgreSQL (bootstrap.sh), serves sample
# career boards from the fake ATS (built on the real payloads in tests/fixtures), starts the ingestion service, the
# API and the poller, and then drives the system through its API with the project's own client (ctl): adds sample
# companies, starts a run and follows its log, screens the postings with an LLM job (the fake OpenAI unless
# OPENAI_API_KEY is set) and follows it; then adds a standing screen and a schedule, and follows the scheduled run
# and the job its screen started over what it found new; it ends by printing the web UI's address with a
# token-bearing link.
# Each port it needs must be free (DEMO_API_PORT, DEMO_ATS_PORT, DEMO_OPENAI_PORT move them).
# The services keep running in the background for the web UI; `scripts/demo.sh stop` stops them (a new demo does too).
# DEMO_STOP_AT_END=1 stops them when the script ends instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

API_PORT="${DEMO_API_PORT:-8080}"
ATS_PORT="${DEMO_ATS_PORT:-8089}"
OPENAI_PORT="${DEMO_OPENAI_PORT:-8090}"
API="http://127.0.0.1:$API_PORT"
ATS="http://127.0.0.1:$ATS_PORT"
LOGS="$STATE_DIR/demo"
PIDS_FILE="$LOGS/pids"
mkdir -p "$LOGS"

stop_services() {
  [[ -f "$PIDS_FILE" ]] || return 0
  local pids=()
  mapfile -t pids <"$PIDS_FILE"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # Gone before anything reuses their ports (at most 10 s).
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -f "$PIDS_FILE"
}
if [[ "${1:-}" == stop ]]; then
  stop_services
  log "the demo's services are stopped (LocalStack keeps running)"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: scripts/demo.sh [stop]"
# A previous demo's services hold the ports and consume the queues: stop them first.
stop_services

# port_free PORT VARIABLE: stops with a message naming the port, what holds it (where ss can tell), and the variable
# that moves it, when something already listens there: the demo must talk to its own services, not to whatever
# answers on the port.
port_free() {
  local port="$1" var="$2" holder=""
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
  if command -v ss >/dev/null; then
    holder="$(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:(("[^"]*"' | head -1 | cut -d'"' -f2 || true)"
  fi
  die "port $port is taken${holder:+ by $holder}: stop that program, or set $var to a free port (e.g. $var=$((port + 10000)) scripts/demo.sh)"
}
port_free "$API_PORT" DEMO_API_PORT
port_free "$ATS_PORT" DEMO_ATS_PORT
[[ -n "${OPENAI_API_KEY:-}" ]] || port_free "$OPENAI_PORT" DEMO_OPENAI_PORT

"$ROOT/scripts/bootstrap.sh"
load_env
command -v curl >/dev/null || die "curl is required"

log "building the services"
cargo build --quiet -p bw-api -p bw-ctl -p bw-ingestion -p bw-poller -p bw-fake-ats -p bw-fake-openai --bins
CTL="$ROOT/target/debug/ctl"
# The demo user is an operator, so the web UI's operators' panel shows too. ctl's API commands read these two.
TOKEN="$("$CTL" token --user demo --operator)"
export API_URL="http://127.0.0.1:$API_PORT" API_TOKEN="$TOKEN"

# Until the demo has succeeded, an exit stops what it started; after, the services stay up for the web UI.
keep=0
cleanup() {
  [[ "$keep" == 1 ]] || stop_services
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # NAME COMMAND...: runs COMMAND in the background, logging to .local/demo/NAME.log
  local name="$1"
  shift
  nohup "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  echo "$!" >>"$PIDS_FILE"
  eval "PID_${name//-/_}=$!"
}

# started NAME URL: waits until URL answers and the process started as NAME is the one still running (a service
# that could not start says why in the last line of its log).
started() {
  local name="$1" url="$2" pid_var="PID_${1//-/_}"
  local pid="${!pid_var}"
  for _ in $(seq 1 120); do
    kill -0 "$pid" 2>/dev/null || die "$name stopped: $(tail -n 1 "$LOGS/$name.log")"
    curl -sf "$url" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  die "$name did not answer at $url within 30 s; see $LOGS/$name.log"
}

log "starting the fake ATS on $ATS (sample boards); log in .local/demo/fake-ats.log"
start fake-ats ./target/debug/fake-ats --listen "127.0.0.1:$ATS_PORT" --sample
started fake-ats "$ATS/_fake/boards"

export ATS_BASE_URL="$ATS" API_LISTEN="127.0.0.1:$API_PORT" LOG_FORMAT=json
# The sample careers pages are served by the fake ATS on 127.0.0.1, a private address.
export ALLOW_PRIVATE_CAREERS_URLS=true
# A long poll left open in LocalStack by a previous demo's killed consumer can swallow the next run message (it
# then stays invisible for the queue's visibility timeout); a tight stale-run sweep re-sends it within seconds.
export STALE_RUN_SECS="${STALE_RUN_SECS:-10}" STALE_SWEEP_SECS="${STALE_SWEEP_SECS:-3}"
# With the fake OpenAI, completions are pushed: the fake signs webhook events with this secret and POSTs them to the
# API, which verifies them and wakes the job's worker; polling stays the net. (The real OpenAI cannot reach this
# machine, so with OPENAI_API_KEY set the jobs are polled.)
if [[ -z "${OPENAI_API_KEY:-}" ]]; then
  export OPENAI_WEBHOOK_SECRET="${OPENAI_WEBHOOK_SECRET:-whsec_ZGVtby13ZWJob29rLXNlY3JldC1mb3ItYm9hcmR3YXRjaA==}"
fi
log "starting the ingestion service (local event-source runner on bw-runs); JSON log in .local/demo/ingestion.log"
start ingestion ./target/debug/ingestion
log "starting the API on $API; log in .local/demo/api.log"
start api ./target/debug/api
started api "$API/healthz"

log "adding sample companies (already followed ones are kept)"
add() { "$CTL" companies add "$@" --exists-ok >/dev/null; }
add "Airbnb" greenhouse airbnb
add "Plaid" lever plaid
add "Linear" ashby linear
add "Lamp" jsonld "$ATS/careers/lamp"
add "Acme" greenhouse acme
add "Globex" lever globex
add "Initech" ashby initech
add "Umbrella" jsonld "$ATS/careers/umbrella"
add "Hooli" lever hooli --region eu # on Lever's EU host (api.eu.lever.co; the fake's /eu)
add "Initrode" workday "https://initrode.wd1.myworkdayjobs.com/External"
add "Wonka" recruitee wonka
add "Collective Measures" bamboohr collectivemeasures
# Pasted careers URLs: the API recognises each board (and prints which kind and token it chose).
add_url() { "$CTL" companies add-url "$@" --exists-ok | sed 's/^/   /'; }
add_url "NVIDIA" "https://nvidia.wd5.myworkdayjobs.com/en-US/NVIDIAExternalCareerSite"
add_url "Vandelay" "https://apply.workable.com/vandelay/"
add_url "Vitol" "https://jobs.smartrecruiters.com/Vitol"
add_url "Ferd" "https://ferd.teamtailor.com/jobs"
add_url "Soylent" "https://soylent.jobs.personio.de/"

log "dry run: what a run would find (ctl runs dry-run)"
"$CTL" runs dry-run | sed 's/^/   /'

log "starting a run (ctl runs start)"
run_id="$("$CTL" runs start --reuse-active)"
log "run $run_id queued; following it (ctl runs follow)"
"$CTL" runs follow "$run_id" || die "the run did not finish"

# --- Screening: an LLM job over the ready postings --------------------------------------------------------------
if [[ -z "${OPENAI_API_KEY:-}" ]]; then
  log "OPENAI_API_KEY is not set: screening with the fake OpenAI on 127.0.0.1:$OPENAI_PORT (same wire format)"
  log "it pushes each completion as a signed webhook to $API/api/webhooks/openai; the worker polls only what is overdue"
  fake_config="$(printf '{"decision": {"keywords": ["remote: true"], "hash_flag_rate": 0.0, "clear_label": "not_remote"}, "webhook_url": "%s", "webhook_secret": "%s"}' \
    "$API/api/webhooks/openai" "$OPENAI_WEBHOOK_SECRET")"
  start fake-openai ./target/debug/fake-openai --listen "127.0.0.1:$OPENAI_PORT" --complete-after-ms 800 \
    --config "$fake_config"
  export OPENAI_API_KEY="sk-demo-fake" OPENAI_BASE_URL="http://127.0.0.1:$OPENAI_PORT/v1" OPENAI_WEBHOOKS=on
  started fake-openai "http://127.0.0.1:$OPENAI_PORT/_fake/stats"
else
  log "OPENAI_API_KEY is set: screening with the real OpenAI API (polled: its webhooks cannot reach this machine)"
fi
log "starting the poller worker (consumer of bw-llm-jobs) and dispatch (every 5 s)"
POLL_MAX_ITEMS="${POLL_MAX_ITEMS:-100}" start poller-worker ./target/debug/poller worker
DISPATCH_EVERY_SECS=5 start poller-dispatch ./target/debug/poller dispatch

instructions='Decide whether this job posting is for a remote role. Answer flag=true with label "remote" if it is, otherwise flag=false with label "not_remote". Give a one-sentence reason.'
job_id="$("$CTL" jobs create --name "Remote roles" --model gpt-4.1-nano --mode background --status ready \
  --instructions "$instructions")"
log "screening job $job_id started; following it (ctl jobs follow)"
"$CTL" jobs follow "$job_id" || die "the screening job did not complete"
if [[ "${OPENAI_WEBHOOKS:-off}" == on ]]; then
  read -r pushed polled < <("$CTL" jobs show "$job_id" |
    sed -n 's/.*learnt by push (webhook) \([0-9]*\), by poll \([0-9]*\).*/\1 \2/p') || true
  log "screened by webhook: ${pushed:-0} items' ends were pushed by the fake OpenAI, ${polled:-0} found by polling"
  [[ "${pushed:-0}" -gt 0 ]] || die "no item's end was pushed by webhook; see $LOGS/api.log and $LOGS/fake-openai.log"
fi

echo
log "postings this screening flagged (ctl postings --job $job_id --limit 15)"
"$CTL" postings --job "$job_id" --limit 15 | sed 's/^/   /'
echo
# --- Nothing waits for a click: a standing screen and a schedule ---------------------------------------------
screen_name="Remote roles (standing)"
screens="$("$CTL" screens list)" || die "could not list the standing screens"
if ! grep -qF "$screen_name" <<<"$screens"; then
  log "adding a standing screen (ctl screens add): each finished run's new and changed postings get judged"
  "$CTL" screens add --name "$screen_name" --instructions "$instructions" --model gpt-4.1-nano >/dev/null
fi
log "postings appear and change on two boards (the fake ATS's control API)"
for board in greenhouse/acme lever/globex; do
  curl -sf -X POST -H 'Content-Type: application/json' --data '{"count": 2}' "$ATS/_fake/boards/$board/postings" >/dev/null ||
    die "the fake ATS did not add postings to $board"
  # A change too: a posting added again in a later demo is one it has already judged, a changed one is not.
  first_id="$(curl -sf "$ATS/_fake/boards/$board" | grep -o '"ids":\["[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' || true)"
  [[ -n "$first_id" ]] || die "the fake ATS listed no posting of $board"
  curl -sf -X POST "$ATS/_fake/boards/$board/change/$first_id" >/dev/null || die "the fake ATS did not change $board's $first_id"
done
earlier="$("$CTL" runs list --limit 100 | awk '{print $1}')" || die "could not list the runs"
log "setting a schedule: a run every 6 hours, the first due now (ctl schedule set)"
"$CTL" schedule set --every-hours 6 --first-at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" | sed 's/^/   /'
log "waiting for the scheduled dispatch to start it (every 5 s here; once a minute in AWS)"
scheduled=""
for _ in $(seq 1 120); do
  runs="$("$CTL" runs list --limit 5 || true)"
  scheduled="$(awk '$3 == "schedule" {print $1}' <<<"$runs" | grep -vxF -f <(printf '%s\n' "$earlier") | head -n 1 || true)"
  [[ -n "$scheduled" ]] && break
  sleep 0.5
done
[[ -n "$scheduled" ]] || die "no scheduled run started within 60 s; see $LOGS/poller-dispatch.log"
log "scheduled run $scheduled started; following it (ctl runs follow)"
"$CTL" runs follow "$scheduled" || die "the scheduled run did not finish"
screened="$("$CTL" runs show "$scheduled" | awk '/^its end started job/ && !found {print $5; found = 1}' || true)"
[[ -n "$screened" ]] || die "the scheduled run started no screening job"
log "its standing screen's job $screened judges just what that run found new or changed; following it"
"$CTL" jobs follow "$screened" || die "the scheduled run's screening did not complete"
"$CTL" postings --job "$screened" | sed 's/^/   /'

echo
log "the queues as an operator sees them (ctl queues; ctl dlq peek QUEUE shows what failed, see docs/operating.md)"
"$CTL" queues || true
echo
if [[ "${DEMO_STOP_AT_END:-0}" != 1 ]]; then
  keep=1
  log "the services keep running for the web UI (logs in .local/demo/); scripts/demo.sh stop stops them"
fi
log "API: $API (Authorization: Bearer $TOKEN); OpenAPI document: $API/api/openapi.json"
echo
echo "Web UI: $API/"
echo "Open this link (it carries a token for the user demo, an operator, valid 12 hours):"
echo "  $API/?token=$TOKEN#/runs/$run_id"
echo "The screening job: $API/?token=$TOKEN#/jobs/$job_id"
echo "The scheduled run, and the job its standing screen started: $API/?token=$TOKEN#/runs/$scheduled"
echo "Browse and export the postings: $API/?token=$TOKEN#/postings"
