#!/usr/bin/env bash
# The main job, end to end on local defaults: brings up LocalStack and PostgreSQL (bootstrap.sh), serves sample
# career boards from the fake ATS (built on the real payloads in tests/fixtures), starts the ingestion service, the
# API and the poller, adds sample companies, starts a run and follows its log, screens the postings with an LLM job
# (the fake OpenAI unless OPENAI_API_KEY is set), and ends by printing the web UI's address with a token-bearing link.
# The services keep running in the background for the web UI; `scripts/demo.sh stop` stops them (a new demo does too).
# DEMO_STOP_AT_END=1 stops them when the script ends instead.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

API_PORT="${DEMO_API_PORT:-8080}"
ATS_PORT="${DEMO_ATS_PORT:-8089}"
API="http://127.0.0.1:$API_PORT"
ATS="http://127.0.0.1:$ATS_PORT"
LOGS="$STATE_DIR/demo"
PIDS_FILE="$LOGS/pids"
mkdir -p "$LOGS"

stop_services() {
  [[ -f "$PIDS_FILE" ]] || return 0
  while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$PIDS_FILE"
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

"$ROOT/scripts/bootstrap.sh"
load_env
command -v curl >/dev/null || die "curl is required"
command -v python3 >/dev/null || die "python3 is required (it formats the output)"

log "building the services"
cargo build --quiet -p bw-api -p bw-ctl -p bw-ingestion -p bw-poller -p bw-fake-ats -p bw-fake-openai --bins
# The demo user is an operator, so the web UI's operators' panel shows too.
TOKEN="$(./target/debug/ctl token --user demo --operator)"

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
}

log "starting the fake ATS on $ATS (sample boards); log in .local/demo/fake-ats.log"
start fake-ats ./target/debug/fake-ats --listen "127.0.0.1:$ATS_PORT" --sample
wait_for 30 curl -sf "$ATS/_fake/boards" || die "the fake ATS did not start; see $LOGS/fake-ats.log"

export ATS_BASE_URL="$ATS" API_LISTEN="127.0.0.1:$API_PORT" LOG_FORMAT=json
# The sample careers pages are served by the fake ATS on 127.0.0.1, a private address.
export ALLOW_PRIVATE_CAREERS_URLS=true
# A long poll left open in LocalStack by a previous demo's killed consumer can swallow the next run message (it
# then stays invisible for the queue's visibility timeout); a tight stale-run sweep re-sends it within seconds.
export STALE_RUN_SECS="${STALE_RUN_SECS:-10}" STALE_SWEEP_SECS="${STALE_SWEEP_SECS:-3}"
log "starting the ingestion service (local event-source runner on bw-runs); JSON log in .local/demo/ingestion.log"
start ingestion ./target/debug/ingestion
log "starting the API on $API; log in .local/demo/api.log"
start api ./target/debug/api
wait_for 30 curl -sf "$API/healthz" || die "the API did not start; see $LOGS/api.log"

call() { # METHOD PATH [JSON]
  curl -s -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+--data "$3"} "$API$2"
}

log "adding sample companies (already present ones are kept)"
add() { call POST /api/companies "{\"name\":\"$1\",\"board_kind\":\"$2\",\"board_token\":\"$3\"}" >/dev/null; }
add "Airbnb" greenhouse airbnb
add "Plaid" lever plaid
add "Linear" ashby linear
add "Lamp" jsonld "$ATS/careers/lamp"
add "Acme" greenhouse acme
add "Globex" lever globex
add "Initech" ashby initech
add "Umbrella" jsonld "$ATS/careers/umbrella"

log "dry run: what a run would find"
call POST /api/ingestion/dry-run | python3 -c "$(cat <<'PY'
import json, sys
d = json.load(sys.stdin)
for c in d["companies"]:
    note = "" if c["ok"] else "  ERROR " + c["error"]
    print(f"   {c['name']:<10} {c['board_kind']:<10} {c['found']:>4} postings{note}")
print(f"   total {d['total_found']:>20}")
PY
)"

# The vocabulary (terminal run statuses, unresolved job statuses, count columns) from the API, not copies of it.
META="$(call GET /api/meta)"

log "starting a run"
answer="$(call POST /api/ingestion/runs)"
run_id="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("id") or d["error"]["details"]["run_id"])' "$answer")"
log "run $run_id queued; following it"

# The run's log, incrementally: each call passes back the last answer's next_token and gets only the new lines. The
# log is read after the run, so the round that sees the run ended also gets its last line (committed with the end).
next_token=""
while :; do
  run="$(call GET "/api/ingestion/runs/$run_id")"
  logs="$(call GET "/api/ingestion/logs/$run_id?limit=1000${next_token:+&next_token=$next_token}")"
  page="$(python3 - "$logs" <<'PY'
