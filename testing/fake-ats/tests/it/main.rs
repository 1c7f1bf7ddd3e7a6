//! Integration tests of the fake ATS over HTTP.

mod binary;
mod boards;
mod common;
mod control;
mod failures;
mod feeds;
mod mutations;
mod newer;
mod routes;
mod workday;
