//! The poller against the fake OpenAI (real HTTP, the real wire format), LocalStack SQS and PostgreSQL.

use std::time::Duration;

use bw_db::llm;
use bw_fake_openai::{FakeConfig, ResponseStatus};
use bw_messages::LlmJobMessage;
use bw_openai::{OpenAi, OpenAiConfig};
use bw_poller::dispatch;
use bw_queue::runner::{self, RunnerConfig};
use bw_tests::client::Api as _;
use bw_tests::llm::Screening;
use bw_tests::sqs::{self, TestQueue};
use bw_vocab::JobMode;
use bw_vocab::JobStatus;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_job_goes_through_its_whole_lifecycle() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Background).await?;
    let first = s.worker.poll_job(id, None).await.map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(first.jobs_polled, 1);
    let job = s.job(id).await?;
    // Every item went out in the first invocation; its own polls may already have found a few finished (the fake
    // completes a response in about 200 ms, and a loaded machine is slow to poll).
    let out = job.items_submitted + job.items_completed;
    assert_eq!((Some(job.status.as_str()), job.items_pending, out), (Some("running"), 0, 12), "{job:?}");

    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.items_completed, job.items_pending, job.flags_applied), (12, 0, 12));
    assert_eq!(s.app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{id}'")).await?, 12);
    assert_eq!(s.fake.stats().responses_created, 12, "one submission per item");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_resolves_through_sqs_with_delayed_re_enqueues_and_dispatch_finds_due_jobs() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Background).await?;
    let sent = dispatch::dispatch(&s.app.db.pool, &s.app.llm_queue.sqs, &s.app.llm_queue.url, 100).await?;
    assert_eq!((sent.due, sent.sent), (1, 1));
    let again = dispatch::dispatch(&s.app.db.pool, &s.app.llm_queue.sqs, &s.app.llm_queue.url, 100).await?;
    assert_eq!(again.due, 0, "a dispatched job is not sent again at once");

    let (tx, rx) = tokio::sync::watch::channel(false);
    let config = RunnerConfig { batch_size: 1, wait: Duration::from_secs(1), ..RunnerConfig::default() };
    let worker = &s.worker;
    let (url, sqs) = (s.app.llm_queue.url.clone(), s.app.llm_queue.sqs.clone());
    let runner = async move { runner::run(&sqs, &url, worker, &config, rx).await };
    let waiter = async {
        let result = TestQueue::wait_until(Duration::from_secs(60), "the job to resolve", || async {
            Ok(s.job(id).await?.resolved_at.is_some())
        })
        .await;
        let _ = tx.send(true);
        result
    };
    let (stats, resolved) = tokio::join!(runner, waiter);
    resolved?;
    assert!(stats.succeeded >= 2, "at least the first poll and one delayed re-enqueue: {stats:?}");
    assert_eq!(s.job(id).await?.status, JobStatus::Completed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_for_one_job_at_once_one_polls_one_skips() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Background).await?;
    // While another worker holds the lease, a message for the job is skipped without a word to OpenAI.
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    let other = Uuid::new_v4();
    assert!(llm::claim(&mut conn, id, other, 60).await?.is_some());
    let skipped = s.worker.poll_job(id, None).await.map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(skipped.jobs_polled, 0);
    assert_eq!(s.fake.stats().total_requests, 0);
    llm::release(&mut conn, id, other, 0).await?;

    // Two at the same moment: however they interleave, no item is submitted twice.
    let (a, b) = tokio::join!(s.worker.poll_job(id, None), s.worker.poll_job(id, None));
    let polled: Vec<u64> = [a, b].into_iter().map(|r| r.map(|st| st.jobs_polled).unwrap_or(99)).collect();
    assert!(polled == [1, 0] || polled == [0, 1] || polled == [1, 1], "{polled:?}");
    assert_eq!(s.fake.stats().responses_created, 12, "no item was submitted twice");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_submitting_and_recording_costs_one_submission_and_no_second_decision() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Background).await?;
    // A worker created item 1's response at OpenAI, then died before recording it: the item is still pending.
    let orphan = s
        .worker
        .openai
        .create_background_response("gpt-4.1-nano", "Is this job remote?", "x", &Default::default())
        .await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(s.fake.stats().responses_created, 13, "one extra submission");
    assert_eq!(s.app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{id}'")).await?, 12);
    let recorded =
        s.app.db.scalar(&format!("SELECT count(*) FROM llm_job_items WHERE response_id = '{}'", orphan.id)).await?;
    assert_eq!(recorded, 0, "the orphaned response is never read");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_answers_fail_their_items_with_the_reason_and_the_job_goes_on() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig { malformed_rate: 1.0, ..FakeConfig::default() }).await?;
    let id = s.create_job(JobMode::Background).await?;
    let job = s.poll_until_resolved(id).await?;
    // Some of the fake's malformed shapes (a code fence, extra keys) are read on purpose; the rest fail their item.
    let (done, failed) = (job.items_completed, job.items_failed);
    assert!(failed > 0 && done + failed == 12, "{job:?}");
    assert_eq!(job.flags_applied, done, "only readable decisions are applied");
    let reasons = s
        .app
        .db
        .scalar(&format!(
            "SELECT count(*) FROM llm_job_items WHERE job_id = '{id}' AND error LIKE 'malformed answer:%'"
        ))
        .await?;
    assert_eq!(reasons, i64::from(failed), "each failed item says why");
    assert!(job.resolved_at.is_some(), "the job went on to resolve: {job:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_job_here_and_at_openai() -> anyhow::Result<()> {
    let s =
        Screening::start(FakeConfig { complete_after_ms: bw_fake_openai::Timing::ms(60_000), ..FakeConfig::default() })
            .await?;
    let id = s.create_job(JobMode::Background).await?;
    s.worker.poll_job(id, None).await.map_err(|f| anyhow::anyhow!("{f}"))?;
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    assert_eq!(llm::request_cancel(&mut conn, "alice", id).await?, Some(true));
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:?}");
    assert_eq!(job.items_cancelled, 12);
    let cancelled_at_openai =
        s.fake.response_ids().iter().filter(|r| s.fake.response_status(r) == Some(ResponseStatus::Cancelled)).count();
    assert_eq!(cancelled_at_openai, 12);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_message_fails_alone() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Background).await?;
    let bodies = ["{nope".to_owned(), LlmJobMessage::new(id).body(), LlmJobMessage::new(Uuid::new_v4()).body()];
    let event = sqs::event(bodies.iter().enumerate().map(|(n, body)| sqs::record(&format!("m{n}"), body, 1)).collect());
    let response = bw_queue::process_event(&s.worker, event, 3).await;
    let mut failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, ["m0", "m2"], "a malformed body and an unknown job fail; the good one is polled");
    assert_eq!(s.job(id).await?.status, JobStatus::Running);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_job_goes_through_its_whole_lifecycle_in_a_few_requests() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.items_completed, job.flags_applied), (12, 12));
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    let batches = llm::batches(&mut conn, id).await?;
    assert_eq!(batches.len(), 1, "{batches:?}");
    let batch = &batches[0];
    assert!(batch.input_file_id.starts_with("file-") && batch.done_at.is_some(), "{batch:?}");
    assert_eq!((batch.items, batch.outcome.as_deref(), batch.files_applied), (12, Some("completed"), 2), "{batch:?}");
    assert_eq!(batch.output_lines_applied, 12, "{batch:?}");
    let stats = s.fake.stats();
    assert_eq!(stats.responses_created, 0, "no background responses in batch mode");
    assert_eq!(stats.by_route.get("POST /v1/batches").copied(), Some(1), "one batch: {:?}", stats.by_route);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_refused_batch_lines_are_counted_with_their_reasons() -> anyhow::Result<()> {
    let config = FakeConfig { batch_expired_rate: 0.3, batch_http_error_rate: 0.3, seed: 7, ..FakeConfig::default() };
    let s = Screening::start(config).await?;
    let id = s.create_job(JobMode::Batch).await?;
    let job = s.poll_until_resolved(id).await?;
    let (done, failed, expired) = (job.items_completed, job.items_failed, job.items_expired);
    assert_eq!(done + failed + expired, 12, "{job:?}");
    assert!(failed > 0 && expired > 0, "the seed gives both kinds: {job:?}");
    assert_eq!(job.flags_applied, done);
    let q = |cond: &str| format!("SELECT count(*) FROM llm_job_items WHERE job_id = '{id}' AND {cond}");
    assert_eq!(
        s.app.db.scalar(&q("status = 'failed' AND error LIKE 'OpenAI answered 400%'")).await?,
        i64::from(failed)
    );
    assert_eq!(s.app.db.scalar(&q("status = 'expired' AND error IS NOT NULL")).await?, i64::from(expired));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_ridden_out_by_honouring_retry_after() -> anyhow::Result<()> {
    // 300 requests a minute, at most 4 at once: the job's burst of twelve creates runs into the limit.
    let limits = FakeConfig { rate_limit_per_minute: Some(300), rate_limit_burst: Some(4), ..FakeConfig::default() };
    let mut s = Screening::start(limits).await?;
    let mut config = OpenAiConfig::new(bw_config::Secret::new("sk-test"));
    config.base_url = s.worker.openai.config().base_url.clone();
    config.max_backoff = Duration::from_secs(5);
    config.max_retries = 8;
    s.worker.openai = OpenAi::new(config)?;
    let id = s.create_job(JobMode::Background).await?;
    let job = s.poll_until_resolved(id).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.items_completed, 12);
    let stats = s.fake.stats();
    assert!(stats.rate_limited > 0, "the limit was hit: {stats:?}");
    assert_eq!(s.worker.openai.rate_limited_responses(), stats.rate_limited, "every 429 was seen and retried");
    assert_eq!(stats.responses_created, 12, "a refused create is not a duplicate");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openai_key_comes_from_secrets_manager_or_a_clear_error() -> anyhow::Result<()> {
    let secrets = bw_aws::AwsSecrets::from_env();
    let secret = bw_tests::secrets::TestSecret::create("t-openai", "sk-from-secrets-manager").await?;
    let name = secret.name.clone();
    let env =
        |secret: Option<String>| move |var: &str| (var == "OPENAI_API_KEY_SECRET_ID").then(|| secret.clone()).flatten();
    let from_secret = OpenAiConfig::from_lookup(env(Some(name.clone())), &secrets).await?;
    assert_eq!(from_secret.api_key.expose(), "sk-from-secrets-manager");

    let missing = OpenAiConfig::from_lookup(env(Some(format!("{name}-gone"))), &secrets).await;
    let text = missing.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("OPENAI_API_KEY_SECRET_ID") && text.contains("Secrets Manager"), "{text}");
    let none = OpenAiConfig::from_lookup(env(None), &secrets).await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(none.contains("OPENAI_API_KEY is not set") && none.contains("OPENAI_API_KEY_SECRET_ID"), "{none}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduled_dispatch_also_re_enqueues_runs_whose_message_was_lost() -> anyhow::Result<()> {
    let s = Screening::start(FakeConfig::default()).await?;
    let run_id = s.app.start_run("alice").await?;
    s.app.db.exec(&format!("UPDATE runs SET updated_at = now() - interval '10 minutes' WHERE id = '{run_id}'")).await?;
    let targets = dispatch::Targets {
        llm_jobs_url: s.app.llm_queue.url.clone(),
        runs_url: s.app.queue.url.clone(),
        limit: 100,
        stale_run_secs: 300,
    };
    let before = s.app.queue.depth(&s.app.queue.url).await?;
    let report = dispatch::dispatch_all(&s.app.db.pool, &s.app.llm_queue.sqs, &targets).await?;
    assert_eq!(report.stale_runs_requeued, 1, "{report:?}");
    assert_eq!(s.app.queue.depth(&s.app.queue.url).await?, before + 1, "the run's message was sent again");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_usage_is_stored_per_item_summed_on_the_job_and_priced_a_batch_at_half() -> anyhow::Result<()> {
    // The same 12 postings asked the same question in both modes: the fake reports the same usage for each, so the
    // two jobs' tokens agree and the batch costs half.
    let s = Screening::start(FakeConfig::default()).await?;
    let background = s.create_job(JobMode::Background).await?;
    s.poll_until_resolved(background).await?;
    let batch = s.create_job(JobMode::Batch).await?;
    s.poll_until_resolved(batch).await?;
    let b: serde_json::Value = s.app.get("alice", &format!("/api/llm-jobs/{background}")).await?;
    let h: serde_json::Value = s.app.get("alice", &format!("/api/llm-jobs/{batch}")).await?;
    let (bu, hu) = (&b["usage"], &h["usage"]);
    let per_items = s
        .app
        .db
        .rows(&format!(
            "SELECT sum(input_tokens)::bigint AS i, sum(cached_input_tokens)::bigint AS c, \
                    sum(output_tokens)::bigint AS o, count(input_tokens) AS n \
             FROM llm_job_items WHERE job_id = '{background}'"
        ))
        .await?;
    let (input, cached, output) = (
        per_items[0]["i"].as_i64().unwrap_or(0),
        per_items[0]["c"].as_i64().unwrap_or(0),
        per_items[0]["o"].as_i64().unwrap_or(0),
    );
    assert_eq!(per_items[0]["n"].as_i64(), Some(12), "every item has its usage");
    assert!(input > 0 && output > 0, "{per_items:?}");
    assert_eq!(
        (bu["input_tokens"].as_i64(), bu["output_tokens"].as_i64()),
        (Some(input), Some(output)),
        "the job sums its items: {bu}"
    );
    assert_eq!((hu["input_tokens"].as_i64(), hu["output_tokens"].as_i64()), (Some(input), Some(output)), "{hu}");
    let price = bw_openai::PriceTable::default();
    let expected =
        price.cost_of("gpt-4.1-nano", false, u64::try_from(input)?, u64::try_from(cached)?, u64::try_from(output)?);
    let cost = bu["cost_usd"].as_f64().unwrap_or(f64::NAN);
    assert!(expected.is_some_and(|e| e > 0.0 && (cost - e).abs() < 1e-12), "{cost} vs {expected:?}");
    let half = hu["cost_usd"].as_f64().unwrap_or(f64::NAN);
    assert!((half - cost / 2.0).abs() < 1e-12, "batch {half} vs background {cost}");
    assert_eq!((bu["items_unpriced"].as_i64(), hu["items_unpriced"].as_i64()), (Some(0), Some(0)));
    Ok(())
}

/// What the worker sent since last asked: each message with its delay.
fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<bw_queue::Outgoing>) -> Vec<(LlmJobMessage, Option<i32>)> {
    std::iter::from_fn(|| rx.try_recv().ok())
        .filter_map(|m| Some((bw_messages::parse_llm_job_message(&m.body).ok()?, m.delay_seconds)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_has_one_message_loop_whatever_wakes_it() -> anyhow::Result<()> {
    // Long-running responses, so the job stays open throughout.
    let s = Screening::start(FakeConfig {
        complete_after_ms: bw_fake_openai::Timing::ms(600_000),
        ..FakeConfig::default()
    })
    .await?;
    let (queue, mut rx) = bw_test_support::ChannelQueue::new();
    let worker = bw_poller::Worker {
        pool: s.app.db.pool.clone(),
        openai: s.worker.openai.clone(),
        queue: queue.clone(),
        queue_url: String::new(),
        settings: s.worker.settings.clone(),
    };
    let id = s.create_job(JobMode::Background).await?;
    let poll = |token: Option<Uuid>| worker.poll_job_from(id, token, None);
    let failed = |f: bw_queue::Failure| anyhow::anyhow!("{f}");

    // The first message (the API's, no token) finds no loop: it starts one.
    poll(None).await.map_err(failed)?;
    let sent = drain(&mut rx);
    let first = match sent.as_slice() {
        [(m, Some(_))] if m.job_id == id => m.loop_token.ok_or_else(|| anyhow::anyhow!("no token: {sent:?}"))?,
        other => anyhow::bail!("expected one loop message, sent {other:?}"),
    };
    // A wake (a webhook event, a cancel) polls the job and sends nothing: the loop message is on its way.
    poll(None).await.map_err(failed)?;
    assert!(drain(&mut rx).is_empty(), "a wake starts no second loop");
    // The loop message passes the loop on, with a new token.
    poll(Some(first)).await.map_err(failed)?;
    let second = drain(&mut rx);
    assert_eq!(second.len(), 1, "{second:?}");
    let token = second[0].0.loop_token;
    assert!(token.is_some() && token != Some(first), "{second:?}");
    // The old message delivered again (SQS is at least once): it polls, and ends there.
    poll(Some(first)).await.map_err(failed)?;
    assert!(drain(&mut rx).is_empty(), "a stale loop message ends");

    // While another worker holds the job, the loop message comes back later; a wake is dropped.
    let mut conn = bw_db::pool::conn(&s.app.db.pool).await?;
    let other = Uuid::new_v4();
    assert!(llm::claim(&mut conn, id, other, 60).await?.is_some());
    poll(token).await.map_err(failed)?;
    let held = drain(&mut rx);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!((held[0].0.loop_token, held[0].1), (token, Some(bw_poller::delay::ACTIVE_SECS)));
    poll(None).await.map_err(failed)?;
    assert!(drain(&mut rx).is_empty());
    llm::release(&mut conn, id, other, 0).await?;

    // Dispatch finds the job due (as if its loop had been lost) and starts a new loop: the old token ends.
    let sent = dispatch::dispatch(&s.app.db.pool, &queue, "", 100).await?;
    assert_eq!(sent.sent, 1);
    let restarted = drain(&mut rx);
    assert!(restarted[0].0.loop_token.is_some() && restarted[0].0.loop_token != token, "{restarted:?}");
    poll(token).await.map_err(failed)?;
    assert!(drain(&mut rx).is_empty(), "the loop dispatch replaced ends");
    poll(restarted[0].0.loop_token).await.map_err(failed)?;
    assert_eq!(drain(&mut rx).len(), 1, "the new loop goes on");
    Ok(())
}
