//! Boards, their postings, failure settings and request counts.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::Value;

use crate::fixtures::{Loaded, Raw};
use crate::render::{self, ListKey, Missing, Projection, View};
use crate::{Failure, Kind};

/// One posting, kept as compact JSON: a `serde_json::Value` costs several times the memory (a B-tree node per
/// small object), and most answers are the items written out as they are.
pub(crate) struct Posting {
    pub id: String,
    /// The full item as the service sends it with every optional part (content, compensation).
    pub json: String,
    /// How many times it was changed.
    pub revision: u32,
}

impl Posting {
    pub(crate) fn new(id: String, value: &Value) -> Posting {
        Posting { id, json: serde_json::to_string(value).unwrap_or_default(), revision: 0 }
    }

    pub(crate) fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }
}

pub(crate) struct Board {
    pub postings: Vec<Posting>,
    pub seed: u64,
    /// Index of the next generated posting.
    pub next_index: u64,
    /// The fixture file's bytes, answered verbatim until the board first changes.
    pub raw: Option<Raw>,
    pub source: String,
    /// What a list answer says besides its items (the account's name, a feed's title, ...): taken from the fixture,
    /// or made from the token for a generated board; `Null` for the kinds that need none.
    pub envelope: Value,
    cache: HashMap<ListKey, Bytes>,
    listed: HashMap<Projection, Vec<Listed>>,
}

/// A posting as a paged list shows it, with what a search filters it by; built once per board state.
pub(crate) struct Listed {
    pub json: String,
    pub tags: Vec<Tag>,
    pub title: String,
}

/// One facet value a posting has (Workday's `jobFamilyGroup`, `locations`).
#[derive(Clone)]
pub(crate) struct Tag {
    pub param: &'static str,
    pub id: String,
    pub descriptor: String,
}

impl Board {
    fn changed(&mut self) {
        self.raw = None;
        self.cache.clear();
        self.listed.clear();
    }

    /// The postings as `projection` lists them, built with `build` the first time after a change.
    pub(crate) fn listed(&mut self, projection: Projection, build: impl Fn(&Posting) -> Listed) -> &[Listed] {
        if !self.listed.contains_key(&projection) {
            // A projection of another day is stale.
            self.listed.clear();
            let items = self.postings.iter().map(build).collect();
            self.listed.insert(projection, items);
        }
        self.listed.get(&projection).map(Vec::as_slice).unwrap_or_default()
    }
}

/// How a board misbehaves.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Settings {
    pub failure: Option<Failure>,
    pub delay: Duration,
    /// Requests admitted per second; more are answered 429.
    pub rate_limit: Option<u32>,
}

/// One line of `GET /_fake/boards`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BoardSummary {
    pub kind: Kind,
    pub token: String,
    pub postings: usize,
    /// `generated` or the fixture path.
    pub source: String,
    pub failure: Option<Failure>,
    pub delay_ms: u64,
    /// Requests a second past which the board answers 429.
    #[serde(default)]
    pub rate_limit: Option<u32>,
}

type Key = (Kind, String);

#[derive(Default)]
struct Inner {
    boards: HashMap<Key, Board>,
    settings: HashMap<Key, Settings>,
    /// When the requests a rate-limited board admitted in the last second arrived.
    admitted: HashMap<Key, VecDeque<Instant>>,
}

#[derive(Default)]
pub(crate) struct State {
    inner: Mutex<Inner>,
    requests: Mutex<HashMap<String, u64>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn key(kind: Kind, token: &str) -> Key {
    (kind, token.to_owned())
}

fn generated(kind: Kind, token: &str, seed: u64, count: usize) -> Board {
    let mut board = Board {
        postings: Vec::with_capacity(count),
        seed,
        next_index: 0,
        raw: None,
        source: "generated".to_owned(),
        envelope: crate::ats::envelope(kind, token, seed),
        cache: HashMap::new(),
        listed: HashMap::new(),
    };
    append(kind, token, &mut board, count);
    board
}

/// Appends `count` generated postings and returns their ids.
fn append(kind: Kind, token: &str, board: &mut Board, count: usize) -> Vec<String> {
    let mut taken: HashSet<String> = board.postings.iter().map(|posting| posting.id.clone()).collect();
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let posting = crate::generate::posting(kind, token, board.seed, board.next_index, &taken);
        board.next_index += 1;
        taken.insert(posting.id.clone());
        ids.push(posting.id.clone());
        board.postings.push(posting);
    }
    ids
}

impl State {
    pub(crate) fn generate_board(&self, kind: Kind, token: &str, count: usize, seed: u64) {
        let board = generated(kind, token, seed, count);
        lock(&self.inner).boards.insert(key(kind, token), board);
    }

    pub(crate) fn insert_fixture_board(&self, kind: Kind, token: &str, loaded: Loaded) -> usize {
        let count = loaded.postings.len();
        let board = Board {
            next_index: count as u64,
            postings: loaded.postings,
            seed: 0,
            raw: Some(loaded.raw),
            source: loaded.source,
            envelope: loaded.envelope,
            cache: HashMap::new(),
            listed: HashMap::new(),
        };
        lock(&self.inner).boards.insert(key(kind, token), board);
        count
    }

