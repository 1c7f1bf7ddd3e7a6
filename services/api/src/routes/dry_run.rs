//! `POST /api/ingestion/dry-run`: what a run would find, per company, writing nothing.

use axum::extract::State;
use bw_db::pool;
use bw_extract::{Board, BoardKind};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::User;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// One company's line in a dry run.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Preview {
    pub company_id: Uuid,
    pub name: String,
    pub board_kind: BoardKind,
    pub ok: bool,
    pub found: usize,
    pub sample_titles: Vec<String>,
    pub error: Option<String>,
    /// What of the board's listing could not be read without failing it (e.g. a careers page's broken JSON-LD
    /// script); a run would not expire this company's postings.
    pub warnings: Vec<String>,
}

/// What a run would find.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DryRun {
    pub companies: Vec<Preview>,
    pub total_found: usize,
}

/// Lists every company's board now, writing nothing.
#[utoipa::path(post, path = "/api/ingestion/dry-run", tag = "runs",
    responses((status = 200, body = DryRun), (status = 401, body = ErrorBody)))]
pub async fn dry_run(State(state): State<AppState>, User(user): User) -> Result<axum::Json<DryRun>, ApiError> {
    let companies = {
        let mut conn = pool::conn(&state.pool).await?;
        bw_db::companies::list(&mut conn, &user).await?
    };
    let boards = state.boards.as_ref();
    let previews: Vec<Preview> = futures::stream::iter(companies)
        .map(|company| async move {
            let listed = match Board::at(company.board_kind, company.board_region, &company.board_token) {
                Ok(board) => boards.list(&board).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let (found, sample_titles, error, warnings) = match listed {
                Ok(listing) => {
                    let titles = listing.postings.iter().take(5).map(|p| p.title.clone()).collect();
                    (listing.postings.len(), titles, None, listing.warnings)
                }
                Err(error) => (0, Vec::new(), Some(error), Vec::new()),
            };
            Preview {
                company_id: company.id,
                name: company.name,
                board_kind: company.board_kind,
                ok: error.is_none(),
                found,
                sample_titles,
                error,
                warnings,
            }
        })
        .buffered(8)
        .collect()
        .await;
    let total: usize = previews.iter().map(|p| p.found).sum();
    Ok(axum::Json(DryRun { companies: previews, total_found: total }))
}
