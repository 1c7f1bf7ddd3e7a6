//! The `ingesting` stage: for each pending posting of the user, fetch details where the listing lacks them,
//! normalise, and mark it `ready` (or `failed` with its reason; the run goes on). Chunked, each chunk one
//! transaction with its counts; abort is checked between chunks.

use bw_db::events::Level;
use bw_db::models::Stage;
use bw_db::pool;
use bw_db::postings::{self, Ingested, PendingPosting};
use bw_extract::{Board, BoardError, BoardKind, BoardSource, ExtractError};
use bw_queue::Failure;
use diesel_async::AsyncConnection as _;
use futures::StreamExt as _;
use serde_json::json;

use crate::log::event;
use crate::run::{RunCtx, Step, checkpoint, classify, fence, transient};

/// Ingests every pending posting of the user, chunk by chunk.
pub async fn run_stage<S: BoardSource>(ctx: &RunCtx<'_, S>) -> Result<Step, Failure> {
    let mut after_id = 0;
    loop {
        if let stop @ (Step::AbortRequested | Step::Yield) = checkpoint(ctx).await? {
            return Ok(stop);
        }
        let chunk = {
            let mut conn = pool::conn(ctx.pool).await.map_err(transient)?;
            postings::pending_after(&mut conn, ctx.user_id, after_id, ctx.settings.ingest_chunk)
                .await
                .map_err(transient)?
        };
        let Some(last) = chunk.last() else { return Ok(Step::Done) };
        after_id = last.id;
        let results: Vec<Ingested> = futures::stream::iter(chunk)
            .map(|posting| ingest_one(ctx.boards, posting))
            .buffer_unordered(ctx.settings.ingest_concurrency.max(1))
            .collect()
            .await;
        write_chunk(ctx, &results).await.map_err(classify)?;
    }
}

async fn write_chunk<S: Sync>(ctx: &RunCtx<'_, S>, results: &[Ingested]) -> anyhow::Result<()> {
    let mut conn = pool::conn(ctx.pool).await?;
    conn.transaction::<_, anyhow::Error, _>(async |conn| {
        fence(conn, ctx.run_id, ctx.owner).await?;
        let (ready, failed) = postings::apply_ingested(conn, ctx.run_id, results).await?;
        let level = if failed > 0 { Level::Warn } else { Level::Info };
        let reasons: Vec<&str> =
            results.iter().filter_map(|r| r.outcome.as_ref().err().map(String::as_str)).take(5).collect();
        let message = format!("ingested {} postings: {ready} ready, {failed} failed", results.len());
        let data = json!({ "ready": ready, "failed": failed, "first_errors": reasons });
        event(conn, ctx.run_id, level, Stage::Ingest, &message, Some(data)).await
    })
    .await
}

/// Fetches details if needed and normalises one posting; a failure becomes the posting's recorded error.
async fn ingest_one<S: BoardSource>(boards: &S, posting: PendingPosting) -> Ingested {
    Ingested { id: posting.id, outcome: normalise(boards, &posting).await.map_err(|e| e.to_string()) }
}

/// Why a posting could not be normalised; its text is the posting's recorded error.
#[derive(Debug, thiserror::Error)]
enum NormaliseError {
    #[error(transparent)]
    Kind(#[from] bw_vocab::Unknown),
    #[error(transparent)]
    Board(#[from] BoardError),
    #[error("detail fetch failed: {0}")]
    Detail(ExtractError),
    #[error(transparent)]
    Normalise(ExtractError),
}

async fn normalise<S: BoardSource>(
    boards: &S,
    posting: &PendingPosting,
) -> Result<bw_extract::NormalizedPosting, NormaliseError> {
    let kind: BoardKind = posting.board_kind.parse()?;
    let detail = if bw_extract::needs_detail(kind, &posting.raw) {
        let board = Board::at(kind, posting.board_region, &posting.board_token)?;
        Some(boards.detail(&board, &posting.external_id).await.map_err(NormaliseError::Detail)?)
    } else {
        None
    };
    bw_extract::normalize(kind, &posting.raw, detail.as_ref()).map_err(NormaliseError::Normalise)
}
