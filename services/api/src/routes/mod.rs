//! Routes, one module per resource.

use axum::Router;
use axum::routing::{delete, get, post};

use crate::state::AppState;

pub mod companies;
pub mod dry_run;
pub mod llm_jobs;
pub mod runs;

/// Every route of the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/companies", get(companies::list).post(companies::create))
        .route("/api/companies/{id}", delete(companies::remove))
        .route("/api/ingestion/runs", get(runs::list).post(runs::start))
        .route("/api/ingestion/runs/{id}", get(runs::show))
        .route("/api/ingestion/runs/{id}/abort", post(runs::abort))
        .route("/api/ingestion/runs/{id}/events", get(runs::events))
        .route("/api/ingestion/dry-run", post(dry_run::dry_run))
        .route("/api/llm-jobs", get(llm_jobs::list).post(llm_jobs::create))
        .route("/api/llm-jobs/{id}", get(llm_jobs::show))
        .route("/api/llm-jobs/{id}/items", get(llm_jobs::items))
        .route("/api/llm-jobs/{id}/cancel", post(llm_jobs::cancel))
        .route("/api/postings", get(llm_jobs::flagged))
}
