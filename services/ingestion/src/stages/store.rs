//! Storing one company's listing, in one transaction with its checkpoint: its postings read one at a time from the
//! board's body, only the new, changed or returning ones written (normalised as they are written, unless their
//! details must be fetched), what the listing left out expired (or held, see [`super::expiry`]), and the company's
//! listing state recorded. An unchanged board writes its listing state and its checkpoint, nothing per posting; a
//! board that answers `304 Not Modified` is not even read.

use std::collections::{HashMap, HashSet};

use anyhow::Context as _;
use bw_db::counts::Tally;
use bw_db::events::Level;
use bw_db::listings::{self, ListingState};
use bw_db::models::{Company, Stage};
use bw_db::postings::{self, Checkpoint, Expiring, Known, Listing, NewPosting, Written};
use bw_db::{expiry, pool};
use bw_extract::{BoardKind, ExtractError, Item, ListingBody};
use chrono::Utc;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use serde_json::json;

use super::expiry::Expiry;
use crate::log::event;
use crate::run::{RunCtx, fence};

/// A board's listing could not be read to its end: the company's board failed (nothing of it is stored).
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BoardRead(#[from] pub ExtractError);

/// Stores the company's listing from `body`; an error that is a [`BoardRead`] is the board's failure, any other
/// the database's. When the company's postings were made by an older normaliser (`previous` is stale), every
/// posting listed is written again, unchanged ones too.
pub async fn listing<S: Sync>(
    ctx: &RunCtx<'_, S>,
    company: &Company,
    previous: &ListingState,
    body: ListingBody,
) -> anyhow::Result<()> {
    let validators = body.validators().clone();
    let kind = body.kind();
    let older = previous.stale().then_some(previous.normalized_with);
    let rewrite = older.is_some();
    let listing =
        Listing { run_id: ctx.run_id, user_id: ctx.user_id, company_id: company.id, seen_at: Utc::now(), rewrite };
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner).await?;
        let base = expiry::base(conn, company.id).await.context("failed to read the company's expiry state")?;
        let known = postings::known(conn, company.id).await.context("failed to read the company's postings")?;
        let read = write_changed(conn, listing, Classes { kind, known, older }, body).await?;
        let found = i64::try_from(read.listed.len())?;
        let complete = read.warnings.is_empty();
        let decision = Expiry::decide(ctx.settings.expire_guard_percent, &base, found, complete);
        let ids: Vec<&str> = read.listed.iter().map(String::as_str).collect();
        let when = Expiring { run_id: listing.run_id, at: listing.seen_at };
        let applied = super::expiry::apply(conn, company.id, &ids, &base, decision, when)
            .await
            .context("failed to expire postings")?;
        // A posting the listing left out (an incomplete listing, a held expiry) keeps the older normaliser's
        // fields: the company stays stale, to be written again whole by its next run.
        let all_made_again = complete && applied.held == 0 && base.hold.is_none();
        let state = ListingState {
            listed_at: Some(listing.seen_at),
            listed_count: Some(i32::try_from(found)?),
            etag: validators.etag,
            last_modified: validators.last_modified,
            normalized_with: if all_made_again { bw_extract::NORMALIZER_VERSION } else { previous.normalized_with },
        };
        listings::record(conn, company.id, &state).await.context("failed to record the company's listing")?;
        let w = read.written;
        let tally = Tally {
            found,
            inserted: w.inserted,
            updated: w.updated,
            unchanged: read.unchanged,
            expired: applied.expired,
            expiry_held: applied.held,
            ready: w.ready,
            failed: w.failed,
        };
        let held = applied.held_reason.as_deref();
        let checkpoint = Checkpoint::Stored { tally: &tally, expiry_held_reason: held, not_modified: false };
        anyhow::ensure!(
            postings::checkpoint_company(conn, ctx.run_id, company.id, checkpoint).await?,
            "company {} was already stored by another delivery of this run",
            company.id
        );
        let quiet = tally.inserted + tally.updated + tally.expired + tally.expiry_held == 0
            && decision == Expiry::Expire
            && base.hold.is_none()
            && complete
            && read.duplicates == 0;
        if quiet {
            // An unchanged board is one line among many in the stage's summary, not a row of its own.
            return Ok(());
        }
        let (level, message) = summary(company, &tally, decision, held, &read.warnings);
        let data = json!({ "company_id": company.id, "tally": tally, "duplicates_dropped": read.duplicates,
            "statements": w.statements, "expiry_held_reason": held, "warnings": read.warnings });
        event(conn, ctx.run_id, level, Stage::Upsert, &message, Some(data)).await
    })
    .await
}

