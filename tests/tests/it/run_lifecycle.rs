//! Runs end to end: API -> SQS (LocalStack) -> ingestion runner -> PostgreSQL, against the fake ATS.

use std::time::Duration;

use bw_api::routes::postings::PostingView;
use bw_api::routes::runs::RunView;
use bw_fake_ats::{Failure, Kind};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::{RunStatus, Stage};
use serde_json::Value;

const LONG: Duration = Duration::from_secs(60);

/// Four boards, one of each kind: 30 + 20 + 15 + 10 postings.
async fn four_boards(app: &TestApp) -> anyhow::Result<Vec<String>> {
    app.ats.generate_board(Kind::Greenhouse, "acme", 30, 1);
    app.ats.generate_board(Kind::Lever, "globex", 20, 2);
    app.ats.generate_board(Kind::Ashby, "initech", 15, 3);
    app.ats.generate_board(Kind::Jsonld, "umbrella", 10, 4);
    Ok(vec![
        app.add_company("alice", "Acme", "greenhouse", "acme").await?,
        app.add_company("alice", "Globex", "lever", "globex").await?,
        app.add_company("alice", "Initech", "ashby", "initech").await?,
        app.add_company("alice", "Umbrella", "jsonld", &app.ats_server.careers_url("umbrella")).await?,
    ])
}

