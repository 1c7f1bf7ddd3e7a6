//! [`HttpBoards`]: the [`BoardSource`] that calls the real board APIs (or a fake server at the same paths).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use backon::{ExponentialBuilder, Retryable as _};
use tokio::sync::Semaphore;

use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, CONTENT_TYPE, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use serde_json::Value;

mod assemble;
mod lever;
mod urls;

pub use urls::{BoardUrls, Site};

use crate::body::SpoolWriter;
use crate::listing::parse_json;
use crate::{Board, BoardKind, BoardSource, ExtractError, Fetched, ListingBody, Validators};

/// Sent with every request.
const USER_AGENT: &str = concat!("bw-extract/", env!("CARGO_PKG_VERSION"), " (job postings ingestion)");

/// Reads boards over HTTP with reqwest: one GET per listing, bounded in time and size.
/// Why [`HttpBoards::from_env`] could not build the client.
#[derive(Debug, thiserror::Error)]
pub enum FromEnvError {
    #[error(transparent)]
    Config(#[from] bw_config::ConfigError),
    #[error("failed to build the board HTTP client: {0}")]
    Client(#[from] ExtractError),
}

#[derive(Clone, Debug)]
pub struct HttpBoards {
    /// For the ATS APIs, whose base URLs operators set.
    client: reqwest::Client,
    /// For careers pages, whose URLs users give: public addresses only unless allowed (see [`crate::guard`]).
    pages: reqwest::Client,
    guard_pages: bool,
    urls: BoardUrls,
    max_body_bytes: usize,
    retries: Retries,
    /// Requests in flight per host, shared by every clone (all the boards one process reads at once).
    hosts: Arc<HostLimit>,
    /// Workable's one host serves every account and limits bursts: its requests are made one at a time (by every
    /// clone), a retry's wait included.
    workable: Arc<Semaphore>,
}

/// How a board request that failed transiently (a 5xx, 429 or 408 status, a timeout, a reset connection, a body cut
/// short) is tried again: after an exponential delay with jitter, or the `Retry-After` the board asked for, as long
/// as the whole request stays within its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retries {
    /// Tries after the first (`BOARD_RETRIES`).
    pub times: usize,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `Retry-After` waited for; a board asking for more fails now.
    pub max_retry_after: Duration,
    /// No try starts later than this after the first (`BOARD_RETRY_BUDGET_SECS`).
    pub budget: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            times: 3,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
            budget: Duration::from_secs(60),
        }
    }
}

/// A limit on requests in flight to each host.
#[derive(Debug)]
struct HostLimit {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimit {
    fn new(per_host: usize) -> Self {
        Self { per_host: per_host.max(1), hosts: Mutex::default() }
    }

    /// Waits for a turn at `url`'s host.
    async fn turn(&self, url: &str) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let parsed = reqwest::Url::parse(url).ok()?;
        let host = format!("{}:{}", parsed.host_str()?, parsed.port_or_known_default().unwrap_or(0));
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(hosts.entry(host).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))))
        };
        semaphore.acquire_owned().await.ok()
    }
}

/// Requests in flight to one host by default (`BOARD_HOST_CONCURRENCY`).
pub const DEFAULT_HOST_CONCURRENCY: usize = 4;

/// A failed try: the error, and the wait the board asked for.
struct Failed {
    error: ExtractError,
    retry_after: Option<Duration>,
}

impl From<ExtractError> for Failed {
    fn from(error: ExtractError) -> Self {
        Self { error, retry_after: None }
    }
}

/// Whether a try that failed so may succeed if made again: a timeout, a connection or body cut short, a 5xx, 408 or
/// 429 status; never a careers page refused for its address.
fn retryable(error: &ExtractError) -> bool {
    match error {
        ExtractError::Transport { reason, .. } => !reason.contains(crate::guard::NOT_PUBLIC),
        ExtractError::Status { status, .. } => *status == 408 || *status == 429 || (*status >= 500 && *status != 501),
        ExtractError::Timeout { .. } => true,
        ExtractError::Malformed { .. } | ExtractError::TooLarge { .. } => false,
    }
}

/// `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or_default())
}

