//! A fake ATS (career board) HTTP server for integration tests, the demo and benchmarks.
//!
//! It answers on the same paths as the real services, so a client only swaps its base URL: Greenhouse, Lever and
//! Ashby, a careers page carrying schema.org `JobPosting` JSON-LD, Workable and SmartRecruiters at their shared
//! hosts' paths, and the tenant-hosted boards under `/{kind}/{token}` followed by the real path (Workday's CXS API,
//! Teamtailor's JSON and RSS feeds, Recruitee's offers, Personio's XML feed, BambooHR's careers API; `ats/` says
//! which path answers what). Boards are either generated from real fixture items used as templates, or real fixture
//! files served verbatim. Tests steer it through the methods of [`FakeAts`]; other processes use the HTTP control
//! API under `/_fake/` (see `control.rs`).

/// A fixture file's text, compiled in (generated postings are filled-in clones of its items).
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $path))
    };
}

mod ats;
mod control;
mod fixtures;
mod generate;
mod mutate;
mod render;
mod routes;
mod shapes;
mod state;
mod text;
mod xml;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

pub use state::BoardSummary;

/// Which career board an answer imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Greenhouse,
    Lever,
    Ashby,
    Jsonld,
    /// Workday's CXS API; a board's token is `{tenant}.{site}`.
    Workday,
    Workable,
    Smartrecruiters,
    Teamtailor,
    Recruitee,
    Personio,
    Bamboohr,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Greenhouse,
        Kind::Lever,
        Kind::Ashby,
        Kind::Jsonld,
        Kind::Workday,
        Kind::Workable,
        Kind::Smartrecruiters,
        Kind::Teamtailor,
        Kind::Recruitee,
        Kind::Personio,
        Kind::Bamboohr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Greenhouse => "greenhouse",
            Kind::Lever => "lever",
            Kind::Ashby => "ashby",
            Kind::Jsonld => "jsonld",
            Kind::Workday => "workday",
            Kind::Workable => "workable",
            Kind::Smartrecruiters => "smartrecruiters",
            Kind::Teamtailor => "teamtailor",
            Kind::Recruitee => "recruitee",
            Kind::Personio => "personio",
            Kind::Bamboohr => "bamboohr",
        }
    }

    /// Parses the lowercase name used in paths and JSON.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way for a board to misbehave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// 404 with the service's usual body, as for an unknown board (Personio: the HTML page of a tenant whose feed is
    /// disabled).
    NotFound,
    /// 500.
    ServerError,
    /// 200 with a body cut in half (JSON or XML that does not parse), or invalid JSON inside the ld+json script of a
    /// careers page.
    Malformed,
    /// Sleeps 120 s before answering.
    Hang,
}

/// How long a [`Failure::Hang`] board waits before it answers.
pub const HANG: Duration = Duration::from_secs(120);

/// The key under which a Greenhouse or Lever board on its service's EU host is kept: such a board is served only
/// under `/eu` (where `bw_extract::BoardUrls::all` puts the EU hosts), and a board kept under its bare token
/// only on the main host.
pub fn eu(token: &str) -> String {
    format!("eu/{token}")
}

/// The fake's shared state; clones share it.
#[derive(Clone, Default)]
pub struct FakeAts {
    pub(crate) state: Arc<state::State>,
}

