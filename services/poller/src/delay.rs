//! Adaptive polling: how long until a still-running job is polled again, chosen from its progress.

/// Shortest delay: items are finishing.
pub const ACTIVE_SECS: i32 = 2;
/// Delay while items run but none finished in the last poll.
pub const IDLE_SECS: i32 = 10;
/// Delay for a batch job (OpenAI batches take minutes to hours).
pub const BATCH_SECS: i32 = 60;
/// SQS refuses a `DelaySeconds` above 900.
pub const MAX_SECS: i32 = 900;

/// The delay before the next poll: short while items finish or wait to be submitted, longer when idle.
pub fn next_delay(mode: &str, items_updated: usize, items_pending: i32) -> i32 {
    let secs = if mode == "batch" {
        BATCH_SECS
    } else if items_updated > 0 || items_pending > 0 {
        ACTIVE_SECS
    } else {
        IDLE_SECS
    };
    secs.min(MAX_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_while_busy_longer_when_idle_capped() {
        assert_eq!(next_delay("background", 3, 0), ACTIVE_SECS);
        assert_eq!(next_delay("background", 0, 5), ACTIVE_SECS);
        assert_eq!(next_delay("background", 0, 0), IDLE_SECS);
        assert_eq!(next_delay("batch", 9, 0), BATCH_SECS);
        assert!(next_delay("batch", 0, 0) <= MAX_SECS);
    }
}
