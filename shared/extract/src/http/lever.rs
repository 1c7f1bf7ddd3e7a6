//! Lever listings, read a page of 1,000 at a time.

use super::{HttpBoards, cannot_keep};
use crate::body::SpoolWriter;
use crate::{BoardKind, ExtractError, Fetched, ListingBody, Validators};

/// Postings per page of a Lever listing (`limit`): large, because only a board that fits in one page can be asked
/// conditionally (see [`HttpBoards::lever_pages`]).
const LEVER_PAGE: usize = 1_000;
/// Pages of a Lever listing read at most (a board that keeps answering full pages is not followed for ever).
const LEVER_MAX_PAGES: usize = 1_000;

impl HttpBoards {
    /// A Lever board read page by page (`&skip={n}&limit=1000`) until a page comes back short, the pages' items
    /// joined into one array in the spool. Only the first page is asked conditionally: a `304` for it stands for the
    /// board only when the board fits in one page, so the validators kept are those of a one-page board (a longer
    /// board is read whole every time). The pages' bodies count together against the body cap.
    pub(super) async fn lever_pages(&self, base: &str, validators: &Validators) -> Result<Fetched, ExtractError> {
        let what = "lever board listing";
        let mut spool = SpoolWriter::default();
        let keep = |e: std::io::Error| cannot_keep(base, &e);
        spool.write(b"[").map_err(keep)?;
        let (mut skip, mut total, mut items) = (0, 0, 0);
        for page in 0..LEVER_MAX_PAGES {
            let url = format!("{base}&skip={skip}&limit={LEVER_PAGE}");
            let asked = if page == 0 { validators } else { &Validators::default() };
            let once = || self.download_to_vec(&self.client, &url, "application/json", None, asked);
            let Some((page_validators, body)) = self.retried(&url, once).await? else {
                return Ok(Fetched::NotModified);
            };
            total += body.len();
            if total > self.max_body_bytes {
                return Err(ExtractError::TooLarge { url: base.to_owned(), limit_bytes: self.max_body_bytes });
            }
            let count = match serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(&body) {
                Ok(page) => page.len(),
                Err(e) if e.classify() == serde_json::error::Category::Data => {
                    return Err(ExtractError::malformed(format!("{what} from {url}"), "is not a JSON array"));
                }
                Err(e) => {
                    return Err(ExtractError::malformed(
                        format!("{what} from {url}"),
                        format!("is not valid JSON: {e}"),
                    ));
                }
            };
            if count > 0 {
                let text = body.trim_ascii();
                let inner = text.get(1..text.len().saturating_sub(1)).unwrap_or_default();
                if items > 0 {
                    spool.write(b",").map_err(keep)?;
                }
                spool.write(inner).map_err(keep)?;
                items += count;
            }
            if count < LEVER_PAGE {
                spool.write(b"]").map_err(keep)?;
                let validators = if page == 0 { page_validators } else { Validators::default() };
                let body = ListingBody::spooled(BoardKind::Lever, base.to_owned(), spool, validators).map_err(keep)?;
                return Ok(Fetched::Listing(body));
            }
            skip += count;
        }
        Err(ExtractError::malformed(format!("{what} from {base}"), format!("has more than {LEVER_MAX_PAGES} pages")))
    }
}
