//! A batch-mode job of any size: split into as many batches as OpenAI's limits need (the fake refuses a batch past
//! them, as OpenAI does), each batch's results applied once, a file's lines picked up where the last invocation
//! left them, a cancel reaching every batch. Against the fake OpenAI (real HTTP), LocalStack SQS and PostgreSQL.

use std::time::{Duration, Instant};

use bw_db::llm::{self, LlmBatch};
use bw_fake_openai::{FakeConfig, Timing};
use bw_poller::batch::BatchLimits;
use bw_tests::llm::Screening;
use bw_vocab::{JobMode, JobStatus};
use uuid::Uuid;

/// A fake that refuses batches past `limits`, and a worker held to the same limits.
async fn limited(limits: BatchLimits, config: FakeConfig) -> anyhow::Result<Screening> {
    let config = FakeConfig { batch_max_requests: limits.max_requests, batch_max_bytes: limits.max_bytes, ..config };
    let mut s = Screening::start(config).await?;
    s.worker.settings.batch_limits = limits;
    Ok(s)
}

async fn batches(s: &Screening, id: Uuid) -> anyhow::Result<Vec<LlmBatch>> {
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    llm::batches(&mut conn, id).await
}

/// The item ranges of the batches, in order.
fn ranges(batches: &[LlmBatch]) -> Vec<(i32, i32, i32)> {
    batches.iter().map(|b| (b.first_item, b.last_item, b.items)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_split_at_the_request_limit_and_every_item_is_applied_once() -> anyhow::Result<()> {
    let s = limited(BatchLimits { max_requests: 5, max_bytes: 200_000_000 }, FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.items_completed, job.flags_applied), (12, 12), "{job:?}");
    let batches = batches(&s, id).await?;
    assert_eq!(ranges(&batches), [(1, 5, 5), (6, 10, 5), (11, 12, 2)]);
    assert!(batches.iter().all(|b| b.done_at.is_some() && b.outcome.as_deref() == Some("completed")), "{batches:?}");
    assert_eq!(batches.iter().map(|b| b.output_lines_applied).sum::<i64>(), 12);
    assert_eq!(s.fake.stats().batches_created, 3);
    let flags = s.app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{id}'")).await?;
    assert_eq!(flags, 12, "one decision per posting");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_is_split_by_the_real_size_of_its_lines() -> anyhow::Result<()> {
    // Room for about three of these postings' requests per file: the split follows their real sizes.
    let max_bytes = 3 * 1_000;
    let s = limited(BatchLimits { max_requests: 50_000, max_bytes }, FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.status, job.items_completed), (JobStatus::Completed, 12), "{job:?}");
    let batches = batches(&s, id).await?;
    assert!(batches.len() >= 4, "12 requests of several hundred bytes in files of {max_bytes}: {batches:?}");
    assert!(batches.iter().all(|b| b.input_bytes <= max_bytes as i64), "{batches:?}");
    // Each file was as full as the next line allowed: it and the next batch's first line would not have fitted.
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    let items = llm::items(&mut conn, id, None, 0, 100).await?;
    let texts = llm::posting_texts(&mut conn, &items.iter().map(|i| i.entity_id).collect::<Vec<_>>(), 6_000).await?;
    let line_bytes = |item_id: i32| -> i64 {
        let Some(item) = items.iter().find(|i| i.item_id == item_id) else { return i64::MAX };
        let line = bw_openai::batch_request_line(
            &bw_poller::batch::custom_id(item_id),
            "gpt-4.1-nano",
            "Is this job remote?",
            &texts[&item.entity_id],
        );
        line.len() as i64 + 1
    };
    for pair in batches.windows(2) {
        let sum: i64 = (pair[0].first_item..=pair[0].last_item).map(line_bytes).sum();
        assert_eq!(sum, pair[0].input_bytes, "the recorded size is the lines' size");
        assert!(sum + line_bytes(pair[1].first_item) > max_bytes as i64, "{:?} could have taken one more", pair[0]);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_larger_than_a_batch_file_fails_alone_with_the_reason() -> anyhow::Result<()> {
    let mut s = limited(BatchLimits { max_requests: 50_000, max_bytes: 20_000 }, FakeConfig::default()).await?;
    s.worker.settings.max_input_chars = 100_000;
    s.app
        .db
        .exec("UPDATE postings SET description = repeat('long ', 10000) WHERE id = (SELECT min(id) FROM postings)")
        .await?;
    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.items_completed, job.items_failed), (11, 1), "{job:?}");
    let reason = "error LIKE 'its request is % bytes, more than a batch file may hold (20000)'";
    assert_eq!(s.items_where(id, &format!("status = 'failed' AND {reason}")).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_is_applied_from_where_the_last_invocation_left_it() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    let [batch] = &batches(&s, id).await?[..] else { anyhow::bail!("one batch expected") };
    assert_eq!((batch.items, batch.outcome.as_deref()), (12, None), "submitted, not ended yet: {batch:?}");
    // As if an invocation had applied five lines of the output file and run out of time: the next one skips them.
    let set = format!("UPDATE llm_batches SET output_lines_applied = 5 WHERE job_id = '{id}'");
    s.app.db.exec(&set).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.items_completed, job.items_failed), (7, 5), "{job:?}");
    assert_eq!(s.items_where(id, "status = 'failed' AND error = 'missing from the batch''s output'").await?, 5);
    let [batch] = &batches(&s, id).await?[..] else { anyhow::bail!("one batch expected") };
    assert_eq!((batch.output_lines_applied, batch.files_applied), (12, 2), "{batch:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_out_of_time_leaves_the_rest_to_the_next_one_soon() -> anyhow::Result<()> {
    let s = limited(BatchLimits { max_requests: 4, max_bytes: 200_000_000 }, FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    // A deadline already passed: nothing is sent, and the job comes back in 2 s rather than a minute.
    let stats = s.worker.poll_job(id, Some(Instant::now())).await.map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(stats.items_updated, 0, "{stats:?}");
    assert!(batches(&s, id).await?.is_empty());
    let due = s
        .app
        .db
        .scalar(&format!("SELECT extract(epoch FROM next_poll_at - now())::int8 FROM llm_jobs WHERE id = '{id}'"))
        .await?;
    assert!(due <= 2, "due again in {due} s");
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.status, job.items_completed), (JobStatus::Completed, 12), "{job:?}");
    assert_eq!(batches(&s, id).await?.len(), 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_every_batch_and_ends_every_item_at_once() -> anyhow::Result<()> {
    let slow = FakeConfig { batch_in_progress_ms: Timing::ms(3_600_000), ..FakeConfig::default() };
    let s = limited(BatchLimits { max_requests: 5, max_bytes: 200_000_000 }, slow).await?;
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    assert_eq!(batches(&s, id).await?.len(), 3, "every batch submitted in one invocation");
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    assert_eq!(llm::request_cancel(&mut conn, "alice", id).await?, Some(true));
    let stats = s.poll_once(id).await?;
    assert_eq!(stats.items_updated, 12, "{stats:?}");
    let job = s.job(id).await?;
    assert_eq!((job.status, job.items_cancelled), (JobStatus::Cancelled, 12), "{job:?}");
    assert_eq!(s.fake.stats().batches_cancelled, 3);
    assert!(batches(&s, id).await?.iter().all(|b| b.done_at.is_some()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_cannot_be_read_holds_up_its_own_items_only() -> anyhow::Result<()> {
    let s = limited(BatchLimits { max_requests: 5, max_bytes: 200_000_000 }, FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    assert_eq!(batches(&s, id).await?.len(), 3);
    // OpenAI no longer knows the second batch (404): a failed poll, noted on its items, which wait (for OpenAI, or
    // its window's end); the first and third are read and applied meanwhile.
    s.app.db.exec(&format!("UPDATE llm_batches SET batch_id = 'batch_gone' WHERE job_id = '{id}' AND seq = 2")).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while s.job(id).await?.items_completed < 7 {
        anyhow::ensure!(Instant::now() < deadline, "the other batches were not applied: {:?}", s.job(id).await?);
        tokio::time::sleep(Duration::from_millis(200)).await;
        s.poll_once(id).await?;
    }
    let job = s.job(id).await?;
    assert_eq!((job.status, job.items_submitted, job.error.as_deref()), (JobStatus::Running, 5, None), "{job:?}");
    let noted = "status = 'submitted' AND batch_seq = 2 AND last_error LIKE '%404%'";
    assert_eq!(s.items_where(id, noted).await?, 5);
    assert_eq!(s.items_where(id, "last_error IS NOT NULL").await?, 5, "the others' items are not touched");
    let done: Vec<i32> = batches(&s, id).await?.iter().filter(|b| b.done_at.is_some()).map(|b| b.seq).collect();
    assert_eq!(done, [1, 3]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_the_enqueued_token_limit_goes_out_again_once_the_others_ended() -> anyhow::Result<()> {
    let s = limited(BatchLimits { max_requests: 6, max_bytes: 200_000_000 }, FakeConfig::default()).await?;
    // A first job, unlimited, tells the input tokens of each half of the postings, as the fake counts them.
    let first = s.create_job(JobMode::Batch).await?;
    s.poll_until_resolved(first).await?;
    let half =
        |cond: &str| format!("SELECT sum(input_tokens)::int8 FROM llm_job_items WHERE job_id = '{first}' AND {cond}");
    let (a, b) = (s.app.db.scalar(&half("item_id <= 6")).await?, s.app.db.scalar(&half("item_id > 6")).await?);
    assert!(a > 0 && b > 0, "{a} {b}");
    // Room for one half at a time.
    let limit = u64::try_from(a.max(b) + a.min(b) / 2)?;
    s.fake.update_config(|c| c.batch_enqueued_token_limit = Some(limit))?;
    let created = s.fake.stats().batches_created;

    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.status, job.items_completed, job.items_failed), (JobStatus::Completed, 12, 0), "{job:?}");
    let batches = batches(&s, id).await?;
    assert_eq!(s.fake.stats().batches_created - created, 3, "the second half went out twice: {batches:?}");
    let refused: Vec<&LlmBatch> =
        batches.iter().filter(|b| b.error.as_deref().is_some_and(|e| e.starts_with("token_limit_exceeded"))).collect();
    assert_eq!(refused.len(), 1, "{batches:?}");
    assert_eq!(refused[0].outcome.as_deref(), Some("failed"));
    assert!(batches.iter().all(|b| b.done_at.is_some()));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_still_to_apply_are_applied_however_late_the_batch() -> anyhow::Result<()> {
    let mut s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    // As if an invocation had seen the batch end, recorded its files and run out of time before applying them...
    let [batch] = &batches(&s, id).await?[..] else { anyhow::bail!("one batch expected") };
    let mut config = bw_openai::OpenAiConfig::new(bw_config::Secret::new("sk-test"));
    config.base_url = s.server.base_url.clone();
    let ended = bw_openai::OpenAi::new(config)?.retrieve_batch(&batch.batch_id).await?;
    assert_eq!(ended.status, bw_openai::BatchStatus::Completed);
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    let record = llm::BatchEnded {
        outcome: "completed",
        output_file_id: ended.output_file_id.as_deref(),
        error_file_id: ended.error_file_id.as_deref(),
        error: None,
    };
    llm::record_outcome(&mut conn, batch, &record).await?;
    // ...and the next came when the job was past every cap: its results are applied, not given up.
    s.app
        .db
        .exec(&format!("UPDATE llm_batches SET expires_at = now() - interval '2 hours' WHERE job_id = '{id}'"))
        .await?;
    s.worker.settings.caps.max_age = Duration::from_secs(1);
    s.worker.settings.caps.batch_grace = Duration::ZERO;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!((job.status, job.items_completed, job.error.as_deref()), (JobStatus::Completed, 12, None), "{job:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_of_lines_applied_that_moved_meanwhile_is_refused() -> anyhow::Result<()> {
    let s =
        Screening::start(FakeConfig { batch_in_progress_ms: Timing::ms(3_600_000), ..FakeConfig::default() }).await?;
    let id = s.create_job(JobMode::Batch).await?;
    s.poll_once(id).await?;
    let [batch] = &batches(&s, id).await?[..] else { anyhow::bail!("one batch expected") };
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    llm::applied_lines(&mut conn, batch, llm::ResultFile::Output, (0, 500)).await?;
    let stale = llm::applied_lines(&mut conn, batch, llm::ResultFile::Output, (0, 500)).await;
    let error = stale.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("moved from 0"), "a second worker's chunk from the same place is refused: {error}");
    let [batch] = &batches(&s, id).await?[..] else { anyhow::bail!("one batch expected") };
    assert_eq!(batch.output_lines_applied, 500);
    Ok(())
}
