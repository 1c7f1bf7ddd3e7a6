//! The Batch API: batches over an uploaded JSONL file of `/v1/responses` or `/v1/chat/completions` requests.

pub(crate) mod model;
pub(crate) mod output;
pub(crate) mod routes;
pub(crate) mod validate;
