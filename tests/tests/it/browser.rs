//! The web UI in headless Chromium, against the whole system in one process: the API serving the UI on port 0, the
//! ingestion runner over LocalStack, the fake ATS, and for screening the fake OpenAI with a poller worker. Elements
//! are found only by the data-testids of the UI contract. Screenshots: target/browser-screenshots/.
//! One browser per test; nextest runs this binary's tests one at a time (.config/nextest.toml).

use std::sync::Mutex;
use std::time::Duration;

use bw_fake_ats::Kind;
use bw_fake_openai::{FakeConfig, FakeOpenAi, FakeOpenAiServer};
use bw_queue::runner::{self, RunnerConfig};
use bw_queue::{Outgoing, Queue as _};
use bw_tests::app::{TestApp, token_for};
use bw_tests::browser::{Browser, screenshot_dir, testid};
use bw_tests::client::Api as _;
use bw_tests::llm as llm_harness;
use bw_tests::sqs::TestQueue;
use bw_vocab::RunStatus;
use fantoccini::Locator;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

const LONG: Duration = Duration::from_secs(60);

/// The address a person opens: the UI with `user`'s token, at `route` (`/runs`, `/runs/{id}`, …).
fn link(app: &TestApp, user: &str, operator: bool, route: &str) -> String {
    format!("{}/?token={}#{route}", app.api_url, token_for(user, operator))
}

/// The row `row_id` (`run-row`, `job-row`, …) whose `data-{key}` is `value`.
fn row(row_id: &str, key: &str, value: &str) -> String {
    format!("{}[data-{key}=\"{value}\"]", testid(row_id))
}

/// The element `id` inside `parent`.
async fn inside(parent: &Element, id: &str) -> anyhow::Result<Element> {
    Ok(parent.find(Locator::Css(&testid(id))).await?)
}

/// The poller's worker consuming the app's `llm-jobs` queue as the local runner runs it, talking to a fake OpenAI
/// that flags about half the postings. Stops when dropped.
struct Screener {
    _openai: FakeOpenAiServer,
    stop: watch::Sender<bool>,
    task: JoinHandle<runner::RunnerStats>,
}

impl Screener {
    async fn start(app: &TestApp) -> anyhow::Result<Self> {
        let mut config = FakeConfig::default();
        config.decision.hash_flag_rate = 0.5;
        let openai = FakeOpenAi::new(config).serve(([127, 0, 0, 1], 0).into()).await?;
        let worker = llm_harness::worker(app, &openai.base_url)?;
        let (sqs, url) = (app.llm_queue.sqs.clone(), app.llm_queue.url.clone());
        let (stop, rx) = watch::channel(false);
        let config = RunnerConfig { batch_size: 1, wait: Duration::from_secs(1), ..RunnerConfig::default() };
        let task = tokio::spawn(async move { runner::run(&sqs, &url, &worker, &config, rx).await });
        Ok(Self { _openai: openai, stop, task })
    }
}

impl Drop for Screener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}