impl HttpBoards {
    /// A client with the given connect timeout, total per-request timeout (body included) and body size cap.
    pub fn new(
        urls: BoardUrls,
        connect_timeout: Duration,
        total_timeout: Duration,
        max_body_bytes: usize,
    ) -> Result<Self, ExtractError> {
        let builder = || {
            reqwest::Client::builder().connect_timeout(connect_timeout).timeout(total_timeout).user_agent(USER_AGENT)
        };
        let built = |b: reqwest::ClientBuilder| {
            b.build().map_err(|e| ExtractError::Transport {
                url: "(none)".to_owned(),
                reason: format!("cannot build HTTP client: {}", chain(&e)),
            })
        };
        let client = built(builder())?;
        let pages = built(
            builder()
                .dns_resolver(std::sync::Arc::new(crate::guard::PublicOnly))
                .redirect(crate::guard::redirect_policy()),
        )?;
        let hosts = Arc::new(HostLimit::new(DEFAULT_HOST_CONCURRENCY));
        let workable = Arc::new(Semaphore::new(1));
        let retries = Retries::default();
        Ok(Self { client, pages, guard_pages: true, urls, max_body_bytes, retries, hosts, workable })
    }

    /// Retries transient failures so (`Retries { times: 0, .. }` never retries).
    pub fn with_retries(mut self, retries: Retries) -> Self {
        self.retries = retries;
        self
    }

    /// At most `per_host` requests in flight to one host (all clones of this client together).
    pub fn with_host_concurrency(mut self, per_host: usize) -> Self {
        self.hosts = Arc::new(HostLimit::new(per_host));
        self
    }

    /// [`HttpBoards::new`] over [`BoardUrls::from_env`], with careers pages allowed to reach private addresses only
    /// when `ALLOW_PRIVATE_CAREERS_URLS` is true: their URLs come from users (local development sets it).
    pub fn from_env(
        connect_timeout: Duration,
        total_timeout: Duration,
        max_body_bytes: usize,
    ) -> Result<Self, FromEnvError> {
        let defaults = Retries::default();
        let retries = Retries {
            times: bw_config::parse_or("BOARD_RETRIES", defaults.times)?,
            budget: Duration::from_secs(bw_config::parse_or("BOARD_RETRY_BUDGET_SECS", defaults.budget.as_secs())?),
            ..defaults
        };
        let per_host = bw_config::parse_or("BOARD_HOST_CONCURRENCY", DEFAULT_HOST_CONCURRENCY)?;
        let boards = Self::new(BoardUrls::from_env(), connect_timeout, total_timeout, max_body_bytes)?
            .with_retries(retries)
            .with_host_concurrency(per_host);
        let allow_private = bw_config::parse_or("ALLOW_PRIVATE_CAREERS_URLS", false)?;
        Ok(if allow_private { boards.with_private_careers_pages() } else { boards })
    }

    /// Lets careers pages be fetched from private addresses too (local development against the fake boards).
    pub fn with_private_careers_pages(mut self) -> Self {
        self.pages = self.client.clone();
        self.guard_pages = false;
        self
    }

    /// The URL listing `board`'s postings (for a board that pages, without the page's query; for Teamtailor its
    /// JSON feed, whose RSS feed is read where it has none).
    pub fn list_url(&self, board: &Board) -> String {
        let (token, base) = (&board.token, self.urls.site(board).base);
        match board.kind {
            BoardKind::Greenhouse => format!("{base}/v1/boards/{token}/jobs?content=true&pay_transparency=true"),
            BoardKind::Lever => format!("{base}/v0/postings/{token}?mode=json"),
            BoardKind::Ashby => format!("{base}/posting-api/job-board/{token}?includeCompensation=true"),
            BoardKind::Workable => format!("{base}/api/v1/widget/accounts/{token}?details=true"),
            BoardKind::Smartrecruiters => format!("{base}/v1/companies/{token}/postings"),
            BoardKind::Workday => format!("{base}/jobs"),
            BoardKind::Teamtailor => format!("{base}/jobs.json"),
            BoardKind::Recruitee => format!("{base}/api/offers/"),
            BoardKind::Personio => format!("{base}/xml"),
            BoardKind::Bamboohr => format!("{base}/careers/list"),
            BoardKind::Jsonld => base,
        }
    }

    /// The client for a board's requests: a guarded site's is held to the public-address guard (unless allowed).
    fn client_for(&self, site: &Site, url: &str) -> Result<&reqwest::Client, ExtractError> {
        if !site.guarded || !self.guard_pages {
            return Ok(if site.guarded { &self.pages } else { &self.client });
        }
        let refused = reqwest::Url::parse(url).ok().and_then(|u| crate::guard::literal_refusal(&u));
        match refused {
            Some(reason) => Err(ExtractError::Transport { url: url.to_owned(), reason }),
            None => Ok(&self.pages),
        }
    }