/// What reading a listing came to.
#[derive(Default)]
struct Read {
    /// The external ids listed (as stored), each once.
    listed: Vec<String>,
    unchanged: i64,
    /// Listed again unchanged after a held expiry left them unlisted (counted as unchanged).
    relisted: Vec<String>,
    duplicates: usize,
    warnings: Vec<String>,
    written: Written,
}

/// What the reading thread made of one listed posting.
enum Row {
    /// Its external id was listed before: the first stands.
    Duplicate,
    /// Listed as stored: nothing to write.
    Unchanged(String),
    /// Listed as stored, after a held expiry left it unlisted.
    Relisted(String),
    /// New, changed, or back (or made again by a newer normaliser): to write, normalised where its listing carries
    /// its details. `rehash`: its content is what is stored, which an older normaliser asked for in a shorter form
    /// (its stored hash is that form's).
    Write { row: Box<NewPosting>, rehash: bool },
}

/// What a listing's postings are classified against.
struct Classes {
    kind: BoardKind,
    /// The company's stored postings.
    known: HashMap<String, Known>,
    /// When the company's postings were made by an older normaliser, its version: every posting is written again.
    older: Option<i16>,
}

/// Classifies a listed posting against what is stored, and normalises the ones to write (in the reading thread,
/// so that this work overlaps with the writing of the chunk before).
fn classify(classes: &Classes, seen: &mut HashSet<String>, posting: bw_extract::ListedPosting) -> Row {
    let (kind, known, older) = (classes.kind, &classes.known, classes.older);
    let content_hash = posting.content_hash().to_vec();
    let mut row = NewPosting {
        content_hash,
        external_id: posting.external_id,
        title: posting.title,
        url: posting.url,
        raw: posting.raw,
        normalized: None,
    }
    .storable();
    if !seen.insert(row.external_id.clone()) {
        return Row::Duplicate;
    }
    let stored = known.get(&row.external_id);
    let mut rehash = false;
    match (stored, older) {
        (Some(k), None) if k.unchanged(&row.content_hash) => return Row::Unchanged(row.external_id),
        (Some(k), None) if k.relisted(&row.content_hash) => return Row::Relisted(row.external_id),
        (Some(k), Some(version)) if k.content_hash != row.content_hash => {
            let earlier = bw_extract::earlier_content_hash(kind, &row.raw, version);
            rehash = earlier.is_some_and(|hash| k.content_hash == hash);
        }
        _ => {}
    }
    if !bw_extract::needs_detail(kind, &row.raw) {
        row.normalized = Some(bw_extract::normalize(kind, &row.raw, None).map_err(|e| e.to_string()));
    }
    Row::Write { row: Box::new(row), rehash }
}

/// Reads the listing's postings one by one, and UPSERTs the ones that are not listed unchanged, a chunk at a time.
async fn write_changed(
    conn: &mut AsyncPgConnection,
    listing: Listing<'_>,
    classes: Classes,
    body: ListingBody,
) -> anyhow::Result<Read> {
    let mut read = Read::default();
    let mut seen = HashSet::new();
    let mut items = body.read_with(move |posting| classify(&classes, &mut seen, posting));
    let mut batch = Batch::default();
    while let Some(item) = items.next().await.map_err(BoardRead)? {
        match item {
            Item::Warning(warning) => read.warnings.push(warning),
            Item::Posting(Row::Duplicate) => read.duplicates += 1,
            Item::Posting(Row::Unchanged(id)) => {
                read.unchanged += 1;
                read.listed.push(id);
            }
            Item::Posting(Row::Relisted(id)) => {
                read.unchanged += 1;
                read.relisted.push(id.clone());
                read.listed.push(id);
            }
            Item::Posting(Row::Write { row, rehash }) => {
                read.listed.push(row.external_id.clone());
                if rehash {
                    batch.rehash.push((row.external_id.clone(), row.content_hash.clone()));
                }
                batch.rows.push(*row);
                if batch.rows.len() == postings::UPSERT_CHUNK_ROWS {
                    write(conn, listing, std::mem::take(&mut batch), &mut read.written).await?;
                }
            }
        }
    }
    if !batch.rows.is_empty() {
        write(conn, listing, batch, &mut read.written).await?;
    }
    if !read.relisted.is_empty() {
        let ids: Vec<&str> = read.relisted.iter().map(String::as_str).collect();
        postings::relist(conn, listing.company_id, &ids, listing.seen_at).await.context("failed to relist postings")?;
    }
    Ok(read)
}

