//! Integration tests: the fake served on 127.0.0.1:0 and spoken to over HTTP with reqwest.

mod batches;
mod binary;
mod common;
mod control;
mod errors;
mod limits;
mod responses;
mod webhooks;
