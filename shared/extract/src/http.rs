//! [`HttpBoards`]: the [`BoardSource`] that calls the real board APIs (or a fake server at the same paths).

use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use serde_json::Value;

use crate::listing::parse_json;
use crate::{Board, BoardKind, BoardSource, ExtractError, Listing};

/// Sent with every request.
const USER_AGENT: &str = concat!("bw-extract/", env!("CARGO_PKG_VERSION"), " (job postings ingestion)");

/// Base URLs of the three board APIs, without a trailing slash. JSON-LD boards use their own URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardUrls {
    /// Greenhouse Job Board API, e.g. `https://boards-api.greenhouse.io`.
    pub greenhouse: String,
    /// Lever Postings API, e.g. `https://api.lever.co`.
    pub lever: String,
    /// Ashby public job board API, e.g. `https://api.ashbyhq.com`.
    pub ashby: String,
}

impl BoardUrls {
    /// The public production endpoints.
    pub fn public() -> Self {
        Self {
            greenhouse: "https://boards-api.greenhouse.io".to_owned(),
            lever: "https://api.lever.co".to_owned(),
            ashby: "https://api.ashbyhq.com".to_owned(),
        }
    }

    /// The same base URL for all three (a fake server); a trailing slash is removed.
    pub fn all(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        Self { greenhouse: base.clone(), lever: base.clone(), ashby: base }
    }

    /// `ATS_BASE_URL` for all three when set (a fake server); else `GREENHOUSE_API_URL`, `LEVER_API_URL` and
    /// `ASHBY_API_URL` each over the public endpoints.
    pub fn from_env() -> Self {
        let var = bw_config::optional;
        if let Some(base) = var("ATS_BASE_URL") {
            return Self::all(&base);
        }
        let public = Self::public();
        let or = |name: &str, default: String| var(name).map_or(default, |v| v.trim_end_matches('/').to_owned());
        Self {
            greenhouse: or("GREENHOUSE_API_URL", public.greenhouse),
            lever: or("LEVER_API_URL", public.lever),
            ashby: or("ASHBY_API_URL", public.ashby),
        }
    }
}

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
        Ok(Self { client, pages, guard_pages: true, urls, max_body_bytes })
    }

    /// [`HttpBoards::new`] over [`BoardUrls::from_env`], with careers pages allowed to reach private addresses only
    /// when `ALLOW_PRIVATE_CAREERS_URLS` is true: their URLs come from users (local development sets it).
    pub fn from_env(
        connect_timeout: Duration,
        total_timeout: Duration,
        max_body_bytes: usize,
    ) -> Result<Self, FromEnvError> {
        let boards = Self::new(BoardUrls::from_env(), connect_timeout, total_timeout, max_body_bytes)?;
        let allow_private = bw_config::parse_or("ALLOW_PRIVATE_CAREERS_URLS", false)?;
        Ok(if allow_private { boards.with_private_careers_pages() } else { boards })
    }

    /// Lets careers pages be fetched from private addresses too (local development against the fake boards).
    pub fn with_private_careers_pages(mut self) -> Self {
        self.pages = self.client.clone();
        self.guard_pages = false;
        self
    }

    /// The URL listing `board`'s postings.
    pub fn list_url(&self, board: &Board) -> String {
        let token = &board.token;
        match board.kind {
            BoardKind::Greenhouse => format!("{}/v1/boards/{token}/jobs?content=true", self.urls.greenhouse),
            BoardKind::Lever => format!("{}/v0/postings/{token}?mode=json", self.urls.lever),
            BoardKind::Ashby => format!("{}/posting-api/job-board/{token}?includeCompensation=true", self.urls.ashby),
            BoardKind::Jsonld => token.clone(),
        }
    }

    /// GETs `url` and returns its body: non-2xx is [`ExtractError::Status`], a body past the cap
    /// [`ExtractError::TooLarge`].
    async fn get(&self, url: &str, accept: &str) -> Result<Vec<u8>, ExtractError> {
        self.get_with(&self.client, url, accept).await
    }

    /// GETs `url` with `client`; see [`Self::get`].
    async fn get_with(&self, client: &reqwest::Client, url: &str, accept: &str) -> Result<Vec<u8>, ExtractError> {
        let started = Instant::now();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                ExtractError::Timeout { url: url.to_owned() }
            } else {
                ExtractError::Transport { url: url.to_owned(), reason: chain(&e) }
            }
        };
        let too_large = || ExtractError::TooLarge { url: url.to_owned(), limit_bytes: self.max_body_bytes };
        let mut response = client.get(url).header(ACCEPT, accept).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            tracing::debug!(
                url,
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis(),
                "board answered an error"
            );
            return Err(ExtractError::Status { url: url.to_owned(), status: status.as_u16() });
        }
        if response.content_length().is_some_and(|len| len > self.max_body_bytes as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        tracing::debug!(url, bytes = body.len(), elapsed_ms = started.elapsed().as_millis(), "board answered");
        Ok(body)
    }

    /// GETs a JSON object.
    async fn get_object(&self, url: &str, what: &str) -> Result<Value, ExtractError> {
        let body = self.get(url, "application/json").await?;
        let value = parse_json(&format!("{what} from {url}"), &body)?;
        if value.is_object() {
            Ok(value)
        } else {
            Err(ExtractError::malformed(format!("{what} from {url}"), "is not a JSON object"))
        }
    }
}

