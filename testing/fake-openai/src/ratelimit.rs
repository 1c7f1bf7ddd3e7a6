//! Per-minute limits as continuously refilling buckets, which is what OpenAI's headers describe: with 30000
//! requests per minute, one request used resets in `2ms` (60 s / 30000), exactly as the recorded headers show.

/// Requests per minute reported while no limit is configured.
pub(crate) const UNLIMITED_REQUESTS: u32 = 30_000;

/// A bucket of `capacity` units refilled at `per_minute` units a minute (the capacity is the per-minute limit unless a
/// smaller burst is configured).
#[derive(Clone, Debug)]
pub(crate) struct Bucket {
    capacity: f64,
    per_minute: f64,
    level: f64,
    updated_ms: u64,
}

/// What the `x-ratelimit-*` headers say after a request.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Snapshot {
    pub limit: u64,
    pub remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub reset_ms: u64,
}

impl Bucket {
    pub(crate) fn new(capacity: u64, now_ms: u64) -> Self {
        Self::with_burst(capacity, capacity, now_ms)
    }

    /// A bucket holding at most `burst` units, refilled at `per_minute` a minute.
    pub(crate) fn with_burst(per_minute: u64, burst: u64, now_ms: u64) -> Self {
        let capacity = burst.max(1) as f64;
        Self { capacity, per_minute: per_minute.max(1) as f64, level: capacity, updated_ms: now_ms }
    }

    /// Changes the capacity (a new limit), keeping the fraction used.
    pub(crate) fn resize(&mut self, capacity: u64, now_ms: u64) {
        let capacity = capacity.max(1) as f64;
        if (capacity - self.capacity).abs() > f64::EPSILON {
            self.refill(now_ms);
            self.level = (self.level / self.capacity * capacity).min(capacity);
            self.capacity = capacity;
            self.per_minute = capacity;
        }
    }

    fn per_ms(&self) -> f64 {
        self.per_minute / 60_000.0
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.updated_ms) as f64;
        self.level = (self.level + elapsed * self.per_ms()).min(self.capacity);
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// Takes `amount` if available; otherwise leaves the bucket alone and returns the wait in milliseconds.
    pub(crate) fn take(&mut self, amount: f64, now_ms: u64) -> Result<(), u64> {
        self.refill(now_ms);
        if self.level + 1e-9 >= amount {
            self.level -= amount;
            Ok(())
        } else {
            Err(((amount - self.level) / self.per_ms()).ceil() as u64)
        }
    }

    /// Takes `amount`, going no lower than empty (for limits that are reported but not enforced).
    pub(crate) fn drain(&mut self, amount: f64, now_ms: u64) {
        self.refill(now_ms);
        self.level = (self.level - amount).max(0.0);
    }

    pub(crate) fn snapshot(&mut self, now_ms: u64) -> Snapshot {
        self.refill(now_ms);
        let missing = (self.capacity - self.level).max(0.0);
        Snapshot {
            limit: self.per_minute as u64,
            remaining: (self.level + 1e-9).floor() as u64,
            reset_ms: (missing / self.per_ms()).ceil() as u64,
        }
    }
}

/// Formats a duration as OpenAI's reset headers do: `0s`, `2ms`, `120ms`, `1.5s`, `17s`, `6m0s`, `1h2m3s`.
pub(crate) fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let hours = ms / 3_600_000;
    let minutes = (ms % 3_600_000) / 60_000;
    let rest_ms = ms % 60_000;
    let seconds = if rest_ms.is_multiple_of(1_000) {
        format!("{}s", rest_ms / 1_000)
    } else {
        let text = format!("{:.3}", rest_ms as f64 / 1_000.0);
        format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
    };
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_the_real_headers() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(2), "2ms");
        assert_eq!(format_duration(120), "120ms");
        assert_eq!(format_duration(1_500), "1.5s");
        assert_eq!(format_duration(17_000), "17s");
        assert_eq!(format_duration(360_000), "6m0s");
        assert_eq!(format_duration(3_723_250), "1h2m3.25s");
    }

    #[test]
    fn one_request_of_thirty_thousand_resets_in_two_ms() {
        let mut bucket = Bucket::new(30_000, 0);
        assert_eq!(bucket.take(1.0, 0), Ok(()));
        let snapshot = bucket.snapshot(0);
        assert_eq!((snapshot.limit, snapshot.remaining, snapshot.reset_ms), (30_000, 29_999, 2));
    }

    #[test]
    fn empty_bucket_says_how_long_to_wait_and_refills() {
        let mut bucket = Bucket::new(3, 0);
        for _ in 0..3 {
            assert_eq!(bucket.take(1.0, 0), Ok(()));
        }
        assert_eq!(bucket.take(1.0, 0), Err(20_000));
        assert_eq!(bucket.snapshot(0).reset_ms, 60_000);
        assert_eq!(bucket.take(1.0, 20_000), Ok(()));
    }
}
