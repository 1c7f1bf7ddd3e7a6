//! When the worker gives up on an item, and what an OpenAI error means for the item it was about: the policy, in
//! one place, as pure functions.
//!
//! - **A refusal** of a submission (OpenAI answered 400, 401, 403, 404, ..., or `insufficient_quota`) fails the
//!   item at once.
//! - **A wait** (the invocation's deadline came, or OpenAI's rate limit still held when the client's retries ran
//!   out) leaves the item as it is, pending or submitted, for the next invocation. It is not a failed try: it says
//!   nothing about the item. The job's next poll waits at least as long as OpenAI asked.
//! - **Any other failure of a submission** (a 5xx, a timeout, a transport error, an answer that could not be read)
//!   is a failed try: the item stays open until it has had [`Caps::max_attempts`] tries (its submission counts as
//!   one), then ends `failed`: "gave up after 10 attempts; last error: …".
//! - **A failed poll** (of a response or a batch already at OpenAI, whatever the error but OpenAI no longer knowing
//!   it) is noted as the item's last error and nothing more: the work may well be going on at OpenAI (a key being
//!   rotated answers 401 for a while), and an outage must not fail it; the age cap, or the batch's window, bounds it.
//! - **Age.** A job's open items end `failed` ("gave up: no answer after 24 h") once the job is older than
//!   [`Caps::max_age`], whatever kept them open (waits included). In batch mode, once the batch is submitted, its
//!   items are not judged by that age but by the batch's completion window: OpenAI ends a batch itself when the
//!   window closes (its unanswered requests `expired`), so they are given up only if the batch still has not ended
//!   [`Caps::batch_grace`] after it closed.

use std::time::Duration;

use bw_openai::OpenAiError;
use chrono::{DateTime, TimeDelta, Utc};

use crate::settings::Caps;

/// OpenAI's only batch completion window.
pub const BATCH_WINDOW: Duration = Duration::from_secs(24 * 3600);

/// What a request to OpenAI was for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// Creating the item's response, or the batch (and its file).
    Submit,
    /// Asking about a response or batch OpenAI already has.
    Poll,
}

/// What an OpenAI error means for the item (or the batch's items) the request was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// OpenAI refused the request for good: the item fails.
    Refused,
    /// Our deadline or OpenAI's rate limit: the item is left as it is; OpenAI asked to wait this long, if it said.
    Wait(Option<Duration>),
    /// A failure that another try may not repeat: it counts against the item's attempts.
    FailedTry,
    /// A poll failed: noted as the item's last error, not an attempt.
    PollFailed,
}

/// The verdict on `error`, met by a `request`.
pub fn verdict(error: &OpenAiError, request: Request) -> Verdict {
    match request {
        Request::Submit if error.is_refusal() => Verdict::Refused,
        _ if error.is_wait() => Verdict::Wait(error.retry_after()),
        Request::Submit => Verdict::FailedTry,
        Request::Poll => Verdict::PollFailed,
    }
}

/// Whether an item that has had `attempts` tries, the last one failed, is given up.
pub fn out_of_attempts(attempts: i32, caps: &Caps) -> bool {
    attempts >= caps.max_attempts
}

/// The reason an item ends after `attempts` tries (the item's last error follows it).
pub fn attempts_reason(attempts: i32) -> String {
    format!("gave up after {attempts} attempts")
}

/// Why a job's open items are given up for their age at `now`, if they are. `created_at` is the job's creation;
/// `batch_window_closes` is when its batch's completion window closes, once the batch is submitted.
pub fn overdue(
    created_at: DateTime<Utc>,
    batch_window_closes: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    caps: &Caps,
) -> Option<String> {
    match batch_window_closes {
        Some(closes) => (now > closes.checked_add_signed(delta(caps.batch_grace)?)?).then(|| {
            format!("gave up: the batch had not ended {} after its completion window closed", human(caps.batch_grace))
        }),
        None => (now > created_at.checked_add_signed(delta(caps.max_age)?)?)
            .then(|| format!("gave up: no answer after {}", human(caps.max_age))),
    }
}

/// When a submitted batch's completion window closes: `expires_at` as recorded, else (a batch recorded without it)
/// a full window from `fallback`, the job's creation, the earliest the batch can have been created.
pub fn window_closes(expires_at: Option<DateTime<Utc>>, fallback: DateTime<Utc>) -> Option<DateTime<Utc>> {
    expires_at.or_else(|| fallback.checked_add_signed(delta(BATCH_WINDOW)?))
}

fn delta(d: Duration) -> Option<TimeDelta> {
    TimeDelta::from_std(d).ok()
}