import datetime, json, sys
d = json.loads(sys.argv[1])
for line in d["logs"]:
    at = datetime.datetime.fromtimestamp(line["timestamp"] / 1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
    print(f"   [{at}] {line['level']:<5} {(line['stage'] or '-'):<8} {line['message']}", file=sys.stderr)
print(d["next_token"], len(d["logs"]))
PY
)"
  read -r next_token lines <<<"$page"
  read -r status ended < <(python3 -c 'import json,sys; s = json.loads(sys.argv[1])["status"]; print(s, int(s in json.loads(sys.argv[2])["runs"]["terminal"]))' "$run" "$META")
  # A full page may leave lines behind: read on before stopping.
  [[ "$ended" == 1 && "$lines" -lt 1000 ]] && break
  sleep 0.5
done
python3 - "$run" "$META" <<'PY'
import json, sys
run = json.loads(sys.argv[1])
c = run["counts"]
cols = json.loads(sys.argv[2])["runs"]["count_columns"]
print()
print(f"Run {run['id']}: {run['status'].upper()}" + (f" ({run['error']})" if run.get("error") else ""))
print(f"{'company':<12}{'board':<12}" + "".join(f"{k:>10}" for k in cols) + "  note")
for co in c["companies"]:
    note = "" if co["extract_status"] == "ok" else "board failed: " + (co["error"] or "")[:60]
    print(f"{co['name']:<12}{co['board_kind']:<12}" + "".join(f"{co[k]:>10}" for k in cols) + "  " + note)
print(f"{'total':<24}" + "".join(f"{c['total'][k]:>10}" for k in cols))
print(f"boards failed: {c['boards_failed']}   postings of removed companies expired: {c['removed_company_postings_expired']}")
PY
[[ "$status" == finished ]] || die "the run ended $status"

# --- Screening: an LLM job over the ready postings --------------------------------------------------------------
OPENAI_PORT="${DEMO_OPENAI_PORT:-8090}"
if [[ -z "${OPENAI_API_KEY:-}" ]]; then
  log "OPENAI_API_KEY is not set: screening with the fake OpenAI on 127.0.0.1:$OPENAI_PORT (same wire format)"
  start fake-openai ./target/debug/fake-openai --listen "127.0.0.1:$OPENAI_PORT" --complete-after-ms 800 \
    --config '{"decision": {"keywords": ["remote: true"], "hash_flag_rate": 0.0, "clear_label": "not_remote"}}'
  export OPENAI_API_KEY="sk-demo-fake" OPENAI_BASE_URL="http://127.0.0.1:$OPENAI_PORT/v1"
  wait_for 30 curl -sf "http://127.0.0.1:$OPENAI_PORT/_fake/stats" || die "the fake OpenAI did not start"
else
  log "OPENAI_API_KEY is set: screening with the real OpenAI API"
fi
log "starting the poller worker (consumer of bw-llm-jobs) and dispatch (every 5 s)"
POLL_MAX_ITEMS="${POLL_MAX_ITEMS:-100}" start poller-worker ./target/debug/poller worker
DISPATCH_EVERY_SECS=5 start poller-dispatch ./target/debug/poller dispatch

instructions='Decide whether this job posting is for a remote role. Answer flag=true with label "remote" if it is, otherwise flag=false with label "not_remote". Give a one-sentence reason.'
job="$(call POST /api/llm-jobs "$(python3 -c 'import json,sys; print(json.dumps({"name": "Remote roles", "model": "gpt-4.1-nano", "instructions": sys.argv[1], "mode": "background", "entities": {"filter": {"status": "ready"}}}))' "$instructions")")"
job_id="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("id") or sys.exit("could not start the screening job: " + json.dumps(d)))' "$job")"
log "screening job $job_id started; following it"
while :; do
  job="$(call GET "/api/llm-jobs/$job_id")"
  line="$(python3 - "$job" "$META" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
ended = j["status"] not in json.loads(sys.argv[2])["jobs"]["unresolved"]
done = j["items_completed"] + j["items_failed"] + j["items_cancelled"] + j["items_expired"]
bar = "#" * int(30 * j["progress"]) + "." * (30 - int(30 * j["progress"]))
print(f"{int(ended)}|   [{bar}] {done}/{j['items_total']}  completed {j['items_completed']}  failed {j['items_failed']}  flags {j['flags_applied']}")
PY
)"
  printf '\r%s' "${line#*|}" >&2
  [[ "${line%%|*}" == 1 ]] && { echo >&2; break; }
  sleep 1
done

call GET "/api/postings?job_id=$job_id&limit=1000" | python3 -c "$(cat <<'PY'
import json, sys
d = json.load(sys.stdin)["postings"]
print()
print(f"Postings this screening flagged: {len(d)} (first 15 shown)")
for p in d[:15]:
    print(f"  {p['company']:<10} {p['title'][:52]:<52}  [{p['label']}] {p['reason'][:50]}")
PY
)"
echo
log "the queues as an operator sees them (ctl queues; ctl dlq peek QUEUE shows what failed, see the README's runbook)"
"$ROOT/target/debug/ctl" queues || true
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
