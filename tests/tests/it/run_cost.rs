//! A run costs what changed: an unchanged board writes its listing state and its checkpoint (two rows), a board
//! that answers `304 Not Modified` is not read, a first run writes each posting once, and the API's answers (last
//! seen, counts) stay what they were when every run rewrote every posting.

use std::time::Duration;

use bw_api::routes::runs::RunView;
use bw_fake_ats::Kind;
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::RunStatus;
use chrono::{DateTime, Utc};

const LONG: Duration = Duration::from_secs(60);

async fn run(app: &TestApp) -> anyhow::Result<(String, RunView)> {
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run.status == RunStatus::Finished, "{run:?}");
    Ok((id, run))
}

/// Alice follows Acme (Greenhouse, 30 postings) and Globex (Lever, 20); the runner is started.
async fn two_boards(app: &mut TestApp) -> anyhow::Result<()> {
    app.ats.generate_board(Kind::Greenhouse, "acme", 30, 1);
    app.ats.generate_board(Kind::Lever, "globex", 20, 2);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.start_runner();
    Ok(())
}

/// Rows of `table` whose current version a transaction after `mark` wrote.
async fn written_since(app: &TestApp, table: &str, mark: i64) -> anyhow::Result<i64> {
    app.db.scalar(&format!("SELECT count(*) FROM {table} WHERE xmin::text::int8 > {mark}")).await
}

async fn xid_mark(app: &TestApp) -> anyhow::Result<i64> {
    app.db.scalar("SELECT pg_current_xact_id()::text::int8 % 4294967296").await
}

/// The run's companies whose board answered `304 Not Modified`.
async fn not_modified(app: &TestApp, run_id: &str) -> anyhow::Result<i64> {
    app.db.scalar(&format!("SELECT count(*) FROM run_companies WHERE run_id = '{run_id}' AND not_modified")).await
}