/// Alice's company Acme (greenhouse `acme`, `postings` postings) and one run of it, finished.
async fn finished_run(app: &mut TestApp, postings: usize) -> anyhow::Result<String> {
    app.ats.generate_board(Kind::Greenhouse, "acme", postings, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.start_runner();
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run.status == RunStatus::Finished, "the run did not finish: {run:?}");
    Ok(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_adds_a_company_watches_a_run_finish_live_and_screens_its_postings() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 12, 1);
    // Slow enough for the page to show the run under way before it ends (the ingestion timeout is 2 s).
    app.ats.set_delay(Kind::Greenhouse, "acme", Duration::from_millis(1500));
    app.start_runner();
    let _screener = Screener::start(&app).await?;
    let b = Browser::start("main_story").await?;

    b.open(&link(&app, "alice", false, "/companies")).await?;
    b.wait_for("company-form").await?;
    // Everything below happens in this one page load: a reload would drop the marker.
    b.js("window.__marker = 1").await?;
    let address = b.client().current_url().await?;
    assert!(!address.as_str().contains("token="), "the token leaves the address bar: {address}");

    add_company(&b).await?;
    b.screenshot("01-company-added").await?;

    b.click("nav-runs").await?;
    b.click("run-start").await?;
    let run_id = b
        .wait_until("the new run's page", || async { Ok(b.hash().await?.strip_prefix("/runs/").map(str::to_owned)) })
        .await?;
    let (statuses, live) = watch_run_end(&b).await?;
    assert!(
        statuses.iter().any(|s| matches!(s.as_str(), "pending" | "initializing" | "ingesting")),
        "the page showed the run under way before it finished: {statuses:?}"
    );
    assert!(live.iter().any(|l| l == "live"), "the page followed the progress stream: {live:?}");
    assert!(!live.iter().any(|l| l == "polling"), "the page never fell back to polling: {live:?}");
    assert_eq!(b.attr("run-live", "data-live").await?.as_deref(), Some("ended"), "the stream ended with the run");
    check_finished_run_page(&b).await?;
    assert_eq!(b.js("return window.__marker").await?, json!(1), "the run page updated without a reload");
    b.screenshot("02-run-finished").await?;

    b.click("nav-runs").await?;
    let run_row = row("run-row", "id", &run_id);
    b.wait_until("the runs list to show the run finished", || async {
        let status = inside(&b.find_css(&run_row).await?, "run-status").await?.text().await?;
        Ok((status == "finished").then_some(()))
    })
    .await?;
    b.screenshot("03-runs-list").await?;

    inside(&b.find_css(&run_row).await?, "run-link").await?.click().await?;
    b.wait_for_css(&format!("{}[data-status=\"finished\"]", testid("run-summary"))).await?;
    b.click("run-screen").await?;
    let job_id = screen(&b, &run_id).await?;

    b.wait_until_within(LONG, "the job to complete", || async {
        Ok((b.text("job-status").await? == "completed").then_some(()))
    })
    .await?;
    let flagged =
        app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{job_id}' AND flag")).await?;
    assert!(flagged > 0, "the fake OpenAI flags about half the postings");
    let want = usize::try_from(flagged)?;
    b.wait_until("a flag row per flagged posting", || async {
        Ok((b.find_all("flag-row").await?.len() == want).then_some(()))
    })
    .await?;
    assert_eq!(b.attr("job-progress", "value").await?.as_deref(), Some("1"));
    let applied = llm_harness::job_row(&app, job_id.parse()?).await?.flags_applied;
    let counts = b.text("job-counts").await?.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(counts.contains(&format!("Flags applied {applied}")), "job counts: {counts}");
    assert_eq!(b.find_all("item-row").await?.len(), 12, "one item per ready posting");
    assert_eq!(b.js("return window.__marker").await?, json!(1), "no reload from first page to last");
    b.screenshot("05-job-completed").await?;
    Ok(())
}

/// Adds Acme through the form by pasting its board's URL (the form's first choice), and waits for its row: the
/// Greenhouse board `acme`.
async fn add_company(b: &Browser) -> anyhow::Result<()> {
    b.type_into("company-name", "Acme").await?;
    b.type_into("company-token", "https://job-boards.greenhouse.io/acme/jobs/4000").await?;
    b.click("company-add").await?;
    b.wait_until("Acme's company row", || async {
        let rows = b.texts("company-row").await?;
        Ok(rows.iter().any(|t| t.contains("Acme") && t.contains("Greenhouse") && t.contains("acme")).then_some(()))
    })
    .await
}

/// Waits on the run page until the summary banner says `finished`; returns the run statuses and the states of the
/// live indicator (`live`, `polling`, `ended`, …) the page showed on the way, in order.
async fn watch_run_end(b: &Browser) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let seen = Mutex::new((Vec::<String>::new(), Vec::<String>::new()));
    let finished = format!("{}[data-status=\"finished\"]", testid("run-summary"));
    b.wait_until_within(LONG, "the summary banner to say finished", || async {
        let status = b.text("run-status").await.ok();
        let live = b.attr("run-live", "data-live").await.ok().flatten();
        {
            let mut seen = seen.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            let (statuses, lives) = &mut *seen;
            for (value, list) in [(status, statuses), (live, lives)] {
                if let Some(value) = value.filter(|v| list.last() != Some(v)) {
                    list.push(value);
                }
            }
        }
        let banner = b.find_css(&finished).await?;
        Ok(banner.is_displayed().await?.then_some(()))
    })
    .await?;
    seen.into_inner().map_err(|_| anyhow::anyhow!("poisoned"))
}

