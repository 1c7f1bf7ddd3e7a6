//! The operators' command line as a library: each command is a function returning what it found or did, so tests
//! drive the same code as `ctl`, and `main.rs` only parses arguments and prints.

pub mod consumers;
pub mod dlq;
pub mod filter;
pub mod peek;
pub mod progress;
pub mod queues;
pub mod redrive;
pub mod render;
pub mod target;