impl FakeAts {
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `addr` (port 0 picks a free port) and serves the fake on the current tokio runtime.
    pub async fn serve(&self, addr: SocketAddr) -> anyhow::Result<FakeAtsServer> {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the fake ATS to {addr}"))?;
        let local = listener.local_addr().context("reading the fake ATS's bound address")?;
        let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
        let app = routes::router(self.clone(), shutdown_rx);
        let handle = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake ATS server stopped");
            }
        });
        Ok(FakeAtsServer { base_url: format!("http://{local}"), addr: local, handle, shutdown: shutdown_tx })
    }

    /// Replaces the board with `count` deterministic postings; ids are unique per (kind, token, seed, index).
    ///
    /// Per kind, as real boards do: one Workable job in five is in two or three locations (listed once per
    /// location); one Personio position in ten is listed twice, and some have no `jobDescriptions`; a BambooHR
    /// board with an odd seed reports one more in `meta.totalCount` than it lists; Workday dates are relative to
    /// today, so `postedOn` varies.
    pub fn generate_board(&self, kind: Kind, token: &str, count: usize, seed: u64) {
        self.state.generate_board(kind, token, count, seed);
    }

    /// Serves a real fixture file (path relative to `tests/fixtures`) verbatim and returns its posting count.
    ///
    /// The fixtures directory is `$FIXTURES_DIR` if set, else the workspace's `tests/fixtures`. For
    /// [`Kind::Jsonld`] the path may also name a directory: every `.html` file in it goes on one careers page.
    ///
    /// Workday, SmartRecruiters and BambooHR take a list file or a detail file. A list's postings get their detail
    /// from a `*detail*.json` file beside it that names them (served verbatim), the others one built from the
    /// detail template. Teamtailor's board serves only the feed its file is (`.json` or `.rss`).
    pub fn load_fixture_board(&self, kind: Kind, token: &str, fixture: &str) -> anyhow::Result<usize> {
        let loaded = fixtures::load(kind, token, fixture)?;
        Ok(self.state.insert_fixture_board(kind, token, loaded))
    }

    /// Serves `html` verbatim as the careers page of [`Kind::Jsonld`] board `token` (until the board is changed,
    /// when the page is built from its postings) and returns the board's posting count: the `JobPosting`s of the
    /// page's ld+json blocks that are valid JSON. For pages no generator makes: broken blocks, postings without ids.
    pub fn load_page(&self, token: &str, html: &str) -> usize {
        self.state.insert_fixture_board(Kind::Jsonld, token, fixtures::page(token, html))
    }

    /// Removes the board together with its failure and delay settings.
    pub fn remove_board(&self, kind: Kind, token: &str) {
        self.state.remove_board(kind, token);
    }

    /// The board's posting ids in the order it lists them (empty for an unknown board).
    pub fn posting_ids(&self, kind: Kind, token: &str) -> Vec<String> {
        self.state.posting_ids(kind, token)
    }

    /// Alters the posting's title and description (and Greenhouse's `updated_at`), keeping its id. Ids containing
    /// `/` (Workday's `externalPath`) are given as they are here, percent-encoded in the control API's paths.
    pub fn change_posting(&self, kind: Kind, token: &str, id: &str) -> bool {
        self.state.change_posting(kind, token, id)
    }

    pub fn remove_posting(&self, kind: Kind, token: &str, id: &str) -> bool {
        self.state.remove_posting(kind, token, id)
    }

    /// Appends `count` generated postings (creating the board if needed) and returns their ids.
    pub fn add_postings(&self, kind: Kind, token: &str, count: usize) -> Vec<String> {
        self.state.add_postings(kind, token, count)
    }

    /// Makes every request for the board fail this way (`None` heals it). Kept even while the board does not
    /// exist, so a failure can be set up before the board is.
    pub fn set_failure(&self, kind: Kind, token: &str, failure: Option<Failure>) {
        self.state.set_failure(kind, token, failure);
    }

    /// Waits this long before answering list requests (and careers pages) for the board.
    pub fn set_delay(&self, kind: Kind, token: &str, delay: Duration) {
        self.state.set_delay(kind, token, delay);
    }

    /// Answers more than `per_second` requests to the board (lists and details) within one second with 429,
    /// `Retry-After: 1` and the service's error body, as Workable and Workday do with bursts (`None` lifts it).
    pub fn set_rate_limit(&self, kind: Kind, token: &str, per_second: Option<u32>) {
        self.state.set_rate_limit(kind, token, per_second);
    }

    /// Requests received whose path starts with `path_prefix` (counted on arrival, control API included).
    pub fn request_count(&self, path_prefix: &str) -> u64 {
        self.state.request_count(path_prefix)
    }

    /// Every board with its posting count, sorted by kind then token.
    pub fn boards(&self) -> Vec<BoardSummary> {
        self.state.summaries()
    }

    /// Loads the demo set that `fake-ats --sample` serves.
    pub fn load_sample(&self) -> anyhow::Result<()> {
        self.load_fixture_board(Kind::Greenhouse, "airbnb", "greenhouse/gh_airbnb_board_jobs_content_true.json")?;
        self.load_fixture_board(Kind::Lever, "plaid", "lever/lever_plaid_postings.json")?;
        self.load_fixture_board(Kind::Ashby, "linear", "ashby/ashby_linear_job_board.json")?;
        self.load_fixture_board(Kind::Jsonld, "lamp", "jsonld")?;
        self.generate_board(Kind::Greenhouse, "acme", 40, 1);
        self.generate_board(Kind::Lever, "globex", 25, 1);
        self.generate_board(Kind::Ashby, "initech", 30, 1);
        self.generate_board(Kind::Jsonld, "umbrella", 12, 1);
        self.generate_board(Kind::Lever, &eu("hooli"), 15, 1);
        self.load_fixture_board(
            Kind::Workday,
            "nvidia.NVIDIAExternalCareerSite",
            "workday/eujobfeeds_nvidia_list.json",
        )?;
        self.generate_board(Kind::Workday, "initrode.External", 60, 1);
        self.generate_board(Kind::Workable, "vandelay", 20, 1);
        self.load_fixture_board(Kind::Smartrecruiters, "Vitol", "smartrecruiters/vjd_vitol_list_limit5.json")?;
        self.load_fixture_board(Kind::Teamtailor, "ferd", "teamtailor/jobba_ferd_jobs.rss")?;
        self.generate_board(Kind::Recruitee, "wonka", 12, 1);
        self.generate_board(Kind::Personio, "soylent", 15, 1);
        self.load_fixture_board(
            Kind::Bamboohr,
            "collectivemeasures",
            "bamboohr/mwbackend_collectivemeasures_list.json",
        )?;
        Ok(())
    }
}

