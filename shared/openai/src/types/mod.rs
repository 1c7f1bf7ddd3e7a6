//! Typed OpenAI objects. They parse the real payloads under `tests/fixtures/openai/` and ignore unknown fields.

mod batch;
mod response;
mod serde_util;

pub use batch::{Batch, BatchError, BatchErrors, BatchStatus, FileObject, RequestCounts};
pub use response::{
    ContentPart, IncompleteDetails, InputTokensDetails, OutputItem, OutputTokensDetails, Response, ResponseError,
    ResponseStatus, Usage,
};