    /// GETs `url` and returns its body: non-2xx is [`ExtractError::Status`], a body past the cap
    /// [`ExtractError::TooLarge`].
    async fn get(&self, client: &reqwest::Client, url: &str, accept: &str) -> Result<Vec<u8>, ExtractError> {
        let once = || async {
            // Not conditional: never `None`.
            Ok(self
                .download_to_vec(client, url, accept, None, &Validators::default())
                .await?
                .map(|(_, body)| body)
                .unwrap_or_default())
        };
        self.retried(url, once).await
    }

    /// [`Self::download`] into memory: the answer's validators and body, or `None` for `304 Not Modified`.
    async fn download_to_vec(
        &self,
        client: &reqwest::Client,
        url: &str,
        accept: &str,
        json: Option<&[u8]>,
        validators: &Validators,
    ) -> Result<Option<(Validators, Vec<u8>)>, Failed> {
        let mut body = Vec::new();
        let sink = |chunk: &[u8]| {
            body.extend_from_slice(chunk);
            Ok(())
        };
        let answered = self.download(client, url, accept, json, validators, sink).await?;
        Ok(answered.map(|validators| (validators, body)))
    }

    /// Runs `once` until it succeeds, fails for good, or its retries or budget are spent (see [`Retries`]).
    async fn retried<T, F, Fut>(&self, url: &str, once: F) -> Result<T, ExtractError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failed>>,
    {
        let policy = self.retries;
        let started = Instant::now();
        let backoff = ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_max_times(policy.times)
            .with_jitter();
        once.retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|failed: &Failed| retryable(&failed.error))
            .adjust(move |failed: &Failed, delay: Option<Duration>| {
                let wait = match failed.retry_after {
                    Some(asked) if asked > policy.max_retry_after => return None,
                    Some(asked) => delay.map(|_| asked),
                    None => delay,
                }?;
                (started.elapsed() + wait <= policy.budget).then_some(wait)
            })
            .notify(|failed: &Failed, wait: Duration| {
                tracing::info!(url, error = %failed.error, wait_ms = wait.as_millis(), "board request failed; trying again");
            })
            .await
            .map_err(|failed| failed.error)
    }

    /// GETs `url` with `client` (or POSTs it the `json` body), sending `validators` back as a conditional request,
    /// and hands the body to `sink` as it arrives; answers the response's validators, or `None` for `304 Not
    /// Modified`. A status other than 2xx or 304 is [`ExtractError::Status`], a body past the cap
    /// [`ExtractError::TooLarge`].
    async fn download(
        &self,
        client: &reqwest::Client,
        url: &str,
        accept: &str,
        json: Option<&[u8]>,
        validators: &Validators,
        mut sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<Option<Validators>, Failed> {
        let _turn = self.hosts.turn(url).await;
        let started = Instant::now();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                ExtractError::Timeout { url: url.to_owned() }
            } else {
                ExtractError::Transport { url: url.to_owned(), reason: chain(&e) }
            }
        };
        let too_large = || ExtractError::TooLarge { url: url.to_owned(), limit_bytes: self.max_body_bytes };
        let mut request = match json {
            None => client.get(url),
            Some(body) => client.post(url).header(CONTENT_TYPE, "application/json").body(body.to_vec()),
        }
        .header(ACCEPT, accept);
        if let Some(etag) = &validators.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(since) = &validators.last_modified {
            request = request.header(IF_MODIFIED_SINCE, since);
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && !validators.is_empty() {
            tracing::debug!(url, elapsed_ms = started.elapsed().as_millis(), "board answered 304 Not Modified");
            return Ok(None);
        }
        if !status.is_success() {
            tracing::debug!(
                url,
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis(),
                "board answered an error"
            );
            let error = ExtractError::Status { url: url.to_owned(), status: status.as_u16() };
            return Err(Failed { error, retry_after: retry_after(response.headers()) });
        }
        if response.content_length().is_some_and(|len| len > self.max_body_bytes as u64) {
            return Err(too_large().into());
        }
        let answered = validators_of(response.headers());
        let mut len = 0;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            len += chunk.len();
            if len > self.max_body_bytes {
                return Err(too_large().into());
            }
            sink(&chunk).map_err(|e| cannot_keep(url, &e))?;
        }
        tracing::debug!(url, bytes = len, elapsed_ms = started.elapsed().as_millis(), "board answered");
        Ok(Some(answered))
    }

    /// GETs a JSON object.
    async fn get_object(&self, client: &reqwest::Client, url: &str, what: &str) -> Result<Value, ExtractError> {
        let body = self.get(client, url, "application/json").await?;
        let value = parse_json(&format!("{what} from {url}"), &body)?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(ExtractError::malformed(format!("{what} from {url}"), "is not a JSON object"))
        }
    }
}

