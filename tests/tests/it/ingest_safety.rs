//! The data-safety edges of a run, end to end (API -> SQS -> ingestion runner -> PostgreSQL, the fake ATS): the
//! expire guard (a board that suddenly lists almost nothing expires nothing until a second run sees the same), and
//! careers pages whose JSON-LD is partly unreadable or whose postings share a title.

use std::time::Duration;

use anyhow::Context as _;
use bw_api::routes::runs::RunView;
use bw_db::counts::CompanyCounts;
use bw_fake_ats::{Failure, Kind};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::RunStatus;

const LONG: Duration = Duration::from_secs(60);

/// The reason a held run gives for a board that went from 20 postings to none.
const HELD_20_TO_0: &str = "the board listed 0 postings where its last listing had 20; a second run that sees the same is needed to expire them";

/// Starts one of alice's runs, waits for it to finish, and returns its id and the run.
async fn run(app: &TestApp) -> anyhow::Result<(String, RunView)> {
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run.status == RunStatus::Finished, "{run:?}");
    Ok((id, run))
}

/// The company's line in the run's counts.
fn company<'a>(run: &'a RunView, name: &str) -> anyhow::Result<&'a CompanyCounts> {
    run.counts.companies.iter().find(|c| c.name == name).with_context(|| format!("no counts for {name}: {run:?}"))
}

/// The run's log line that starts with `prefix`.
async fn log_line(app: &TestApp, run_id: &str, prefix: &str) -> anyhow::Result<String> {
    let events = app.event_messages("alice", run_id).await?;
    events.iter().find(|e| e.starts_with(prefix)).cloned().with_context(|| format!("no line {prefix:?}: {events:?}"))
}

async fn live_postings(app: &TestApp) -> anyhow::Result<i64> {
    app.db.scalar("SELECT count(*) FROM postings WHERE status <> 'expired'").await
}

async fn held_companies(app: &TestApp) -> anyhow::Result<i64> {
    app.db.scalar("SELECT count(*) FROM companies WHERE expiry_held_at IS NOT NULL").await
}

