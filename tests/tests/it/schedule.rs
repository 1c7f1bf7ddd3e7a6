//! Users' schedules of runs: set, shown and removed through the API (in-process), bad schedules named; and the
//! scheduled dispatch against PostgreSQL and LocalStack: one run per due time even with two dispatches at once, one
//! run for a stretch of missed due times, a due time skipped while the user's run is under way (and said in the
//! next run's log), a run whose message cannot be sent failed, and a scheduled run going end to end.

use std::time::Duration;

use bw_api::routes::runs::RunView;
use bw_db::schedules::ScheduleRow;
use bw_maintenance::scheduled_runs::{Report, start_due};
use bw_messages::Database;
use bw_tests::api::TestApi;
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::{RunStart, RunStatus};
use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_is_set_shown_replaced_and_removed_and_bad_ones_are_named() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    assert_eq!(app.call("alice", Method::GET, "/api/schedule", None).await?.0, 404);

    let before = Utc::now();
    let (status, six) = app.call("alice", Method::PUT, "/api/schedule", Some(json!({ "every_hours": 6 }))).await?;
    assert_eq!(status, 200, "{six}");
    let six: ScheduleRow = serde_json::from_value(six)?;
    assert_eq!((six.every_hours, six.cron.as_deref(), six.time_zone.as_str()), (Some(6), None, "UTC"));
    let in_six = six.next_due_at - before;
    assert!(in_six >= chrono::Duration::hours(6) && in_six < chrono::Duration::hours(6) + chrono::Duration::minutes(1));
    let shown: ScheduleRow = app.get("alice", "/api/schedule").await?;
    assert_eq!(shown, six);

    let body = json!({ "cron": "0 8 * * 1-5", "time_zone": "Europe/Berlin" });
    let (status, weekdays) = app.call("alice", Method::PUT, "/api/schedule", Some(body)).await?;
    assert_eq!(status, 200, "{weekdays}");
    let weekdays: ScheduleRow = serde_json::from_value(weekdays)?;
    let expected = bw_schedule::Schedule::cron("0 8 * * 1-5", "Europe/Berlin")?.next_after(Utc::now(), Utc::now());
    assert_eq!((weekdays.every_hours, Some(weekdays.next_due_at)), (None, expected), "replaced, due at 08:00 Berlin");
    let first = "2020-01-01T00:00:00Z";
    let (_, past) =
        app.call("alice", Method::PUT, "/api/schedule", Some(json!({ "every_hours": 1, "first_at": first }))).await?;
    assert_eq!(past["next_due_at"], "2020-01-01T00:00:00Z", "a past first time is due at once: {past}");

    for (body, expected) in [
        (json!({}), "either every_hours or cron"),
        (json!({ "every_hours": 2, "cron": "0 8 * * *" }), "not both"),
        (json!({ "every_hours": 0 }), "from 1 to 8760"),
        (json!({ "cron": "0 8 * *" }), "must have 5 fields"),
        (json!({ "cron": "*/10 * * * *" }), "less than an hour apart"),
        (json!({ "cron": "0 8 * * *", "time_zone": "Europe/Atlantis" }), "not an IANA time zone"),
        (json!({ "cron": "0 8 * * *", "first_at": first }), "first_at goes with every_hours"),
        (json!({ "every_hours": 3, "time_zone": "Europe/Berlin" }), "time_zone goes with cron"),
        (json!({ "every_hours": 2, "first_at": "tomorrow" }), "first_at"),
        (json!({ "every": 2 }), "unknown field `every`"),
    ] {
        let (status, answer) = app.call("alice", Method::PUT, "/api/schedule", Some(body.clone())).await?;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(expected), "{body} -> {status} {answer}");
    }

    assert_eq!(app.call("bob", Method::GET, "/api/schedule", None).await?.0, 404, "alice's schedule is hers");
    assert_eq!(app.call("alice", Method::DELETE, "/api/schedule", None).await?.0, 204);
    assert_eq!(app.call("alice", Method::GET, "/api/schedule", None).await?.0, 404);
    assert_eq!(app.call("alice", Method::DELETE, "/api/schedule", None).await?.0, 404);
    Ok(())
}

