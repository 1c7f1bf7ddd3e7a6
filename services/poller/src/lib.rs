//! The poller service: `dispatch` (on a schedule) sends one `llm-jobs` message per job that is due; the `worker`
//! (consumer of `llm-jobs`) takes a job's lease, submits its pending items to OpenAI, polls the submitted ones,
//! records results, applies decisions once, keeps the aggregates, resolves the job, or re-enqueues it with a delay
//! chosen from its progress. Items that never end are given up past their attempt and age caps ([`caps`]).

pub mod background;
pub mod batch;
pub mod batch_file;
pub mod caps;
pub mod delay;
pub mod dispatch;
pub mod item;
pub mod poll;
pub mod settings;
pub mod stats;
pub mod tries;
pub mod worker;

pub use settings::{Caps, Settings};
pub use worker::Worker;