/// The API's `last_seen_at` of Alice's posting `external_id`.
async fn last_seen(app: &TestApp, external_id: &str) -> anyhow::Result<DateTime<Utc>> {
    let id = app.db.scalar(&format!("SELECT id FROM postings WHERE external_id = '{external_id}'")).await?;
    let (status, body) = app.call("alice", reqwest::Method::GET, &format!("/api/postings/{id}"), None).await?;
    anyhow::ensure!(status == 200, "{body}");
    Ok(body["last_seen_at"].as_str().unwrap_or_default().parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_board_answers_304_and_costs_two_rows_yet_every_posting_is_seen_again() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    two_boards(&mut app).await?;
    let (first_id, first) = run(&app).await?;
    assert_eq!(first.counts.total.inserted, 50);
    // The first run wrote each posting once: its row version is its company's store transaction (no second write
    // by the ingest stage, whose own transaction would show).
    let rewritten = format!(
        "SELECT count(*) FROM postings p JOIN run_companies rc ON rc.company_id = p.company_id \
         AND rc.run_id = '{first_id}' WHERE p.xmin::text <> rc.xmin::text OR p.status <> 'ready'"
    );
    assert_eq!(app.db.scalar(&rewritten).await?, 0);
    let gh = app.ats.posting_ids(Kind::Greenhouse, "acme");
    let seen_first = last_seen(&app, &gh[0]).await?;
    let lists_before = app.ats.request_count("/v1/boards/acme/jobs") + app.ats.request_count("/v0/postings/globex");

    let mark = xid_mark(&app).await?;
    let (second_id, second) = run(&app).await?;
    // found, inserted, updated, unchanged, expired, ready, failed
    assert_eq!(second.counts.total.figures(), [50, 0, 0, 50, 0, 0, 0], "{second:?}");
    assert_eq!(not_modified(&app, &second_id).await?, 2);
    assert_eq!(written_since(&app, "postings", mark).await?, 0, "no posting is written");
    assert_eq!(written_since(&app, "posting_changes", mark).await?, 0);
    assert_eq!(written_since(&app, "companies", mark).await?, 2, "one listing state per board");
    assert_eq!(written_since(&app, "run_companies", mark).await?, 2, "one checkpoint per board");
    let lists_after = app.ats.request_count("/v1/boards/acme/jobs") + app.ats.request_count("/v0/postings/globex");
    assert_eq!(lists_after - lists_before, 2, "one conditional request per board, none again");
    let events = app.event_messages("alice", &second_id).await?;
    assert!(
        events
            .iter()
            .any(|e| e == "2 boards listed nothing new since their last listing (2 of them answered 304 Not Modified)"),
        "{events:?}"
    );
    let seen_second = last_seen(&app, &gh[0]).await?;
    assert!(seen_second > seen_first, "the posting was seen again by the second run");

    // One changed posting: its board is read and only that posting written; the other board still answers 304.
    assert!(app.ats.change_posting(Kind::Greenhouse, "acme", &gh[1]));
    let mark = xid_mark(&app).await?;
    let (third_id, third) = run(&app).await?;
    assert_eq!(third.counts.total.figures(), [50, 0, 1, 49, 0, 1, 0], "{third:?}");
    assert_eq!(not_modified(&app, &third_id).await?, 1);
    assert_eq!(written_since(&app, "postings", mark).await?, 1);
    let seen_third = last_seen(&app, &gh[0]).await?;
    assert!(seen_third > seen_second, "the unchanged postings of a board read whole are seen, not written");
    assert_eq!(last_seen(&app, &gh[1]).await?, seen_third, "the changed one was seen by the same listing");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_304_is_not_trusted_when_the_postings_moved_since_the_last_listing() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    two_boards(&mut app).await?;
    run(&app).await?;
    // A posting expired behind the run's back (an operator's hand, a restore): the board's 304 says its listing
    // is as it was, which the stored postings no longer are.
    let gh = app.ats.posting_ids(Kind::Greenhouse, "acme");
    app.db
        .exec(&format!("UPDATE postings SET status = 'expired', expired_at = now() WHERE external_id = '{}'", gh[0]))
        .await?;
    // And a posting whose ingestion failed, on the other board: a 304 sends it back for another try.
    let lever = app.ats.posting_ids(Kind::Lever, "globex");
    app.db
        .exec(&format!("UPDATE postings SET status = 'failed', ingest_error = 'x' WHERE external_id = '{}'", lever[0]))
        .await?;

    let (second_id, second) = run(&app).await?;
    assert_eq!(not_modified(&app, &second_id).await?, 1, "only Globex's 304 is taken");
    let acme = second.counts.companies.iter().find(|c| c.name == "Acme").map(|c| c.tally.figures());
    assert_eq!(acme, Some([30, 0, 1, 29, 0, 1, 0]), "Acme was read whole and its expired posting seen again");
    let globex = second.counts.companies.iter().find(|c| c.name == "Globex").map(|c| c.tally.figures());
    assert_eq!(globex, Some([20, 0, 1, 19, 0, 1, 0]), "Globex's failed posting was tried again, as a listing does");
    let live = "SELECT count(*) FROM postings WHERE status = 'ready'";
    assert_eq!(app.db.scalar(live).await?, 50, "both are ready again");
    let events = app.event_messages("alice", &second_id).await?;
    assert!(
        events.iter().any(|e| e.starts_with("Globex (lever globex): not modified since its last listing; 1 failed")),
        "{events:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_a_held_expiry_left_unlisted_keep_their_last_seen_until_listed_again() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    two_boards(&mut app).await?;
    run(&app).await?;
    let gh = app.ats.posting_ids(Kind::Greenhouse, "acme");
    let before = last_seen(&app, &gh[0]).await?;
    // Acme suddenly lists nothing: the expiry is held, the postings stay live but were not seen.
    app.ats.generate_board(Kind::Greenhouse, "acme", 0, 1);
    let (_, held) = run(&app).await?;
    assert_eq!(held.counts.total.expiry_held, 30, "{held:?}");
    assert_eq!(last_seen(&app, &gh[0]).await?, before, "an unlisted posting was not seen");
    // Another unchanged run of Globex alone moves nothing of Acme's either.
    let (_, again) = run(&app).await?;
    assert_eq!(again.counts.total.expired, 30, "the second look confirms: {again:?}");
    assert_eq!(last_seen(&app, &gh[0]).await?, before, "an expired posting keeps when it was last seen");
    Ok(())
}
