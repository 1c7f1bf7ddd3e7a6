//! The `initializing` stage: for each company, extract its board, UPSERT the postings and expire the ones its board
//! no longer lists (one transaction with the company's checkpoint); then expire the postings of removed companies.
//! A board that fails is recorded with its reason, and nothing of its company expires; nor does a listing that
//! shrank suspiciously (until a second run sees the same) or was read only in part (see [`super::expiry`]).

use anyhow::Context as _;
use bw_db::companies;
use bw_db::counts::Tally;
use bw_db::events::Level;
use bw_db::models::{Company, RunStatus, Stage};
use bw_db::postings::{self, Checkpoint, Expiring, Listing, NewPosting};
use bw_db::{expiry, pool, runs};
use bw_extract::{Board, BoardSource, ExtractError, InvalidBoard, Listing as BoardListing};
use bw_queue::Failure;
use chrono::Utc;
use diesel_async::AsyncConnection as _;
use futures::StreamExt as _;
use serde_json::json;

use super::expiry::Expiry;
use crate::log::event;
use crate::run::{RunCtx, Step, checkpoint, classify, fence, transient};

/// Runs the stage from the companies not yet checkpointed, and moves the run to `ingesting`.
pub async fn run_stage<S: BoardSource>(ctx: &RunCtx<'_, S>) -> Result<Step, Failure> {
    let todo = {
        let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
        let all = companies::list(&mut conn, ctx.user_id).await.map_err(transient)?;
        let done = postings::checkpointed_companies(&mut conn, ctx.run_id).await.map_err(transient)?;
        let total = all.len().max(done.len());
        runs::merge_counts(&mut conn, ctx.run_id, ctx.owner, &json!({ "companies_total": total }))
            .await
            .map_err(transient)?;
        all.into_iter().filter(|c| !done.contains(&c.id)).collect::<Vec<_>>()
    };
    let mut fetches = futures::stream::iter(todo)
        .map(|company| async move {
            let listed = fetch(ctx.boards, &company).await;
            (company, listed)
        })
        .buffer_unordered(ctx.settings.extract_concurrency.max(1));
    while let Some((company, listed)) = fetches.next().await {
        if let stop @ (Step::AbortRequested | Step::Yield) = checkpoint(ctx).await? {
            return Ok(stop);
        }
        match listed {
            Ok(listed) => store(ctx, &company, listed).await.map_err(classify)?,
            Err(error) => record_failure(ctx, &company, &error.to_string()).await.map_err(classify)?,
        }
    }
    drop(fetches);
    if let stop @ (Step::AbortRequested | Step::Yield) = checkpoint(ctx).await? {
        return Ok(stop);
    }
    expire_removed_and_advance(ctx).await.map_err(classify)?;
    Ok(Step::Done)
}

/// Why a company's board could not be listed; its text is what the company's checkpoint records.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Board(#[from] InvalidBoard),
    #[error(transparent)]
    List(#[from] ExtractError),
}

async fn fetch<S: BoardSource>(boards: &S, company: &Company) -> Result<BoardListing, FetchError> {
    let board = Board::new(company.board_kind, &company.board_token)?;
    Ok(boards.list(&board).await?)
}

/// UPSERTs the company's listing, expires (or holds, see [`super::expiry`]) what it left out, and writes the
/// company's checkpoint and log line, in one transaction.
async fn store<S: Sync>(ctx: &RunCtx<'_, S>, company: &Company, listed: BoardListing) -> anyhow::Result<()> {
    let complete = listed.is_complete();
    let mut rows: Vec<NewPosting> = listed
        .postings
        .into_iter()
        .map(|l| {
            let content_hash = l.content_hash().to_vec();
            NewPosting { content_hash, external_id: l.external_id, title: l.title, url: l.url, raw: l.raw }.storable()
        })
        .collect();
    let duplicates = postings::dedup(&mut rows);
    let listing = Listing { run_id: ctx.run_id, user_id: ctx.user_id, company_id: company.id, seen_at: Utc::now() };
    let warnings = &listed.warnings;
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner, ctx.settings.lease_secs).await?;
        let base = expiry::base(conn, company.id).await.context("failed to read the company's expiry state")?;
        let outcome = postings::upsert(conn, listing, &rows).await.context("failed to upsert postings")?;
        let ids: Vec<&str> = rows.iter().map(|p| p.external_id.as_str()).collect();
        let decision = Expiry::decide(ctx.settings.expire_guard_percent, &base, outcome.tally.found, complete);
        let when = Expiring { run_id: listing.run_id, at: listing.seen_at };
        let applied = super::expiry::apply(conn, company.id, &ids, &base, decision, when)
            .await
            .context("failed to expire postings")?;
        let tally = Tally { expired: applied.expired, expiry_held: applied.held, ..outcome.tally };
        let held = applied.held_reason.as_deref();
        anyhow::ensure!(
            postings::checkpoint_company(
                conn,
                ctx.run_id,
                company.id,
                Checkpoint::Stored { tally: &tally, expiry_held_reason: held }
            )
            .await?,
            "company {} was already stored by another delivery of this run",
            company.id
        );
        let (level, message) = summary(company, &tally, decision, held, warnings);
        let data = json!({ "company_id": company.id, "tally": tally, "duplicates_dropped": duplicates,
            "statements": outcome.statements, "expiry_held_reason": held, "warnings": warnings });
        event(conn, ctx.run_id, level, Stage::Upsert, &message, Some(data)).await
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
        "{} ({} {}): found {}, inserted {}, updated {}, unchanged {}, expired {}",
        company.name,
        company.board_kind,
        company.board_token,
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

async fn record_failure<S: Sync>(ctx: &RunCtx<'_, S>, company: &Company, reason: &str) -> anyhow::Result<()> {
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner, ctx.settings.lease_secs).await?;
        if !postings::checkpoint_company(conn, ctx.run_id, company.id, Checkpoint::Failed { error: reason }).await? {
            return Ok(());
        }
        let message =
            format!("{} ({}): board failed, none of its postings expired: {reason}", company.name, company.board_kind);
        event(
            conn,
            ctx.run_id,
            Level::Warn,
            Stage::Extract,
            &message,
            Some(json!({ "company_id": company.id, "error": reason })),
        )
        .await
    })
    .await
}

async fn expire_removed_and_advance<S: Sync>(ctx: &RunCtx<'_, S>) -> anyhow::Result<()> {
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner, ctx.settings.lease_secs).await?;
        let when = Expiring { run_id: ctx.run_id, at: Utc::now() };
        let expired = postings::expire_removed_companies(conn, ctx.user_id, when).await?;
        runs::merge_counts(conn, ctx.run_id, ctx.owner, &json!({ "removed_company_postings_expired": expired }))
            .await?;
        anyhow::ensure!(
            runs::transition(conn, ctx.run_id, ctx.owner, RunStatus::Initializing, RunStatus::Ingesting, Stage::Ingest)
                .await?,
            "run left `initializing` under us"
        );
        let message = format!("expired {expired} postings of removed companies; ingesting details");
        event(
            conn,
            ctx.run_id,
            Level::Info,
            Stage::Expire,
            &message,
            Some(json!({ "removed_company_postings_expired": expired })),
        )
        .await
    })
    .await
}
