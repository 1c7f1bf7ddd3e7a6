//! Live progress over server-sent events: `GET /api/ingestion/progress/{run_id}` and `GET /api/llm-jobs/{id}/progress`.
//!
//! The events of a stream, each's data JSON:
//! - `state`: the whole run (as `GET /api/ingestion/runs/{id}` answers) or job (as `GET /api/llm-jobs/{id}`), first
//!   on every connection;
//! - `change`: the top-level fields that changed since the last `state` or `change`;
//! - `log` (runs only): one log line as `GET /api/ingestion/logs/{run_id}` gives it, with the event id `l{timestamp}`;
//! - `end`: `{"status": …}` once the run or job has ended, after its last log line (a run's last line commits with
//!   the status that ends it); the stream then closes.
//!
//! A client that reconnects sends `Last-Event-ID` (a browser's EventSource does so by itself): it gets a fresh `state`
//! and then the log lines after that id, so it loses nothing and sees no line twice. A job stream has no ids; its
//! `state` on reconnecting is all there is to catch up on.
//!
//! A stream wakes on the hub's notifications (the triggers on `runs` and `llm_jobs` notify at commit) and re-reads
//! every 15 s in case one was missed; on shutdown the hub closes every stream (the browser reconnects elsewhere).
//! Without a hub (in Lambda, where API Gateway buffers the whole response) a stream is one shot: the state, up to
//! 500 new lines, `end` if it ended and no line is left, and a `retry` of one second, after which the browser
//! reconnects with its `Last-Event-ID`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use bw_db::{PgPool, events, llm, pool, runs};
use diesel_async::AsyncPgConnection;
use futures::Stream;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tracing::Instrument as _;
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Path;
use crate::live::{Subscription, Wake};
use crate::routes::logs::{LogLine, token};
use crate::state::AppState;

/// How often a live stream re-reads without being woken.
const RECHECK: Duration = Duration::from_secs(15);
/// How long a browser waits before reconnecting a dropped live stream.
const RETRY_LIVE: Duration = Duration::from_secs(2);
/// How long it waits between one-shot streams (Lambda): the polling interval there.
const RETRY_ONE_SHOT: Duration = Duration::from_secs(1);
/// Log lines read per query.
const LOG_PAGE: i64 = 500;

/// A run's live progress.
#[utoipa::path(get, path = "/api/ingestion/progress/{run_id}", tag = "runs",
    params(("run_id" = Uuid, Path, description = "Run id"),
           ("Last-Event-ID" = Option<String>, Header, description = "The last `log` event's id, on reconnecting")),
    responses((status = 200, content_type = "text/event-stream",
               description = "Server-sent events: `state` (the run), `change` (changed fields), `log` (a log line, \
                              id `l{timestamp}`), `end` (`{status}`, then the stream closes)"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn run_progress(
    State(state): State<AppState>,
    User(user): User,
    Path(run_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let after = last_log_position(&headers)?;
    open(state, user, Subject::Run(run_id), after).await
}

/// An LLM job's live progress.
#[utoipa::path(get, path = "/api/llm-jobs/{id}/progress", tag = "llm-jobs",
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, content_type = "text/event-stream",
               description = "Server-sent events: `state` (the job), `change` (changed fields), `end` (`{status}`, \
                              then the stream closes)"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn job_progress(
    State(state): State<AppState>,
    User(user): User,
    Path(id): Path<Uuid>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    open(state, user, Subject::Job(id), 0).await
}

/// The log position a reconnecting client has reached, from its `Last-Event-ID` (0 without one).
fn last_log_position(headers: &HeaderMap) -> Result<i64, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(0) };
    let text = value.to_str().unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.strip_prefix('l')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::BadRequest(format!("Last-Event-ID {text:?} is not an event id this stream gave")))
}

/// What a stream follows.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Run(Uuid),
    Job(Uuid),
}

/// What a read found: the view as JSON fields, and its status.
struct Snapshot {
    fields: Map<String, Value>,
    status: &'static str,
    ended: bool,
}

impl Subject {
    fn woken_by(self, wake: Wake) -> bool {
        match (self, wake) {
            (_, Wake::All) => true,
            (Self::Run(id), Wake::Run(woke)) | (Self::Job(id), Wake::Job(woke)) => id == woke,
            _ => false,
        }
    }

    fn not_found(self) -> ApiError {
        match self {
            Self::Run(id) => crate::routes::runs::not_found(id),
            Self::Job(id) => crate::routes::llm_jobs::not_found(id),
        }
    }

    fn span(self) -> tracing::Span {
        match self {
            Self::Run(id) => tracing::info_span!("progress", run.id = %id),
            Self::Job(id) => tracing::info_span!("progress", job.id = %id),
        }
    }

    /// The user's run or job as the API shows it; `None` when the user has none by that id.
    async fn read(self, conn: &mut AsyncPgConnection, user: &str) -> Result<Option<Snapshot>, ApiError> {
        let (view, status, ended) = match self {
            Self::Run(id) => {
                let Some(run) = runs::get(conn, user, id).await? else { return Ok(None) };
                let (status, ended) = (run.status.as_str(), run.is_terminal());
                (serde_json::to_value(crate::routes::runs::view(conn, run).await?), status, ended)
            }
            Self::Job(id) => {
                let Some(job) = llm::get(conn, user, id).await? else { return Ok(None) };
                let ended = job.status.is_resolved();
                let status = job.status.as_str();
                (serde_json::to_value(crate::routes::llm_jobs::view(conn, job).await?), status, ended)
            }
        };
        match view.map_err(anyhow::Error::from)? {
            Value::Object(fields) => Ok(Some(Snapshot { fields, status, ended })),
            other => Err(anyhow::anyhow!("a view serialised to {other}, not an object").into()),
        }
    }

