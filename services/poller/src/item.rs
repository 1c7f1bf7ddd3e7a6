//! What one item's turn came to ([`Step`]), and how an item ends ([`item_end`] from OpenAI's answer, [`failed`]
//! with a reason). Plain values: the worker's modules and its statistics build on them.

use std::time::Duration;

use bw_db::llm::{Decision, ItemEnd, ItemStatus, ItemUsage};
use bw_openai::{Response, ResponseStatus, Usage};

/// What happened to one item in this invocation.
pub enum Step {
    Submitted,
    /// It ended here now, with the tokens it used (when OpenAI reported them).
    Ended(Option<ItemUsage>),
    Running,
    /// Left as it was for the next invocation (the deadline, or a rate limit; OpenAI asked to wait this long).
    Waiting(Option<Duration>),
    /// Not advanced (a failed try, or a database error); it stays open.
    Error(String),
}

/// An item's end as `failed` with `reason`.
pub fn failed(reason: &str) -> ItemEnd {
    ItemEnd { error: Some(reason.to_owned()), ..ItemEnd::bare(ItemStatus::Failed) }
}

/// How a terminal response ends its item: a completed one with a readable decision completes it; a malformed
/// answer, a failure or an incomplete answer fails it with the reason; a cancelled one is cancelled. The tokens it
/// used go with it (priced by the worker).
pub fn item_end(response: &Response) -> ItemEnd {
    ItemEnd { usage: response.usage.as_ref().map(item_usage), ..outcome(response) }
}

/// The tokens of a usage, unpriced.
fn item_usage(usage: &Usage) -> ItemUsage {
    let n = |v: u64| i32::try_from(v).unwrap_or(i32::MAX);
    ItemUsage {
        input_tokens: n(usage.input_tokens),
        cached_input_tokens: n(usage.input_tokens_details.as_ref().map_or(0, |d| d.cached_tokens)),
        output_tokens: n(usage.output_tokens),
        reasoning_tokens: n(usage.output_tokens_details.as_ref().map_or(0, |d| d.reasoning_tokens)),
        cost_usd: None,
    }
}

fn outcome(response: &Response) -> ItemEnd {
    let output_text = response.output_text();
    match response.status {
        ResponseStatus::Completed => match response.decision() {
            Ok(d) => ItemEnd {
                output_text,
                decision: Some(Decision { flag: d.flag, label: d.label, reason: d.reason }),
                ..ItemEnd::bare(ItemStatus::Completed)
            },
            Err(e) => ItemEnd { output_text, ..failed(&format!("malformed answer: {e}")) },
        },
        ResponseStatus::Cancelled => ItemEnd { output_text, ..ItemEnd::bare(ItemStatus::Cancelled) },
        _ => {
            let reason = response
                .decision()
                .err()
                .map_or_else(|| format!("response {}", response.status.as_str()), |e| e.to_string());
            ItemEnd { output_text, ..failed(&reason) }
        }
    }
}