/// A chunk of postings to write, and the (external id, content hash) of those to rehash first.
#[derive(Default)]
struct Batch {
    rows: Vec<NewPosting>,
    rehash: Vec<(String, Vec<u8>)>,
}

/// UPSERTs a chunk, after storing the new form of the content hashes of its postings whose content is what is
/// stored (see [`Row::Write`]).
async fn write(
    conn: &mut AsyncPgConnection,
    listing: Listing<'_>,
    batch: Batch,
    written: &mut Written,
) -> anyhow::Result<()> {
    if !batch.rehash.is_empty() {
        let ids: Vec<&str> = batch.rehash.iter().map(|(id, _)| id.as_str()).collect();
        let hashes: Vec<&[u8]> = batch.rehash.iter().map(|(_, hash)| hash.as_slice()).collect();
        postings::rehash(conn, listing.company_id, &ids, &hashes).await.context("failed to rehash postings")?;
    }
    *written += postings::upsert(conn, listing, &batch.rows).await.context("failed to upsert postings")?;
    Ok(())
}

/// What a `304 Not Modified` came to.
#[derive(Debug, PartialEq, Eq)]
pub enum NotModified {
    /// The company's last listing stands: stored as listed again, unchanged.
    Stored,
    /// The company's postings are not as its last listing left them (an expiry held since, a posting expired or
    /// added by hand): the board must be listed whole. Nothing was written.
    Stale,
}

/// Stores a board's `304 Not Modified`: its last listing again, when the company's live postings are still that
/// listing; failed postings go back for another try, as for a listing read whole.
pub async fn not_modified<S: Sync>(
    ctx: &RunCtx<'_, S>,
    company: &Company,
    previous: &ListingState,
) -> anyhow::Result<NotModified> {
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner).await?;
        let base = expiry::base(conn, company.id).await.context("failed to read the company's expiry state")?;
        if base.hold.is_some() || previous.listed_count.map(i64::from) != Some(base.live) {
            return Ok(NotModified::Stale);
        }
        let retried = postings::retry_failed(conn, company.id).await.context("failed to retry failed postings")?;
        let state = ListingState { listed_at: Some(Utc::now()), ..previous.clone() };
        listings::record(conn, company.id, &state).await.context("failed to record the company's listing")?;
        // A failed posting sent back for another try counts as updated, as a listing read whole counts it.
        let retried = i64::try_from(retried)?;
        let tally = Tally { found: base.live, updated: retried, unchanged: base.live - retried, ..Tally::default() };
        let checkpoint = Checkpoint::Stored { tally: &tally, expiry_held_reason: None, not_modified: true };
        anyhow::ensure!(
            postings::checkpoint_company(conn, ctx.run_id, company.id, checkpoint).await?,
            "company {} was already stored by another delivery of this run",
            company.id
        );
        if retried > 0 {
            let message = format!(
                "{} ({}): not modified since its last listing; {retried} failed postings go back for another try",
                company.name,
                company.board_label()
            );
            let data = json!({ "company_id": company.id, "tally": tally, "not_modified": true, "retried": retried });
            event(conn, ctx.run_id, Level::Info, Stage::Upsert, &message, Some(data)).await?;
        }
        Ok(NotModified::Stored)
    })
    .await
}

/// The company's line in the run's log: its counts, then what is worth noting (a confirmed or held expiry, parts of
/// the listing that could not be read), at `warn` when the run did not read or expire all it should have.
fn summary(
    company: &Company,
    tally: &Tally,
    decision: Expiry,
    held: Option<&str>,
    warnings: &[String],
) -> (Level, String) {
    let counts = format!(
        "{} ({}): found {}, inserted {}, updated {}, unchanged {}, expired {}",
        company.name,
        company.board_label(),
        tally.found,
        tally.inserted,
        tally.updated,
        tally.unchanged,
        tally.expired
    );
    let notes = decision.confirmation().into_iter().chain(held.map(|r| format!("expiry held: {r}")));
    let message = std::iter::once(counts).chain(notes).chain(warnings.iter().cloned()).collect::<Vec<_>>().join("; ");
    let level = if held.is_some() || !warnings.is_empty() { Level::Warn } else { Level::Info };
    (level, message)
}
