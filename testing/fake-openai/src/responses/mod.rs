//! The Responses API in background mode.

pub(crate) mod model;
pub(crate) mod request;
pub(crate) mod routes;
