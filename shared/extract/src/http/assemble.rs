//! Listings read in more than one answer, or in another form than a JSON listing: Workday's search pages (split by
//! facet past the search's 2,000), SmartRecruiters' pages, and the one answer of Workable, Teamtailor and Personio
//! read into items. Each is assembled into one JSON array of the items in the spool, read as any listing is.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::{HttpBoards, cannot_keep};
use crate::body::SpoolWriter;
use crate::workday::{self, Facet, SEARCH_CAP};
use crate::{BoardKind, ExtractError, Fetched, ListingBody, Validators};

/// Pages of one search or listing read at most (a board that keeps answering full pages is not followed for ever).
const MAX_PAGES: usize = 1_000;

/// Items written to a spool as a JSON array, each once by its key where it has one, with the bytes answered.
struct Assembly {
    spool: SpoolWriter,
    url: String,
    items: usize,
    seen: HashSet<String>,
    answered_bytes: usize,
    warnings: Vec<String>,
}

impl Assembly {
    fn new(url: &str) -> Result<Self, ExtractError> {
        let mut spool = SpoolWriter::default();
        spool.write(b"[").map_err(|e| cannot_keep(url, &e))?;
        Ok(Self { spool, url: url.to_owned(), items: 0, seen: HashSet::new(), answered_bytes: 0, warnings: Vec::new() })
    }

    /// Counts an answer's bytes against the body cap (all of a listing's answers together).
    fn answered(&mut self, bytes: usize, limit: usize) -> Result<(), ExtractError> {
        self.answered_bytes += bytes;
        if self.answered_bytes > limit {
            return Err(ExtractError::TooLarge { url: self.url.clone(), limit_bytes: limit });
        }
        Ok(())
    }

    /// Appends the items not seen before (by `key`); answers how many were new.
    fn push(&mut self, items: Vec<Value>, key: impl Fn(&Value) -> Option<String>) -> Result<usize, ExtractError> {
        let mut new = 0;
        for item in items {
            if let Some(key) = key(&item)
                && !self.seen.insert(key)
            {
                continue;
            }
            let text = serde_json::to_vec(&item).map_err(|e| ExtractError::malformed("board item", e.to_string()))?;
            let keep = |e: std::io::Error| cannot_keep(&self.url, &e);
            if self.items > 0 {
                self.spool.write(b",").map_err(keep)?;
            }
            self.spool.write(&text).map_err(keep)?;
            self.items += 1;
            new += 1;
        }
        Ok(new)
    }

    fn finish(mut self, kind: BoardKind, validators: Validators) -> Result<Fetched, ExtractError> {
        let url = self.url.clone();
        self.spool.write(b"]").map_err(|e| cannot_keep(&url, &e))?;
        let body = ListingBody::spooled(kind, url.clone(), self.spool, validators)
            .map_err(|e| cannot_keep(&url, &e))?
            .with_warnings(self.warnings);
        Ok(Fetched::Listing(body))
    }
}

