//! What every handler shares, built once in `main`.

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
    /// Verifies the callers' JWTs.
    pub keys: bw_auth::Keys,
    /// The operators' view of the system's queues (`/api/ops`): SQS, CloudWatch and the queue prefix.
    pub ops: bw_ops::Ops,
    /// Wakes the progress streams when a run or job changes; `None` where streams cannot stay open (Lambda), which
    /// makes each stream one shot.
    pub live: Option<crate::live::Hub>,
}