    /// Removes the board and its settings; false if there was no board.
    pub(crate) fn remove_board(&self, kind: Kind, token: &str) -> bool {
        let mut inner = lock(&self.inner);
        inner.settings.remove(&key(kind, token));
        inner.admitted.remove(&key(kind, token));
        inner.boards.remove(&key(kind, token)).is_some()
    }

    pub(crate) fn has_board(&self, kind: Kind, token: &str) -> bool {
        lock(&self.inner).boards.contains_key(&key(kind, token))
    }

    pub(crate) fn posting_ids(&self, kind: Kind, token: &str) -> Vec<String> {
        let inner = lock(&self.inner);
        inner
            .boards
            .get(&key(kind, token))
            .map(|board| board.postings.iter().map(|posting| posting.id.clone()).collect())
            .unwrap_or_default()
    }

    fn with_posting(&self, kind: Kind, token: &str, id: &str, act: impl FnOnce(&mut Board, usize)) -> bool {
        let mut inner = lock(&self.inner);
        let Some(board) = inner.boards.get_mut(&key(kind, token)) else { return false };
        let Some(index) = board.postings.iter().position(|posting| posting.id == id) else { return false };
        act(board, index);
        board.changed();
        true
    }

    pub(crate) fn change_posting(&self, kind: Kind, token: &str, id: &str) -> bool {
        self.with_posting(kind, token, id, |board, index| {
            if let Some(posting) = board.postings.get_mut(index) {
                crate::mutate::change(kind, posting);
            }
        })
    }

    pub(crate) fn remove_posting(&self, kind: Kind, token: &str, id: &str) -> bool {
        self.with_posting(kind, token, id, |board, index| {
            board.postings.remove(index);
        })
    }

    pub(crate) fn add_postings(&self, kind: Kind, token: &str, count: usize) -> Vec<String> {
        let mut inner = lock(&self.inner);
        let board = inner.boards.entry(key(kind, token)).or_insert_with(|| generated(kind, token, 0, 0));
        let ids = append(kind, token, board, count);
        board.changed();
        ids
    }

    pub(crate) fn set_failure(&self, kind: Kind, token: &str, failure: Option<Failure>) {
        lock(&self.inner).settings.entry(key(kind, token)).or_default().failure = failure;
    }

    pub(crate) fn set_delay(&self, kind: Kind, token: &str, delay: Duration) {
        lock(&self.inner).settings.entry(key(kind, token)).or_default().delay = delay;
    }

    pub(crate) fn set_rate_limit(&self, kind: Kind, token: &str, per_second: Option<u32>) {
        let mut inner = lock(&self.inner);
        inner.settings.entry(key(kind, token)).or_default().rate_limit = per_second;
        inner.admitted.remove(&key(kind, token));
    }

    /// Whether the board's rate limit lets one more request through now (counting it if so).
    pub(crate) fn admit(&self, kind: Kind, token: &str) -> bool {
        let mut inner = lock(&self.inner);
        let Some(limit) = inner.settings.get(&key(kind, token)).and_then(|settings| settings.rate_limit) else {
            return true;
        };
        let now = Instant::now();
        let window = inner.admitted.entry(key(kind, token)).or_default();
        while window.front().is_some_and(|at| now.duration_since(*at) >= Duration::from_secs(1)) {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }

    pub(crate) fn settings(&self, kind: Kind, token: &str) -> Settings {
        lock(&self.inner).settings.get(&key(kind, token)).copied().unwrap_or_default()
    }

    /// The answer body for a request, cached per board and list shape until the board changes.
    pub(crate) fn answer(&self, token: &str, view: &View) -> Result<Bytes, Missing> {
        let mut inner = lock(&self.inner);
        let board = inner.boards.get_mut(&key(view.kind(), token)).ok_or(Missing::Board)?;
        let Some(cache_key) = view.cache_key() else { return render::body(board, token, view) };
        if let Some(body) = board.cache.get(&cache_key) {
            return Ok(body.clone());
        }
        let body = render::body(board, token, view)?;
        board.cache.insert(cache_key, body.clone());
        Ok(body)
    }

    pub(crate) fn record_request(&self, path: &str) {
        let mut requests = lock(&self.requests);
        match requests.get_mut(path) {
            Some(count) => *count += 1,
            None => {
                requests.insert(path.to_owned(), 1);
            }
        }
    }

    pub(crate) fn request_count(&self, prefix: &str) -> u64 {
        lock(&self.requests).iter().filter(|(path, _)| path.starts_with(prefix)).map(|(_, count)| count).sum()
    }

    pub(crate) fn summaries(&self) -> Vec<BoardSummary> {
        let inner = lock(&self.inner);
        let mut list: Vec<BoardSummary> = inner
            .boards
            .iter()
            .map(|((kind, token), board)| {
                let settings = inner.settings.get(&(*kind, token.clone())).copied().unwrap_or_default();
                BoardSummary {
                    kind: *kind,
                    token: token.clone(),
                    postings: board.postings.len(),
                    source: board.source.clone(),
                    failure: settings.failure,
                    delay_ms: u64::try_from(settings.delay.as_millis()).unwrap_or(u64::MAX),
                    rate_limit: settings.rate_limit,
                }
            })
            .collect();
        list.sort_by(|a, b| (a.kind.as_str(), &a.token).cmp(&(b.kind.as_str(), &b.token)));
        list
    }
}
