//! A batch and its lifecycle: `validating -> in_progress -> finalizing -> completed` (or `expired` when lines
//! expired), `validating -> failed` for a bad input file, `cancelling -> cancelled` on request. Rendered in the
//! shape of `batch_create_validating.box_mojito_real.json` plus the newer `model` and `usage` fields of
//! `batch_retrieve_completed_with_usage.czech_doc_transcribed.json`.

use serde_json::{Value, json};

/// Where a batch is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Validating,
    Failed,
    InProgress,
    Finalizing,
    Completed,
    Expired,
    Cancelling,
    Cancelled,
}

impl BatchStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Validating => "validating",
            BatchStatus::Failed => "failed",
            BatchStatus::InProgress => "in_progress",
            BatchStatus::Finalizing => "finalizing",
            BatchStatus::Completed => "completed",
            BatchStatus::Expired => "expired",
            BatchStatus::Cancelling => "cancelling",
            BatchStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, BatchStatus::Failed | BatchStatus::Completed | BatchStatus::Expired | BatchStatus::Cancelled)
    }
}

/// How one line ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// `status_code` 200, in the output file.
    Ok,
    /// `status_code` 400 with `body.error`, in the error file.
    HttpError,
    /// Never run: `response: null`, `error.code: batch_expired`, in the error file.
    Expired,
}

/// One planned line: when it finishes (a fraction of the `in_progress` phase), how, and its output-file JSON.
#[derive(Clone, Debug)]
pub(crate) struct LinePlan {
    pub finish: f64,
    pub kind: LineKind,
    pub json: Value,
    /// `(input, output, reasoning)` tokens, for the batch's `usage`.
    pub tokens: (u64, u64, u64),
}

/// The lines to run, or the validation errors that fail the batch.
#[derive(Clone, Debug)]
pub(crate) enum Plan {
    Invalid(Vec<Value>),
    Run(Vec<LinePlan>),
}

/// One stored batch; times are absolute epoch milliseconds.
#[derive(Clone, Debug)]
pub(crate) struct BatchRecord {
    pub id: String,
    pub endpoint: String,
    pub input_file_id: String,
    pub metadata: Value,
    pub model: Option<String>,
    pub created_ms: u64,
    pub in_progress_ms: u64,
    pub finalizing_ms: u64,
    pub done_ms: u64,
    pub cancelling_for_ms: u64,
    pub cancelling_ms: Option<u64>,
    pub plan: Plan,
    /// `(output_file_id, error_file_id)` once the result files exist.
    pub files: Option<(Option<String>, Option<String>)>,
}

impl BatchRecord {
    pub(crate) fn status(&self, now_ms: u64) -> BatchStatus {
        if let Some(at) = self.cancelling_ms {
            return if now_ms >= at.saturating_add(self.cancelling_for_ms) {
                BatchStatus::Cancelled
            } else {
                BatchStatus::Cancelling
            };
        }
        let lines = match &self.plan {
            _ if now_ms < self.in_progress_ms => return BatchStatus::Validating,
            Plan::Invalid(_) => return BatchStatus::Failed,
            Plan::Run(lines) => lines,
        };
        if now_ms < self.finalizing_ms {
            BatchStatus::InProgress
        } else if now_ms < self.done_ms {
            BatchStatus::Finalizing
        } else if lines.iter().any(|l| l.kind == LineKind::Expired) {
            BatchStatus::Expired
        } else {
            BatchStatus::Completed
        }
    }

    /// The moment the batch stopped moving forward: the cancel request, or now.
    fn effective_ms(&self, now_ms: u64) -> u64 {
        self.cancelling_ms.map_or(now_ms, |at| at.min(now_ms))
    }

    /// The fraction of the `in_progress` phase elapsed at `at_ms`.
    fn progress(&self, at_ms: u64) -> f64 {
        if at_ms < self.in_progress_ms {
            0.0
        } else if at_ms >= self.finalizing_ms {
            1.0
        } else {
            (at_ms - self.in_progress_ms) as f64 / (self.finalizing_ms - self.in_progress_ms) as f64
        }
    }

