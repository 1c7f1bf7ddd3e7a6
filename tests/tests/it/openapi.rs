//! The OpenAPI document against the router: every operation it lists reaches a handler, every other method on its
//! paths answers 405, and the API routes nothing it does not list (the UI's pages and assets aside).

use std::path::Path;

use anyhow::Context as _;
use axum::body::Body;
use bw_tests::api::TestApi;
use bw_tests::app::token_for;
use bw_tests::client::Api as _;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `path` with its `{parameters}` filled: ids with a UUID, queue names with `runs`.
fn filled(path: &str) -> String {
    let mut out = String::new();
    for (i, part) in path.split('{').enumerate() {
        match part.split_once('}') {
            Some((name, rest)) if i > 0 => {
                out.push_str(if name == "name" { "runs" } else { "00000000-0000-4000-8000-000000000000" });
                out.push_str(rest);
            }
            _ => out.push_str(part),
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed_and_nothing_else_is() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let served: Value = serde_json::from_str(&app.anonymous(Method::GET, "/api/openapi.json").await?.text)?;
    let doc = serde_json::to_value(bw_api::openapi())?;
    assert_eq!(served, doc, "the served document is the one built from the code");
    assert!(served["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", served["openapi"]);
    assert!(served["components"]["securitySchemes"]["bearer"].is_object(), "the bearer scheme is declared");

    let paths = served["paths"].as_object().context("the document has no paths")?;
    let token = token_for("ops", true);
    let mut operations = 0;
    for (path, item) in paths {
        let url = filled(path);
        for method in METHODS {
            let request = TestApi::request(Method::from_bytes(method.to_uppercase().as_bytes())?, &url, Some(&token))
                .header("content-type", "application/json")
                .body(Body::from("{}"))?;
            let answer = app.send(request).await?;
            let status = StatusCode::from_u16(answer.status)?;
            let body = answer.text;
            if item.get(method).is_some() {
                operations += 1;
                assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is documented but not routed");
                assert!(!body.contains("no route"), "{method} {path} is documented but fell through: {body}");
                let documented = item[method]["responses"].as_object().context("an operation without responses")?;
                assert!(
                    documented.contains_key(status.as_str()),
                    "{method} {path} answered {status}, which its document does not list: {body}"
                );
            } else {
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path} is routed but not documented");
            }
        }
    }
    assert!(operations >= 24, "{operations} operations");

    // Nothing outside the document: the only routes not declared through `utoipa_axum::routes!` are the UI's.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/api/src");
    let files = bw_tests::docs::rust_files(&src);
    assert!(files.iter().any(|f| f.ends_with("routes/mod.rs")), "the API's sources are not at {}", src.display());
    for file in files {
        let text = std::fs::read_to_string(&file)?;
        let undocumented = [".route(", ".route_service(", ".nest(", ".nest_service("].iter().any(|r| text.contains(r));
        assert!(!undocumented || file.ends_with("ui.rs"), "{} routes outside the OpenAPI document", file.display());
    }
    for path in ["/api/nope", "/api/ingestion/nope", "/openapi.json"] {
        let answer = app.send(TestApi::request(Method::GET, path, Some(&token)).body(Body::empty())?).await?;
        assert_eq!(answer.status, 404, "{path}");
        let body: Value = serde_json::from_str(&answer.text)?;
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    Ok(())
}

/// Schemathesis (pinned, installed into `.venv/schemathesis` by `scripts/test.sh` through `lib.sh`'s
/// `ensure_schemathesis`), or `SCHEMATHESIS` when set.
fn schemathesis() -> anyhow::Result<std::path::PathBuf> {
    let path = std::env::var_os("SCHEMATHESIS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/schemathesis/bin/st"),
        std::path::PathBuf::from,
    );
    anyhow::ensure!(
        path.is_file(),
        "{} is missing: run the tests through scripts/test.sh (it installs schemathesis)",
        path.display()
    );
    Ok(path)
}

/// One schemathesis run against the app as `user`.
async fn schemathesis_run(st: &Path, api_url: &str, user: &str, operator: bool) -> anyhow::Result<(bool, String)> {
    let output = tokio::process::Command::new(st)
        .arg("run")
        .arg(format!("{api_url}/api/openapi.json"))
        .args(["--url", api_url])
        .args(["--header", &format!("Authorization: Bearer {}", token_for(user, operator))])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--max-examples", "25", "--seed", "1", "--workers", "2"])
        // Hypothesis's one timed health check (data generation being slow) fails a run on a loaded machine, and
        // says nothing of the API; the others depend only on the document and the seed, and stay.
        .args(["--suppress-health-check", "too_slow"])
        // Progress streams answer forever while a run is active: their shape is tested elsewhere.
        .args(["--exclude-path-regex", "/progress$"])
        .arg("--no-color")
        .current_dir(std::env::temp_dir())
        .output()
        .await
        .context("failed to run schemathesis")?;
    let text = format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    Ok((output.status.success(), text))
}

/// Generated requests against every documented operation, as a user with data and as an operator: no answer is a
/// 5xx, and every answer's status, content type and body are the ones the document gives for the operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_answer_the_document_does_not_describe() -> anyhow::Result<()> {
    let st = schemathesis()?;
    let app = TestApi::spawn().await?;
    // Data for the generated ids and filters to find: a company and a run.
    app.boards.generate(bw_vocab::BoardKind::Greenhouse, "acme", 5);
    app.add_company("fuzz", "Acme", "greenhouse", "acme").await?;
    let _ = app.start_run("fuzz").await?;
    let (api_url, _served) = app.serve().await?;
    for (user, operator) in [("fuzz", false), ("ops", true)] {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (passed, output) = schemathesis_run(&st, &api_url, user, operator).await?;
            if passed {
                break;
            }
            // Schemathesis's own crash inside Hypothesis (seen once in a clean clone: CPython 3.11's "AST
            // constructor recursion depth mismatch" while Hypothesis described a strategy) says nothing of the
            // API: that run is tried again, up to three times. A failure of a check never is.
            let tool_crash = output.contains("Runtime Error") && !output.contains("Failures:");
            assert!(tool_crash && attempts < 3, "schemathesis as {user} found failures (try {attempts}):\n{output}");
            eprintln!("schemathesis crashed inside itself (try {attempts}); running it again:\n{output}");
        }
    }
    Ok(())
}