impl BoardSource for HttpBoards {
    /// GETs the board's listing (conditionally, with `validators`), keeping a large body out of memory; its postings
    /// are read from [`ListingBody::postings`], whose `Malformed` errors name the URL.
    async fn fetch(&self, board: &Board, validators: &Validators) -> Result<Fetched, ExtractError> {
        revalidate(board)?;
        let url = self.list_url(board);
        let client = self.client_for(&self.urls.site(board), &url)?;
        let accept = match board.kind {
            BoardKind::Lever => return self.lever_pages(&url, validators).await,
            BoardKind::Workday => return self.workday_search(client, &url).await,
            BoardKind::Smartrecruiters => return self.smartrecruiters_pages(client, &url).await,
            BoardKind::Workable | BoardKind::Teamtailor | BoardKind::Personio => {
                return self.one_answer(board.kind, client, &url, validators).await;
            }
            BoardKind::Jsonld => "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8",
            BoardKind::Greenhouse | BoardKind::Ashby | BoardKind::Recruitee | BoardKind::Bamboohr => "application/json",
        };
        let once = || async {
            let mut spool = SpoolWriter::default();
            let answered = self.download(client, &url, accept, None, validators, |chunk| spool.write(chunk)).await?;
            let Some(answered) = answered else { return Ok(Fetched::NotModified) };
            let body =
                ListingBody::spooled(board.kind, url.clone(), spool, answered).map_err(|e| cannot_keep(&url, &e))?;
            Ok(Fetched::Listing(body))
        };
        self.retried(&url, once).await
    }

    /// Greenhouse: `GET {gh}/v1/boards/{token}/jobs/{id}?pay_transparency=true` (the id must be a decimal integer).
    /// Lever: `GET {lever}/v0/postings/{token}/{id}`. Workday: `GET {site}/wday/cxs/{tenant}/{site}{externalPath}`,
    /// its `jobPostingInfo`. SmartRecruiters: `GET {sr}/v1/companies/{id}/postings/{postingId}`. BambooHR:
    /// `GET {site}/careers/{id}/detail`, its `result.jobOpening`. The other kinds have no per-posting endpoint: the
    /// board is listed again and the posting's raw value returned; a posting no longer listed is `Malformed`.
    async fn detail(&self, board: &Board, external_id: &str) -> Result<Value, ExtractError> {
        revalidate(board)?;
        let site = self.urls.site(board);
        let (token, base) = (&board.token, &site.base);
        let bad_id = |what: &str, problem: &str| Err(bad_posting(board, what, external_id, problem));
        let id_of = |max: usize, ok: fn(char) -> bool| {
            !external_id.is_empty() && external_id.len() <= max && external_id.chars().all(ok)
        };
        match board.kind {
            BoardKind::Greenhouse => {
                if !id_of(20, |c| c.is_ascii_digit()) {
                    return bad_id("job id", "is not a decimal integer");
                }
                let url = format!("{base}/v1/boards/{token}/jobs/{external_id}?pay_transparency=true");
                self.get_object(&self.client, &url, "greenhouse job").await
            }
            BoardKind::Lever => {
                if !id_of(128, |c| c.is_ascii_alphanumeric() || c == '-') {
                    return bad_id("posting id", "is not a posting id");
                }
                let url = format!("{base}/v0/postings/{token}/{external_id}");
                self.get_object(&self.client, &url, "lever posting").await
            }
            BoardKind::Smartrecruiters => {
                if !id_of(64, |c| c.is_ascii_alphanumeric() || c == '-') {
                    return bad_id("posting id", "is not a posting id");
                }
                let url = format!("{base}/v1/companies/{token}/postings/{external_id}");
                self.get_object(&self.client, &url, "smartrecruiters posting").await
            }
            BoardKind::Workday => {
                let url = within(base, external_id)
                    .ok_or_else(|| bad_posting(board, "externalPath", external_id, "is not a path of the site"))?;
                let client = self.client_for(&site, &url)?;
                let answer = self.get_object(client, &url, "workday job").await?;
                crate::workday::detail(answer)
                    .ok_or_else(|| ExtractError::malformed(format!("workday job from {url}"), "has no jobPostingInfo"))
            }
            BoardKind::Bamboohr => {
                if !id_of(20, |c| c.is_ascii_digit()) {
                    return bad_id("job id", "is not a decimal integer");
                }
                let url = format!("{base}/careers/{external_id}/detail");
                let client = self.client_for(&site, &url)?;
                let answer = self.get_object(client, &url, "bamboohr job").await?;
                crate::bamboohr::detail(answer).ok_or_else(|| {
                    ExtractError::malformed(format!("bamboohr job from {url}"), "has no result.jobOpening")
                })
            }
            BoardKind::Ashby
            | BoardKind::Jsonld
            | BoardKind::Workable
            | BoardKind::Teamtailor
            | BoardKind::Recruitee
            | BoardKind::Personio => {
                let listing = self.list(board).await?;
                listing.postings.into_iter().find(|p| p.external_id == external_id).map(|p| p.raw).ok_or_else(|| {
                    ExtractError::malformed(
                        format!("{} board {token}", board.kind),
                        format!("no longer lists posting {external_id:?}"),
                    )
                })
            }
        }
    }
}

