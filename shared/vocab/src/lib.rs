//! The system's vocabulary as types. Each word the database stores as `text` (and the API answers as a string) is
//! an enum here, with one spelling: [`as_str`](RunStatus::as_str), `Display`, `FromStr`, serde, and (behind the
//! `diesel` and `utoipa` features) the PostgreSQL and OpenAPI mappings all come from the same list. The lists are
//! also what `GET /api/meta` answers, so the web UI and the demo do not keep copies of their own.

mod board;
mod word;

pub use board::{BoardKind, BoardRegion};
pub use word::Unknown;

word::vocabulary! {
    /// Where a run is in its lifecycle (`runs.status`).
    RunStatus: "run status" {
        Pending => "pending",
        Initializing => "initializing",
        Ingesting => "ingesting",
        Finished => "finished",
        Failed => "failed",
        Aborted => "aborted",
    }
}

impl RunStatus {
    /// Statuses after which nothing changes.
    pub const TERMINAL: [Self; 3] = [Self::Finished, Self::Failed, Self::Aborted];
    /// Statuses of a run that is under way.
    pub const ACTIVE: [Self; 3] = [Self::Pending, Self::Initializing, Self::Ingesting];

    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
}

word::vocabulary! {
    /// What started a run (`runs.started_by`).
    RunStart: "run start" {
        /// A user, through the API (or the web UI, or `ctl`).
        Manual => "manual",
        /// The user's schedule, through the scheduled dispatch.
        Schedule => "schedule",
    }
}

word::vocabulary! {
    /// A run's stage, recorded in `runs.stage` and on its events.
    Stage: "stage" {
        Extract => "extract",
        Upsert => "upsert",
        Expire => "expire",
        Ingest => "ingest",
        Summary => "summary",
    }
}

word::vocabulary! {
    /// Where an LLM job is (`llm_jobs.status`).
    JobStatus: "job status" {
        Queued => "queued",
        Submitting => "submitting",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

impl JobStatus {
    /// Statuses of a job that is not resolved yet: the poller still works on it.
    pub const UNRESOLVED: [Self; 3] = [Self::Queued, Self::Submitting, Self::Running];

    pub fn is_resolved(self) -> bool {
        !Self::UNRESOLVED.contains(&self)
    }
}

word::vocabulary! {
    /// How an LLM job's items are sent to OpenAI (`llm_jobs.mode`).
    JobMode: "job mode" {
        /// One background response per item, polled.
        Background => "background",
        /// One Batch API batch for the whole job.
        Batch => "batch",
    }
}

word::vocabulary! {
    /// Where one item of an LLM job is (`llm_job_items.status`); each has a count column on its job.
    ItemStatus: "item status" {
        Pending => "pending",
        Submitted => "submitted",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
        Expired => "expired",
    }
}

impl ItemStatus {
    /// Statuses of an item that has not ended.
    pub const OPEN: [Self; 2] = [Self::Pending, Self::Submitted];
}

word::vocabulary! {
    /// How the worker learnt that an item had ended at OpenAI (`llm_job_items.learnt_by`).
    Learnt: "way an end was learnt" {
        /// A webhook event announced it, and the worker read it.
        Push => "push",
        /// The worker's poll found it.
        Poll => "poll",
    }
}

word::vocabulary! {
    /// Where a posting is (`postings.status`): stored `pending`, `ready` once ingested (or `failed` with the reason),
    /// `expired` once its board stopped listing it.
    PostingStatus: "posting status" {
        Pending => "pending",
        Ready => "ready",
        Failed => "failed",
        Expired => "expired",
    }
}

word::vocabulary! {
    /// The period a posting's pay is given per (`postings.pay_interval`), as the board states it; a board that
    /// states none leaves it empty.
    PayInterval: "pay interval" {
        Hour => "hour",
        Day => "day",
        Week => "week",
        Month => "month",
        Year => "year",
    }
}

word::vocabulary! {
    /// What a run did to a posting already stored (`posting_changes.change`); the run that first stored it is the
    /// posting's `first_run_id`.
    PostingChange: "posting change" {
        /// Its content changed (the content hash).
        Changed => "changed",
        /// It had expired or failed, and its board listed it again with the same content.
        SeenAgain => "seen_again",
        /// Its board no longer listed it (or its company was removed).
        Expired => "expired",
    }
}

word::vocabulary! {
    /// The orders a user's postings can be listed in: a field, ascending, or descending with a leading `-`.
    PostingSort: "posting sort" {
        /// Newest first: the default.
        FirstSeenDesc => "-first_seen",
        FirstSeen => "first_seen",
        Title => "title",
        TitleDesc => "-title",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every word's serde form, `Display` and `FromStr` agree with `as_str`, for every type.
    fn round_trips<T>(all: &[T])
    where
        T: Copy + PartialEq + std::fmt::Debug + std::fmt::Display + std::str::FromStr + serde::Serialize,
        T: for<'de> serde::Deserialize<'de>,
    {
        for &word in all {
            let text = word.to_string();
            assert_eq!(text.parse::<T>().ok(), Some(word), "{text}");
            assert_eq!(serde_json::to_string(&word).ok(), Some(format!("\"{text}\"")));
            assert_eq!(serde_json::from_str::<T>(&format!("\"{text}\"")).ok(), Some(word));
        }
    }

    #[test]
    fn every_word_has_one_spelling() {
        round_trips(&RunStatus::ALL);
        round_trips(&Stage::ALL);
        round_trips(&JobStatus::ALL);
        round_trips(&JobMode::ALL);
        round_trips(&ItemStatus::ALL);
        round_trips(&BoardKind::ALL);
        round_trips(&RunStart::ALL);
        round_trips(&PostingStatus::ALL);
        round_trips(&PayInterval::ALL);
        round_trips(&BoardRegion::ALL);
        round_trips(&PostingChange::ALL);
        round_trips(&PostingSort::ALL);
        round_trips(&Learnt::ALL);
    }

    #[test]
    fn an_unknown_word_is_named_with_the_ones_expected() {
        let err = "done".parse::<RunStatus>().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            "unknown run status \"done\": expected one of pending, initializing, ingesting, finished, failed, aborted"
        );
        assert!(serde_json::from_str::<JobMode>("\"Batch\"").is_err(), "serde is as strict as FromStr");
    }

    #[test]
    fn the_groups_partition_the_lifecycles() {
        for status in RunStatus::ALL {
            assert_ne!(RunStatus::ACTIVE.contains(&status), status.is_terminal(), "{status}");
        }
        assert_eq!(JobStatus::ALL.iter().filter(|s| !s.is_resolved()).count(), JobStatus::UNRESOLVED.len());
    }
}
