//! An LLM item is never failed by our own clock, and never polled forever: the invocation's deadline or a rate limit
//! leaves items as they are for a later invocation; transient failures count against an item's attempts; a job past
//! its age cap, or a batch past its completion window and grace, is given up with the reason, and the job resolves.
//! Against the fake OpenAI (real HTTP), LocalStack SQS and PostgreSQL.

use std::time::Duration;

use bw_fake_openai::{Clock, FakeConfig, FakeOpenAi, Timing};
use bw_openai::{OpenAi, OpenAiConfig};
use bw_tests::llm::Screening;
use bw_vocab::JobMode;
use bw_vocab::JobStatus;
use uuid::Uuid;

/// A rate limit of six requests a minute, one at a time: after the first request, each waits ten seconds.
fn storm() -> FakeConfig {
    FakeConfig { rate_limit_per_minute: Some(6), rate_limit_burst: Some(1), ..FakeConfig::default() }
}

/// Responses that take an hour, so that none ends during a test.
fn slow() -> FakeConfig {
    FakeConfig { complete_after_ms: Timing::ms(3_600_000), ..FakeConfig::default() }
}

/// A client for the fake with quick backoffs and at most `max_retries` retries per call.
fn client(s: &Screening, max_retries: u32) -> anyhow::Result<OpenAi> {
    let mut config = OpenAiConfig::new(bw_config::Secret::new("sk-test"));
    config.base_url = s.server.base_url.clone();
    config.initial_backoff = Duration::from_millis(20);
    config.max_backoff = Duration::from_secs(2);
    config.max_retries = max_retries;
    Ok(OpenAi::new(config)?)
}

/// Seconds until the job is due again, on the database's clock.
async fn due_in_secs(s: &Screening, id: Uuid) -> anyhow::Result<i64> {
    s.app
        .db
        .scalar(&format!("SELECT extract(epoch FROM next_poll_at - now())::int8 FROM llm_jobs WHERE id = '{id}'"))
        .await
}

