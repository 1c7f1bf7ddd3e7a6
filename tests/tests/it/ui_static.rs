//! The web UI against the real router: the page arrives as the demo links to it (`/?token=…`), and every API path
//! the UI's script calls is a route (an unauthenticated call answers 401 or 405, never 404; a path the document marks
//! public answers 200).

use bw_tests::api::TestApi;
use reqwest::{Method, StatusCode};

/// The UI's API paths: the `paths` table of `api.js`, parameters filled in (an id, a queue name, a query).
fn ui_paths() -> Vec<String> {
    let source = include_str!("../../../services/api/ui/api.js");
    let table = source.split("export const paths = {").nth(1).and_then(|rest| rest.split("\n};").next());
    let table = table.unwrap_or_else(|| panic!("api.js has no `export const paths = {{ … }};` table"));
    table
        .lines()
        .filter_map(|line| {
            let start = line.find("'/api/").or_else(|| line.find("`/api/"))?;
            let quote = &line[start..=start];
            let rest = &line[start + 1..];
            Some(fill(&rest[..rest.find(quote)?]))
        })
        .collect()
}

/// Replaces each `${…}` of a template literal with a value of its kind.
fn fill(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e);
        let expr = &rest[start + 2..end];
        out.push_str(match expr {
            e if e.contains("name") => "runs",
            e if e.contains("id") => "00000000-0000-4000-8000-000000000000",
            e if e.contains("query") => "limit=1",
            _ => "1",
        });
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

#[test]
fn the_path_table_is_read() {
    let paths = ui_paths();
    assert!(paths.contains(&"/api/ingestion/runs/00000000-0000-4000-8000-000000000000/abort".to_owned()), "{paths:?}");
    assert!(paths.contains(&"/api/ops/queues/runs/dlq/peek".to_owned()), "{paths:?}");
    assert!(
        paths.contains(&"/api/ingestion/logs/00000000-0000-4000-8000-000000000000?limit=1".to_owned()),
        "{paths:?}"
    );
    assert!(paths.iter().all(|p| !p.contains('$') && !p.contains('{')), "{paths:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_path_the_ui_calls_is_routed() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let paths = ui_paths();
    assert!(paths.len() >= 20, "{paths:?}");
    let document: serde_json::Value =
        serde_json::from_str(&app.anonymous(Method::GET, "/api/openapi.json").await?.text)?;
    let public = |path: &str| document["paths"][path]["get"]["security"] == serde_json::json!([{}]);
    for path in paths {
        let status = StatusCode::from_u16(app.anonymous(Method::GET, &path).await?.status)?;
        if public(&path) {
            assert_eq!(status, StatusCode::OK, "GET {path} is public in the document but answered {status}");
            continue;
        }
        assert!(
            matches!(status, StatusCode::UNAUTHORIZED | StatusCode::METHOD_NOT_ALLOWED),
            "GET {path} without a token answered {status}: the UI calls a path the API does not route"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_arrives_with_its_token_in_the_address_and_its_policy() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let page = app.anonymous(Method::GET, "/?token=not.checked.here").await?;
    assert_eq!(page.status, 200);
    let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(csp, bw_api::ui::CSP);
    assert_eq!(page.headers.get("referrer-policy").and_then(|v| v.to_str().ok()), Some("no-referrer"));
    assert!(page.text.contains(r#"<script type="module" src="/ui/app.js"></script>"#));
    for asset in bw_api::ui::ASSETS {
        let response = app.anonymous(Method::GET, asset.path).await?;
        assert_eq!(response.status, 200, "{}", asset.path);
        assert_eq!(
            response.headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some(asset.content_type),
            "{}",
            asset.path
        );
    }
    Ok(())
}
