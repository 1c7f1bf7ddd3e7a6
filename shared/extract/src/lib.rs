//! Career-board extraction: list the open postings of a board (Greenhouse, Lever, Ashby, Workday, Workable,
//! SmartRecruiters, Teamtailor, Recruitee, Personio, BambooHR, or a careers page carrying schema.org `JobPosting`
//! JSON-LD), fetch a posting's details where the list lacks them, and normalise the result.
//!
//! - [`BoardKind`] and [`Board`] (validated tokens) say what to read; [`recognize`] tells the board a pasted careers
//!   URL names.
//! - [`parse_listing`] turns a listing body into a [`Listing`]: [`ListedPosting`]s (the raw item plus id, title
//!   and URL), and warnings naming what could not be read without failing the listing (a careers page's
//!   unreadable JSON-LD script); [`ListedPosting::content_hash`] detects changes independently of key order.
//! - [`needs_detail`] says whether a listed item lacks its description (Greenhouse without `content`; Workday,
//!   SmartRecruiters and BambooHR), in which case [`BoardSource::detail`] fetches it.
//! - [`normalize`] maps a raw item (and optional detail) to a [`NormalizedPosting`] with a plain-text description
//!   ([`html_to_text`]).
//! - [`HttpBoards`] implements [`BoardSource`] over HTTP against [`BoardUrls`]; every failure is an
//!   [`ExtractError`] whose message names the URL and the reason.
//!
//! Parsers are lenient: unknown fields are ignored and missing or null optional fields become `None`; only a
//! listing that is not JSON or not in the board's shape, or an item without an id or title, is an error. A careers
//! page is read script by script: one unreadable JSON-LD script is a warning, a page with none readable an error.

mod ashby;
mod bamboohr;
mod board;
mod board_url;
mod body;
mod error;
mod greenhouse;
mod html;
mod http;
mod jsonld;
mod lever;
mod listing;
mod normalized;
mod personio;
mod recruitee;
mod smartrecruiters;
mod stream;
mod teamtailor;
mod workable;
mod workday;
mod xml;

use std::future::Future;

pub mod guard;
pub use board::{Board, BoardError, BoardKind, BoardRegion, InvalidBoard, UnknownBoardKind, WrongRegion};
pub use board_url::{BoardUrlError, RecognizedBoard, recognize};
pub use body::{Fetched, Item, ListingBody, Postings, Validators};
pub use error::ExtractError;
pub use html::html_to_text;
pub use http::{BoardUrls, DEFAULT_HOST_CONCURRENCY, FromEnvError, HttpBoards, Retries};
pub use listing::{ListedPosting, Listing};
pub use normalized::{NormalizedPosting, Pay};

/// Parses a board's listing response body (for a board that pages, one page of it).
///
/// Greenhouse: `{"jobs": [...]}`; Lever: a bare array; Ashby: `{"jobs": [...]}` (jobs with `isListed: false` are
/// left out); Recruitee `{"offers": [...]}`; BambooHR `{"meta", "result": [...]}`; Workday a CXS search page
/// (`jobPostings`); SmartRecruiters a postings page (`content`); Workable the widget's account (`jobs`, a job listed
/// once per location folded into one); Teamtailor its JSON feed or its RSS feed; Personio its XML feed; jsonld: an
/// HTML page whose `<script type="application/ld+json">` blocks hold `JobPosting` objects (a script that is not
/// valid JSON is skipped with a warning, unless no script is readable).
/// Postings listed twice (same external id) are kept once. Errors are [`ExtractError::Malformed`].
pub fn parse_listing(kind: BoardKind, body: &[u8]) -> Result<Listing, ExtractError> {
    if kind == BoardKind::Jsonld {
        return jsonld::parse_listing(body);
    }
    if let Some(assembled) = Assembled::of(kind) {
        let mut postings = Vec::new();
        for (index, value) in (assembled.answer)(body)?.into_iter().enumerate() {
            postings.extend((assembled.item)(index, value)?);
        }
        return Ok(Listing::complete(listing::dedupe(assembled.what, postings)));
    }
    let mut postings = Vec::new();
    each_listed(kind, body, |posting| {
        postings.push(posting);
        Ok(())
    })?;
    Ok(Listing::complete(listing::dedupe("board listing", postings)))
}

/// Calls `each` with every posting of a JSON board's listing read from `reader`, one at a time, in the board's order
/// (a posting listed twice comes twice); stops at the first error. Not for careers pages (`jsonld`), read whole.
pub(crate) fn each_listed(
    kind: BoardKind,
    reader: impl std::io::Read,
    mut each: impl FnMut(ListedPosting) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    let (shape, item): (stream::Shape, ItemFn) = match kind {
        BoardKind::Greenhouse => (greenhouse::SHAPE, greenhouse::item),
        BoardKind::Lever => (lever::SHAPE, lever::item),
        BoardKind::Ashby => (ashby::SHAPE, ashby::item),
        BoardKind::Recruitee => (recruitee::SHAPE, recruitee::item),
        BoardKind::Bamboohr => (bamboohr::SHAPE, bamboohr::item),
        BoardKind::Jsonld => {
            return Err(ExtractError::malformed("careers page", "is not a JSON listing (it is read whole)"));
        }
        _ => match Assembled::of(kind) {
            Some(Assembled { what, item, .. }) => (stream::Shape { what, items: stream::Items::Bare }, item),
            None => return Err(ExtractError::malformed(kind.as_str(), "has no JSON listing")),
        },
    };
    stream::each_item(shape, reader, |index, value| match item(index, value)? {
        Some(posting) => each(posting),
        None => Ok(()),
    })
}

