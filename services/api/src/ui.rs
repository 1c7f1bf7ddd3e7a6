//! The web UI: one HTML page, its style sheet and its script modules (`services/api/ui/`), embedded in the binary
//! so the Lambda build carries them. No authentication here: the page asks for a token and sends it to the API.
//! Every asset goes out with a strict Content-Security-Policy (scripts and styles only from this origin, so none
//! inline) and without a referrer, because the token arrives once in the page's URL.

use axum::Router;
use axum::http::header::{self, HeaderName};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

/// The page's policy: nothing from elsewhere, no inline script or style, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";

/// One embedded file and where it is served.
#[derive(Debug)]
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset { path: $path, content_type: $type, body: include_str!(concat!("../ui/", $file)) }
    };
}

/// Every file of the UI. `app.js` imports the other modules by relative path, so they live under `/ui/` too.
pub const ASSETS: &[Asset] = &[
    asset!("/", "index.html", HTML),
    asset!("/ui/app.css", "app.css", CSS),
    asset!("/ui/app.js", "app.js", JS),
    asset!("/ui/api.js", "api.js", JS),
    asset!("/ui/dom.js", "dom.js", JS),
    asset!("/ui/meta.js", "meta.js", JS),
    asset!("/ui/companies.js", "companies.js", JS),
    asset!("/ui/runs.js", "runs.js", JS),
    asset!("/ui/run.js", "run.js", JS),
    asset!("/ui/log.js", "log.js", JS),
    asset!("/ui/jobs.js", "jobs.js", JS),
    asset!("/ui/job.js", "job.js", JS),
    asset!("/ui/ops.js", "ops.js", JS),
    asset!("/ui/widgets.js", "widgets.js", JS),
    asset!("/ui/postings.js", "postings.js", JS),
    asset!("/ui/posting.js", "posting.js", JS),
    asset!("/ui/schedule.js", "schedule.js", JS),
    asset!("/ui/screens.js", "screens.js", JS),
    asset!("/ui/screen.js", "screen.js", JS),
];

/// `GET` routes for the UI's files.
pub fn router() -> Router<AppState> {
    routes()
}

/// The routes over any state, so they can be tested without the API's.
fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS
        .iter()
        .fold(Router::new(), |router, asset| router.route(asset.path, get(move || async move { serve(asset) })))
}

fn serve(asset: &'static Asset) -> impl IntoResponse {
    let headers: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_TYPE, asset.content_type),
        // Revalidate every time: a new deploy must not leave an old script talking to a new API.
        (header::CACHE_CONTROL, "no-cache"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ];
    (headers, asset.body)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;

    async fn get(path: &str) -> axum::response::Response {
        let request = Request::get(path).body(Body::empty()).unwrap_or_else(|e| panic!("{e}"));
        routes::<()>().oneshot(request).await.unwrap_or_else(|e| match e {})
    }

    fn header<'a>(response: &'a axum::response::Response, name: &str) -> &'a str {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    #[tokio::test]
    async fn page_script_and_style_are_served_with_their_type_and_policy() {
        for (path, content_type, starts) in [
            ("/", "text/html; charset=utf-8", "<!doctype html>"),
            ("/ui/app.js", "text/javascript; charset=utf-8", "//"),
            ("/ui/app.css", "text/css; charset=utf-8", "/*"),
        ] {
            let response = get(path).await;
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(header(&response, "content-type"), content_type, "{path}");
            assert_eq!(header(&response, "content-security-policy"), CSP, "{path}");
            assert_eq!(header(&response, "x-content-type-options"), "nosniff", "{path}");
            assert_eq!(header(&response, "referrer-policy"), "no-referrer", "{path}");
            assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
            let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap_or_default();
            assert!(String::from_utf8_lossy(&body).starts_with(starts), "{path}");
        }
    }

    #[tokio::test]
    async fn files_that_are_not_assets_are_not_served() {
        for path in ["/ui/", "/ui/nope.js", "/ui/../src/lib.rs", "/index.html"] {
            assert_eq!(get(path).await.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }

    /// Every module a script imports (`from './x.js'`) is an asset, so the page cannot load half its code.
    #[test]
    fn every_imported_module_is_served() {
        let served: Vec<&str> = ASSETS.iter().map(|a| a.path).collect();
        for asset in ASSETS.iter().filter(|a| a.content_type == JS) {
            for import in asset.body.split("from './").skip(1) {
                let file = import.split('\'').next().unwrap_or_default();
                assert!(served.contains(&format!("/ui/{file}").as_str()), "{} imports {file}, not served", asset.path);
            }
        }
    }

    /// The page loads only this origin's files (the policy would refuse anything else) and no inline script.
    #[test]
    fn the_page_has_no_inline_script_or_style() {
        let html = ASSETS[0].body;
        assert!(html.contains(r#"<script type="module" src="/ui/app.js"></script>"#));
        for forbidden in [" style=", "<style", " onclick=", " onload=", "javascript:", "http://", "https://"] {
            assert!(!html.contains(forbidden), "index.html contains {forbidden:?}");
        }
    }
}
