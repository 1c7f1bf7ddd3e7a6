//! `ctl` as the API's client, as the demo uses it: it follows companies, starts a run and follows it to its end
//! (every log line once, in order, then the run), creates a screening job and follows it to its resolution, and
//! lists what it flagged; a run or job that ends otherwise, an unknown run and a missing token are errors that say
//! so, with a failing exit status.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use bw_fake_ats::Kind;
use bw_fake_openai::{DecisionRule, FakeConfig};
use bw_tests::app::{TestApp, token_for};
use bw_tests::client::Api as _;
use bw_tests::ctl::binary;
use bw_tests::llm::Screening;
use reqwest::Method;
use serde_json::Value;

struct Out {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `ctl args…` against the app's API as `user`.
async fn ctl(app: &TestApp, user: &str, args: &[&str]) -> anyhow::Result<Out> {
    let mut command = tokio::process::Command::new(binary("ctl")?);
    command.args(args).stdin(Stdio::null()).env("API_URL", &app.api_url).env("API_TOKEN", token_for(user, false));
    let out = tokio::time::timeout(Duration::from_secs(90), command.output()).await.context("ctl hung")??;
    let out = Out {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    Ok(out)
}

fn json_lines(text: &str) -> anyhow::Result<Vec<Value>> {
    text.lines().map(|l| serde_json::from_str(l).with_context(|| format!("not JSON: {l}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_follows_a_run_to_its_end_with_every_log_line_once() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 30, 1);
    app.ats.generate_board(Kind::Lever, "globex", 20, 2);
    // Slow enough that the follow sees the run while it works.
    app.ats.set_delay(Kind::Lever, "globex", Duration::from_millis(1500));
    let added = ctl(&app, "alice", &["companies", "add", "Acme", "greenhouse", "acme"]).await?;
    assert!(added.success, "{}", added.stderr);
    // Globex by its careers URL: the Lever board `globex`, as the answer says.
    let globex = ctl(&app, "alice", &["companies", "add-url", "Globex", "https://jobs.lever.co/globex/"]).await?;
    assert!(globex.success && globex.stdout.trim_end().ends_with("Globex: lever globex"), "{}", globex.stderr);
    let again = ctl(&app, "alice", &["companies", "add", "Acme", "greenhouse", "acme"]).await?;
    assert!(
        !again.success && again.stderr.contains("409") && again.stderr.contains("already follow"),
        "{}",
        again.stderr
    );
    let kept = ctl(&app, "alice", &["companies", "add", "Acme", "greenhouse", "acme", "--exists-ok"]).await?;
    assert!(kept.success && kept.stderr.contains("already followed"), "{}", kept.stderr);

    app.start_runner();
    let started = ctl(&app, "alice", &["runs", "start"]).await?;
    assert!(started.success, "{}", started.stderr);
    let id = started.stdout.trim().to_owned();
    let followed = ctl(&app, "alice", &["--json", "runs", "follow", &id]).await?;
    assert!(followed.success, "{}", followed.stderr);
    let mut lines = json_lines(&followed.stdout)?;
    let run = lines.pop().context("nothing printed")?;
    assert_eq!((run["id"].as_str(), run["status"].as_str()), (Some(id.as_str()), Some("finished")), "{run}");
    assert_eq!(run["counts"]["total"]["ready"], 50, "{run}");
    // The log as the logs route gives it, each line once and in order.
    let (_, logs) = app.call("alice", Method::GET, &format!("/api/ingestion/logs/{id}?limit=1000"), None).await?;
    assert_eq!(Some(&lines), logs["logs"].as_array(), "the lines ctl printed are the run's log");
    assert_eq!(lines.first().map(|l| &l["message"]), Some(&Value::from("run started")));

    // Text: the log, then the counts table.
    let text = ctl(&app, "alice", &["runs", "follow", &id]).await?;
    assert!(text.success, "{}", text.stderr);
    assert!(
        text.stdout.contains("run finished") && text.stdout.contains(&format!("Run {id}: FINISHED")),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.lines().any(|l| l.starts_with("total") && l.split_whitespace().nth(1) == Some("50")),
        "{}",
        text.stdout
    );

    // Another run is active (Globex answers in 1.5 s): start says which; --reuse-active answers it.
    let second = ctl(&app, "alice", &["runs", "start"]).await?;
    assert!(second.success, "{}", second.stderr);
    let second = second.stdout.trim().to_owned();
    let refused = ctl(&app, "alice", &["runs", "start"]).await?;
    let reused = ctl(&app, "alice", &["runs", "start", "--reuse-active"]).await?;
    let ended = app.run("alice", &second).await?.status.is_terminal();
    if !ended {
        assert!(!refused.success, "a second start while {second} runs: {}", refused.stdout);
        assert!(refused.stderr.contains("409") && refused.stderr.contains(&second), "{}", refused.stderr);
        assert_eq!(reused.stdout.trim(), second, "{}", reused.stderr);
    }
    app.wait_for_end("alice", &second, Duration::from_secs(60)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_does_not_finish_an_unknown_run_and_no_token_are_failures_that_say_why() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    // No runner: the run stays pending until it is aborted.
    let id = app.start_run("alice").await?;
    let follower = tokio::spawn({
        let (url, token, id) = (app.api_url.clone(), token_for("alice", false), id.clone());
        async move {
            let mut command = tokio::process::Command::new(binary("ctl")?);
            command.args(["runs", "follow", &id]).env("API_URL", url).env("API_TOKEN", token);
            anyhow::Ok(tokio::time::timeout(Duration::from_secs(60), command.output()).await??)
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _) = app.call("alice", Method::POST, &format!("/api/ingestion/runs/{id}/abort"), None).await?;
    assert_eq!(status, 202);
    let out = follower.await??;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.trim_end().ends_with(&format!("error: run {id} ended aborted")), "{stderr}");

    let unknown = uuid::Uuid::new_v4().to_string();
    let missing = ctl(&app, "alice", &["runs", "follow", &unknown]).await?;
    assert!(
        !missing.success && missing.stderr.contains("404") && missing.stderr.contains("not found"),
        "{}",
        missing.stderr
    );
    let bobs = ctl(&app, "bob", &["runs", "show", &id]).await?;
    assert!(!bobs.success && bobs.stderr.contains("404"), "another user's run: {}", bobs.stderr);

    let mut command = tokio::process::Command::new(binary("ctl")?);
    command.args(["runs", "show", &id]).env("API_URL", &app.api_url).env_remove("API_TOKEN");
    let out = command.output().await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("no API token") && stderr.contains("API_TOKEN"), "{stderr}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_creates_a_screening_job_follows_it_and_lists_its_flags() -> anyhow::Result<()> {
    let config =
        FakeConfig { decision: DecisionRule { hash_flag_rate: 1.0, ..Default::default() }, ..Default::default() };
    let screening = Screening::start(config).await?;
    let app = &screening.app;
    let args = ["jobs", "create", "--name", "remote?", "--instructions", "Is this job remote?", "--status", "ready"];
    let created = ctl(app, "alice", &args).await?;
    assert!(created.success, "{}", created.stderr);
    let id: uuid::Uuid = created.stdout.trim().parse()?;
    let follow = tokio::spawn({
        let (url, token) = (app.api_url.clone(), token_for("alice", false));
        async move {
            let mut command = tokio::process::Command::new(binary("ctl")?);
            command.args(["--json", "jobs", "follow", &id.to_string()]).env("API_URL", url).env("API_TOKEN", token);
            anyhow::Ok(tokio::time::timeout(Duration::from_secs(90), command.output()).await??)
        }
    });
    screening.poll_until_resolved(id).await?;
    let out = follow.await??;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let states = json_lines(&String::from_utf8_lossy(&out.stdout))?;
    let last = states.last().context("no state printed")?;
    assert_eq!((last["status"].as_str(), last["items_completed"].as_i64()), (Some("completed"), Some(12)), "{last}");
    assert!(states.windows(2).all(|w| w[0] != w[1]), "a state is printed when it changed: {states:?}");

    let flagged = ctl(app, "alice", &["--json", "postings", "--job", &id.to_string()]).await?;
    let flagged: Value = serde_json::from_str(&flagged.stdout)?;
    assert_eq!(flagged["postings"].as_array().map(Vec::len), Some(12), "{flagged}");
    let text = ctl(app, "alice", &["postings", "--job", &id.to_string(), "--limit", "5"]).await?;
    assert_eq!(text.stdout.lines().count(), 5, "{}", text.stdout);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctl_sets_shows_and_removes_the_schedule() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let none = ctl(&app, "alice", &["schedule", "show"]).await?;
    assert!(none.success && none.stdout.contains("no schedule"), "{}{}", none.stdout, none.stderr);
    let set = ctl(&app, "alice", &["schedule", "set", "--every-hours", "3"]).await?;
    assert!(set.success && set.stdout.contains("every 3 hour(s)"), "{}{}", set.stdout, set.stderr);
    let shown = ctl(&app, "alice", &["--json", "schedule", "show"]).await?;
    let shown: Value = serde_json::from_str(&shown.stdout)?;
    assert_eq!((shown["every_hours"].as_i64(), shown["cron"].is_null()), (Some(3), true), "{shown}");
    let refused = ctl(&app, "alice", &["schedule", "set", "--cron", "*/5 * * * *"]).await?;
    assert!(!refused.success && refused.stderr.contains("less than an hour apart"), "{}", refused.stderr);
    let cron =
        ctl(&app, "alice", &["schedule", "set", "--cron", "0 8 * * 1-5", "--time-zone", "Europe/Berlin"]).await?;
    assert!(cron.success && cron.stdout.contains("\"0 8 * * 1-5\" (Europe/Berlin)"), "{}{}", cron.stdout, cron.stderr);
    let removed = ctl(&app, "alice", &["schedule", "delete"]).await?;
    assert!(removed.success, "{}", removed.stderr);
    assert_eq!(app.call("alice", Method::GET, "/api/schedule", None).await?.0, 404);
    Ok(())
}
