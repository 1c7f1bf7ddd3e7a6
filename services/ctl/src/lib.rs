//! The operators' command line as a library: each command is a function returning what it found or did, so tests
//! drive the same code as `ctl`, and `main.rs` only parses arguments and prints. What the API's operators' routes do
//! too (resolving queues, listing them, peeking, whole-DLQ redrives) lives in `bw_ops`; this crate adds what only the
//! command line has: filtered and capped redrives, watching a move task, cancel and purge, consumers, rendering;
//! and a client of the API ([`client`]) that drives the system as a user would and follows runs and jobs.

pub mod api;
pub mod aws;
pub mod client;
pub mod consumers;
pub mod dlq;
pub mod filter;
pub mod follow;
pub mod progress;
pub mod queues;
pub mod redrive;
pub mod render;
pub mod report;