type ItemFn = fn(usize, serde_json::Value) -> Result<Option<ListedPosting>, ExtractError>;

/// A board whose listing is assembled before it is read: the pages of Workday and SmartRecruiters joined, Workable's
/// jobs in several places folded, the feeds of Teamtailor and Personio read into JSON. A listing assembled so is a
/// JSON array of the items.
pub(crate) struct Assembled {
    /// What the listing is called in errors.
    pub what: &'static str,
    /// The items of one of the board's answers.
    pub answer: fn(&[u8]) -> Result<Vec<serde_json::Value>, ExtractError>,
    /// How an item is read.
    pub item: ItemFn,
}

impl Assembled {
    pub(crate) fn of(kind: BoardKind) -> Option<Self> {
        let (what, answer, item): (_, fn(&[u8]) -> _, ItemFn) = match kind {
            BoardKind::Workday => (workday::WHAT, |body| workday::page(body).map(|page| page.items), workday::item),
            BoardKind::Smartrecruiters => (
                smartrecruiters::WHAT,
                |body| smartrecruiters::page(body).map(|(items, _)| items),
                smartrecruiters::item,
            ),
            BoardKind::Workable => (workable::WHAT, workable::answer_items, workable::item),
            BoardKind::Teamtailor => (teamtailor::FEED, teamtailor::answer_items, teamtailor::item),
            BoardKind::Personio => (personio::WHAT, personio::answer_items, personio::item),
            _ => return None,
        };
        Some(Self { what, answer, item })
    }
}

/// Whether a listed item needs [`BoardSource::detail`] before [`normalize`]: a Greenhouse item without `content`
/// (listed without `?content=true`), and every Workday, SmartRecruiters and BambooHR item (their listings have no
/// description) unless it has one.
pub fn needs_detail(kind: BoardKind, raw: &serde_json::Value) -> bool {
    match kind {
        BoardKind::Greenhouse => greenhouse::needs_detail(raw),
        BoardKind::Workday => workday::needs_detail(raw),
        BoardKind::Smartrecruiters => smartrecruiters::needs_detail(raw),
        BoardKind::Bamboohr => bamboohr::needs_detail(raw),
        _ => false,
    }
}

/// The version of [`normalize`]: raised when it comes to read something it did not before, so that postings an
/// older version stored are made again (see `companies.normalized_with`). 1: until structured pay; 2: with it.
pub const NORMALIZER_VERSION: i16 = 2;

/// The content hash a listed item would have had when a normaliser of `version` asked its board for it: the item
/// without the parts later versions ask for (Greenhouse's `pay_input_ranges`, asked with `pay_transparency` since
/// version 2). `None` when the item holds none of them (its hash then is the same).
pub fn earlier_content_hash(kind: BoardKind, raw: &serde_json::Value, version: i16) -> Option<[u8; 32]> {
    let added: &[&str] = match kind {
        BoardKind::Greenhouse if version < 2 => &["pay_input_ranges"],
        _ => &[],
    };
    let serde_json::Value::Object(item) = raw else { return None };
    if !added.iter().any(|key| item.contains_key(*key)) {
        return None;
    }
    let mut earlier = item.clone();
    for key in added {
        earlier.remove(*key);
    }
    Some(listing::canonical_hash(&serde_json::Value::Object(earlier)))
}

/// Normalises a raw listed item; `detail`, when given, is laid over it (its non-null top-level fields win).
///
/// Fails only when the posting has no title.
pub fn normalize(
    kind: BoardKind,
    raw: &serde_json::Value,
    detail: Option<&serde_json::Value>,
) -> Result<NormalizedPosting, ExtractError> {
    match kind {
        BoardKind::Greenhouse => greenhouse::normalize(raw, detail),
        BoardKind::Lever => lever::normalize(raw, detail),
        BoardKind::Ashby => ashby::normalize(raw, detail),
        BoardKind::Jsonld => jsonld::normalize(raw, detail),
        BoardKind::Workday => workday::normalize(raw, detail),
        BoardKind::Workable => workable::normalize(raw, detail),
        BoardKind::Smartrecruiters => smartrecruiters::normalize(raw, detail),
        BoardKind::Teamtailor => teamtailor::normalize(raw, detail),
        BoardKind::Recruitee => recruitee::normalize(raw, detail),
        BoardKind::Personio => personio::normalize(raw, detail),
        BoardKind::Bamboohr => bamboohr::normalize(raw, detail),
    }
}

/// Where postings come from: [`HttpBoards`] in production, a fake in tests.
pub trait BoardSource: Send + Sync {
    /// Fetches the board's listing; with `validators` from an earlier listing, a board that supports conditional
    /// requests may answer [`Fetched::NotModified`].
    fn fetch(
        &self,
        board: &Board,
        validators: &Validators,
    ) -> impl Future<Output = Result<Fetched, ExtractError>> + Send;

    /// Lists the board's open postings whole, with warnings about parts of the listing that could not be read.
    fn list(&self, board: &Board) -> impl Future<Output = Result<Listing, ExtractError>> + Send {
        async move {
            match self.fetch(board, &Validators::default()).await? {
                Fetched::Listing(body) => body.collect().await,
                Fetched::NotModified => Err(ExtractError::malformed(
                    format!("board {board}"),
                    "answered 304 Not Modified to a request that was not conditional",
                )),
            }
        }
    }

    /// Fetches one posting's full raw value, for items where [`needs_detail`] is true.
    fn detail(
        &self,
        board: &Board,
        external_id: &str,
    ) -> impl Future<Output = Result<serde_json::Value, ExtractError>> + Send;
}
