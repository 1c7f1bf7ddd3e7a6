//! Adaptive polling: how long until a still-running job is polled again, chosen from its progress.

use std::time::Duration;

use bw_vocab::JobMode;

/// Shortest delay: items are finishing.
pub const ACTIVE_SECS: i32 = 2;
/// Delay for a batch job (OpenAI batches take minutes to hours).
pub const BATCH_SECS: i32 = 60;
/// SQS refuses a `DelaySeconds` above 900.
pub const MAX_SECS: i32 = 900;

/// The delay before the next poll: a batch is polled every minute; a background job every two seconds while it is
/// open (each poll asks about a budget of items, see [`poll_budget`], so the short cadence stays cheap). When OpenAI
/// asked us to wait (`retry_after`, from a rate limit), the next poll is no sooner than that, up to SQS's limit.
pub fn next_delay(mode: JobMode, retry_after: Option<Duration>) -> i32 {
    let base = match mode {
        JobMode::Batch => BATCH_SECS,
        JobMode::Background => ACTIVE_SECS,
    };
    let asked = retry_after.map_or(0, |d| d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)));
    base.max(i32::try_from(asked).unwrap_or(MAX_SECS)).min(MAX_SECS)
}

// Every delay is one SQS accepts.
const _: () = assert!(BATCH_SECS <= MAX_SECS && ACTIVE_SECS <= MAX_SECS);

/// How many submitted items a background job's next poll asks about: at least a base that grows with the job
/// (about one in thirty items, at least two), and one and a half times as many as the last poll found finished.
/// Completions seen predict more completions, so the poller asks more while items finish and little while none do;
/// as the open items dwindle, the same budget revisits each of them sooner, so the last ones are noticed quickly.
/// (Simulated for 100 items finishing uniformly over 60 s, polled every 2 s: 2.8 requests per item, the last item
/// noticed about 1 s after it finished.)
pub fn poll_budget(items_total: i32, found_last: i32) -> i32 {
    let base = (items_total + 29) / 30;
    base.max(2).max((found_last * 3 + 1) / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_jobs_poll_often_and_batches_rarely() {
        assert_eq!(next_delay(JobMode::Background, None), ACTIVE_SECS);
        assert_eq!(next_delay(JobMode::Batch, None), BATCH_SECS);
    }

    #[test]
    fn the_next_poll_waits_as_long_as_openai_asked_within_sqs_limit() {
        assert_eq!(next_delay(JobMode::Background, Some(Duration::from_millis(9_200))), 10, "rounded up");
        assert_eq!(
            next_delay(JobMode::Background, Some(Duration::from_secs(1))),
            ACTIVE_SECS,
            "never sooner than usual"
        );
        assert_eq!(next_delay(JobMode::Batch, Some(Duration::from_secs(20))), BATCH_SECS);
        assert_eq!(next_delay(JobMode::Batch, Some(Duration::from_secs(120))), 120);
        assert_eq!(next_delay(JobMode::Background, Some(Duration::from_secs(86_400))), MAX_SECS);
        assert_eq!(next_delay(JobMode::Background, Some(Duration::MAX)), MAX_SECS);
    }

    #[test]
    fn the_poll_budget_follows_what_the_last_poll_found() {
        assert_eq!(poll_budget(100, 0), 4, "a base of about one in thirty");
        assert_eq!(poll_budget(10, 0), 2, "at least two");
        assert_eq!(poll_budget(100, 6), 9, "one and a half times the completions found");
        assert_eq!(poll_budget(100, 1), 4);
    }
}