async fn ends_storm(s: &Screening) -> anyhow::Result<()> {
    s.fake.update_config(|c| {
        c.rate_limit_per_minute = None;
        c.rate_limit_burst = None;
    })?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_longer_than_the_budget_leaves_items_open_and_a_later_invocation_completes_them()
-> anyhow::Result<()> {
    let mut s = Screening::start(storm()).await?;
    s.worker.settings.budget = Duration::from_secs(3);
    let id = s.create_job(JobMode::Background).await?;
    let stats = s.poll_once(id).await?;
    assert!(stats.items_waiting > 0, "{stats:?}");
    let job = s.job(id).await?;
    assert_eq!(job.items_failed, 0, "the deadline failed no item: {job:?}");
    assert_eq!(job.items_pending + job.items_submitted, 12, "{job:?}");
    assert!(job.items_pending >= 11, "the limit let one create through at most: {job:?}");
    assert_eq!(s.items_where(id, "error IS NOT NULL OR attempts > 1").await?, 0, "a wait is not a failed try");
    assert!(job.resolved_at.is_none(), "{job:?}");
    let due = due_in_secs(&s, id).await?;
    assert!(due >= 4, "the next poll waits about as long as OpenAI asked (10 s), not the usual 2 s: {due}");

    ends_storm(&s).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.items_completed, job.items_failed), (12, 0), "{job:?}");
    assert_eq!(s.fake.stats().responses_created, 12, "each item created once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_that_never_ends_is_given_up_at_the_age_cap_and_the_job_resolves() -> anyhow::Result<()> {
    let mut s = Screening::start(slow()).await?;
    s.worker.settings.caps.max_age = Duration::from_secs(3);
    let id = s.create_job(JobMode::Background).await?;
    s.poll_once(id).await?;
    let job = s.job(id).await?;
    assert_eq!((job.items_submitted, job.items_failed), (12, 0), "{job:?}");

    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Failed, "nothing completed: {job:?}");
    assert_eq!(job.items_failed, 12, "{job:?}");
    assert_eq!(job.error.as_deref(), Some("gave up: no answer after 3 s"), "{job:?}");
    assert_eq!(s.items_where(id, "status = 'failed' AND error = 'gave up: no answer after 3 s'").await?, 12);
    let age = s
        .app
        .db
        .scalar(&format!("SELECT extract(epoch FROM resolved_at - created_at)::int8 FROM llm_jobs WHERE id = '{id}'"))
        .await?;
    assert!(age >= 3, "not given up before the cap: {age} s");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_submissions_count_as_attempts_until_the_cap_fails_the_item() -> anyhow::Result<()> {
    let mut s = Screening::start(FakeConfig { server_error_rate: 1.0, ..slow() }).await?;
    s.worker.openai = client(&s, 1)?;
    s.worker.settings.caps.max_attempts = 3;
    let id = s.create_job(JobMode::Background).await?;

    // Every create answers 5xx: each invocation is one failed try of each item, which stays pending.
    for attempts in 1..=2 {
        s.poll_once(id).await?;
        let job = s.job(id).await?;
        assert_eq!((job.items_pending, job.items_failed), (12, 0), "{job:?}");
        let tried = format!("attempts = {attempts} AND last_error LIKE 'OpenAI answered HTTP 5%'");
        assert_eq!(s.items_where(id, &tried).await?, 12);
    }
    // The third failed try is the last.
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((Some(job.status.as_str()), job.items_failed), (Some("failed"), 12), "{job:?}");
    let reason = "error LIKE 'gave up after 3 attempts; last error: OpenAI answered HTTP 5%'";
    assert_eq!(s.items_where(id, &format!("status = 'failed' AND attempts = 3 AND {reason}")).await?, 12);
    assert_eq!(s.fake.stats().responses_created, 0, "no create went through");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_polls_are_noted_but_never_fail_work_going_on_at_openai() -> anyhow::Result<()> {
    let mut s = Screening::start(FakeConfig { complete_after_ms: Timing::ms(8_000), ..FakeConfig::default() }).await?;
    s.worker.openai = client(&s, 1)?;
    s.worker.settings.caps.max_attempts = 2;
    let id = s.create_job(JobMode::Background).await?;
    s.poll_once(id).await?;
    assert_eq!(s.job(id).await?.items_submitted, 12);

    // OpenAI answers every poll with a 5xx, more times than the attempt cap: the items stay submitted.
    s.fake.update_config(|c| c.server_error_rate = 1.0)?;
    for _ in 0..3 {
        s.poll_once(id).await?;
    }
    let job = s.job(id).await?;
    assert_eq!((job.items_submitted, job.items_failed), (12, 0), "{job:?}");
    let noted = s.items_where(id, "attempts = 1 AND last_error LIKE 'OpenAI answered HTTP 5%'").await?;
    assert!(noted > 0, "the failed polls are noted, not counted as attempts");

    // OpenAI recovers: the work it was doing all along completes.
    s.fake.update_config(|c| c.server_error_rate = 0.0)?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((Some(job.status.as_str()), job.items_completed), (Some("completed"), 12), "{job:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_batch_submission_waits_for_a_later_invocation() -> anyhow::Result<()> {
    let mut s = Screening::start(storm()).await?;
    s.worker.settings.budget = Duration::from_secs(3);
    let id = s.create_job(JobMode::Batch).await?;
    // The upload gets the one request the limit allows; the batch's creation runs into the storm.
    let stats = s.poll_once(id).await?;
    assert!(stats.items_waiting > 0, "{stats:?}");
    let job = s.job(id).await?;
    assert_eq!((job.items_pending, job.items_failed), (12, 0), "{job:?}");
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    assert!(bw_db::llm::batches(&mut conn, id).await?.is_empty(), "no batch recorded");
    assert!(due_in_secs(&s, id).await? >= 4, "the next poll waits as OpenAI asked");

    ends_storm(&s).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((Some(job.status.as_str()), job.items_completed), (Some("completed"), 12), "{job:?}");
    assert_eq!(s.fake.stats().batches_created, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_outlives_the_age_cap_within_its_window_and_is_given_up_only_past_its_grace() -> anyhow::Result<()> {
    // OpenAI's clock is 25 hours behind: the batch it creates has a window that closed an hour ago, and it stays
    // in progress whatever the time.
    let behind = chrono::Utc::now().timestamp_millis() - 25 * 3_600_000;
    let clock = Clock::manual_at(u64::try_from(behind)?);
    let config = FakeConfig { batch_in_progress_ms: Timing::ms(3_600_000), ..FakeConfig::default() };
    let mut s = Screening::with_fake(FakeOpenAi::with_clock(config, clock)).await?;
    s.worker.settings.caps.max_age = Duration::from_secs(1);
    s.worker.settings.caps.batch_grace = Duration::from_secs(2 * 3600);
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    let closed = s
        .app
        .db
        .scalar(&format!("SELECT extract(epoch FROM now() - expires_at)::int8 FROM llm_batches WHERE job_id = '{id}'"))
        .await?;
    assert!((3_500..3_700).contains(&closed), "the batch's window closed an hour ago: {closed} s");
    s.fake.advance(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // Older than the age cap and past its window, but within the grace: the batch is left to OpenAI.
    s.poll_once(id).await?;
    let job = s.job(id).await?;
    assert_eq!((job.items_submitted, job.items_failed), (12, 0), "{job:?}");

    s.worker.settings.caps.batch_grace = Duration::ZERO;
    let job = s.poll_until_resolved(id).await?;
    let reason = "gave up: the batch had not ended 0 s after its completion window closed";
    assert_eq!((Some(job.status.as_str()), job.error.as_deref()), (Some("failed"), Some(reason)), "{job:?}");
    assert_eq!(s.items_where(id, &format!("status = 'failed' AND error = '{reason}'")).await?, 12);
    assert_eq!(s.fake.stats().batches_cancelled, 1, "the given-up batch is cancelled at OpenAI");
    Ok(())
}