/// Alice follows Acme (greenhouse `acme`, 20 postings); the runner is started and a first run has stored them.
async fn acme_with_20(app: &mut TestApp) -> anyhow::Result<()> {
    app.ats.generate_board(Kind::Greenhouse, "acme", 20, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.start_runner();
    let (_, first) = run(app).await?;
    anyhow::ensure!(first.counts.total.inserted == 20, "{first:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_that_suddenly_lists_nothing_expires_nothing_until_a_second_run_sees_the_same() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    acme_with_20(&mut app).await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 0, 1);

    let (held_id, held) = run(&app).await?;
    assert_eq!((held.counts.total.expired, held.counts.total.expiry_held), (0, 20), "{held:?}");
    assert_eq!(held.counts.boards_expiry_held, 1, "{held:?}");
    let acme = company(&held, "Acme")?;
    assert_eq!((acme.tally.expired, acme.tally.expiry_held), (0, 20), "{acme:?}");
    assert_eq!(acme.expiry_held_reason.as_deref(), Some(HELD_20_TO_0), "{acme:?}");
    let line = log_line(&app, &held_id, "Acme (greenhouse acme): found 0").await?;
    assert!(line.ends_with(&format!("expired 0; expiry held: {HELD_20_TO_0}")), "{line}");
    assert_eq!(live_postings(&app).await?, 20);
    assert_eq!(held_companies(&app).await?, 1);

    let (confirmed_id, confirmed) = run(&app).await?;
    assert_eq!((confirmed.counts.total.expired, confirmed.counts.total.expiry_held), (20, 0), "{confirmed:?}");
    assert_eq!(confirmed.counts.boards_expiry_held, 0, "{confirmed:?}");
    assert_eq!(company(&confirmed, "Acme")?.expiry_held_reason, None);
    let line = log_line(&app, &confirmed_id, "Acme (greenhouse acme): found 0").await?;
    assert!(
        line.ends_with(
            "expired 20; expiry confirmed: a second look at the board listed 0 postings where its last listing had 20"
        ),
        "{line}"
    );
    assert_eq!(live_postings(&app).await?, 0);
    assert_eq!(held_companies(&app).await?, 0, "the hold is cleared");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_that_recovers_after_a_held_run_expires_nothing_and_clears_the_hold() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    acme_with_20(&mut app).await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 0, 1);
    let (_, held) = run(&app).await?;
    assert_eq!(held.counts.total.expiry_held, 20, "{held:?}");

    app.ats.generate_board(Kind::Greenhouse, "acme", 20, 1);
    let (recovered_id, recovered) = run(&app).await?;
    assert_eq!(
        [
            recovered.counts.total.found,
            recovered.counts.total.unchanged,
            recovered.counts.total.expired,
            recovered.counts.total.expiry_held
        ],
        [20, 20, 0, 0],
        "{recovered:?}"
    );
    assert_eq!(company(&recovered, "Acme")?.expiry_held_reason, None);
    let line = log_line(&app, &recovered_id, "Acme (greenhouse acme): found 20").await?;
    assert!(line.ends_with("expired 0"), "{line}");
    assert_eq!(held_companies(&app).await?, 0, "the hold is cleared");

    // Cleared, not kept: the next empty listing is held again rather than taken as the second look.
    app.ats.generate_board(Kind::Greenhouse, "acme", 0, 1);
    let (_, again) = run(&app).await?;
    assert_eq!((again.counts.total.expired, again.counts.total.expiry_held), (0, 20), "{again:?}");
    assert_eq!(live_postings(&app).await?, 20);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_board_leaves_a_hold_as_it_is() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    acme_with_20(&mut app).await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 0, 1);
    run(&app).await?;

    app.ats.set_failure(Kind::Greenhouse, "acme", Some(Failure::ServerError));
    let (_, failed) = run(&app).await?;
    assert_eq!((Some(failed.counts.boards_failed), failed.counts.total.expired), (Some(1), 0), "{failed:?}");
    assert_eq!(held_companies(&app).await?, 1, "a failed board neither confirms nor clears the hold");

    app.ats.set_failure(Kind::Greenhouse, "acme", None);
    let (_, confirmed) = run(&app).await?;
    assert_eq!(confirmed.counts.total.expired, 20, "{confirmed:?}");
    assert_eq!(held_companies(&app).await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ordinary_shrink_and_a_small_board_that_empties_expire_at_once() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 20, 1);
    app.ats.generate_board(Kind::Lever, "globex", 5, 2);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.start_runner();
    run(&app).await?;

    for id in app.ats.posting_ids(Kind::Greenhouse, "acme").into_iter().take(5) {
        assert!(app.ats.remove_posting(Kind::Greenhouse, "acme", &id));
    }
    app.ats.generate_board(Kind::Lever, "globex", 0, 2);
    let (_, second) = run(&app).await?;
    for (name, found) in [("Acme", 15), ("Globex", 0)] {
        let counts = company(&second, name)?;
        assert_eq!((counts.tally.found, counts.tally.expired), (found, 5), "{counts:?}");
        assert_eq!((counts.tally.expiry_held, &counts.expiry_held_reason), (0, &None));
    }
    assert_eq!((second.counts.total.expired, Some(second.counts.boards_expiry_held)), (10, Some(0)));
    assert_eq!(live_postings(&app).await?, 15);
    assert_eq!(held_companies(&app).await?, 0);
    Ok(())
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
    assert_eq!(
        [first.counts.total.found, first.counts.total.inserted, first.counts.total.ready],
        [2, 2, 2],
        "{first:?}"
    );
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
async fn a_careers_page_read_only_in_part_holds_its_expiry_until_a_second_look() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    umbrella(&mut app, &page(&[script(&posting("a", "Alpha")), script(&posting("c", "Gamma"))])).await?;
    run(&app).await?;

    // Alpha is gone from the page, but so is a script's worth of it: Alpha may be in the script that broke.
    app.ats.load_page("umbrella", &page(&[script(BROKEN), script(&posting("c", "Gamma"))]));
    let (_, partial) = run(&app).await?;
    assert_eq!((partial.counts.total.expired, partial.counts.total.expiry_held), (0, 1), "{partial:?}");
    let reason = company(&partial, "Umbrella")?.expiry_held_reason.clone().unwrap_or_default();
    assert!(reason.contains("read only in part"), "{reason}");
    assert_eq!(held_companies(&app).await?, 1);

    // The script is still broken on the next run: a second look, and Alpha expires (a page that stays broken still
    // expires what leaves it, one run late).
    let (_, again) = run(&app).await?;
    assert_eq!((again.counts.total.expired, again.counts.total.expiry_held), (1, 0), "{again:?}");
    assert_eq!(titles(&app, "expired").await?, ["Alpha"]);
    assert_eq!(held_companies(&app).await?, 0, "the hold is cleared");

    // Read in part but leaving nothing out: nothing is held.
    let (_, quiet) = run(&app).await?;
    assert_eq!((quiet.counts.total.expired, quiet.counts.total.expiry_held), (0, 0), "{quiet:?}");
    assert_eq!(held_companies(&app).await?, 0);
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
    assert_eq!((first.counts.total.found, first.counts.total.inserted), (2, 2), "{first:?}");
    let ids = "SELECT external_id, location FROM postings ORDER BY location";
    let stored = app.db.rows(ids).await?;
    let locations: Vec<&str> = stored.iter().filter_map(|r| r["location"].as_str()).collect();
    assert_eq!(locations, ["Berlin", "Paris"]);
    assert_ne!(stored[0]["external_id"], stored[1]["external_id"]);

    let (_, second) = run(&app).await?;
    assert_eq!(
        [
            second.counts.total.found,
            second.counts.total.unchanged,
            second.counts.total.inserted,
            second.counts.total.expired
        ],
        [2, 2, 0, 0],
        "{second:?}"
    );
    assert_eq!(app.db.rows(ids).await?, stored, "the same page gives the same ids");

    // The page lists them the other way round: each keeps its id and its content.
    app.ats.load_page("umbrella", &page(&[script(&engineer("Paris")), script(&engineer("Berlin"))]));
    let (_, reordered) = run(&app).await?;
    assert_eq!(
        [
            reordered.counts.total.found,
            reordered.counts.total.unchanged,
            reordered.counts.total.inserted,
            reordered.counts.total.expired
        ],
        [2, 2, 0, 0]
    );
    assert_eq!(app.db.rows(ids).await?, stored, "the order of a page does not move ids");
    Ok(())
}