/// A duration as people write it: `24 h`, `90 min`, `45 s`.
pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: Caps =
        Caps { max_attempts: 3, max_age: Duration::from_secs(24 * 3600), batch_grace: Duration::from_secs(3600) };

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap_or_default()
    }

    fn api(status: u16) -> OpenAiError {
        OpenAiError::Api { status, error_type: None, code: None, param: None, message: "m".into() }
    }

    #[test]
    fn our_deadline_and_rate_limits_are_waits_not_refusals() {
        let limited = OpenAiError::RateLimited { retry_after: Some(Duration::from_secs(7)), message: "r".into() };
        let cut_short = OpenAiError::DeadlineExceeded { attempts: 2, last_error: Some(Box::new(limited)) };
        assert_eq!(verdict(&cut_short, Request::Submit), Verdict::Wait(Some(Duration::from_secs(7))));
        let no_time = OpenAiError::DeadlineExceeded { attempts: 0, last_error: None };
        assert_eq!(verdict(&no_time, Request::Submit), Verdict::Wait(None));
        let limited = OpenAiError::RateLimited { retry_after: None, message: "r".into() };
        assert_eq!(verdict(&limited, Request::Submit), Verdict::Wait(None));
    }

    #[test]
    fn only_answers_that_retrying_cannot_fix_are_refusals() {
        for status in [400, 401, 403, 404] {
            assert_eq!(verdict(&api(status), Request::Submit), Verdict::Refused, "{status}");
        }
        let quota = OpenAiError::QuotaExhausted { message: "q".into() };
        assert_eq!(verdict(&quota, Request::Submit), Verdict::Refused);
        assert_eq!(verdict(&api(503), Request::Submit), Verdict::FailedTry);
        let timeout = OpenAiError::Timeout { what: "POST /v1/responses".into() };
        assert_eq!(verdict(&timeout, Request::Submit), Verdict::FailedTry);
        let transport = OpenAiError::Transport { what: "GET /v1/responses/x".into(), reason: "reset".into() };
        assert_eq!(verdict(&transport, Request::Submit), Verdict::FailedTry);
    }

    #[test]
    fn a_failed_poll_is_noted_whatever_the_error_but_a_wait_is_still_a_wait() {
        for error in [api(401), api(403), api(400), api(503), OpenAiError::QuotaExhausted { message: "q".into() }] {
            assert_eq!(verdict(&error, Request::Poll), Verdict::PollFailed, "{error}");
        }
        let limited = OpenAiError::DeadlineExceeded { attempts: 1, last_error: None };
        assert_eq!(verdict(&limited, Request::Poll), Verdict::Wait(None));
    }

    #[test]
    fn an_item_is_given_up_when_its_tries_reach_the_cap() {
        assert!(!out_of_attempts(1, &CAPS));
        assert!(!out_of_attempts(2, &CAPS));
        assert!(out_of_attempts(3, &CAPS));
        assert!(out_of_attempts(4, &CAPS), "a cap lowered since still gives up");
        assert_eq!(attempts_reason(3), "gave up after 3 attempts");
    }

    #[test]
    fn a_background_job_is_overdue_after_its_age_cap() {
        let day = 24 * 3600;
        assert_eq!(overdue(at(0), None, at(day - 1), &CAPS), None);
        assert_eq!(overdue(at(0), None, at(day), &CAPS), None, "exactly the cap is not past it");
        assert_eq!(overdue(at(0), None, at(day + 1), &CAPS).as_deref(), Some("gave up: no answer after 24 h"));
    }

    #[test]
    fn a_submitted_batch_is_judged_by_its_window_not_by_the_jobs_age() {
        let day = 24 * 3600;
        // The job waited 20 h for its batch to go out; the batch's window closes a day after that.
        let closes = Some(at(20 * 3600 + day));
        assert_eq!(overdue(at(0), closes, at(day + 3600), &CAPS), None, "past the age cap, within the window");
        assert_eq!(overdue(at(0), closes, at(20 * 3600 + day + 3600), &CAPS), None, "within the grace");
        assert_eq!(
            overdue(at(0), closes, at(20 * 3600 + day + 3601), &CAPS).as_deref(),
            Some("gave up: the batch had not ended 1 h after its completion window closed")
        );
    }

    #[test]
    fn a_batch_without_expires_at_gets_a_full_window_from_the_jobs_creation() {
        assert_eq!(window_closes(None, at(0)), Some(at(24 * 3600)));
        assert_eq!(window_closes(Some(at(5)), at(0)), Some(at(5)));
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(Duration::from_secs(86_400)), "24 h");
        assert_eq!(human(Duration::from_secs(5_400)), "90 min");
        assert_eq!(human(Duration::from_secs(45)), "45 s");
        assert_eq!(human(Duration::from_secs(3_601)), "3601 s");
        assert_eq!(human(Duration::ZERO), "0 s");
    }
}
