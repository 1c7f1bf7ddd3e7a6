//! `POST /api/ingestion/dry-run`: what a run would find, per company, writing nothing.

use axum::extract::State;
use bw_db::pool;
use bw_extract::{Board, BoardSource as _};
use futures::StreamExt as _;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::auth::User;
use crate::error::ApiError;
use crate::state::AppState;

/// One company's line in a dry run.
#[derive(Debug, Serialize)]
pub struct Preview {
    pub company_id: Uuid,
    pub name: String,
    pub board_kind: String,
    pub ok: bool,
    pub found: usize,
    pub sample_titles: Vec<String>,
    pub error: Option<String>,
}

pub async fn dry_run(
    State(state): State<AppState>,
    User(user): User,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let companies = {
        let mut conn = pool::conn(&state.pool).await?;
        bw_db::companies::list(&mut conn, &user).await?
    };
    let boards = &state.boards;
    let previews: Vec<Preview> = futures::stream::iter(companies)
        .map(|company| async move {
            let listed = match company.board_kind.parse().map(|kind| Board::new(kind, &company.board_token)) {
                Ok(Ok(board)) => boards.list(&board).await.map_err(|e| e.to_string()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let (found, sample_titles, error) = match listed {
                Ok(postings) => (postings.len(), postings.iter().take(5).map(|p| p.title.clone()).collect(), None),
                Err(error) => (0, Vec::new(), Some(error)),
            };
            Preview {
                company_id: company.id,
                name: company.name,
                board_kind: company.board_kind,
                ok: error.is_none(),
                found,
                sample_titles,
                error,
            }
        })
        .buffered(8)
        .collect()
        .await;
    let total: usize = previews.iter().map(|p| p.found).sum();
    Ok(axum::Json(json!({ "companies": previews, "total_found": total })))
}
