//! The data-safety edges of a run, end to end (API -> SQS -> ingestion runner -> PostgreSQL, the fake ATS): careers
//! pages whose JSON-LD is partly unreadable or whose postings share a title.

use std::time::Duration;

use anyhow::Context as _;
use bw_tests::app::TestApp;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(60);

/// Starts one of alice's runs, waits for it to finish, and returns its id and the run.
async fn run(app: &TestApp) -> anyhow::Result<(String, Value)> {
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run["status"] == "finished", "{run}");
    Ok((id, run))
}

/// A count of the run's totals.
fn total(run: &Value, key: &str) -> i64 {
    run["counts"]["total"][key].as_i64().unwrap_or(-1)
}

/// The run's log line that starts with `prefix`.
async fn log_line(app: &TestApp, run_id: &str, prefix: &str) -> anyhow::Result<String> {
    let events = app.event_messages("alice", run_id).await?;
    events.iter().find(|e| e.starts_with(prefix)).cloned().with_context(|| format!("no line {prefix:?}: {events:?}"))
}

/// One `<script type="application/ld+json">` element.
fn script(json: &str) -> String {
    format!("<script type=\"application/ld+json\">{json}</script>\n")
}

/// A careers page holding these scripts.
fn page(scripts: &[String]) -> String {
    format!("<!DOCTYPE html><html><head><title>Careers</title>\n{}</head><body></body></html>", scripts.concat())
}

fn posting(id: &str, title: &str) -> String {
    format!(r#"{{"@type": "JobPosting", "identifier": "{id}", "title": "{title}", "description": "<p>{title}</p>"}}"#)
}

/// Not valid JSON: a trailing comma.
const BROKEN: &str = r#"{"@type": "JobPosting", "title": "Broken",}"#;

/// Alice follows Umbrella, the careers page `umbrella` of the fake; the runner is started.
async fn umbrella(app: &mut TestApp, html: &str) -> anyhow::Result<()> {
    app.ats.load_page("umbrella", html);
    app.add_company("alice", "Umbrella", "jsonld", &app.ats_server.careers_url("umbrella")).await?;
    app.start_runner();
    Ok(())
}

async fn titles(app: &TestApp, status: &str) -> anyhow::Result<Vec<String>> {
    let sql = format!("SELECT title FROM postings WHERE status = '{status}' ORDER BY title");
    Ok(app.db.rows(&sql).await?.iter().filter_map(|r| r["title"].as_str().map(str::to_owned)).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_careers_page_with_one_unreadable_script_keeps_the_others_and_says_so() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    umbrella(&mut app, &page(&[script(&posting("a", "Alpha")), script(BROKEN), script(&posting("c", "Gamma"))]))
        .await?;

    let (id, first) = run(&app).await?;
    assert_eq!(["found", "inserted", "ready"].map(|k| total(&first, k)), [2, 2, 2], "{first}");
    assert_eq!(titles(&app, "ready").await?, ["Alpha", "Gamma"]);
    let prefix = format!("Umbrella (jsonld {}): found 2, inserted 2", app.ats_server.careers_url("umbrella"));
    let line = log_line(&app, &id, &prefix).await?;
    assert!(
        line.ends_with(
            "expired 0; 1 of 3 JSON-LD scripts could not be read: script 2 is not valid JSON: trailing comma at line \
             1 column 43"
        ),
        "{line}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careers_page_postings_that_share_a_title_are_all_stored_with_stable_ids() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let engineer = |city: &str| {
        format!(
            r#"{{"@type": "JobPosting", "title": "Engineer", "hiringOrganization": {{"name": "Umbrella"}},
                "jobLocation": {{"@type": "Place", "address": {{"addressLocality": "{city}"}}}}}}"#
        )
    };
    umbrella(&mut app, &page(&[script(&engineer("Berlin")), script(&engineer("Paris"))])).await?;
    let (_, first) = run(&app).await?;
    assert_eq!((total(&first, "found"), total(&first, "inserted")), (2, 2), "{first}");
    let ids = "SELECT external_id, location FROM postings ORDER BY location";
    let stored = app.db.rows(ids).await?;
    let locations: Vec<&str> = stored.iter().filter_map(|r| r["location"].as_str()).collect();
    assert_eq!(locations, ["Berlin", "Paris"]);
    use sha2::Digest as _;
    let kept = hex::encode(sha2::Sha256::digest(b"Engineer\nUmbrella"));
    assert_eq!(stored[0]["external_id"], kept, "the first keeps the id it had before postings could share a title");
    assert_ne!(stored[0]["external_id"], stored[1]["external_id"]);

    let (_, second) = run(&app).await?;
    assert_eq!(["found", "unchanged", "inserted", "expired"].map(|k| total(&second, k)), [2, 2, 0, 0], "{second}");
    assert_eq!(app.db.rows(ids).await?, stored, "the same page gives the same ids");
    Ok(())
}
