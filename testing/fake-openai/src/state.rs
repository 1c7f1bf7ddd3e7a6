//! The fake's shared state: one mutex around everything mutable (never held across an await), the clock, and the
//! optional custom decider.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, RwLock};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::batch::model::BatchRecord;
use crate::clock::Clock;
use crate::config::FakeConfig;
use crate::decision::Decider;
use crate::files::FileRecord;
use crate::ratelimit::{Bucket, UNLIMITED_REQUESTS};
use crate::responses::model::ResponseRecord;
use crate::stats::Stats;

/// Salt so fault draws do not share a sequence with object draws.
const FAULT_SALT: u64 = 0x5eed_fa17;
/// Salt so webhook draws (losses, duplicates, delays) leave the objects a seed produces as they were.
const WEBHOOK_SALT: u64 = 0x5eed_40c5;

pub(crate) struct State {
    pub clock: Clock,
    inner: Mutex<Inner>,
    decider: RwLock<Option<Decider>>,
}

pub(crate) struct Inner {
    pub config: FakeConfig,
    /// Ids, timings, outcomes, shuffles.
    pub rng: StdRng,
    /// Injected 5xx only, so turning faults on does not change the objects a seed produces.
    pub fault_rng: StdRng,
    /// Webhook deliveries only.
    pub webhook_rng: StdRng,
    /// What ends and is announced by webhook.
    pub outbox: crate::webhooks::Outbox,
    pub responses: HashMap<String, ResponseRecord>,
    pub batches: HashMap<String, BatchRecord>,
    pub files: HashMap<String, FileRecord>,
    pub requests: Bucket,
    pub tokens: Bucket,
    pub stats: Stats,
}

impl State {
    pub(crate) fn new(config: FakeConfig, clock: Clock) -> Self {
        let now = clock.now_ms();
        let inner = Inner {
            rng: StdRng::seed_from_u64(config.seed),
            fault_rng: StdRng::seed_from_u64(config.seed ^ FAULT_SALT),
            webhook_rng: StdRng::seed_from_u64(config.seed ^ WEBHOOK_SALT),
            outbox: crate::webhooks::Outbox::default(),
            requests: requests_bucket(&config, now),
            tokens: Bucket::new(config.tokens_per_minute, now),
            config,
            responses: HashMap::new(),
            batches: HashMap::new(),
            files: HashMap::new(),
            stats: Stats::default(),
        };
        Self { clock, inner: Mutex::new(inner), decider: RwLock::new(None) }
    }

    /// Locks the state; a poisoned lock is still used (every update leaves the maps consistent).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn decider(&self) -> Option<Decider> {
        self.decider.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub(crate) fn set_decider(&self, decider: Option<Decider>) {
        *self.decider.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = decider;
    }
}

impl Inner {
    /// Installs a validated config; a new seed reseeds both RNGs, new limits resize the buckets.
    pub(crate) fn apply_config(&mut self, config: FakeConfig, now_ms: u64) {
        if config.seed != self.config.seed {
            self.rng = StdRng::seed_from_u64(config.seed);
            self.fault_rng = StdRng::seed_from_u64(config.seed ^ FAULT_SALT);
            self.webhook_rng = StdRng::seed_from_u64(config.seed ^ WEBHOOK_SALT);
        }
        if config.rate_limit_per_minute != self.config.rate_limit_per_minute
            || config.rate_limit_burst != self.config.rate_limit_burst
        {
            // A new limit starts a fresh window, as a changed account tier would.
            self.requests = requests_bucket(&config, now_ms);
        }
        self.tokens.resize(config.tokens_per_minute, now_ms);
        self.config = config;
    }
}

/// The request bucket a config asks for.
fn requests_bucket(config: &FakeConfig, now_ms: u64) -> Bucket {
    let per_minute = u64::from(config.rate_limit_per_minute.unwrap_or(UNLIMITED_REQUESTS));
    let burst = config.rate_limit_burst.map_or(per_minute, |b| u64::from(b).min(per_minute));
    Bucket::with_burst(per_minute, burst, now_ms)
}