/// Alice's schedule of every `hours` hours, due at `due`.
async fn schedule_due(app: &TestApp, hours: i64, due: DateTime<Utc>) -> anyhow::Result<()> {
    let body = json!({ "every_hours": hours, "first_at": due });
    let (status, answer) = app.call("alice", Method::PUT, "/api/schedule", Some(body)).await?;
    anyhow::ensure!(status == 200, "PUT /api/schedule: {status} {answer}");
    Ok(())
}

async fn dispatch(app: &TestApp, runs_url: &str) -> anyhow::Result<Report> {
    start_due(&app.db.pool, &app.queue.sqs, runs_url, Database::Primary, Utc::now()).await
}

async fn next_due(app: &TestApp) -> anyhow::Result<DateTime<Utc>> {
    Ok(app.get::<ScheduleRow>("alice", "/api/schedule").await?.next_due_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatches_at_once_start_one_run_for_a_due_time_and_a_missed_stretch_is_one_run() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    // Due five hours ago, every hour: the dispatch was down for five due times.
    schedule_due(&app, 1, Utc::now() - chrono::Duration::hours(5) + chrono::Duration::seconds(30)).await?;
    let (a, b) = tokio::try_join!(dispatch(&app, &app.queue.url), dispatch(&app, &app.queue.url))?;
    assert_eq!(a.started.len() + b.started.len(), 1, "{a:?} {b:?}");
    let scheduled = app.db.scalar("SELECT count(*) FROM runs WHERE started_by = 'schedule'").await?;
    assert_eq!(scheduled, 1, "one run for the whole missed stretch");
    let next = next_due(&app).await?;
    assert!(next > Utc::now() && next <= Utc::now() + chrono::Duration::hours(1), "next due {next}");
    assert_eq!(app.queue.visible(&app.queue.url).await?, 1, "its message");
    // Nothing is due now: another dispatch starts nothing.
    assert_eq!(dispatch(&app, &app.queue.url).await?, Report::default());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_time_while_the_users_run_is_under_way_is_skipped_and_the_next_run_says_so() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let active = app.start_run("alice").await?;
    schedule_due(&app, 2, Utc::now() - chrono::Duration::minutes(1)).await?;
    let report = dispatch(&app, &app.queue.url).await?;
    assert_eq!((report.started.len(), report.skipped), (0, 1), "{report:?}");
    assert!(next_due(&app).await? > Utc::now(), "the schedule moved on");
    let (status, _) = app.call("alice", Method::POST, &format!("/api/ingestion/runs/{active}/abort"), None).await?;
    assert_eq!(status, 202);
    let next = app.start_run("alice").await?;
    let log = app.event_messages("alice", &next).await?;
    assert!(
        log.iter().any(|l| l.contains("was not started") && l.contains(&format!("run {active} was still under way"))),
        "{log:?}"
    );
    assert!(app.event_messages("alice", &active).await?.iter().all(|l| !l.contains("was not started")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_whose_message_cannot_be_sent_is_failed() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    schedule_due(&app, 1, Utc::now() - chrono::Duration::minutes(1)).await?;
    let report = dispatch(&app, "http://127.0.0.1:4566/000000000000/no-such-queue").await?;
    assert_eq!((report.started.len(), report.not_queued), (0, 1), "{report:?}");
    let runs: bw_api::routes::runs::RunList = app.get("alice", "/api/ingestion/runs").await?;
    assert_eq!((runs.runs[0].status, runs.runs[0].started_by), (RunStatus::Failed, RunStart::Schedule));
    assert!(runs.runs[0].error.as_deref().is_some_and(|e| e.contains("could not be queued")), "{:?}", runs.runs[0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_goes_end_to_end_and_says_what_started_it() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(bw_fake_ats::Kind::Lever, "globex", 8, 1);
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.start_runner();
    let due = Utc::now() - chrono::Duration::seconds(5);
    schedule_due(&app, 3, due).await?;
    let report = dispatch(&app, &app.queue.url).await?;
    let id = report.started.first().map(ToString::to_string).unwrap_or_default();
    let run: RunView = app.wait_for_end("alice", &id, LONG).await?;
    assert_eq!((run.status, run.started_by, run.counts.total.inserted), (RunStatus::Finished, RunStart::Schedule, 8));
    assert_eq!(run.due_at.map(|d| d.timestamp()), Some(due.timestamp()), "the due time it was started for");
    let manual = app.start_run("alice").await?;
    assert_eq!(app.run("alice", &manual).await?.started_by, RunStart::Manual);
    Ok(())
}