/// A running fake; dropping it stops the server and wakes hanging requests.
pub struct FakeAtsServer {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl FakeAtsServer {
    /// The careers page of a [`Kind::Jsonld`] board.
    pub fn careers_url(&self, token: &str) -> String {
        format!("{}/careers/{token}", self.base_url)
    }

    /// The URL a client fetches for the board's postings (the list endpoint with its usual query). Workday's is
    /// POSTed to with a JSON search body; a Workday token is `{tenant}.{site}`.
    pub fn board_url(&self, kind: Kind, token: &str) -> String {
        let base = &self.base_url;
        match kind {
            Kind::Greenhouse => format!("{base}/v1/boards/{token}/jobs?content=true"),
            Kind::Lever => format!("{base}/v0/postings/{token}?mode=json"),
            Kind::Ashby => format!("{base}/posting-api/job-board/{token}?includeCompensation=true"),
            Kind::Jsonld => self.careers_url(token),
            Kind::Workday => {
                let (tenant, site) = token.split_once('.').unwrap_or((token, token));
                format!("{base}/workday/{tenant}/wday/cxs/{tenant}/{site}/jobs")
            }
            Kind::Workable => format!("{base}/api/v1/widget/accounts/{token}?details=true"),
            Kind::Smartrecruiters => format!("{base}/v1/companies/{token}/postings?limit=100&offset=0"),
            Kind::Teamtailor => format!("{base}/teamtailor/{token}/jobs.json"),
            Kind::Recruitee => format!("{base}/recruitee/{token}/api/offers/"),
            Kind::Personio => format!("{base}/personio/{token}/xml"),
            Kind::Bamboohr => format!("{base}/bamboohr/{token}/careers/list"),
        }
    }
}

impl Drop for FakeAtsServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.handle.abort();
    }
}
