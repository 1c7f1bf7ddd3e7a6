//! `GET /api/meta`: the system's vocabulary, from the enums the services use, so the web UI, `ctl` and the demo
//! need no copies of their own.

use axum::Json;
use bw_db::counts::Tally;
use bw_vocab::{
    BoardKind, BoardRegion, ItemStatus, JobMode, JobStatus, PostingChange, PostingSort, PostingStatus, RunStart,
    RunStatus, Stage,
};
use serde::Serialize;

/// The words of runs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RunWords {
    /// Every status, in lifecycle order.
    pub statuses: Vec<RunStatus>,
    /// Statuses of a run that is under way (one at a time per user).
    pub active: Vec<RunStatus>,
    /// Statuses after which nothing changes.
    pub terminal: Vec<RunStatus>,
    /// The stages a run reports, in order.
    pub stages: Vec<Stage>,
    /// The posting counts every run reports in `counts.total` and per company, in table order.
    pub count_columns: Vec<&'static str>,
    /// What starts a run (`started_by`).
    pub starts: Vec<RunStart>,
}

/// The words of LLM jobs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobWords {
    pub statuses: Vec<JobStatus>,
    /// Statuses of a job the poller still works on.
    pub unresolved: Vec<JobStatus>,
    pub modes: Vec<JobMode>,
    pub item_statuses: Vec<ItemStatus>,
}

/// The words of postings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PostingWords {
    pub statuses: Vec<PostingStatus>,
    /// What a run did to a posting already stored (besides `inserted`, by the run that first stored it).
    pub changes: Vec<PostingChange>,
    /// The orders `GET /api/postings` takes as `sort`; the first is the default.
    pub sorts: Vec<PostingSort>,
}

/// The vocabulary of the API's answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Meta {
    pub runs: RunWords,
    pub jobs: JobWords,
    pub postings: PostingWords,
    /// The board kinds a company may name.
    pub board_kinds: Vec<BoardKind>,
    /// The regions (hosts) each board kind can be in: `us` for all, `eu` too for Greenhouse and Lever.
    pub board_regions: std::collections::BTreeMap<String, Vec<BoardRegion>>,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            runs: RunWords {
                statuses: RunStatus::ALL.to_vec(),
                active: RunStatus::ACTIVE.to_vec(),
                terminal: RunStatus::TERMINAL.to_vec(),
                stages: Stage::ALL.to_vec(),
                count_columns: Tally::COLUMNS.to_vec(),
                starts: RunStart::ALL.to_vec(),
            },
            jobs: JobWords {
                statuses: JobStatus::ALL.to_vec(),
                unresolved: JobStatus::UNRESOLVED.to_vec(),
                modes: JobMode::ALL.to_vec(),
                item_statuses: ItemStatus::ALL.to_vec(),
            },
            postings: PostingWords {
                statuses: PostingStatus::ALL.to_vec(),
                changes: PostingChange::ALL.to_vec(),
                sorts: PostingSort::ALL.to_vec(),
            },
            board_kinds: BoardKind::ALL.to_vec(),
            board_regions: BoardKind::ALL.iter().map(|k| (k.as_str().to_owned(), k.regions().to_vec())).collect(),
        }
    }
}

/// The statuses, stages, modes, posting orders, board kinds and count columns the other answers use (no token
/// needed).
#[utoipa::path(get, path = "/api/meta", tag = "system", security(()), responses((status = 200, body = Meta)))]
pub async fn meta() -> Json<Meta> {
    Json(Meta::default())
}