/// The run page of a finished run: the stepper at Summary, the counts, the log up to "run finished".
async fn check_finished_run_page(b: &Browser) -> anyhow::Result<()> {
    for step in ["queued", "initializing", "ingesting"] {
        assert_eq!(b.attr(&format!("step-{step}"), "data-state").await?.as_deref(), Some("done"), "{step}");
    }
    assert_eq!(b.attr("step-summary", "data-state").await?.as_deref(), Some("active"));
    assert_eq!(b.attr("step-summary", "aria-current").await?.as_deref(), Some("step"));
    assert_eq!(b.text("run-status").await?, "finished");
    let counts = b.text("run-counts").await?;
    assert!(counts.contains("Acme") && counts.contains("12"), "counts: {counts}");
    assert!(!b.find("run-abort").await?.is_displayed().await?, "no abort button once the run ended");
    b.wait_until("the log to show \"run finished\"", || async {
        Ok(b.texts("log-line").await?.iter().any(|l| l.contains("run finished")).then_some(()))
    })
    .await?;
    assert_eq!(b.attr("run-log", "role").await?.as_deref(), Some("log"));
    Ok(())
}

/// On the job form reached from the run's banner: the run is chosen; starts a job and returns its id.
async fn screen(b: &Browser, run_id: &str) -> anyhow::Result<String> {
    b.wait_until("the job form with the run chosen", || async {
        Ok((b.find("job-run").await?.prop("value").await?.as_deref() == Some(run_id)).then_some(()))
    })
    .await?;
    assert_eq!(b.find("job-model").await?.prop("value").await?.as_deref(), Some("gpt-4.1-mini"));
    b.type_into("job-name", "Remote?").await?;
    b.type_into("job-instructions", "Is this job remote?").await?;
    b.select("job-mode", "background").await?;
    b.screenshot("04-job-form").await?;
    b.click("job-submit").await?;
    b.wait_until("the new job's page", || async { Ok(b.hash().await?.strip_prefix("/jobs/").map(str::to_owned)) }).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_company_shows_the_apis_message_and_adds_no_row() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let bad = json!({ "name": "Acme", "board_kind": "greenhouse", "board_token": "../etc" });
    let (status, answer) = app.call("alice", reqwest::Method::POST, "/api/companies", Some(bad)).await?;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default().to_owned();

    let b = Browser::start("bad_input").await?;
    b.open(&link(&app, "alice", false, "/companies")).await?;
    b.type_into("company-name", "Acme").await?;
    b.select("company-kind", "greenhouse").await?;
    b.type_into("company-token", "../etc").await?;
    b.click("company-add").await?;
    let shown = b.wait_text("form-error", "an error", |t| !t.is_empty()).await?;
    b.screenshot("refused").await?;
    assert_eq!(shown, message, "the form shows the API's own message");
    assert!(b.find_all("company-row").await?.is_empty());
    assert_eq!(app.db.scalar("SELECT count(*) FROM companies").await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_company_form_works_with_the_keyboard_alone() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let b = Browser::start("keyboard").await?;
    b.open(&link(&app, "alice", false, "/companies")).await?;
    b.wait_for("company-form").await?;
    let tab = char::from(Key::Tab).to_string();
    b.wait_until("Tab to reach the company name", || async {
        b.press(&tab).await?;
        Ok((b.focused().await?.as_deref() == Some("company-name")).then_some(()))
    })
    .await?;
    b.press("Globex").await?;
    b.press(&tab).await?;
    assert_eq!(b.focused().await?.as_deref(), Some("company-kind"));
    // A careers URL is first, then Greenhouse; the arrow moves a closed select to the next option: twice to Lever.
    b.press(&char::from(Key::Down).to_string()).await?;
    b.press(&char::from(Key::Down).to_string()).await?;
    b.press(&tab).await?;
    // Lever has an EU host: the host is asked for next, the main one first.
    assert_eq!(b.focused().await?.as_deref(), Some("company-region"));
    b.press(&char::from(Key::Down).to_string()).await?;
    b.press(&tab).await?;
    assert_eq!(b.focused().await?.as_deref(), Some("company-token"));
    b.press("globex").await?;
    b.screenshot("filled").await?;
    b.press(&char::from(Key::Enter).to_string()).await?;
    b.wait_until("the company row added with Enter", || async {
        Ok(b.texts("company-row").await?.iter().any(|t| t.contains("Globex") && t.contains("Lever (EU)")).then_some(()))
    })
    .await?;
    b.screenshot("added").await?;
    let rows = app.db.rows("SELECT name, board_kind, board_region, board_token FROM companies").await?;
    let expected = json!({ "name": "Globex", "board_kind": "lever", "board_region": "eu", "board_token": "globex" });
    assert_eq!(rows, vec![expected]);
    // Ashby has one host: the host is not asked for.
    b.select("company-kind", "ashby").await?;
    assert!(!b.find("company-region").await?.is_displayed().await?, "no host to choose for Ashby");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_narrow_screen_the_pages_do_not_scroll_sideways_and_the_nav_works() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let run_id = finished_run(&mut app, 8).await?;
    let b = Browser::start("narrow").await?;
    b.resize(375, 800).await?;
    b.open(&link(&app, "alice", false, "/runs")).await?;
    b.wait_for_css(&row("run-row", "id", &run_id)).await?;
    let width = b.js("return window.innerWidth").await?;
    assert!(width.as_u64().is_some_and(|w| w <= 400), "the viewport is narrow: {width}");
    fits(&b, "runs").await?;
    b.screenshot("runs").await?;

    b.click("run-link").await?;
    b.wait_for_css(&format!("{}[data-status=\"finished\"]", testid("run-summary"))).await?;
    b.wait_for("log-line").await?;
    fits(&b, "run").await?;
    b.screenshot("run").await?;

    b.click("nav-companies").await?;
    b.wait_for("company-form").await?;
    fits(&b, "companies").await?;
    b.screenshot("companies").await?;
    Ok(())
}

/// No sideways page scroll, and every nav entry shown whole inside the viewport.
async fn fits(b: &Browser, page: &str) -> anyhow::Result<()> {
    let widths = b.js("return [document.documentElement.scrollWidth, window.innerWidth]").await?;
    assert!(widths[0].as_u64() <= widths[1].as_u64(), "{page}: the page scrolls sideways: [scroll, inner] = {widths}");
    for nav in ["nav-companies", "nav-runs", "nav-jobs"] {
        let link = b.find(nav).await?;
        assert!(link.is_displayed().await?, "{page}: {nav} is hidden");
        let (x, _, w, _) = link.rectangle().await?;
        let inner = widths[1].as_f64().unwrap_or_default();
        assert!(x >= 0.0 && x + w <= inner, "{page}: {nav} lies outside the viewport: x {x}, width {w}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_peek_at_a_dead_letter_and_redrive_it_after_a_dry_run() -> anyhow::Result<()> {
    // No runner: a redriven message stays on the work queue, where its depth shows it arrived.
    let app = TestApp::spawn().await?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let body = json!({ "v": 1, "run_id": run_id, "user_id": "alice", "database": "primary" }).to_string();
    let message = Outgoing { body, attributes: vec![("run_id".into(), run_id.clone())], delay_seconds: None };
    app.queue.sqs.send(&app.queue.dlq_url, message).await?;
    app.queue.wait_visible(&app.queue.dlq_url, 1).await?;

    let b = Browser::start("operators").await?;
    b.open(&link(&app, "ops", true, "/runs")).await?;
    b.click("nav-ops").await?;
    b.wait_for("ops-queues").await?;
    let runs = row("queue-row", "queue", "runs");
    b.wait_until("the runs queue's DLQ to show 1 message", || async {
        let visible = inside(&b.find_css(&runs).await?, "dlq-visible").await?.text().await?;
        Ok((visible == "1").then_some(()))
    })
    .await?;
    let mut names = Vec::new();
    for queue in b.find_all("queue-row").await? {
        names.push(queue.attr("data-queue").await?.unwrap_or_default());
    }
    names.sort();
    assert_eq!(names, ["llm-jobs", "runs"], "the test app's queues");
    b.screenshot("01-queues").await?;

    inside(&b.find_css(&runs).await?, "dlq-peek").await?.click().await?;
    let peeked = b
        .wait_until("the peeked message", || async {
            let messages = b.texts("dlq-message").await?;
            Ok((messages.len() == 1).then(|| messages.concat()))
        })
        .await?;
    assert!(peeked.contains(&run_id), "the message shows its body: {peeked}");
    b.screenshot("02-peeked").await?;

    inside(&b.find_css(&runs).await?, "dlq-redrive-dry-run").await?.click().await?;
    b.wait_for("dlq-redrive-confirm").await?;
    let summary = b.text("dlq-redrive-summary").await?;
    assert!(summary.contains("1 message"), "the dry run says what would move: {summary}");
    assert_eq!(app.queue.visible(&app.queue.dlq_url).await?, 1, "a dry run moves nothing");
    b.screenshot("03-dry-run").await?;

    b.click("dlq-redrive-confirm").await?;
    TestQueue::wait_until(LONG, "the message back on the runs queue", || async {
        Ok(app.queue.visible(&app.queue.dlq_url).await? == 0 && app.queue.visible(&app.queue.url).await? == 1)
    })
    .await?;
    // The operator sees it too: a later refresh of the panel shows the message back on the runs queue.
    b.wait_until("the panel to show the message back on the runs queue", || async {
        let row = b.find_css(&runs).await?;
        let queued = inside(&row, "queue-visible").await?.text().await?;
        let dead = inside(&row, "dlq-visible").await?.text().await?;
        Ok((queued == "1" && dead == "0").then_some(()))
    })
    .await?;
    b.screenshot("04-redriven").await?;

    // Alice is no operator: no operators' entry in the nav.
    b.open(&link(&app, "alice", false, "/runs")).await?;
    b.wait_for("run-start").await?;
    assert!(!b.find("nav-ops").await?.is_displayed().await?, "alice sees no operators' entry");
    b.screenshot("05-not-an-operator").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_run_is_not_found_and_shows_nothing_of_it() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let run_id = finished_run(&mut app, 5).await?;
    let b = Browser::start("other_user").await?;
    b.open(&link(&app, "bob", false, &format!("/runs/{run_id}"))).await?;
    let main = b
        .wait_until("the page to say not found", || async {
            let text = b.find_css("main").await?.text().await?;
            Ok(text.to_lowercase().contains("not found").then_some(text))
        })
        .await?;
    b.screenshot("not-found").await?;
    assert!(!main.contains("Acme"), "nothing of alice's run: {main}");
    for part in ["run-stepper", "run-counts", "run-summary", "log-line", "run-status"] {
        let shown = b.find_all(part).await?;
        let mut visible = Vec::new();
        for element in shown {
            visible.push(element.is_displayed().await?);
        }
        assert!(!visible.contains(&true), "{part} is shown on another user's run: {main}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_wait_names_what_it_awaited_and_shows_the_page_its_console_and_a_screenshot() -> anyhow::Result<()> {
    let b = Browser::start("harness").await?;
    b.open("data:text/html,<p data-testid=greeting>hello</p><script>console.error('boom')</script>").await?;
    let screenshot = screenshot_dir().join("harness-failed.png");
    let _ = std::fs::remove_file(&screenshot);
    let waited = b
        .wait_until_within(Duration::from_millis(300), "a greeting in French", || async {
            Ok((b.text("greeting").await? == "bonjour").then_some(()))
        })
        .await;
    let Err(error) = waited else { panic!("the wait for a greeting in French succeeded") };
    let error = format!("{error:#}");
    for part in ["timed out after 300ms waiting for a greeting in French", "hello", "boom", "harness-failed.png"] {
        assert!(error.contains(part), "the failure names {part:?}: {error}");
    }
    assert!(screenshot.is_file(), "{} saved", screenshot.display());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_the_depths_peeks_at_a_dlq_and_redrives_it_after_a_dry_run() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let (queue, dlq) = (app.queue.url.clone(), app.queue.dlq_url.clone());
    for i in 0..3 {
        let body = format!(r#"{{"v":1,"run_id":"dead-{i}","user_id":"alice","database":"primary"}}"#);
        app.queue.sqs.send(&dlq, Outgoing { body, ..Outgoing::default() }).await?;
    }
    app.queue.wait_visible(&dlq, 3).await?;
    let b = Browser::start("ops").await?;

    b.open(&link(&app, "alice", false, "/runs")).await?;
    b.wait_for("run-start").await?;
    assert!(!b.find("nav-ops").await?.is_displayed().await?, "no operators' link without the operator claim");

    b.open(&link(&app, "ops", true, "/ops")).await?;
    let runs = row("queue-row", "queue", "runs");
    b.wait_until("the runs queue's DLQ depth", || async {
        Ok((inside(&b.find_css(&runs).await?, "dlq-visible").await?.text().await? == "3").then_some(()))
    })
    .await?;
    inside(&b.find_css(&runs).await?, "dlq-peek").await?.click().await?;
    b.wait_until("three dead letters shown", || async {
        Ok((b.find_all("dlq-message").await?.len() == 3).then_some(()))
    })
    .await?;
    let shown = b.texts("dlq-message").await?.join("\n");
    assert!((0..3).all(|i| shown.contains(&format!("dead-{i}"))), "the messages' bodies: {shown}");
    b.screenshot("01-peeked").await?;

    inside(&b.find_css(&runs).await?, "dlq-redrive-dry-run").await?.click().await?;
    b.wait_until("the dry run's count", || async {
        let summary = b.text("dlq-redrive-summary").await?;
        Ok((summary.contains("3 message(s)") && summary.contains("Nothing has moved yet")).then_some(()))
    })
    .await?;
    assert_eq!((app.queue.depth(&dlq).await?, app.queue.depth(&queue).await?), (3, 0), "a dry run moves nothing");
    b.screenshot("02-dry-run").await?;

    b.click("dlq-redrive-confirm").await?;
    b.wait_until("the redrive to start", || async {
        Ok(b.text("dlq-redrive-summary").await?.contains("Redrive started").then_some(()))
    })
    .await?;
    TestQueue::wait_until(LONG, "the dead letters back on the runs queue", || async {
        Ok(app.queue.depth(&dlq).await? == 0 && app.queue.depth(&queue).await? == 3)
    })
    .await?;
    b.wait_until_within(LONG, "the page to show the DLQ empty", || async {
        Ok((inside(&b.find_css(&runs).await?, "dlq-visible").await?.text().await? == "0").then_some(()))
    })
    .await?;
    b.screenshot("03-redriven").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_pages_filters_and_exports_the_postings_and_opens_one() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    finished_run(&mut app, 60).await?;
    let b = Browser::start("postings").await?;
    b.open(&link(&app, "alice", false, "/postings")).await?;
    b.wait_until("the first page of postings", || async {
        Ok((b.find_all("posting-row").await?.len() == 50).then_some(()))
    })
    .await?;
    b.click("postings-more").await?;
    b.wait_until("the rest of the postings", || async {
        Ok((b.find_all("posting-row").await?.len() == 60).then_some(()))
    })
    .await?;
    assert!(!b.find("postings-more").await?.is_displayed().await?, "no more pages");
    b.screenshot("01-all-postings").await?;

    // Filter by a word of the first title: the list, the address and the export follow.
    let first_title = b.text("posting-link").await?;
    let word = first_title.split_whitespace().last().unwrap_or_default().to_lowercase();
    let expected: bw_api::routes::postings::PostingList =
        app.get("alice", &format!("/api/postings?title={word}&limit=1000")).await?;
    b.type_into("postings-title", &word).await?;
    b.click("postings-apply").await?;
    b.wait_until("the filtered list", || async {
        let titles = b.texts("posting-link").await?;
        Ok((b.hash().await?.contains(&format!("title={word}")) && titles.len() == expected.postings.len())
            .then_some(titles))
    })
    .await
    .map(|titles| assert!(titles.iter().all(|t| t.to_lowercase().contains(&word)), "{titles:?}"))?;
    let href = b.attr("postings-export-csv", "href").await?.unwrap_or_default();
    assert!(href.contains("/api/postings/export?") && href.contains(&format!("title={word}")), "{href}");
    let csv = b.js(&format!("return fetch({}).then(r => r.text())", json!(href))).await?;
    let lines: Vec<&str> = csv.as_str().unwrap_or_default().split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), expected.postings.len() + 1, "a header and the filtered postings: {lines:?}");
    assert!(lines[0].starts_with("id,company,title"), "{}", lines[0]);
    b.screenshot("02-filtered").await?;

    // A posting's page: its fields, its history (found by the one run), the board's item.
    let first = expected.postings.first().map(|p| p.id).unwrap_or_default();
    b.find_css(&format!("{} a", row("posting-row", "id", &first.to_string()))).await?.click().await?;
    b.wait_for("posting-title").await?;
    assert_eq!(b.hash().await?, format!("/postings/{first}"));
    assert_eq!(b.texts("posting-run").await?.len(), 1);
    assert_eq!(b.attr("posting-run", "data-change").await?.as_deref(), Some("inserted"));
    assert!(b.text("posting-fields").await?.contains("Acme"));
    // Its pay as numbers, beside the board's text: `USD 120,000–150,000` (Greenhouse states no period).
    let shown: bw_db::browse::PostingDetail = app.get("alice", &format!("/api/postings/{first}")).await?;
    let expected_pay = match (shown.pay.pay_currency.as_deref(), shown.pay.pay_min, shown.pay.pay_max) {
        (Some(currency), Some(min), Some(max)) => format!("{currency} {}–{}", thousands(min), thousands(max)),
        _ => "—".to_owned(),
    };
    assert_eq!(b.text("posting-pay").await?, expected_pay);
    b.screenshot("03-posting").await?;
    Ok(())
}

/// A whole amount with thousands separators, as the page writes it.
fn thousands(amount: f64) -> String {
    let digits = format!("{amount:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_sets_a_schedule_sees_a_refusal_and_removes_it() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let b = Browser::start("schedule").await?;
    b.open(&link(&app, "alice", false, "/runs")).await?;
    b.wait_text("schedule-summary", "no schedule yet", |t| t.starts_with("No schedule")).await?;
    b.find("schedule-hours").await?.clear().await?;
    b.type_into("schedule-hours", "2").await?;
    b.click("schedule-save").await?;
    b.wait_text("schedule-summary", "the schedule every 2 hours", |t| t.contains("every 2 hours")).await?;
    let schedule: bw_db::schedules::ScheduleRow = app.get("alice", "/api/schedule").await?;
    assert_eq!(schedule.every_hours, Some(2));
    b.screenshot("01-every-two-hours").await?;

    b.select("schedule-kind", "cron").await?;
    b.type_into("schedule-cron", "*/5 * * * *").await?;
    b.click("schedule-save").await?;
    let refusal = b.wait_text("schedule-error", "the API's refusal", |t| !t.is_empty()).await?;
    assert!(refusal.contains("less than an hour apart"), "{refusal}");
    assert_eq!(app.get::<bw_db::schedules::ScheduleRow>("alice", "/api/schedule").await?.every_hours, Some(2));
    b.screenshot("02-refused").await?;

    b.click("schedule-remove").await?;
    b.wait_text("schedule-summary", "no schedule", |t| t.starts_with("No schedule")).await?;
    let (status, _) = app.call("alice", reqwest::Method::GET, "/api/schedule", None).await?;
    assert_eq!(status, 404);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standing_screen_added_in_the_page_judges_the_next_runs_new_postings() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let b = Browser::start("screens").await?;
    b.open(&link(&app, "alice", false, "/jobs")).await?;
    b.wait_for("screen-form").await?;
    b.type_into("screen-name", "Remote?").await?;
    b.type_into("screen-instructions", "Is this job remote?").await?;
    b.click("screen-add").await?;
    b.wait_until("the screen's row", || async {
        Ok(b.texts("screen-row").await?.iter().any(|t| t.contains("Remote?")).then_some(()))
    })
    .await?;
    b.screenshot("01-screen-added").await?;

    let run_id = finished_run(&mut app, 6).await?;
    b.open(&link(&app, "alice", false, &format!("/runs/{run_id}"))).await?;
    b.wait_for("run-job").await?;
    assert!(b.text("run-jobs").await?.contains("Remote? (6 postings)"), "{}", b.text("run-jobs").await?);
    b.screenshot("02-run-started-a-job").await?;
    b.click("run-job").await?;
    b.wait_until("the job's page", || async { Ok(b.hash().await?.starts_with("/jobs/").then_some(())) }).await?;

    b.open(&link(&app, "alice", false, "/jobs")).await?;
    b.wait_for("screen-link").await?;
    b.click("screen-link").await?;
    b.wait_for("screen-title").await?;
    assert_eq!(b.find_all("screen-job").await?.len(), 1, "the screen's one job");
    b.screenshot("03-screen-page").await?;
    b.click("screen-remove").await?;
    b.wait_until("back on the screening page", || async { Ok((b.hash().await? == "/jobs").then_some(())) }).await?;
    let screens: bw_api::routes::screens::ScreenList = app.get("alice", "/api/screens").await?;
    assert!(screens.screens.is_empty());
    Ok(())
}