    /// The run's log lines after `after`; none for a job.
    async fn lines(self, conn: &mut AsyncPgConnection, after: i64) -> anyhow::Result<Vec<LogLine>> {
        match self {
            Self::Run(id) => {
                Ok(events::list(conn, id, after, LOG_PAGE).await?.into_iter().map(LogLine::from).collect())
            }
            Self::Job(_) => Ok(Vec::new()),
        }
    }
}

async fn open(
    state: AppState,
    user: String,
    subject: Subject,
    after: i64,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Subscribed before the first read, so a change committed after it wakes the stream.
    let wakes = state.live.as_ref().map(crate::live::Hub::subscribe);
    let mut conn = pool::conn(&state.pool).await?;
    let first = subject.read(&mut conn, &user).await?.ok_or_else(|| subject.not_found())?;
    drop(conn);
    let (tx, rx) = mpsc::channel(64);
    let follower = Follower { pool: state.pool.clone(), user, subject, position: after, tx };
    tokio::spawn(follower.follow(first, wakes).instrument(subject.span()));
    let events = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Writes one stream's events until its subject ends, the client goes, or (one shot) the first round is out.
struct Follower {
    pool: PgPool,
    user: String,
    subject: Subject,
    /// The last log line sent.
    position: i64,
    tx: mpsc::Sender<Event>,
}

/// The client has gone.
struct Gone;

impl Follower {
    async fn follow(mut self, first: Snapshot, mut wakes: Option<Subscription>) {
        let retry = if wakes.is_some() { RETRY_LIVE } else { RETRY_ONE_SHOT };
        let state = Event::default().event("state").retry(retry).data(Value::Object(first.fields.clone()).to_string());
        if self.send(state).await.is_err() {
            return;
        }
        let mut last = first;
        loop {
            let (next, lines) = match self.look().await {
                Ok(Some(look)) => look,
                // Deleted under the stream (the user's data removed): nothing more to say.
                Ok(None) => return,
                Err(error) => return tracing::warn!(error = %bw_telemetry::chain(&error), "progress stream stopped"),
            };
            let changed = changes(&last.fields, &next.fields);
            if !changed.is_empty()
                && self.send(Event::default().event("change").data(Value::Object(changed).to_string())).await.is_err()
            {
                return;
            }
            last = next;
            let more = i64::try_from(lines.len()).unwrap_or(i64::MAX) >= LOG_PAGE;
            match self.send_lines(lines).await {
                Ok(()) => {}
                Err(Ok(Gone)) => return,
                Err(Err(error)) => {
                    return tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "progress stream stopped");
                }
            }
            // One shot, the response is buffered whole: one page of lines, the rest on the next connection.
            let Some(wakes) = wakes.as_mut() else {
                if !more && last.ended {
                    let _ = self.send(end(last.status)).await;
                }
                return;
            };
            if more {
                continue;
            }
            if last.ended {
                let _ = self.send(end(last.status)).await;
                return;
            }
            let subject = self.subject;
            tokio::select! {
                woke = wakes.woken(|wake| subject.woken_by(wake)) => if !woke { return },
                () = tokio::time::sleep(RECHECK) => {}
                () = self.tx.closed() => return,
            }
        }
    }

    /// The subject and its log lines after the position, read in one snapshot: the line that ends a run commits
    /// with the status that ends it, so the two are seen together or not at all and the end follows the last line.
    async fn look(&self) -> Result<Option<(Snapshot, Vec<LogLine>)>, ApiError> {
        let mut conn = pool::conn(&self.pool).await?;
        let (subject, user, after) = (self.subject, self.user.as_str(), self.position);
        conn.build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |c| {
                let Some(snapshot) = subject.read(c, user).await? else { return Ok(None) };
                Ok(Some((snapshot, subject.lines(c, after).await?)))
            })
            .await
    }

    /// Sends log lines, moving the position past each.
    async fn send_lines(&mut self, lines: Vec<LogLine>) -> Result<(), Result<Gone, anyhow::Error>> {
        for line in lines {
            let event = Event::default().event("log").id(token(line.timestamp));
            let data = serde_json::to_string(&line).map_err(|e| Err(e.into()))?;
            self.position = line.timestamp;
            self.send(event.data(data)).await.map_err(Ok)?;
        }
        Ok(())
    }

    async fn send(&self, event: Event) -> Result<(), Gone> {
        self.tx.send(event).await.map_err(|_| Gone)
    }
}

fn end(status: &str) -> Event {
    Event::default().event("end").data(json!({ "status": status }).to_string())
}

/// The fields of `next` whose values differ from `last`'s.
fn changes(last: &Map<String, Value>, next: &Map<String, Value>) -> Map<String, Value> {
    next.iter().filter(|(key, value)| last.get(*key) != Some(*value)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_sent() {
        let last = json!({ "status": "ingesting", "counts": { "found": 1 }, "error": null });
        let next = json!({ "status": "ingesting", "counts": { "found": 2 }, "error": null });
        let (Value::Object(last), Value::Object(next)) = (last, next) else { unreachable!() };
        assert_eq!(Value::Object(changes(&last, &next)), json!({ "counts": { "found": 2 } }));
        assert!(changes(&next, &next).is_empty());
    }

    #[test]
    fn last_event_id_is_a_log_position_and_anything_else_is_refused() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_log_position(&headers).ok(), Some(0));
        headers.insert("last-event-id", "l1700000000123".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(last_log_position(&headers).ok(), Some(1_700_000_000_123));
        for bad in ["42", "l-1", "lx", "job"] {
            headers.insert("last-event-id", bad.parse().unwrap_or_else(|e| panic!("{e}")));
            let error = last_log_position(&headers).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains("is not an event id"), "{bad}: {error}");
        }
    }
}