    /// The lines that have finished (ran, successfully or not) by now.
    pub(crate) fn finished_lines(&self, now_ms: u64) -> Vec<&LinePlan> {
        let Plan::Run(lines) = &self.plan else { return Vec::new() };
        let effective = self.effective_ms(now_ms);
        if effective < self.in_progress_ms {
            return Vec::new();
        }
        let progress = self.progress(effective);
        lines.iter().filter(|l| l.kind != LineKind::Expired && l.finish <= progress).collect()
    }

    /// The lines that never ran because the batch expired.
    pub(crate) fn expired_lines(&self, now_ms: u64) -> Vec<&LinePlan> {
        match (&self.plan, self.status(now_ms)) {
            (Plan::Run(lines), BatchStatus::Expired) => lines.iter().filter(|l| l.kind == LineKind::Expired).collect(),
            _ => Vec::new(),
        }
    }

    /// When the batch reached its terminal status, if it has.
    /// The input tokens of the lines it runs (none for a batch that failed validation).
    pub(crate) fn input_tokens(&self) -> u64 {
        match &self.plan {
            Plan::Run(lines) => lines.iter().map(|l| l.tokens.0).sum(),
            Plan::Invalid(_) => 0,
        }
    }

    pub(crate) fn terminal_ms(&self, now_ms: u64) -> Option<u64> {
        match self.status(now_ms) {
            BatchStatus::Cancelled => self.cancelling_ms.map(|at| at.saturating_add(self.cancelling_for_ms)),
            BatchStatus::Failed => Some(self.in_progress_ms),
            BatchStatus::Completed | BatchStatus::Expired => Some(self.done_ms),
            _ => None,
        }
    }

    /// The batch object as `GET /v1/batches/{id}` answers it at `now_ms`.
    pub(crate) fn render(&self, now_ms: u64) -> Value {
        let status = self.status(now_ms);
        let effective = self.effective_ms(now_ms);
        let secs = |ms: u64| ms / 1000;
        let valid = matches!(self.plan, Plan::Run(_));
        let reached = |ms: u64| (valid && effective >= ms).then_some(secs(ms));
        let started = valid && effective >= self.in_progress_ms;
        let finished = self.finished_lines(now_ms);
        let expired = self.expired_lines(now_ms).len() as u64;
        let ok: Vec<&&LinePlan> = finished.iter().filter(|l| l.kind == LineKind::Ok).collect();
        let failed = finished.len() as u64 - ok.len() as u64 + expired;
        let total = match &self.plan {
            Plan::Run(lines) if started => lines.len(),
            _ => 0,
        };
        let (input, output, reasoning) = ok.iter().fold((0u64, 0u64, 0u64), |(i, o, r), l| {
            let (li, lo, lr) = l.tokens;
            (i.saturating_add(li), o.saturating_add(lo), r.saturating_add(lr))
        });
        let (output_file_id, error_file_id) = self.files.clone().unwrap_or((None, None));
        let errors = match &self.plan {
            Plan::Invalid(errors) if status == BatchStatus::Failed => json!({"object": "list", "data": errors}),
            _ => Value::Null,
        };
        json!({
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "model": self.model,
            "errors": errors,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": status.as_str(),
            "output_file_id": output_file_id,
            "error_file_id": error_file_id,
            "created_at": secs(self.created_ms),
            "in_progress_at": reached(self.in_progress_ms),
            "expires_at": secs(self.created_ms) + 24 * 3600,
            "finalizing_at": reached(self.finalizing_ms),
            "completed_at": (status == BatchStatus::Completed).then_some(secs(self.done_ms)),
            "failed_at": (status == BatchStatus::Failed).then_some(secs(self.in_progress_ms)),
            "expired_at": (status == BatchStatus::Expired).then_some(secs(self.done_ms)),
            "cancelling_at": self.cancelling_ms.map(secs),
            "cancelled_at": (status == BatchStatus::Cancelled).then(|| self.terminal_ms(now_ms).map(secs)).flatten(),
            "request_counts": {"total": total, "completed": ok.len(), "failed": failed},
            "usage": {
                "input_tokens": input,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": input.saturating_add(output),
            },
            "metadata": self.metadata,
        })
    }
}
