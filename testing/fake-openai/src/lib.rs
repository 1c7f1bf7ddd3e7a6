//! A fake OpenAI HTTP server for integration tests, the demo and benchmarks.
//!
//! It speaks the real wire format recorded in `tests/fixtures/openai/`: the Responses API in background mode
//! (`POST /v1/responses`, `GET /v1/responses/{id}`, `POST /v1/responses/{id}/cancel`), the Files API
//! (`POST /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`) and the Batch API (`POST /v1/batches`,
//! `GET /v1/batches/{id}`, `POST /v1/batches/{id}/cancel`), with OpenAI's error envelope, statuses and
//! `x-ratelimit-*` headers. Every route is also served without the `/v1` prefix. When told a URL, it sends signed
//! webhook events as OpenAI does when responses and batches end (see `webhooks.rs`).
//!
//! Lifecycles follow a [`Clock`] that tests can advance, so a "200 ms" response or a "minute-long" rate limit
//! needs no sleeping. Everything random (ids, timings, outcomes, shuffles, faults) comes from a seeded RNG.
//! Tests steer the fake through [`FakeOpenAi`]; other processes use `/_fake/` (see `control.rs`).

mod batch;
mod clock;
mod config;
mod control;
mod decision;
mod errors;
mod files;
mod guard;
mod ids;
mod ratelimit;
mod responses;
mod routes;
mod state;
mod stats;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

pub use batch::model::BatchStatus;
pub use clock::Clock;
pub use config::{ConfigError, DecisionRule, FakeConfig, Timing};
pub use decision::{Decider, Decision, DecisionInput};
pub use responses::model::ResponseStatus;
pub use stats::Stats;

/// The fake; clones share its state.
#[derive(Clone)]
pub struct FakeOpenAi {
    pub(crate) state: Arc<state::State>,
}

impl FakeOpenAi {
    /// A fake on the system clock. The config is not validated (an invalid one is logged and used as far as it
    /// makes sense); [`FakeOpenAi::try_new`] refuses it instead.
    pub fn new(config: FakeConfig) -> Self {
        Self::with_clock(config, Clock::system())
    }

    /// A fake reading `clock`; use [`Clock::manual`] to drive lifecycles by hand.
    pub fn with_clock(config: FakeConfig, clock: Clock) -> Self {
        if let Err(error) = config.validate() {
            tracing::warn!(%error, "fake OpenAI started with an invalid config");
        }
        Self { state: Arc::new(state::State::new(config, clock)) }
    }

    /// Like [`FakeOpenAi::with_clock`] but refuses an invalid config.
    pub fn try_new(config: FakeConfig, clock: Clock) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self::with_clock(config, clock))
    }

    /// Binds `addr` (port 0 picks a free port) and serves the fake on the current tokio runtime.
    pub async fn serve(&self, addr: SocketAddr) -> anyhow::Result<FakeOpenAiServer> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding the fake OpenAI server to {addr}"))?;
        let local = listener.local_addr().context("reading the fake OpenAI server's bound address")?;
        let app = routes::router(self.clone());
        let handle = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake OpenAI server stopped");
            }
        });
        let sender = webhooks::spawn_sender(Arc::clone(&self.state));
        Ok(FakeOpenAiServer { base_url: format!("http://{local}/v1"), addr: local, handle, sender })
    }

    /// The current settings.
    pub fn config(&self) -> FakeConfig {
        self.state.lock().config.clone()
    }

    /// Replaces the settings (validated). Objects already created keep the timings and outcomes they drew; a new
    /// seed reseeds the RNGs; a new rate limit starts a fresh window.
    pub fn set_config(&self, config: FakeConfig) -> Result<(), ConfigError> {
        config.validate()?;
        let now_ms = self.state.clock.now_ms();
        self.state.lock().apply_config(config, now_ms);
        Ok(())
    }

    /// Changes some settings in place: `fake.update_config(|c| c.failed_rate = 0.5)`.
    pub fn update_config(&self, change: impl FnOnce(&mut FakeConfig)) -> Result<(), ConfigError> {
        let mut config = self.config();
        change(&mut config);
        self.set_config(config)
    }

    /// Replaces the decision rule with custom code (`None` restores [`FakeConfig::decision`]).
    pub fn set_decider(&self, decider: Option<Decider>) {
        self.state.set_decider(decider);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.state.lock().stats.clone()
    }

    /// Zeroes the counters.
    pub fn reset_stats(&self) {
        self.state.lock().stats = Stats::default();
    }

    /// The clock the fake reads.
    pub fn clock(&self) -> Clock {
        self.state.clock.clone()
    }

    /// Moves the fake's clock forward (works on the system clock too).
    pub fn advance(&self, by: Duration) {
        self.state.clock.advance(by);
    }

    /// A response's status now, or `None` for an unknown id. Does not count as a retrieval.
    pub fn response_status(&self, id: &str) -> Option<ResponseStatus> {
        let now_ms = self.state.clock.now_ms();
        self.state.lock().responses.get(id).map(|record| record.status(now_ms))
    }

    /// A batch's status now, or `None` for an unknown id. Does not count as a retrieval.
    pub fn batch_status(&self, id: &str) -> Option<BatchStatus> {
        let now_ms = self.state.clock.now_ms();
        self.state.lock().batches.get(id).map(|record| record.status(now_ms))
    }

    /// When the last background response finished (its done time), in milliseconds on the fake's clock
    /// ([`Clock::now_ms`]); `None` when there is none. For benchmarks: how long after this did the client notice?
    pub fn last_response_done_ms(&self) -> Option<u64> {
        self.state.lock().responses.values().filter(|r| r.background).map(|r| r.done_ms).max()
    }

    /// When each background response ended (its done time, or its cancel), by id, in milliseconds on the fake's
    /// clock; those still running are left out. For benchmarks: how long after this was each noticed?
    pub fn responses_ended_ms(&self) -> std::collections::HashMap<String, u64> {
        let now_ms = self.state.clock.now_ms();
        let inner = self.state.lock();
        inner
            .responses
            .values()
            .filter(|r| r.background && r.status(now_ms).is_terminal())
            .map(|r| (r.id.clone(), r.cancelled_ms.map_or(r.done_ms, |c| c.min(r.done_ms))))
            .collect()
    }

    /// Ids of every response created, in no particular order.
    pub fn response_ids(&self) -> Vec<String> {
        self.state.lock().responses.keys().cloned().collect()
    }
}

/// A running fake; dropping it stops the server.
pub struct FakeOpenAiServer {
    /// `http://127.0.0.1:PORT/v1`, the value for a client's OpenAI base URL.
    pub base_url: String,
    pub addr: SocketAddr,
    handle: tokio::task::JoinHandle<()>,
    /// Sends webhook events while webhooks are configured.
    sender: tokio::task::JoinHandle<()>,
}

impl FakeOpenAiServer {
    /// `http://127.0.0.1:PORT`, where `/_fake/` lives.
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeOpenAiServer {
    fn drop(&mut self) {
        self.handle.abort();
        self.sender.abort();
    }
}
