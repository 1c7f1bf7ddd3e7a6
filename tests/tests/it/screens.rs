//! Standing screens: kept through the API (in-process), bad ones named; and end to end, a screen starts one job
//! per finished run over what that run found new or changed (none when nothing is), exactly once however often the
//! run's end is delivered; a changed posting is judged again, its current flag follows its current content, and its
//! earlier decision stays in its history.

use std::time::Duration;

use bw_api::routes::postings::{PostingList, PostingView};
use bw_api::routes::screens::{ScreenList, ScreenView};
use bw_db::screens::Screen;
use bw_fake_ats::Kind;
use bw_fake_openai::{DecisionRule, FakeConfig, FakeOpenAi};
use bw_messages::{Database, RunMessage};
use bw_tests::api::TestApi;
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::llm as llm_harness;
use bw_vocab::{JobMode, RunStatus};
use reqwest::Method;
use serde_json::json;

const LONG: Duration = Duration::from_secs(60);

fn screen_body(name: &str) -> serde_json::Value {
    json!({ "name": name, "instructions": "Is this job remote?", "model": "gpt-4.1-nano", "mode": "background" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_are_added_listed_shown_and_removed_and_bad_ones_are_named() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let (status, created) = app.call("alice", Method::POST, "/api/screens", Some(screen_body("remote?"))).await?;
    assert_eq!(status, 201, "{created}");
    let screen: Screen = serde_json::from_value(created)?;
    assert_eq!((screen.name.as_str(), screen.mode), ("remote?", JobMode::Background));
    let list: ScreenList = app.get("alice", "/api/screens").await?;
    assert_eq!(list.screens.iter().map(|s| s.id).collect::<Vec<_>>(), [screen.id]);
    let shown: ScreenView = app.get("alice", &format!("/api/screens/{}", screen.id)).await?;
    assert_eq!((shown.screen.id, shown.jobs.len()), (screen.id, 0));

    let with = |key: &str, value: serde_json::Value| {
        let mut body = screen_body("x");
        body[key] = value;
        body
    };
    for (body, expected) in [
        (with("name", json!(" ")), "name must be 1-200 characters"),
        (with("model", json!("gpt 4")), "model must be a model name"),
        (with("mode", json!("stream")), "mode must be background or batch"),
        (with("instructions", json!("")), "instructions must be 1-20000 characters"),
        (with("every", json!(1)), "unknown field `every`"),
    ] {
        let (status, answer) = app.call("alice", Method::POST, "/api/screens", Some(body.clone())).await?;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.contains(expected), "{body} -> {status} {answer}");
    }
    let path = format!("/api/screens/{}", screen.id);
    assert_eq!(app.call("bob", Method::GET, &path, None).await?.0, 404);
    assert_eq!(app.call("bob", Method::DELETE, &path, None).await?.0, 404);
    assert_eq!(app.call("alice", Method::DELETE, &path, None).await?.0, 204);
    assert_eq!(app.get::<ScreenList>("alice", "/api/screens").await?.screens.len(), 0);
    assert_eq!(app.call("alice", Method::GET, &path, None).await?.0, 404);
    Ok(())
}

/// Alice's run, handled to its end; answers its id.
async fn run(app: &TestApp) -> anyhow::Result<String> {
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run.status == RunStatus::Finished, "{run:?}");
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_judges_each_runs_new_and_changed_postings_once_and_a_changed_posting_again() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 10, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let (status, screen) = app.call("alice", Method::POST, "/api/screens", Some(screen_body("remote?"))).await?;
    assert_eq!(status, 201, "{screen}");
    let screen: Screen = serde_json::from_value(screen)?;
    app.start_runner();

    // The first run: one job over its ten new postings, said in its log.
    let first = run(&app).await?;
    let view = app.run("alice", &first).await?;
    assert_eq!(view.jobs.len(), 1, "{view:?}");
    let first_job = &view.jobs[0];
    assert_eq!((first_job.screen_id, first_job.items_total), (Some(screen.id), 10));
    let log = app.event_messages("alice", &first).await?;
    assert!(
        log.iter().any(|l| l.contains("screen \"remote?\" started job") && l.contains("10 new or changed")),
        "{log:?}"
    );
    assert_eq!(log.last().map(String::as_str), Some("run finished"), "the run's last line stays last");
    // Its end delivered again: acknowledged, no second job.
    let again = app.ingestion.handle_run(&RunMessage::new(first.parse()?, "alice", Database::Primary), 2).await;
    assert!(matches!(again, Ok(bw_ingestion::pipeline::Outcome::AlreadyEnded(RunStatus::Finished))), "{again:?}");
    let jobs = app.db.scalar(&format!("SELECT count(*) FROM llm_jobs WHERE run_id = '{first}'")).await?;
    assert_eq!(jobs, 1);

    // The second run sees one posting changed, one new, one gone: its job judges the changed and the new one.
    let ids = app.ats.posting_ids(Kind::Greenhouse, "acme");
    assert!(app.ats.change_posting(Kind::Greenhouse, "acme", &ids[0]));
    assert!(app.ats.remove_posting(Kind::Greenhouse, "acme", &ids[1]));
    app.ats.add_postings(Kind::Greenhouse, "acme", 1);
    let second = run(&app).await?;
    let view = app.run("alice", &second).await?;
    assert_eq!(view.jobs.iter().map(|j| j.items_total).collect::<Vec<_>>(), [2], "{view:?}");
    // The second job ends first, flagging nothing; the first ends last, flagging everything "match". The changed
    // posting's current decision is still the second job's: the later job, not the later answer.
    let fake = |rate: f64| {
        FakeOpenAi::new(FakeConfig {
            decision: DecisionRule { hash_flag_rate: rate, ..DecisionRule::default() },
            ..FakeConfig::default()
        })
    };
    let none = fake(0.0).serve(([127, 0, 0, 1], 0).into()).await?;
    llm_harness::poll_until_resolved(&app, &llm_harness::worker(&app, &none.base_url)?, view.jobs[0].id).await?;
    let all = fake(1.0).serve(([127, 0, 0, 1], 0).into()).await?;
    llm_harness::poll_until_resolved(&app, &llm_harness::worker(&app, &all.base_url)?, first_job.id).await?;
    let changed = app.db.scalar(&format!("SELECT id FROM postings WHERE external_id = '{}'", ids[0])).await?;
    let matched = app.get::<PostingList>("alice", "/api/postings?flag=match").await?;
    assert!(!matched.postings.iter().any(|p| p.id == changed), "its current decision is the second job's");
    assert_eq!(matched.postings.len(), 9, "the first job's other nine flags stand (one of them expired)");
    let history: PostingView = app.get("alice", &format!("/api/postings/{changed}")).await?;
    let decisions: Vec<(bool, bool)> = history.flags.iter().map(|f| (f.flag, f.current)).collect();
    assert_eq!(decisions, [(false, true), (true, false)], "newest first: the current one, then the earlier one");
    let of_first_job = app.get::<PostingList>("alice", &format!("/api/postings?job_id={}", first_job.id)).await?;
    assert_eq!(of_first_job.postings.len(), 10, "a job's own decisions stay listed by its id");

    // A run that finds nothing new or changed starts no job.
    let third = run(&app).await?;
    assert!(app.run("alice", &third).await?.jobs.is_empty());
    let screen_view: ScreenView = app.get("alice", &format!("/api/screens/{}", screen.id)).await?;
    assert_eq!(screen_view.jobs.len(), 2, "the screen's page lists its jobs");
    Ok(())
}
