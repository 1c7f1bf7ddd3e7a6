//! The run's stages, each called by the state machine ([`crate::pipeline`]) with the run's context
//! ([`crate::run`]): `extract` (board, UPSERT, expire, per company; the `initializing` status) and `ingest` (details
//! and normalisation; `ingesting`). The expire guard ([`expiry`]) decides what a company's extract may expire.

pub mod expiry;
pub mod extract;
pub mod ingest;
pub mod store;