impl BoardSource for HttpBoards {
    /// GETs the board's listing and parses it with [`crate::parse_listing`]; a `Malformed` error names the URL.
    async fn list(&self, board: &Board) -> Result<Listing, ExtractError> {
        revalidate(board)?;
        let url = self.list_url(board);
        let body = match board.kind {
            BoardKind::Jsonld => {
                let refused = reqwest::Url::parse(&url).ok().and_then(|u| crate::guard::literal_refusal(&u));
                if let Some(reason) = refused.filter(|_| self.guard_pages) {
                    return Err(ExtractError::Transport { url, reason });
                }
                self.get_with(&self.pages, &url, "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8").await?
            }
            _ => self.get(&url, "application/json").await?,
        };
        crate::parse_listing(board.kind, &body).map_err(|e| match e {
            ExtractError::Malformed { what, reason } => {
                ExtractError::Malformed { what: format!("{what} from {url}"), reason }
            }
            other => other,
        })
    }

    /// Greenhouse: `GET {gh}/v1/boards/{token}/jobs/{id}` (the id must be a decimal integer). Lever:
    /// `GET {lever}/v0/postings/{token}/{id}`. Ashby and jsonld have no per-posting endpoint: the board is listed
    /// again and the posting's raw value returned; a posting no longer listed is `Malformed`.
    async fn detail(&self, board: &Board, external_id: &str) -> Result<Value, ExtractError> {
        revalidate(board)?;
        let token = &board.token;
        match board.kind {
            BoardKind::Greenhouse => {
                if external_id.is_empty() || external_id.len() > 20 || !external_id.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(ExtractError::malformed(
                        format!("greenhouse job id {external_id:?}"),
                        "is not a decimal integer",
                    ));
                }
                let url = format!("{}/v1/boards/{token}/jobs/{external_id}", self.urls.greenhouse);
                self.get_object(&url, "greenhouse job").await
            }
            BoardKind::Lever => {
                let ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
                if external_id.is_empty() || external_id.len() > 128 || !external_id.chars().all(ok) {
                    return Err(ExtractError::malformed(
                        format!("lever posting id {external_id:?}"),
                        "is not a posting id",
                    ));
                }
                let url = format!("{}/v0/postings/{token}/{external_id}", self.urls.lever);
                self.get_object(&url, "lever posting").await
            }
            BoardKind::Ashby | BoardKind::Jsonld => {
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
