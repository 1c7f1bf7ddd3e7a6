//! The time the fake reads: every lifecycle (responses, batches) and the rate limiter use it, so a test can make
//! minutes pass in a microsecond with [`Clock::advance`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A shareable clock in epoch milliseconds; clones share one timeline.
///
/// [`Clock::system`] follows real time (plus whatever [`Clock::advance`] added); [`Clock::manual`] stands still
/// until advanced, which makes lifecycle tests exact.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    mode: Mode,
    offset_ms: AtomicU64,
}

#[derive(Debug)]
enum Mode {
    System { start_ms: u64, start: Instant },
    Manual { start_ms: u64 },
}

impl Clock {
    /// Real time, monotonic from the moment the clock is made.
    pub fn system() -> Self {
        Self::with_mode(Mode::System { start_ms: wall_ms(), start: Instant::now() })
    }

    /// Frozen at the current wall time; moves only when advanced.
    pub fn manual() -> Self {
        Self::with_mode(Mode::Manual { start_ms: wall_ms() })
    }

    /// Frozen at `epoch_ms`; moves only when advanced.
    pub fn manual_at(epoch_ms: u64) -> Self {
        Self::with_mode(Mode::Manual { start_ms: epoch_ms })
    }

    fn with_mode(mode: Mode) -> Self {
        Self { inner: Arc::new(Inner { mode, offset_ms: AtomicU64::new(0) }) }
    }

    /// Whether the clock stands still between calls to [`Clock::advance`].
    pub fn is_manual(&self) -> bool {
        matches!(self.inner.mode, Mode::Manual { .. })
    }

    /// Moves the clock forward (for either mode).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // `fetch_update` with a closure that always answers `Some` cannot fail.
        let _ = self.inner.offset_ms.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v.saturating_add(ms)));
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> u64 {
        let base = match &self.inner.mode {
            Mode::System { start_ms, start } => {
                start_ms.saturating_add(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX))
            }
            Mode::Manual { start_ms } => *start_ms,
        };
        base.saturating_add(self.inner.offset_ms.load(Ordering::SeqCst))
    }

    /// Now, in whole seconds since the Unix epoch (the unit of every `*_at` field OpenAI sends).
    pub fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

fn wall_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual_at(1_000_000);
        assert_eq!(clock.now_ms(), 1_000_000);
        clock.advance(Duration::from_millis(1_500));
        assert_eq!(clock.now_ms(), 1_001_500);
        assert_eq!(clock.now_secs(), 1_001);
        assert!(clock.is_manual());
    }

    #[test]
    fn clones_share_the_timeline() {
        let clock = Clock::manual_at(0);
        let other = clock.clone();
        other.advance(Duration::from_secs(5));
        assert_eq!(clock.now_ms(), 5_000);
    }
}
