//! The Batch object (`POST /batches`, `GET /batches/{id}`, `POST /batches/{id}/cancel`) and the File object
//! (`POST /files`).
//!
//! All `*_at` fields are epoch seconds or null. `model` and `usage` appear only on newer batches; `errors` is null or
//! a list when validation failed (then both file ids are null). Unknown fields are ignored.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Usage;
use super::serde_util::{epoch_seconds, null_as_default};

/// A batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// `batch_…`.
    pub id: String,
    /// Always `batch` on the real API.
    #[serde(default)]
    pub object: Option<String>,
    /// The endpoint every line goes to, e.g. `/v1/responses`.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The model, on newer batches.
    #[serde(default)]
    pub model: Option<String>,
    /// The uploaded input file.
    #[serde(default)]
    pub input_file_id: Option<String>,
    /// Always `24h` today.
    #[serde(default)]
    pub completion_window: Option<String>,
    /// Where the batch is in its life.
    pub status: BatchStatus,
    /// Lines that got a response (any HTTP status), once finalized.
    #[serde(default)]
    pub output_file_id: Option<String>,
    /// Lines that got no response (expired, cancelled, ...), once finalized.
    #[serde(default)]
    pub error_file_id: Option<String>,
    /// Validation errors of a failed batch.
    #[serde(default)]
    pub errors: Option<BatchErrors>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub created_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub in_progress_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub expires_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub finalizing_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub completed_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub failed_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub expired_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub cancelling_at: Option<i64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub cancelled_at: Option<i64>,
    /// Progress counters.
    #[serde(default, deserialize_with = "null_as_default")]
    pub request_counts: RequestCounts,
    /// The metadata given at creation.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metadata: BTreeMap<String, Value>,
    /// Token usage, on batches created after 2025-09-07.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// The status of a batch. Terminal: `completed`, `failed`, `expired`, `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// The input file is being checked.
    Validating,
    /// Validation failed; see `errors`.
    Failed,
    /// Running.
    InProgress,
    /// Writing the output files.
    Finalizing,
    /// Done; read `output_file_id` and `error_file_id`.
    Completed,
    /// The completion window passed; finished lines are in the output file, the rest in the error file.
    Expired,
    /// A cancel was asked for.
    Cancelling,
    /// Cancelled; finished lines are in the output file.
    Cancelled,
    /// A status this crate does not know yet; treated as not terminal.
    #[serde(other)]
    Unknown,
}

impl BatchStatus {
    /// Whether the batch will not change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Expired | Self::Cancelled)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validating => "validating",
            Self::Failed => "failed",
            Self::InProgress => "in_progress",
            Self::Finalizing => "finalizing",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Cancelling => "cancelling",
            Self::Cancelled => "cancelled",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Batch {
    /// Whether the batch will not change any more.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

/// Progress counters of a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Lines in the input file.
    #[serde(default)]
    pub total: u64,
    /// Lines answered.
    #[serde(default)]
    pub completed: u64,
    /// Lines that failed.
    #[serde(default)]
    pub failed: u64,
}

/// `errors` of a batch that failed validation: `{object: "list", data: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchErrors {
    /// Always `list`.
    #[serde(default)]
    pub object: Option<String>,
    /// The errors.
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<BatchError>,
}

/// One validation error of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchError {
    /// Such as `missing_required_parameter`.
    #[serde(default)]
    pub code: Option<String>,
    /// A human-readable description.
    #[serde(default)]
    pub message: Option<String>,
    /// The field at fault, such as `body.messages`.
    #[serde(default)]
    pub param: Option<String>,
    /// The 1-based input line at fault.
    #[serde(default)]
    pub line: Option<u64>,
}

/// An uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileObject {
    /// `file-…`.
    pub id: String,
    /// Always `file`.
    #[serde(default)]
    pub object: Option<String>,
    /// Size in bytes.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub created_at: Option<i64>,
    /// Epoch seconds, when the file expires.
    #[serde(default, deserialize_with = "epoch_seconds")]
    pub expires_at: Option<i64>,
    /// The name given at upload.
    #[serde(default)]
    pub filename: Option<String>,
    /// `batch` for batch input files; `batch_output` for the files a batch writes.
    #[serde(default)]
    pub purpose: Option<String>,
    /// Deprecated upload status (`uploaded`, `processed`, `error`).
    #[serde(default)]
    pub status: Option<String>,
}
