//! What every handler shares, built once in `main`.

use std::collections::HashMap;
use std::sync::Arc;

use bw_db::PgPool;
use bw_extract::HttpBoards;
use bw_messages::Database;
use bw_queue::SqsQueue;

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub queue: SqsQueue,
    pub runs_queue_url: String,
    /// The `llm-jobs` queue, where a new or cancelled job's first message goes.
    pub llm_jobs_queue_url: String,
    /// Which database runs started here live in; carried in every run message.
    pub database: Database,
    pub boards: HttpBoards,
    /// Bearer token -> user id.
    pub tokens: Arc<HashMap<String, String>>,
}

/// Parses `API_TOKENS`: comma-separated `token=user` pairs.
pub fn parse_tokens(raw: &str) -> Result<HashMap<String, String>, String> {
    let mut tokens = HashMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (token, user) =
            pair.split_once('=').ok_or_else(|| format!("API_TOKENS entry {pair:?} is not token=user"))?;
        let (token, user) = (token.trim(), user.trim());
        if token.len() < 8 || user.is_empty() {
            return Err(format!(
                "API_TOKENS entry for user {user:?} needs a token of at least 8 characters and a user"
            ));
        }
        tokens.insert(token.to_owned(), user.to_owned());
    }
    if tokens.is_empty() {
        return Err("API_TOKENS holds no token=user pair".to_owned());
    }
    Ok(tokens)
}
