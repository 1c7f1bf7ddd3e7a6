//! What people watch: a run's log read incrementally while it is written, and the progress streams of runs and LLM
//! jobs (first the whole state, then only changes, log lines with ids, `end`; `Last-Event-ID` resumes), owner only.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context as _;
use bw_db::events::{self, Level};
use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi};
use bw_tests::app::{TestApp, token_for};
use bw_tests::client::Api as _;
use bw_tests::llm as llm_harness;
use bw_tests::sse::{SseEvent, SseStream};
use reqwest::Method;
use serde_json::{Map, Value};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);
const LONG: Duration = Duration::from_secs(60);

fn progress_url(app: &TestApp, user: &str, path: &str) -> String {
    format!("{}{path}?token={}", app.api_url, token_for(user, false))
}

/// One page of the run's log as alice sees it: (lines, next_token).
async fn log_page(app: &TestApp, run: &str, query: &str) -> anyhow::Result<(Vec<Value>, String)> {
    let (status, body) = app.call("alice", Method::GET, &format!("/api/ingestion/logs/{run}?{query}"), None).await?;
    anyhow::ensure!(status == 200, "logs?{query} answered {status}: {body}");
    let lines = body["logs"].as_array().context("no logs array")?.clone();
    let token = body["next_token"].as_str().context("no next_token")?.to_owned();
    Ok((lines, token))
}

/// The run as the API answers it, as JSON: what a progress stream's state must equal.
async fn run_json(app: &TestApp, run: &str) -> anyhow::Result<Value> {
    let (status, body) = app.call("alice", reqwest::Method::GET, &format!("/api/ingestion/runs/{run}"), None).await?;
    anyhow::ensure!(status == 200, "GET run {run}: {status} {body}");
    Ok(body)
}

