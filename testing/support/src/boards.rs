//! Career boards served from memory.

use std::collections::HashMap;
use std::sync::Mutex;

use bw_extract::{
    Board, BoardKind, BoardSource, ExtractError, Fetched, ListedPosting, Listing, ListingBody, Validators,
};
use serde_json::json;

/// Boards by kind and token; a board it does not hold answers as a missing board does (404).
#[derive(Debug, Default)]
pub struct MemoryBoards {
    boards: Mutex<HashMap<(BoardKind, String), Listing>>,
}

impl MemoryBoards {
    /// Serves `listing` as the board `kind`/`token`.
    pub fn insert(&self, kind: BoardKind, token: &str, listing: Listing) {
        self.lock().insert((kind, token.to_owned()), listing);
    }

    /// Serves a board of `count` postings titled `"{token} posting {n}"`.
    pub fn generate(&self, kind: BoardKind, token: &str, count: usize) {
        let postings = (1..=count)
            .map(|n| {
                let title = format!("{token} posting {n}");
                ListedPosting { external_id: n.to_string(), raw: json!({ "id": n, "title": title }), title, url: None }
            })
            .collect();
        self.insert(kind, token, Listing::complete(postings));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(BoardKind, String), Listing>> {
        self.boards.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn url_of(board: &Board) -> String {
    format!("memory://{}/{}", board.kind, board.token)
}

impl BoardSource for MemoryBoards {
    /// The board's listing, whatever the validators (it never answers `304 Not Modified`).
    async fn fetch(&self, board: &Board, _: &Validators) -> Result<Fetched, ExtractError> {
        let listing = self.lock().get(&(board.kind, board.token.clone())).cloned();
        let listing = listing.ok_or_else(|| ExtractError::Status { url: url_of(board), status: 404 })?;
        Ok(Fetched::Listing(ListingBody::from_listing(board.kind, url_of(board), listing)))
    }

    async fn detail(&self, board: &Board, external_id: &str) -> Result<serde_json::Value, ExtractError> {
        let boards = self.lock();
        let listing = boards.get(&(board.kind, board.token.clone()));
        let posting = listing.and_then(|l| l.postings.iter().find(|p| p.external_id == external_id));
        posting.map(|p| p.raw.clone()).ok_or_else(|| ExtractError::Status { url: url_of(board), status: 404 })
    }
}
