//! What every handler shares, built once in `main` (or by a test, with in-memory seams).

use std::sync::Arc;

use bw_db::PgPool;
use bw_messages::Database;

use crate::seams::{Boards, Enqueue, QueueOps};

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Where a started run's message and a new job's first message go.
    pub queue: Arc<dyn Enqueue>,
    /// Which database runs started here live in; carried in every run message.
    pub database: Database,
    /// The career boards, for the dry run.
    pub boards: Arc<dyn Boards>,
    /// Verifies the callers' JWTs.
    pub keys: bw_auth::Keys,
    /// The operators' view of the system's queues (`/api/ops`).
    pub ops: Arc<dyn QueueOps>,
    /// Wakes the progress streams when a run or job changes; `None` where streams cannot stay open (Lambda), which
    /// makes each stream one shot.
    pub live: Option<crate::live::Hub>,
    /// The signing secret of OpenAI's webhooks; `None` when they are not configured (the route answers 404).
    pub webhook_secret: Option<bw_webhooks::Secret>,
}