/// A posting id that cannot be asked for.
fn bad_posting(board: &Board, what: &str, id: &str, problem: &str) -> ExtractError {
    ExtractError::malformed(format!("{} {what} {id:?}", board.kind), problem.to_owned())
}

/// `base` followed by `path`, when the URL that makes stays under `base`'s path: `path` starts with `/`, has no query
/// or fragment, and no `..` (spelt plainly or percent-encoded) takes it out.
fn within(base: &str, path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains(['?', '#', '\\']) || path.len() > 2048 {
        return None;
    }
    let (base_url, url) = (reqwest::Url::parse(base).ok()?, reqwest::Url::parse(&format!("{base}{path}")).ok()?);
    let prefix = format!("{}/", base_url.path().trim_end_matches('/'));
    let same_origin = url.origin() == base_url.origin();
    (same_origin && url.path().starts_with(&prefix)).then(|| url.to_string())
}

/// A body that arrived but could not be kept (its spool's temporary file failed).
fn cannot_keep(url: &str, error: &std::io::Error) -> ExtractError {
    ExtractError::Transport { url: url.to_owned(), reason: format!("cannot keep the body: {error}") }
}

/// The validators of a response: its `ETag` and `Last-Modified`, where they are readable text.
fn validators_of(headers: &HeaderMap) -> Validators {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned).filter(|v| !v.is_empty());
    Validators { etag: text(ETAG), last_modified: text(LAST_MODIFIED) }
}

/// `Board`'s fields are public, so a hand-built one is checked again before its token goes into a URL.
fn revalidate(board: &Board) -> Result<(), ExtractError> {
    Board::new(board.kind, &board.token)
        .map(|_| ())
        .map_err(|e| ExtractError::malformed(format!("board {board}"), format!("is invalid: {e}")))
}

/// An error and its causes, joined with ": ", without the URL reqwest adds (callers name it).
fn chain(error: &reqwest::Error) -> String {
    let mut out = String::new();
    let mut current: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        let text = text.split(" for url (").next().unwrap_or_default();
        if !text.is_empty() && !out.ends_with(text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(text);
        }
        current = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::within;

    #[test]
    fn a_path_stays_under_its_base() {
        let base = "https://acme.wd5.myworkdayjobs.com/wday/cxs/acme/External";
        assert_eq!(
            within(base, "/job/US-CA-San-Jose/Engineer--Data--R&D-_JR1").as_deref(),
            Some(
                "https://acme.wd5.myworkdayjobs.com/wday/cxs/acme/External/job/US-CA-San-Jose/Engineer--Data--R&D-_JR1"
            )
        );
        assert!(within(base, "/job/Caf%C3%A9-O'Brien+Co_JR2").is_some(), "any character a path may hold");
        for bad in [
            "job/x",
            "/../../../admin",
            "/job/%2e%2e/%2E%2E/%2e%2e/admin",
            "/job/x?admin=1",
            "/job/x#y",
            "/job\\..\\..",
        ] {
            assert_eq!(within(base, bad), None, "{bad:?}");
        }
    }
}
