//! The `initializing` stage: for each company, extract its board (conditionally, with the validators of its last
//! listing) and store it (see [`super::store`]: UPSERT what changed and expire what the board no longer lists, in one
//! transaction with the company's checkpoint); then expire the postings of removed companies.
//! A board that fails is recorded with its reason, and nothing of its company expires; nor does a listing that
//! shrank suspiciously (until a second run sees the same) or was read only in part (see [`super::expiry`]).

use bw_db::companies;
use bw_db::events::Level;
use bw_db::listings::{self, ListingState};
use bw_db::models::{Company, RunStatus, Stage};
use bw_db::postings::{self, Checkpoint, Expiring};
use bw_db::{pool, runs};
use bw_extract::{Board, BoardError, BoardSource, ExtractError, Fetched, Validators};
use bw_queue::Failure;
use chrono::Utc;
use diesel_async::AsyncConnection as _;
use futures::StreamExt as _;
use serde_json::json;

use super::store::{self, BoardRead, NotModified};
use crate::log::event;
use crate::run::{RunCtx, Step, checkpoint, classify, fence, transient};

/// Runs the stage from the companies not yet checkpointed, and moves the run to `ingesting`.
pub async fn run_stage<S: BoardSource>(ctx: &RunCtx<'_, S>) -> Result<Step, Failure> {
    let (todo, states) = {
        let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
        let all = companies::list(&mut conn, ctx.user_id).await.map_err(transient)?;
        let done = postings::checkpointed_companies(&mut conn, ctx.run_id).await.map_err(transient)?;
        let states = listings::states(&mut conn, ctx.user_id).await.map_err(transient)?;
        let total = all.len().max(done.len());
        runs::merge_counts(&mut conn, ctx.run_id, ctx.owner, &json!({ "companies_total": total }))
            .await
            .map_err(transient)?;
        (all.into_iter().filter(|c| !done.contains(&c.id)).collect::<Vec<_>>(), states)
    };
    let states = &states;
    let mut fetches = futures::stream::iter(todo)
        .map(|company| async move {
            let previous = states.get(&company.id).cloned().unwrap_or_default();
            let fetched = fetch(ctx.boards, &company, &validators(&previous)).await;
            (company, previous, fetched)
        })
        .buffer_unordered(ctx.settings.extract_concurrency.max(1));
    // Companies are stored three at a time: while one's transaction waits on the database, the others' postings are
    // read and normalised. Fetching goes on meanwhile (a fetched board waits in `ready`, its body spooled), so that
    // no download stalls while its timeout runs. A company is stored only after the run's checkpoint said go on;
    // once one says stop, or a store fails, no other store begins and the ones begun end (a store is never dropped
    // halfway through its transaction, which would leave its locks with an idle connection).
    let mut ready = std::collections::VecDeque::new();
    let mut storing = futures::stream::FuturesUnordered::new();
    let (mut stop, mut failure, mut fetched_all) = (None, None, false);
    let wanted = ctx.settings.extract_concurrency.max(1);
    loop {
        let halted = stop.is_some() || failure.is_some();
        // Beyond the first, a store starts only while the pool keeps connections for the others: the lease's
        // renewal, and the other runs this process works at once.
        while !halted && storing.len() < STORES_AT_ONCE && (storing.is_empty() || pool::spare(ctx.pool) > SPARE) {
            let Some((company, previous, fetched)) = ready.pop_front() else { break };
            storing.push(async move {
                // Asked by the store itself, so that the stores in flight go on meanwhile.
                match checkpoint(ctx).await? {
                    halt @ (Step::AbortRequested | Step::Yield) => Ok(Some(halt)),
                    Step::Done => store_one(ctx, company, previous, fetched).await.map(|()| None),
                }
            });
        }
        tokio::select! {
            next = fetches.next(), if !halted && !fetched_all && ready.len() < wanted => match next {
                None => fetched_all = true,
                Some(fetched) => ready.push_back(fetched),
            },
            stored = storing.next(), if !storing.is_empty() => match stored {
                Some(Ok(Some(halt))) => {
                    // An abort stands over a yield.
                    if stop != Some(Step::AbortRequested) {
                        stop = Some(halt);
                    }
                }
                Some(Err(error)) => {
                    failure.get_or_insert(error);
                }
                Some(Ok(None)) | None => {}
            },
            else => break,
        }
    }
    drop(fetches);
    if let Some(failure) = failure {
        return Err(failure);
    }
    if let Some(stop) = stop {
        return Ok(stop);
    }
    if let stop @ (Step::AbortRequested | Step::Yield) = checkpoint(ctx).await? {
        return Ok(stop);
    }
    expire_removed_and_advance(ctx).await.map_err(classify)?;
    Ok(Step::Done)
}

