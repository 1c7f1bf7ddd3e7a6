//! The integration tests, one binary: each module is one area of the system, driven against the real PostgreSQL,
//! LocalStack SQS, the real binaries and the fakes of OpenAI and the boards (see `bw_tests` for the harness).
//! One binary links the workspace once instead of once per file.

mod api;
mod browser;
mod client;
mod delivery;
mod docs;
mod hostile;
mod ingest_paths;
mod ingest_safety;
mod lambda_mode;
mod layering;
mod live;
mod llm_api;
mod llm_store;
mod more_boards;
mod openapi;
mod operators;
mod ops_api;
mod pay;
mod poller;
mod poller_batches;
mod poller_caps;
mod postings;
mod redelivery;
mod regions;
mod run_cost;
mod run_lifecycle;
mod schedule;
mod schema;
mod screens;
mod startup;
mod storage;
mod template;
mod tls;
mod ui_static;
mod webhooks;
