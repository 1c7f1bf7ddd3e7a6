//! Adaptive polling: how long until a still-running job is polled again, chosen from its progress.

use std::time::Duration;

use bw_vocab::JobMode;

/// Shortest delay: items are finishing.
pub const ACTIVE_SECS: i32 = 2;
/// Delay for a batch job (OpenAI batches take minutes to hours).
pub const BATCH_SECS: i32 = 60;
/// SQS refuses a `DelaySeconds` above 900.
pub const MAX_SECS: i32 = 900;
/// With webhooks on, a batch job's safety-net poll: its end is pushed, so it is looked at every five minutes.
pub const BATCH_NET_SECS: i32 = 300;

/// How a job learns that its items ended, which sets the cadence of its polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Polling alone: background jobs every [`ACTIVE_SECS`], batches every [`BATCH_SECS`].
    Polling,
    /// Webhooks push ends (and wake the job); polling is the net. A background job with items still to submit (or
    /// more ready to read than an invocation takes) is come back to every [`ACTIVE_SECS`], else after `net` (when
    /// an item's event is overdue); a batch not yet submitted every [`BATCH_SECS`], one submitted every
    /// [`BATCH_NET_SECS`].
    Webhooks { net: Duration },
}

/// The delay before the next poll: a batch is polled every minute; a background job every two seconds while it is
/// open (each poll asks about a budget of items, see [`poll_budget`], so the short cadence stays cheap). When OpenAI
/// asked us to wait (`retry_after`, from a rate limit), the next poll is no sooner than that, up to SQS's limit.
pub fn next_delay(mode: JobMode, retry_after: Option<Duration>) -> i32 {
    let base = match mode {
        JobMode::Batch => BATCH_SECS,
        JobMode::Background => ACTIVE_SECS,
    };
    at_least_asked(base, retry_after)
}

/// Polling alone, the longest a background job's loop backs off to while nothing ends.
pub const IDLE_MAX_SECS: i32 = 30;

/// The delay before the next poll at `cadence`; `pending`: the job has items not submitted yet, or more ready to
/// read than the last invocation took; `idle_polls`: how many loop invocations in a row saw no item end. Polling
/// alone, a background job with nothing to submit backs off while nothing ends: 2 s, then doubling from the second
/// idle poll, up to [`IDLE_MAX_SECS`]; the first end brings it back to 2 s.
pub fn delay_at(cadence: Cadence, mode: JobMode, pending: bool, idle_polls: i32, retry_after: Option<Duration>) -> i32 {
    let base = match (cadence, mode) {
        (_, JobMode::Background) if pending => ACTIVE_SECS,
        (Cadence::Polling, JobMode::Background) => idle_backoff(idle_polls),
        (Cadence::Polling, JobMode::Batch) => BATCH_SECS,
        (Cadence::Webhooks { net }, JobMode::Background) => i32::try_from(net.as_secs()).unwrap_or(MAX_SECS).max(1),
        (Cadence::Webhooks { .. }, JobMode::Batch) if pending => BATCH_SECS,
        (Cadence::Webhooks { .. }, JobMode::Batch) => BATCH_NET_SECS,
    };
    at_least_asked(base, retry_after)
}

/// [`ACTIVE_SECS`] for up to one idle poll, then doubling with each, up to [`IDLE_MAX_SECS`].
fn idle_backoff(idle_polls: i32) -> i32 {
    let doublings = u32::try_from(idle_polls.saturating_sub(1)).unwrap_or(0).min(8);
    (ACTIVE_SECS << doublings).min(IDLE_MAX_SECS)
}

/// `base` seconds, or longer when OpenAI asked to wait longer (rounded up), within SQS's limit.
pub fn at_least_asked(base: i32, retry_after: Option<Duration>) -> i32 {
    let asked = retry_after.map_or(0, |d| d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0)));
    base.max(i32::try_from(asked).unwrap_or(MAX_SECS)).min(MAX_SECS)
}

// Every delay is one SQS accepts.
const _: () = assert!(BATCH_SECS <= MAX_SECS && ACTIVE_SECS <= MAX_SECS && BATCH_NET_SECS <= MAX_SECS);

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
    fn with_webhooks_a_job_waits_for_its_net_unless_it_has_items_to_submit() {
        let hooks = Cadence::Webhooks { net: Duration::from_secs(60) };
        assert_eq!(delay_at(hooks, JobMode::Background, false, 0, None), 60);
        assert_eq!(delay_at(hooks, JobMode::Background, true, 0, None), ACTIVE_SECS);
        assert_eq!(delay_at(hooks, JobMode::Batch, false, 0, None), BATCH_NET_SECS);
        assert_eq!(delay_at(hooks, JobMode::Batch, true, 0, None), BATCH_SECS, "a batch still to submit");
        assert_eq!(delay_at(hooks, JobMode::Background, true, 0, Some(Duration::from_secs(30))), 30);
        let long = Cadence::Webhooks { net: Duration::from_secs(7_200) };
        assert_eq!(delay_at(long, JobMode::Background, false, 0, None), MAX_SECS, "within SQS's limit");
        assert_eq!(delay_at(Cadence::Polling, JobMode::Background, false, 0, None), ACTIVE_SECS);
    }

    #[test]
    fn polling_alone_a_job_backs_off_while_nothing_ends_and_not_while_it_submits() {
        let idle = |n| delay_at(Cadence::Polling, JobMode::Background, false, n, None);
        let delays: Vec<i32> = (0..8).map(idle).collect();
        assert_eq!(delays, [2, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(delay_at(Cadence::Polling, JobMode::Background, true, 7, None), ACTIVE_SECS, "items to submit");
        assert_eq!(delay_at(Cadence::Polling, JobMode::Batch, false, 7, None), BATCH_SECS);
        assert_eq!(
            delay_at(Cadence::Polling, JobMode::Background, false, 0, Some(Duration::from_secs(45))),
            45,
            "no sooner than OpenAI asked"
        );
    }

    #[test]
    fn the_poll_budget_follows_what_the_last_poll_found() {
        assert_eq!(poll_budget(100, 0), 4, "a base of about one in thirty");
        assert_eq!(poll_budget(10, 0), 2, "at least two");
        assert_eq!(poll_budget(100, 6), 9, "one and a half times the completions found");
        assert_eq!(poll_budget(100, 1), 4);
    }
}
