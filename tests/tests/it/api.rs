//! The API's answers to bad input, to other users' objects, to concurrent run starts, and to a queue that fails:
//! its router in-process, over PostgreSQL, with in-memory seams.

use std::time::Duration;

use axum::body::Body;
use base64::Engine as _;
use bw_api::routes::dry_run::DryRun;
use bw_api::routes::runs::{RunList, RunView};
use bw_api::seams::Destination;
use bw_tests::api::TestApi;
use bw_tests::app::token_for;
use bw_tests::client::Api as _;
use bw_vocab::{BoardKind, RunStatus};
use reqwest::Method;
use serde_json::{Value, json};

fn message(body: &Value) -> String {
    body["error"]["message"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_careers_url_becomes_the_board_it_names() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    for (url, kind, token, region) in [
        ("https://boards.greenhouse.io/airbnb/jobs/1", "greenhouse", "airbnb", "us"),
        ("https://job-boards.eu.greenhouse.io/acme", "greenhouse", "acme", "eu"),
        ("https://jobs.lever.co/plaid?lever-source=x", "lever", "plaid", "us"),
        ("https://jobs.ashbyhq.com/linear", "ashby", "linear", "us"),
        ("https://apply.workable.com/vasion/", "workable", "vasion", "us"),
        ("https://acme.recruitee.com/o/engineer", "recruitee", "acme", "us"),
        ("https://acme-gmbh.jobs.personio.de/job/1834171", "personio", "acme-gmbh", "us"),
        ("https://ferd.teamtailor.com/jobs", "teamtailor", "ferd", "us"),
        ("https://collectivemeasures.bamboohr.com/careers", "bamboohr", "collectivemeasures", "us"),
        ("https://jobs.smartrecruiters.com/Vitol/744000133666057-platform-engineer", "smartrecruiters", "Vitol", "us"),
        (
            "https://nvidia.wd5.myworkdayjobs.com/en-US/NVIDIAExternalCareerSite/job/US-CA-Santa-Clara/x_JR1",
            "workday",
            "https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite",
            "us",
        ),
        ("https://www.example.com/careers", "jsonld", "https://www.example.com/careers", "us"),
    ] {
        let body = json!({ "name": kind, "url": url });
        let (status, company) = app.call("alice", Method::POST, "/api/companies", Some(body)).await?;
        assert_eq!(status, 201, "{url} -> {company}");
        let chosen =
            (company["board_kind"].as_str(), company["board_token"].as_str(), company["board_region"].as_str());
        assert_eq!(chosen, (Some(kind), Some(token), Some(region)), "{url} -> {company}");
    }
    let again = json!({ "name": "Airbnb", "url": "https://job-boards.greenhouse.io/airbnb" });
    let (status, answer) = app.call("alice", Method::POST, "/api/companies", Some(again)).await?;
    assert_eq!(status, 409, "the same board by another of its URLs: {answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_company_input_gets_a_4xx_naming_the_problem() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let cases = [
        (
            json!({ "name": "Acme", "board_token": "acme" }),
            "give either url (a careers URL) or board_kind with board_token",
        ),
        (
            json!({ "name": "Acme", "url": "https://jobs.lever.co/acme", "board_kind": "lever", "board_token": "acme" }),
            "give either url",
        ),
        (json!({ "name": "Acme", "url": "jobs dot lever" }), "url: \"jobs dot lever\" is not a URL"),
        (
            json!({ "name": "Acme", "url": "https://jobs.lever.co/" }),
            "url: \"https://jobs.lever.co/\" is a lever address without",
        ),
        (
            json!({ "name": "Acme", "url": "https://acme.wd5.myworkdayjobs.com/" }),
            "url: \"https://acme.wd5.myworkdayjobs.com/\" is a workday address without the board's name",
        ),
        (
            json!({ "name": "Acme", "board_kind": "workday", "board_token": "acme" }),
            "board_token: board token for workday must be the careers site's URL",
        ),
        (
            json!({ "name": "Acme", "board_kind": "recruitee", "board_token": "https://jobs.acme.com/?x=1" }),
            "board_token: board token for recruitee must be the board's URL without a query",
        ),
        (
            json!({ "name": 5, "board_kind": "lever", "board_token": "acme" }),
            "name: invalid type: integer `5`, expected a string",
        ),
        (
            json!({ "name": "Acme", "board_kind": "icims", "board_token": "acme" }),
            "board_kind: unknown board kind \"icims\"",
        ),
        (
            json!({ "name": "Acme", "board_kind": "lever", "board_token": "../etc" }),
            "board_token: board token for lever must be",
        ),
        (
            json!({ "name": "Acme", "board_kind": "jsonld", "board_token": "ftp://x" }),
            "board_token: board token for jsonld",
        ),
        (json!({ "name": " ", "board_kind": "lever", "board_token": "acme" }), "name must be 1-200 characters"),
        (
            json!({ "name": "Acme", "board_kind": "lever", "board_token": "acme", "boardKind": 1 }),
            "unknown field `boardKind`",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = app.call("alice", Method::POST, "/api/companies", Some(body.clone())).await?;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert!(message(&answer).contains(expected), "{body} -> {answer}");
    }
    let token = token_for("alice", false);
    let raw = TestApi::request(Method::POST, "/api/companies", Some(&token))
        .header("content-type", "application/json")
        .body(Body::from("{not json"))?;
    let raw = app.send(raw).await?;
    assert_eq!(raw.status, 400);
    assert!(raw.text.contains("not valid JSON"));

    app.add_company("alice", "Acme", "lever", "acme").await?;
    let (status, answer) = app
        .call(
            "alice",
            Method::POST,
            "/api/companies",
            Some(json!({ "name": "Again", "board_kind": "lever", "board_token": "acme" })),
        )
        .await?;
    assert_eq!(status, 409, "{answer}");
    assert!(message(&answer).contains("already follow"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_forged_and_unsigned_tokens_get_401_and_a_query_token_is_accepted() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let now = chrono::Utc::now().timestamp().unsigned_abs();
    let claims = |exp: u64| bw_auth::Claims {
        sub: "alice".into(),
        iss: bw_auth::ISSUER.into(),
        iat: now - 7200,
        exp,
        operator: false,
    };
    let keys = bw_tests::app::test_keys();
    let expired = keys.sign_claims(&claims(now - 3600)).map_err(anyhow::Error::msg)?;
    let other = bw_auth::Keys::new(&bw_config::Secret::new("a different secret, also 32 bytes or more"))
        .map_err(anyhow::Error::msg)?;
    let forged = other.sign("alice", Duration::from_secs(60), false).map_err(anyhow::Error::msg)?;
    let b64 = |s: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let payload = b64(serde_json::to_string(&claims(now + 3600))?);
    let unsigned = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#.to_owned()));
    // A valid token's header and claims with the signature cut off.
    let valid = token_for("alice", false);
    let stripped = valid.rsplit_once('.').map(|(signed, _)| format!("{signed}.")).unwrap_or_default();
    for (token, expected) in [
        (expired.as_str(), "token has expired"),
        (forged.as_str(), "token signature is invalid"),
        (unsigned.as_str(), ""),
        (stripped.as_str(), ""),
        ("not-a-jwt", "token is malformed"),
    ] {
        for request in [
            TestApi::request(Method::GET, "/api/companies", Some(token)),
            TestApi::request(Method::GET, &format!("/api/companies?token={token}"), None),
        ] {
            let answer = app.send(request.body(Body::empty())?).await?;
            assert_eq!(answer.status, 401, "{token}");
            assert_eq!(answer.headers.get("www-authenticate").map(|v| v.as_bytes()), Some(&b"Bearer"[..]));
            let body: Value = serde_json::from_str(&answer.text)?;
            assert!(message(&body).contains(expected), "{token}: {body}");
        }
    }
    // The runs list refuses unknown query parameters: the token must not reach it.
    let by_query = TestApi::request(Method::GET, &format!("/api/ingestion/runs?token={valid}&limit=5"), None);
    let by_query = app.send(by_query.body(Body::empty())?).await?;
    assert_eq!(by_query.status, 200, "{}", by_query.text);
    let missing = app.send(TestApi::request(Method::GET, "/api/companies", None).body(Body::empty())?).await?;
    let missing: Value = serde_json::from_str(&missing.text)?;
    assert!(message(&missing).contains("?token="), "{missing}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_and_scoping() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let anonymous = app.send(TestApi::request(Method::GET, "/api/companies", None).body(Body::empty())?).await?;
    assert_eq!(anonymous.status, 401);

    let company = app.add_company("alice", "Acme", "lever", "acme").await?;
    let run = app.start_run("alice").await?;
    let unknown = uuid::Uuid::new_v4();
    let not_found = [
        (Method::DELETE, format!("/api/companies/{company}")),
        (Method::DELETE, format!("/api/companies/{unknown}")),
        (Method::GET, format!("/api/ingestion/runs/{run}")),
        (Method::POST, format!("/api/ingestion/runs/{run}/abort")),
        (Method::GET, format!("/api/ingestion/runs/{run}/events")),
        (Method::GET, format!("/api/ingestion/runs/{unknown}")),
    ];
    for (method, path) in not_found {
        let (status, answer) = app.call("bob", method.clone(), &path, None).await?;
        assert_eq!(status, 404, "{method} {path} -> {answer}");
    }
    let (_, bobs) = app.call("bob", Method::GET, "/api/companies", None).await?;
    assert_eq!(bobs["companies"], json!([]));

    for (path, expected) in [
        ("/api/ingestion/runs/not-a-uuid".to_owned(), "invalid path"),
        ("/api/ingestion/runs?limit=0".to_owned(), "limit must be between 1 and 100"),
        ("/api/ingestion/runs?limit=ten".to_owned(), "invalid query"),
        (format!("/api/ingestion/runs/{run}/events?after=x"), "invalid query"),
    ] {
        let (status, answer) = app.call("alice", Method::GET, &path, None).await?;
        assert_eq!(status, 400, "{path} -> {answer}");
        assert!(message(&answer).contains(expected), "{path} -> {answer}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_starts_give_one_run_and_one_conflict() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let start = || app.call("alice", Method::POST, "/api/ingestion/runs", None);
    let ((a, body_a), (b, body_b)) = tokio::try_join!(start(), start())?;
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert_eq!(statuses, [202, 409], "{body_a} {body_b}");
    let (accepted, conflict) = if a == 202 { (body_a, body_b) } else { (body_b, body_a) };
    assert_eq!(conflict["error"]["details"]["run_id"], accepted["id"]);
    // Another user is not blocked by Alice's run.
    let bobs = app.start_run("bob").await?;
    // Each started run sent exactly one message, naming the run and its user, with the run's id as an attribute.
    let accepted: RunView = serde_json::from_value(accepted)?;
    let sent = app.queue.sent_to(Destination::Runs);
    let bodies: Vec<Value> = sent.iter().map(|m| serde_json::from_str(&m.body)).collect::<Result<_, _>>()?;
    assert_eq!(
        bodies.iter().map(|b| (b["run_id"].as_str(), b["user_id"].as_str())).collect::<Vec<_>>(),
        [(Some(accepted.id.to_string().as_str()), Some("alice")), (Some(bobs.as_str()), Some("bob"))],
        "{bodies:?}"
    );
    assert!(
        sent.iter()
            .all(|m| m.attributes.iter().any(|(k, v)| k == "run_id" && bodies.iter().any(|b| b["run_id"] == *v)))
    );
    assert!(app.queue.sent_to(Destination::LlmJobs).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_enqueue_fails_answers_503_and_does_not_stay_pending() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    app.queue.fail_sends(true);
    let (status, answer) = app.call("alice", Method::POST, "/api/ingestion/runs", None).await?;
    assert_eq!(status, 503, "{answer}");
    assert!(message(&answer).contains("marked failed"), "{answer}");
    let runs: RunList = app.get("alice", "/api/ingestion/runs").await?;
    assert_eq!(runs.runs[0].status, RunStatus::Failed, "{runs:?}");
    // The failed run does not block the next attempt (it is not left active).
    let (status, _) = app.call("alice", Method::POST, "/api/ingestion/runs", None).await?;
    assert_eq!(status, 503);
    assert_eq!(app.db.scalar("SELECT count(*) FROM runs WHERE status = 'failed'").await?, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_reports_per_company_and_writes_nothing() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    app.boards.generate(BoardKind::Ashby, "initech", 7);
    app.add_company("alice", "Initech", "ashby", "initech").await?;
    app.add_company("alice", "Missing", "lever", "nobody-here").await?;
    let (status, answer) = app.call("alice", Method::POST, "/api/ingestion/dry-run", None).await?;
    assert_eq!(status, 200, "{answer}");
    let answer: DryRun = serde_json::from_value(answer)?;
    assert_eq!(answer.total_found, 7);
    assert_eq!((answer.companies[0].found, answer.companies[0].sample_titles.len()), (7, 5));
    assert!(!answer.companies[1].ok);
    assert!(answer.companies[1].error.as_deref().is_some_and(|e| e.contains("404")), "{answer:?}");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM postings").await? + app.db.scalar("SELECT count(*) FROM runs").await?,
        0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aborting_a_run_whose_worker_died_ends_it_at_once() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let run = app.start_run("alice").await?;
    // A worker took the run and died: its lease has expired.
    app.db
        .exec(&format!(
            "UPDATE runs SET status = 'ingesting', lease_owner = gen_random_uuid(), lease_until = now() - interval '1 minute' WHERE id = '{run}'"
        ))
        .await?;
    let (status, body) = app.call("alice", Method::POST, &format!("/api/ingestion/runs/{run}/abort"), None).await?;
    assert_eq!(status, 202, "{body}");
    let aborted: RunView = serde_json::from_value(body)?;
    assert_eq!(aborted.status, RunStatus::Aborted, "{aborted:?}");
    app.start_run("alice").await?;
    Ok(())
}
