//! The ingestion service: consumer of the `runs` queue. A run goes `pending -> initializing` (extract each company's
//! board, UPSERT its postings, expire what vanished) `-> ingesting` (details, normalisation) `-> finished`, or
//! `failed`, or `aborted`.
//!
//! Idempotent under at-least-once delivery: the run's lease keeps two deliveries from working at once, every
//! company's writes commit with its checkpoint, every status change names the status it expects, and a message for
//! a run that has ended is acknowledged at once.

pub mod config;
pub mod handler;
pub mod log;
pub mod pipeline;
pub mod run;
pub mod stages;

pub use config::Settings;
pub use handler::{Continuation, Ingestion};
