//! A typed client for the parts of the OpenAI API this system uses to screen entities:
//!
//! - **Responses in background mode**: [`OpenAi::create_background_response`], then poll
//!   [`OpenAi::retrieve_response`] until [`Response::is_terminal`], then read [`Response::decision`].
//! - **Batches**: build lines with [`batch_request_line`], upload them ([`OpenAi::upload_batch_file_from`] streams a
//!   file from disk), [`OpenAi::create_batch`], poll [`OpenAi::retrieve_batch`], read the output and error files a
//!   line at a time ([`OpenAi::file_lines`], [`parse_batch_line`]; lines in any order, matched by `custom_id`).
//!
//! Every request has a connect and a total timeout; retryable failures are retried in one place ([`retry`]) with
//! exponential backoff and full jitter, honouring `Retry-After`; a deadline ([`OpenAi::with_deadline`]) bounds a
//! whole call; used-up rate-limit budgets pause requests (see [`client`]). The API key never reaches logs, and
//! neither do prompts or model output.

pub mod api;
pub mod batch;
pub mod client;
pub mod config;
pub mod decision;
pub mod error;
pub mod files;
pub mod prices;
pub mod ratelimit;
pub mod retry;
pub mod types;

pub use api::{BATCH_COMPLETION_WINDOW, BATCH_ENDPOINT};
pub use batch::{BatchOutcome, BatchResult, batch_request_line, parse_batch_line, parse_batch_output};
pub use client::OpenAi;
pub use config::{OPENAI_API_KEY, OpenAiConfig};
pub use decision::{DECISION_FORMAT_NAME, Decision, decision_schema, decision_text_format, parse_decision};
pub use error::{ApiErrorBody, ErrorEnvelope, OpenAiError};
pub use files::FileLines;
pub use prices::{Price, PriceError, PriceTable};
pub use ratelimit::{RateLimits, parse_go_duration};
pub use retry::RetryPolicy;
pub use types::{Batch, BatchStatus, FileObject, Response, ResponseStatus, Usage};