/// Companies whose listings are stored at once (each in its own transaction and connection). Measured with
/// `scripts/bench.sh ingestion` on two cores: 2 gave a first run 0.46-0.49 of the COPY rate, 3 gave 0.51-0.55 and 4
/// 0.54.
const STORES_AT_ONCE: usize = 3;

/// Connections a second or third store leaves in the pool for others (see [`pool::spare`]).
const SPARE: usize = 2;

/// Stores what fetching the company's board came to: its listing, its `304 Not Modified` (or, when the company's
/// postings moved since, its listing fetched again whole), or its failure.
async fn store_one<S: BoardSource>(
    ctx: &RunCtx<'_, S>,
    company: Company,
    previous: ListingState,
    fetched: Result<Fetched, FetchError>,
) -> Result<(), Failure> {
    let fetched = match fetched {
        Ok(Fetched::NotModified) => match store::not_modified(ctx, &company, &previous).await.map_err(classify)? {
            NotModified::Stored => return Ok(()),
            // The company's postings moved since its last listing: read the board whole.
            NotModified::Stale => fetch(ctx.boards, &company, &Validators::default()).await,
        },
        other => other,
    };
    match fetched {
        Ok(Fetched::Listing(body)) => match store::listing(ctx, &company, &previous, body).await {
            Ok(()) => Ok(()),
            Err(error) => match error.downcast::<BoardRead>() {
                Ok(BoardRead(read)) => record_failure(ctx, &company, &read.to_string()).await.map_err(classify),
                Err(error) => Err(classify(error)),
            },
        },
        Ok(Fetched::NotModified) => {
            let reason = "answered 304 Not Modified to a request that was not conditional";
            record_failure(ctx, &company, reason).await.map_err(classify)
        }
        Err(error) => record_failure(ctx, &company, &error.to_string()).await.map_err(classify),
    }
}

/// What to send back to the company's board: the validators of its last listing, when it had one and its postings
/// were made by this normaliser (else the board is read whole, to make them again).
fn validators(previous: &ListingState) -> Validators {
    match previous.listed_at {
        Some(_) if !previous.stale() => {
            Validators { etag: previous.etag.clone(), last_modified: previous.last_modified.clone() }
        }
        _ => Validators::default(),
    }
}

/// Why a company's board could not be listed; its text is what the company's checkpoint records.
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error(transparent)]
    List(#[from] ExtractError),
}

async fn fetch<S: BoardSource>(boards: &S, company: &Company, validators: &Validators) -> Result<Fetched, FetchError> {
    let board = Board::at(company.board_kind, company.board_region, &company.board_token)?;
    Ok(boards.fetch(&board, validators).await?)
}

async fn record_failure<S: Sync>(ctx: &RunCtx<'_, S>, company: &Company, reason: &str) -> anyhow::Result<()> {
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner).await?;
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
        fence(conn, ctx.run_id, ctx.owner).await?;
        let when = Expiring { run_id: ctx.run_id, at: Utc::now() };
        let expired = postings::expire_removed_companies(conn, ctx.user_id, when).await?;
        runs::merge_counts(conn, ctx.run_id, ctx.owner, &json!({ "removed_company_postings_expired": expired }))
            .await?;
        anyhow::ensure!(
            runs::transition(conn, ctx.run_id, ctx.owner, RunStatus::Initializing, RunStatus::Ingesting, Stage::Ingest)
                .await?,
            "run left `initializing` under us"
        );
        let quiet = postings::unchanged_boards(conn, ctx.run_id).await?;
        if quiet.boards > 0 {
            let message = format!(
                "{} boards listed nothing new since their last listing ({} of them answered 304 Not Modified)",
                quiet.boards, quiet.not_modified
            );
            let data = json!({ "unchanged_boards": quiet.boards, "not_modified": quiet.not_modified });
            event(conn, ctx.run_id, Level::Info, Stage::Upsert, &message, Some(data)).await?;
        }
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
