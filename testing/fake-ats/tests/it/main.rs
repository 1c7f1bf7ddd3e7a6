//! Integration tests of the fake ATS over HTTP.

mod binary;
mod common;
mod control;
mod failures;
mod mutations;
mod routes;
