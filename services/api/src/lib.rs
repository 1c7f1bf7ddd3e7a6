//! The HTTP API: companies, ingestion runs (start, list, show, abort, dry run) and run events. Every query is
//! scoped to the caller; another user's objects answer 404. Errors are JSON naming the problem.

pub mod auth;
pub mod error;
pub mod extract;
pub mod routes;
pub mod state;

pub use state::AppState;

/// The API's router over `state`.
pub fn router(state: AppState) -> axum::Router {
    routes::router().with_state(state)
}