fn messages(lines: &[Value]) -> Vec<String> {
    lines.iter().map(|l| l["message"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_pages_give_every_line_once_while_four_writers_append() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let run = app.start_run("alice").await?;
    let run_id: Uuid = run.parse()?;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let pool = app.db.pool.clone();
            tokio::spawn(async move {
                for i in 0..60 {
                    let mut conn = bw_db::pool::conn(&pool).await?;
                    events::record(
                        &mut conn,
                        run_id,
                        Level::Info,
                        Some(bw_vocab::Stage::Ingest),
                        &format!("w{w} {i}"),
                        None,
                    )
                    .await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();

    // Two readers following the log as it grows: one passing back next_token, one the last line's timestamp.
    let (mut by_token, mut token) = (Vec::new(), None::<String>);
    let (mut by_time, mut last_time) = (Vec::new(), None::<i64>);
    loop {
        let writing = writers.iter().any(|w| !w.is_finished());
        let query = token.as_ref().map_or_else(|| "limit=7".to_owned(), |t| format!("limit=7&next_token={t}"));
        let (lines, next) = log_page(&app, &run, &query).await?;
        let query = last_time.map_or_else(|| "limit=5".to_owned(), |t| format!("limit=5&start_time={t}"));
        let (timed, _) = log_page(&app, &run, &query).await?;
        let quiet = lines.is_empty() && timed.is_empty();
        token = Some(next);
        last_time = timed.last().and_then(|l| l["timestamp"].as_i64()).or(last_time);
        by_token.extend(lines);
        by_time.extend(timed);
        if !writing && quiet {
            break;
        }
    }
    for writer in writers {
        writer.await??;
    }

    let (all, _) = log_page(&app, &run, "limit=1000").await?;
    assert_eq!(all.len(), 240, "every line written is in the log");
    assert_eq!(messages(&by_token), messages(&all), "next_token: nothing twice, nothing skipped, in order");
    assert_eq!(messages(&by_time), messages(&all), "start_time: nothing twice, nothing skipped, in order");
    let stamps: Vec<i64> = all.iter().filter_map(|l| l["timestamp"].as_i64()).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "timestamps rise strictly");
    for w in 0..4 {
        let own: Vec<String> = messages(&all).into_iter().filter(|m| m.starts_with(&format!("w{w} "))).collect();
        assert_eq!(own, (0..60).map(|i| format!("w{w} {i}")).collect::<Vec<_>>(), "writer {w}'s lines in its order");
    }
    assert_eq!(all[0]["level"], "info");
    assert_eq!(all[0]["stage"], "ingest");

    let (status, body) = app.call("bob", Method::GET, &format!("/api/ingestion/logs/{run}"), None).await?;
    assert_eq!(status, 404, "another user's logs: {body}");
    for (query, named) in [
        ("start_time=1&next_token=l1", "not both"),
        ("next_token=abc", "not a token this API gave"),
        ("start_time=-3", "start_time"),
        ("limit=0", "limit"),
        ("since=3", "since"),
    ] {
        let (status, body) =
            app.call("alice", Method::GET, &format!("/api/ingestion/logs/{run}?{query}"), None).await?;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"]["message"].as_str().unwrap_or_default().contains(named), "{query}: {body}");
    }
    Ok(())
}

/// Applies a `change` to `state`, checking it carries only fields whose values changed.
fn apply_change(state: &mut Map<String, Value>, change: &SseEvent) -> anyhow::Result<()> {
    let Value::Object(fields) = change.json()? else { anyhow::bail!("change is not an object: {}", change.data) };
    anyhow::ensure!(!fields.is_empty(), "an empty change");
    for (key, value) in fields {
        anyhow::ensure!(state.contains_key(&key), "change of unknown field {key}");
        anyhow::ensure!(state.get(&key) != Some(&value), "change repeats the unchanged {key}: {value}");
        state.insert(key, value);
    }
    Ok(())
}

fn of_kind<'a>(events: &'a [SseEvent], kind: &str) -> Vec<&'a SseEvent> {
    events.iter().filter(|e| e.event == kind).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_stream_gives_its_state_then_changes_and_lines_ends_and_resumes_after_last_event_id()
-> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 6, 1);
    // The board answers slowly, so the run stays extracting long enough for the stream to read it so (on a loaded
    // machine the wakes of a quick run's changes can be read together, its way to finished one status).
    app.ats.set_delay(Kind::Greenhouse, "acme", Duration::from_millis(1500));
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let run = app.start_run("alice").await?;
    let url = progress_url(&app, "alice", &format!("/api/ingestion/progress/{run}"));
    let mut stream = SseStream::open(&app.http, &url, None).await?;
    let first = stream.next(WAIT).await?.context("the stream closed at once")?;
    assert_eq!((first.event.as_str(), first.retry), ("state", Some(2000)), "{first:?}");
    let Value::Object(mut state) = first.json()? else { anyhow::bail!("state is not an object") };
    assert_eq!(state["status"], "pending");
    assert_eq!(Value::Object(state.clone()), run_json(&app, &run).await?, "the first event is the whole run");

    app.start_runner();
    let events = stream.rest(LONG).await?;
    let end = events.last().context("no events after the state")?;
    assert_eq!(end.event, "end");
    assert_eq!(end.json()?["status"], "finished");
    for change in of_kind(&events, "change") {
        apply_change(&mut state, change)?;
    }
    let run_now = run_json(&app, &run).await?;
    assert_eq!(Value::Object(state), run_now, "the state with every change applied is the run as it ended");
    let mut statuses = Vec::new();
    for change in of_kind(&events, "change") {
        if let Some(status) = change.json()?["status"].as_str() {
            statuses.push(status.to_owned());
        }
    }
    assert_eq!(statuses.last().map(String::as_str), Some("finished"), "{statuses:?}");
    assert!(statuses.len() >= 2, "the run's way to finished was streamed: {statuses:?}");

    let lines = of_kind(&events, "log");
    let (logged, _) = log_page(&app, &run, "limit=1000").await?;
    let streamed: Vec<Value> = lines.iter().map(|e| e.json()).collect::<anyhow::Result<_>>()?;
    assert_eq!(streamed, logged, "every log line streamed once, in order, as the logs route gives it");
    for line in &lines {
        let timestamp = line.json()?["timestamp"].as_i64().context("line without timestamp")?;
        assert_eq!(line.id.as_deref(), Some(&format!("l{timestamp}")[..]), "a line's event id is its position");
    }
    let last_line = events.iter().rposition(|e| e.event == "log").context("no log lines")?;
    assert_eq!(last_line, events.len() - 2, "the end comes after the last line");
    assert_eq!(lines[lines.len() - 1].json()?["message"], "run finished");

    // Reconnecting after the third line: the whole state again, then exactly the lines after it, then the end.
    let mut again = SseStream::open(&app.http, &url, lines[2].id.as_deref()).await?;
    let replay = again.rest(WAIT).await?;
    assert_eq!(replay[0].event, "state");
    assert_eq!(replay[0].json()?, run_now);
    let replayed: Vec<Option<String>> = of_kind(&replay, "log").iter().map(|e| e.id.clone()).collect();
    let expected: Vec<Option<String>> = lines[3..].iter().map(|e| e.id.clone()).collect();
    assert_eq!(replayed, expected, "resumed after Last-Event-ID without loss or repeat");
    assert_eq!(replay.last().map(|e| e.event.as_str()), Some("end"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_stream_follows_it_to_completion_with_changes_only() -> anyhow::Result<()> {
    let (app, _run) = llm_harness::app_with_ready_postings(Kind::Lever, "globex", 8).await?;
    let job = llm_harness::create_job(&app, bw_vocab::JobMode::Background, 8).await?;
    let url = progress_url(&app, "alice", &format!("/api/llm-jobs/{job}/progress"));
    let mut stream = SseStream::open(&app.http, &url, None).await?;
    let first = stream.next(WAIT).await?.context("the stream closed at once")?;
    assert_eq!(first.event, "state");
    let Value::Object(mut state) = first.json()? else { anyhow::bail!("state is not an object") };
    assert_eq!((state["status"].as_str(), state["progress"].as_f64()), (Some("queued"), Some(0.0)));

    let openai = FakeOpenAi::new(FakeConfig::default()).serve(([127, 0, 0, 1], 0).into()).await?;
    let worker = llm_harness::worker(&app, &openai.base_url)?;
    llm_harness::poll_until_resolved(&app, &worker, job).await?;
    let events = stream.rest(WAIT).await?;
    assert_eq!(
        events.last().map(|e| (e.event.as_str(), e.json().ok())),
        Some(("end", Some(serde_json::json!({ "status": "completed" }))))
    );
    let changes = of_kind(&events, "change");
    assert!(!changes.is_empty(), "the job's progress was streamed");
    for change in changes {
        apply_change(&mut state, change)?;
    }
    let (status, mut shown) = app.call("alice", Method::GET, &format!("/api/llm-jobs/{job}"), None).await?;
    assert_eq!(status, 200);
    // The worker's bookkeeping after the job resolved (its lease given back) is no progress and is not streamed.
    for bookkeeping in ["next_poll_at", "updated_at"] {
        state.remove(bookkeeping);
        shown.as_object_mut().map(|o| o.remove(bookkeeping));
    }
    assert_eq!(Value::Object(state), shown, "the state with every change applied is the job as it resolved");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_streams_are_their_owners_alone_and_refuse_what_they_did_not_give() -> anyhow::Result<()> {
    let (app, run) = llm_harness::app_with_ready_postings(Kind::Greenhouse, "acme", 2).await?;
    let job = llm_harness::create_job(&app, bw_vocab::JobMode::Background, 2).await?;
    let stranger = Uuid::new_v4();
    for path in [
        format!("/api/ingestion/progress/{run}"),
        format!("/api/llm-jobs/{job}/progress"),
        format!("/api/ingestion/progress/{stranger}"),
        format!("/api/llm-jobs/{stranger}/progress"),
    ] {
        let who = if path.contains(&stranger.to_string()) { "alice" } else { "bob" };
        let error =
            SseStream::open(&app.http, &progress_url(&app, who, &path), None).await.err().map(|e| e.to_string());
        assert!(error.as_deref().is_some_and(|e| e.contains("404")), "{who} on {path}: {error:?}");
        let bare = app.http.get(format!("{}{path}", app.api_url)).send().await?;
        assert_eq!(bare.status(), 401, "{path} without a token");
    }
    let url = progress_url(&app, "alice", &format!("/api/ingestion/progress/{run}"));
    let error = SseStream::open(&app.http, &url, Some("42")).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("400") && error.contains("Last-Event-ID \\\"42\\\""), "{error}");

    // An ended run's stream is its state, its whole log and the end, in one go.
    let events = SseStream::open(&app.http, &url, None).await?.rest(WAIT).await?;
    let kinds: HashSet<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(kinds, HashSet::from(["state", "log", "end"]));
    Ok(())
}