impl HttpBoards {
    /// Workable, Teamtailor and Personio: one answer (asked conditionally), read into its items. Teamtailor's JSON
    /// feed missing (404), its RSS feed is read. Requests to Workable's one host are made one at a time.
    pub(super) async fn one_answer(
        &self,
        kind: BoardKind,
        client: &reqwest::Client,
        url: &str,
        validators: &Validators,
    ) -> Result<Fetched, ExtractError> {
        let _one_at_a_time = match kind {
            BoardKind::Workable => self.workable.acquire().await.ok(),
            _ => None,
        };
        let accept = match kind {
            BoardKind::Teamtailor => "application/feed+json, application/json;q=0.9",
            BoardKind::Personio => "application/xml, text/xml;q=0.9",
            _ => "application/json",
        };
        let ask = |url: String, accept: &'static str| async move {
            let got = self.retried(&url, || self.download_to_vec(client, &url, accept, None, validators)).await;
            got.map(|answer| (url, answer))
        };
        let answered = match ask(url.to_owned(), accept).await {
            Err(ExtractError::Status { status: 404, .. }) if kind == BoardKind::Teamtailor => {
                let rss = format!("{}.rss", url.trim_end_matches(".json"));
                ask(rss, "application/rss+xml, application/xml;q=0.9").await?
            }
            Err(ExtractError::Status { status: 404, url }) if kind == BoardKind::Personio => {
                return Err(ExtractError::malformed(
                    format!("personio XML feed at {url}"),
                    "is not there (404): the company may have switched its XML feed off (Personio lets it), or the \
                     name is not its Personio name",
                ));
            }
            other => other?,
        };
        let (url, Some((answered, body))) = answered else { return Ok(Fetched::NotModified) };
        let answer = crate::Assembled::of(kind)
            .map(|a| a.answer)
            .ok_or_else(|| ExtractError::malformed(format!("{kind} board at {url}"), "is not read in one answer"))?;
        let items = answer(&body).map_err(|e| crate::body::with_url(e, &url))?;
        drop(body);
        let mut assembly = Assembly::new(&url)?;
        assembly.push(items, |_| None)?;
        assembly.finish(kind, answered)
    }

    /// SmartRecruiters: `?limit=100&offset=N` until `totalFound` is reached (a page short of 100 where it gives no
    /// total), or a page brings no posting not read before (an API that ignored the offset).
    pub(super) async fn smartrecruiters_pages(
        &self,
        client: &reqwest::Client,
        base: &str,
    ) -> Result<Fetched, ExtractError> {
        let page_size = crate::smartrecruiters::PAGE;
        let mut assembly = Assembly::new(base)?;
        let mut offset = 0;
        for _ in 0..MAX_PAGES {
            let url = format!("{base}?limit={page_size}&offset={offset}");
            let body = self.get(client, &url, "application/json").await?;
            assembly.answered(body.len(), self.max_body_bytes)?;
            let (items, total) = crate::smartrecruiters::page(&body).map_err(|e| crate::body::with_url(e, &url))?;
            let count = items.len();
            let new = assembly.push(items, |item| crate::listing::id_string(item.get("id")))?;
            offset += count;
            let done = match total {
                Some(total) => offset as u64 >= total,
                None => count < page_size,
            };
            if done || new == 0 {
                return assembly.finish(BoardKind::Smartrecruiters, Validators::default());
            }
        }
        Err(ExtractError::malformed(
            format!("smartrecruiters postings from {base}"),
            format!("has more than {MAX_PAGES} pages"),
        ))
    }

    /// Workday: the search paged 20 at a time. A search stops at 2,000 postings: a board that reaches it is searched
    /// again once per value of the facet that splits it (see [`workday::splitting_facet`]), each posting kept once;
    /// where no facet splits it, the first 2,000 are read and the listing says it is incomplete (so that postings
    /// past them are not taken for gone).
    pub(super) async fn workday_search(&self, client: &reqwest::Client, url: &str) -> Result<Fetched, ExtractError> {
        let mut assembly = Assembly::new(url)?;
        let (mut first, bytes) = self.workday_page(client, url, &json!({}), 0).await?;
        assembly.answered(bytes, self.max_body_bytes)?;
        let total = first.total.unwrap_or(first.items.len() as u64);
        let facets = std::mem::take(&mut first.facets);
        if total < SEARCH_CAP {
            self.workday_pages(client, url, &json!({}), first, &mut assembly).await?;
            return assembly.finish(BoardKind::Workday, Validators::default());
        }
        let Some(Facet { parameter, values }) = workday::splitting_facet(&facets) else {
            self.workday_pages(client, url, &json!({}), first, &mut assembly).await?;
            assembly.warnings.push(format!(
                "workday's search stops at {SEARCH_CAP} postings and no facet of this board splits it into smaller \
                 searches: only the first {} were read",
                assembly.items
            ));
            return assembly.finish(BoardKind::Workday, Validators::default());
        };
        tracing::info!(url, facet = %parameter, values = values.len(), "workday board past the search cap: read by facet");
        for (id, _) in values {
            let applied = json!({ parameter.as_str(): [id] });
            let page = self.workday_page(client, url, &applied, 0).await?;
            assembly.answered(page.1, self.max_body_bytes)?;
            self.workday_pages(client, url, &applied, page.0, &mut assembly).await?;
        }
        // The search counts 2,000 where it stops: fewer read by facet says the facet left some out.
        if (assembly.items as u64) < total {
            assembly.warnings.push(format!(
                "workday's search stops at {SEARCH_CAP} postings; read by {parameter}, whose values gave {} postings, \
                 fewer than the {total} the search counts: the others were not read",
                assembly.items
            ));
        }
        assembly.finish(BoardKind::Workday, Validators::default())
    }

    /// The rest of one search after its `first` page: pages of 20 until its total (at most the cap; the cap where
    /// the first page gives none) is read or a page comes back short.
    async fn workday_pages(
        &self,
        client: &reqwest::Client,
        url: &str,
        applied: &Value,
        first: workday::Page,
        assembly: &mut Assembly,
    ) -> Result<(), ExtractError> {
        let key = |item: &Value| crate::listing::text(item.get("externalPath"));
        let total = first.total.unwrap_or(SEARCH_CAP).min(SEARCH_CAP);
        let mut offset = first.items.len() as u64;
        let mut last = first.items.len();
        assembly.push(first.items, key)?;
        for _ in 0..MAX_PAGES {
            if last < workday::PAGE || offset >= total {
                return Ok(());
            }
            let (page, bytes) = self.workday_page(client, url, applied, offset).await?;
            assembly.answered(bytes, self.max_body_bytes)?;
            last = page.items.len();
            offset += last as u64;
            assembly.push(page.items, key)?;
        }
        Ok(())
    }

    /// One page of a search: the page read, and its size in bytes.
    async fn workday_page(
        &self,
        client: &reqwest::Client,
        url: &str,
        applied: &Value,
        offset: u64,
    ) -> Result<(workday::Page, usize), ExtractError> {
        let search = json!({ "appliedFacets": applied, "limit": workday::PAGE, "offset": offset, "searchText": "" });
        let body = search.to_string().into_bytes();
        let fresh = Validators::default();
        let once = || self.download_to_vec(client, url, "application/json", Some(&body), &fresh);
        let answer = self.retried(url, once).await?.map(|(_, body)| body).unwrap_or_default();
        let page = workday::page(&answer).map_err(|e| crate::body::with_url(e, url))?;
        Ok((page, answer.len()))
    }
}