/// The total of each count column, in `Tally::COLUMNS`' order (found, inserted, updated, unchanged, expired, ready,
/// failed).
fn totals(run: &RunView) -> [i64; 7] {
    run.counts.total.figures()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_goes_end_to_end_with_exact_counts() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    four_boards(&app).await?;
    // Bob's company must not be touched by Alice's run.
    app.ats.generate_board(Kind::Greenhouse, "bobco", 5, 9);
    app.add_company("bob", "BobCo", "greenhouse", "bobco").await?;
    app.start_runner();

    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;

    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.stage, Some(Stage::Summary));
    assert_eq!(totals(&run), [75, 75, 0, 0, 0, 75, 0], "{run:?}");
    // The vocabulary the UI reads (no token needed) describes this answer: its status is a terminal one, its stage a
    // stage, and every count column is a figure of the total and of each company (as the run's JSON shows it).
    let meta: Value =
        app.http.get(format!("{}/api/meta", app.api_url)).send().await?.error_for_status()?.json().await?;
    let words = |path: &str| meta.pointer(path).and_then(Value::as_array).cloned().unwrap_or_default();
    let (_, json) = app.call("alice", reqwest::Method::GET, &format!("/api/ingestion/runs/{id}"), None).await?;
    assert!(words("/runs/terminal").contains(&json["status"]), "{meta}");
    assert!(words("/runs/stages").contains(&json["stage"]), "{meta}");
    let columns = words("/runs/count_columns");
    assert_eq!(columns.len(), 7, "{meta}");
    for column in columns.iter().filter_map(Value::as_str) {
        assert!(json["counts"]["total"][column].is_i64(), "{column} is not in the total: {json}");
        for company in json["counts"]["companies"].as_array().into_iter().flatten() {
            assert!(company[column].is_i64(), "{column} is not in {company}");
        }
    }
    let per_company: Vec<(&str, i64, i64)> =
        run.counts.companies.iter().map(|c| (c.name.as_str(), c.tally.found, c.tally.ready)).collect();
    assert_eq!(per_company, [("Acme", 30, 30), ("Globex", 20, 20), ("Initech", 15, 15), ("Umbrella", 10, 10)]);
    assert_eq!(
        app.db
            .scalar("SELECT count(*) FROM postings WHERE user_id = 'alice' AND status = 'ready' AND description <> ''")
            .await?,
        75
    );
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE user_id = 'bob'").await?, 0);
    let events = app.event_messages("alice", &id).await?;
    assert_eq!(events.first().map(String::as_str), Some("run started"), "{events:?}");
    assert_eq!(events.last().map(String::as_str), Some("run finished"), "{events:?}");
    assert!(events.iter().any(|e| e.starts_with("Acme (greenhouse acme): found 30, inserted 30")), "{events:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_counts_one_changed_one_vanished_one_new_and_rewrites_nothing_else() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    four_boards(&app).await?;
    app.start_runner();
    let first = app.start_run("alice").await?;
    app.wait_for_end("alice", &first, LONG).await?;
    let rows = "SELECT id, run_id, content_changed_at, last_seen_at, xmin::text AS version FROM postings ORDER BY id";
    let before = app.db.rows(rows).await?;

    let gh = app.ats.posting_ids(Kind::Greenhouse, "acme");
    let lever = app.ats.posting_ids(Kind::Lever, "globex");
    let changed = gh.first().cloned().unwrap_or_default();
    let vanished = lever.first().cloned().unwrap_or_default();
    assert!(app.ats.change_posting(Kind::Greenhouse, "acme", &changed));
    assert!(app.ats.remove_posting(Kind::Lever, "globex", &vanished));
    let added = app.ats.add_postings(Kind::Ashby, "initech", 1);

    let second = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &second, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    // found, inserted, updated, unchanged, expired, ready, failed
    assert_eq!(totals(&run), [75, 1, 1, 73, 1, 2, 0], "{run:?}");

    let row = |external_id: &str| format!("SELECT count(*) FROM postings WHERE external_id = '{external_id}'");
    assert_eq!(
        app.db.scalar(&format!("{} AND status = 'expired' AND expired_at IS NOT NULL", row(&vanished))).await?,
        1
    );
    assert_eq!(app.db.scalar(&format!("{} AND status = 'ready' AND run_id = '{second}'", row(&changed))).await?, 1);
    assert_eq!(app.db.scalar(&format!("{} AND run_id = '{second}'", row(&added[0]))).await?, 1);

    // Every other row was not written at all (its row version is the first run's); it was seen again all the same.
    let after = app.db.rows(rows).await?;
    let touched = [changed.as_str(), vanished.as_str()];
    let ids = app.db.rows("SELECT id, external_id FROM postings").await?;
    let skip: Vec<i64> = ids
        .iter()
        .filter(|r| touched.contains(&r["external_id"].as_str().unwrap_or("")))
        .filter_map(|r| r["id"].as_i64())
        .collect();
    let mut compared = 0;
    for (b, a) in before.iter().zip(&after) {
        if skip.contains(&b["id"].as_i64().unwrap_or(0)) {
            continue;
        }
        assert_eq!(a["run_id"].as_str(), Some(first.as_str()), "{a}");
        assert_eq!((&a["content_changed_at"], &a["version"]), (&b["content_changed_at"], &b["version"]), "{a}");
        let (_, seen) = app.call("alice", reqwest::Method::GET, &format!("/api/postings/{}", a["id"]), None).await?;
        let seen = seen["last_seen_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
        let stored = b["last_seen_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok());
        assert!(seen.zip(stored).is_some_and(|(seen, stored)| seen > stored), "{a}: last seen {seen:?}");
        compared += 1;
    }
    assert_eq!(compared, 73);

    // Each posting's history says which run did what: the changed one and the vanished one name the second run, an
    // unchanged one only the first.
    let history = |external_id: String| {
        let app = &app;
        async move {
            let id = app.db.scalar(&format!("SELECT id FROM postings WHERE external_id = '{external_id}'")).await?;
            let view: PostingView = app.get("alice", &format!("/api/postings/{id}")).await?;
            anyhow::Ok(view.runs.iter().map(|r| (r.run_id.to_string(), r.change.clone())).collect::<Vec<_>>())
        }
    };
    let inserted = (first.clone(), "inserted".to_owned());
    assert_eq!(history(changed.clone()).await?, [inserted.clone(), (second.clone(), "changed".to_owned())]);
    assert_eq!(history(vanished.clone()).await?, [inserted.clone(), (second.clone(), "expired".to_owned())]);
    assert_eq!(history(gh[1].clone()).await?, [inserted]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_companies_expire_and_failing_boards_expire_nothing() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let ids = four_boards(&app).await?;
    app.start_runner();
    let first = app.start_run("alice").await?;
    app.wait_for_end("alice", &first, LONG).await?;

    let (status, _) = app.call("alice", reqwest::Method::DELETE, &format!("/api/companies/{}", ids[0]), None).await?;
    assert_eq!(status, 204);
    app.ats.set_failure(Kind::Lever, "globex", Some(Failure::ServerError));
    app.ats.set_failure(Kind::Ashby, "initech", Some(Failure::Hang));
    app.ats.set_failure(Kind::Jsonld, "umbrella", Some(Failure::Malformed));

    let second = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &second, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.counts.removed_company_postings_expired, 30, "{run:?}");
    assert_eq!(run.counts.boards_failed, 3, "{run:?}");
    assert_eq!(run.counts.total.expired, 30);
    let errors: Vec<&str> = run.counts.companies.iter().filter_map(|c| c.error.as_deref()).collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("500")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("timed out") || e.contains("timeout")), "{errors:?}");
    assert!(errors.iter().any(|e| e.contains("JSON")), "{errors:?}");
    // The failing boards' postings are untouched; the removed company's are expired.
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE status = 'ready'").await?, 45);
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE status = 'expired'").await?, 30);
    let events = app.event_messages("alice", &second).await?;
    assert!(
        events.iter().any(|e| e.contains("Globex (lever): board failed, none of its postings expired")),
        "{events:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_mid_run_stops_before_the_next_stage() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    four_boards(&app).await?;
    app.ats.set_delay(Kind::Ashby, "initech", Duration::from_millis(1500));
    app.start_runner();
    let id = app.start_run("alice").await?;
    bw_tests::sqs::TestQueue::wait_until(LONG, "the run to start extracting", || async {
        Ok(app.run("alice", &id).await?.status == RunStatus::Initializing)
    })
    .await?;
    let (status, body) =
        app.call("alice", reqwest::Method::POST, &format!("/api/ingestion/runs/{id}/abort"), None).await?;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["abort_requested"], true);

    let run = app.wait_for_end("alice", &id, LONG).await?;
    assert_eq!(run.status, RunStatus::Aborted, "{run:?}");
    let slow =
        "SELECT count(*) FROM postings p JOIN companies c ON c.id = p.company_id WHERE c.board_token = 'initech'";
    assert_eq!(app.db.scalar(slow).await?, 0, "the board listed after the abort request must not be stored");
    assert_eq!(
        app.db.scalar(&format!("SELECT count(*) FROM run_events WHERE run_id = '{id}' AND stage = 'ingest'")).await?,
        0
    );
    let events = app.event_messages("alice", &id).await?;
    assert!(events.last().is_some_and(|e| e.starts_with("run aborted on request while initializing")), "{events:?}");

    // An aborted run's redelivered message is acknowledged without work; a new run may start.
    let (status, _) =
        app.call("alice", reqwest::Method::POST, &format!("/api/ingestion/runs/{id}/abort"), None).await?;
    assert_eq!(status, 409);
    let next = app.start_run("alice").await?;
    assert_eq!(app.wait_for_end("alice", &next, LONG).await?.status, RunStatus::Finished);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_slow_run_does_not_hold_up_anothers() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "slowco", 5, 1);
    app.ats.set_delay(Kind::Greenhouse, "slowco", Duration::from_secs(3));
    app.add_company("alice", "SlowCo", "greenhouse", "slowco").await?;
    app.ats.generate_board(Kind::Lever, "fastco", 5, 2);
    app.add_company("bob", "FastCo", "lever", "fastco").await?;
    app.start_runner();

    let slow = app.start_run("alice").await?;
    bw_tests::sqs::TestQueue::wait_until(LONG, "alice's run to start", || async {
        Ok(app.run("alice", &slow).await?.status == RunStatus::Initializing)
    })
    .await?;
    let fast = app.start_run("bob").await?;
    assert_eq!(app.wait_for_end("bob", &fast, LONG).await?.status, RunStatus::Finished);
    assert_eq!(
        app.run("alice", &slow).await?.status,
        RunStatus::Initializing,
        "bob's run finished while alice's was still going"
    );
    assert_eq!(app.wait_for_end("alice", &slow, LONG).await?.status, RunStatus::Finished);
    Ok(())
}
