//! `POST /api/webhooks/openai`: OpenAI's events verified as Standard Webhooks (the documented event bodies, sent
//! byte for byte), recorded once by `webhook-id`, mapped to their job through the response or batch id, and the job
//! woken on `llm-jobs` when it needs waking; a delivery that does not verify touches nothing.

use std::time::Duration;

use axum::body::Body;
use bw_api::seams::Destination;
use bw_db::llm::{self, LlmJob, NewJob};
use bw_queue::Queue as _;
use bw_queue::runner::{self, RunnerConfig};
use bw_tests::api::{Answer, TestApi};
use bw_tests::llm::Screening;
use bw_tests::sqs::TestQueue;
use bw_vocab::{JobMode, JobStatus};
use serde_json::Value;
use uuid::Uuid;

const PATH: &str = "/api/webhooks/openai";

fn fixture(name: &str) -> anyhow::Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openai/webhooks").join(name);
    std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A delivery of `body` as OpenAI sends it, signed with `secret` at `timestamp`.
fn delivery(secret: &bw_webhooks::Secret, webhook_id: &str, timestamp: i64, body: &str) -> axum::http::Request<Body> {
    let signature = bw_webhooks::sign(secret, webhook_id, timestamp, body.as_bytes());
    axum::http::Request::builder()
        .method("POST")
        .uri(PATH)
        .header("content-type", "application/json")
        .header("user-agent", "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)")
        .header("webhook-id", webhook_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(Body::from(body.to_owned()))
        .unwrap_or_default()
}

async fn send(api: &TestApi, webhook_id: &str, body: &str) -> anyhow::Result<Answer> {
    api.send(delivery(&bw_tests::webhook_secret(), webhook_id, now(), body)).await
}

fn json(answer: &Answer) -> Value {
    serde_json::from_str(&answer.text).unwrap_or(Value::Null)
}

/// A job of alice's over `n` items in `mode`.
async fn job(api: &TestApi, mode: JobMode, n: i64) -> anyhow::Result<Uuid> {
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    let job = NewJob { user_id: "alice", name: "remote?", model: "gpt-4.1-nano", instructions: "Remote?", mode };
    let ids: Vec<i64> = (1..=n).map(|i| 1000 + i).collect();
    Ok(llm::create(&mut conn, job, &ids).await?.id)
}

async fn woken(api: &TestApi) -> Vec<Uuid> {
    api.queue
        .sent_to(Destination::LlmJobs)
        .iter()
        .filter_map(|m| bw_messages::parse_llm_job_message(&m.body).ok().map(|m| m.job_id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_that_does_not_verify_is_refused_with_the_reason_and_touches_nothing() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    let id = job(&api, JobMode::Background, 1).await?;
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    llm::mark_submitted(&mut conn, id, 1, "resp_abc123").await?;
    let body = fixture("event_response_completed.openapi_example.json")?;
    let ours = bw_tests::webhook_secret();
    let other = bw_webhooks::Secret::from_bytes(b"someone else's secret, 32 bytes!");

    let unsigned = axum::http::Request::builder().method("POST").uri(PATH).body(Body::from(body.clone()))?;
    let stale = delivery(&ours, "wh_1", now() - 400, &body);
    let future = delivery(&ours, "wh_1", now() + 400, &body);
    let wrong_secret = delivery(&other, "wh_1", now(), &body);
    // Signed over the body as sent, then delivered re-encoded (the same JSON, other bytes).
    let mut reencoded = delivery(&ours, "wh_1", now(), &body);
    *reencoded.body_mut() = Body::from(serde_json::to_string(&serde_json::from_str::<Value>(&body)?)?);
    let dotted = delivery(&ours, "wh.1", now(), &body);
    for (request, says) in [
        (unsigned, "webhook-id header is missing"),
        (stale, "s old"),
        (future, "ahead of this server's clock"),
        (wrong_secret, "no v1 signature"),
        (reencoded, "no v1 signature"),
        (dotted, "holds a '.'"),
    ] {
        let answer = api.send(request).await?;
        let message = json(&answer)["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert_eq!(answer.status, 400, "{says}: {}", answer.text);
        assert!(message.contains(says), "expected {says:?} in {message:?}");
    }
    assert_eq!(api.db.scalar("SELECT count(*) FROM webhook_events").await?, 0);
    assert_eq!(api.db.scalar("SELECT count(*) FROM llm_job_items WHERE pushed_at IS NOT NULL").await?, 0);
    assert!(woken(&api).await.is_empty());

    // A body that verifies but is no event: named, and nothing stored.
    let answer = send(&api, "wh_2", r#"{"id": "evt_1", "data": {"id": "resp_abc123"}}"#).await?;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.text.contains("not an OpenAI event"), "{}", answer.text);
    assert_eq!(api.db.scalar("SELECT count(*) FROM webhook_events").await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_documented_event_reaches_its_job_once_and_wakes_it_when_it_needs_waking() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    let background = job(&api, JobMode::Background, 3).await?;
    let batch = job(&api, JobMode::Batch, 2).await?;
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    llm::mark_submitted(&mut conn, background, 1, "resp_abc123").await?;
    llm::mark_submitted(&mut conn, background, 2, "resp_two").await?;
    let recorded = llm::NewBatch {
        batch_id: "batch_abc123",
        input_file_id: "file-1",
        item_ids: &[1, 2],
        input_bytes: 100,
        expires_at: chrono::Utc::now(),
    };
    llm::record_batch(&mut conn, batch, &recorded).await?;

    // The documented body, byte for byte: its response is item 1's; the job is woken.
    let completed = fixture("event_response_completed.openapi_example.json")?;
    let answer = send(&api, "wh_a", &completed).await?;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let got = json(&answer);
    assert_eq!((got["outcome"].as_str(), got["woke"].as_bool()), (Some("recorded"), Some(true)), "{got}");
    assert_eq!(got["job_id"].as_str(), Some(background.to_string().as_str()));
    assert_eq!(woken(&api).await, [background]);

    // Delivered again (the same webhook-id): nothing recorded; its item still waits for the worker, so the job is
    // woken again (the first wake may not have gone out).
    let again = json(&send(&api, "wh_a", &completed).await?);
    assert_eq!((again["outcome"].as_str(), again["woke"].as_bool()), (Some("duplicate"), Some(true)), "{again}");
    assert_eq!(woken(&api).await, [background, background]);
    assert_eq!(api.db.scalar("SELECT count(*) FROM webhook_events WHERE webhook_id = 'wh_a'").await?, 1);

    // Item 2's end while item 1's is still waiting for the worker: recorded, no second message.
    let two = completed.replace("resp_abc123", "resp_two").replace("evt_abc123", "evt_two");
    let got = json(&send(&api, "wh_b", &two).await?);
    assert_eq!((got["outcome"].as_str(), got["woke"].as_bool()), (Some("recorded"), Some(false)), "{got}");
    assert_eq!(woken(&api).await.len(), 2);
    let pushed = api
        .db
        .scalar(&format!("SELECT count(*) FROM llm_job_items WHERE job_id = '{background}' AND pushed_at IS NOT NULL"))
        .await?;
    assert_eq!(pushed, 2);

    // Every other documented response event is about the same response: recorded, the item already pushed.
    for name in [
        "event_response_cancelled.openapi_example.json",
        "event_response_failed.openapi_example.json",
        "event_response_incomplete.openapi_example.json",
        "event_response_completed.openai_guide_example.json",
    ] {
        let got = json(&send(&api, &format!("wh_{}", name.replace('.', "_")), &fixture(name)?).await?);
        assert_eq!((got["outcome"].as_str(), got["woke"].as_bool()), (Some("recorded"), Some(false)), "{name}: {got}");
    }

    // A batch's end wakes its job (each event: an unresolved batch job is always sent).
    let got = json(&send(&api, "wh_batch", &fixture("event_batch_completed.openapi_example.json")?).await?);
    assert_eq!((got["outcome"].as_str(), got["woke"].as_bool()), (Some("recorded"), Some(true)), "{got}");
    assert_eq!(woken(&api).await, [background, background, batch]);
    for name in [
        "event_batch_failed.openapi_example.json",
        "event_batch_expired.openapi_example.json",
        "event_batch_cancelled.openapi_example.json",
    ] {
        let got = json(&send(&api, &format!("wh_{}", name.replace('.', "_")), &fixture(name)?).await?);
        assert_eq!(got["outcome"].as_str(), Some("recorded"), "{name}: {got}");
    }
    let stamped = api
        .db
        .scalar(&format!("SELECT count(*) FROM llm_batches WHERE job_id = '{batch}' AND pushed_at IS NOT NULL"))
        .await?;
    assert_eq!(stamped, 1);

    // Types this system does not use are acknowledged.
    let other =
        r#"{"id":"evt_x","object":"event","created_at":1,"type":"eval.run.succeeded","data":{"id":"evalrun_1"}}"#;
    assert_eq!(json(&send(&api, "wh_eval", other).await?)["outcome"].as_str(), Some("ignored"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_before_its_response_is_recorded_counts_when_it_is() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    let id = job(&api, JobMode::Background, 1).await?;
    // OpenAI finished and pushed before the worker recorded the response id: nothing of ours knows it yet.
    let early = fixture("event_response_completed.openapi_example.json")?.replace("resp_abc123", "resp_early");
    let got = json(&send(&api, "wh_early", &early).await?);
    assert_eq!(got["outcome"].as_str(), Some("unknown"), "{got}");
    assert!(woken(&api).await.is_empty());
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    llm::mark_submitted(&mut conn, id, 1, "resp_early").await?;
    let item = llm::items(&mut conn, id, None, 0, 10).await?;
    assert!(item[0].pushed_at.is_some(), "the early event counts: {:?}", item[0]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_that_cannot_be_sent_answers_500_and_is_sent_when_openai_delivers_again() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    let id = job(&api, JobMode::Background, 2).await?;
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    llm::mark_submitted(&mut conn, id, 1, "resp_abc123").await?;
    let body = fixture("event_response_completed.openapi_example.json")?;
    api.queue.fail_sends(true);
    let answer = send(&api, "wh_retry", &body).await?;
    assert_eq!(answer.status, 500, "{}", answer.text);
    assert!(woken(&api).await.is_empty());
    api.queue.fail_sends(false);
    // OpenAI delivers it again: the event is known, its item still waits for the worker, so the job is woken now.
    let got = json(&send(&api, "wh_retry", &body).await?);
    assert_eq!((got["outcome"].as_str(), got["woke"].as_bool()), (Some("duplicate"), Some(true)), "{got}");
    assert_eq!(woken(&api).await, [id]);
    // Once the worker has read the item, a late redelivery wakes nothing.
    let read = bw_db::llm::ItemEnd::bare(bw_db::llm::ItemStatus::Completed).learnt(bw_db::llm::Learnt::Push);
    llm::end_item(&mut conn, id, "alice", 1, &read).await?;
    let late = json(&send(&api, "wh_retry", &body).await?);
    assert_eq!((late["outcome"].as_str(), late["woke"].as_bool()), (Some("duplicate"), Some(false)), "{late}");
    assert_eq!(woken(&api).await.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_event_of_a_type_not_used_is_acknowledged_whatever_its_data() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    // realtime.call.incoming carries data.call_id, no data.id.
    let call = r#"{"id":"evt_c","object":"event","created_at":1,"type":"realtime.call.incoming","data":{"call_id":"rtc_1","sip_headers":[]}}"#;
    let answer = send(&api, "wh_call", call).await?;
    assert_eq!((answer.status, json(&answer)["outcome"].as_str()), (200, Some("ignored")), "{}", answer.text);
    // A type that is used must name its object.
    let nameless = r#"{"id":"evt_n","object":"event","created_at":1,"type":"response.completed","data":{}}"#;
    let answer = send(&api, "wh_nameless", nameless).await?;
    assert_eq!(answer.status, 400, "{}", answer.text);
    assert!(answer.text.contains("data.id"), "{}", answer.text);
    Ok(())
}

/// Alice's 12 postings screened in background mode with webhooks on: the fake OpenAI pushes to the API over HTTP, the
/// API wakes the job on LocalStack's `llm-jobs`, the worker (through the local runner) reads what was pushed.
/// `net` is how long an item may go without its event before it is polled.
async fn screened_by_push(fake: bw_fake_openai::FakeConfig, net: Duration) -> anyhow::Result<(Screening, LlmJob)> {
    let mut s = Screening::start(fake).await?;
    s.worker.settings.cadence = bw_poller::delay::Cadence::Webhooks { net };
    let url = format!("{}/api/webhooks/openai", s.app.api_url);
    let secret = bw_tests::webhook_secret().to_whsec();
    s.fake.update_config(|c| {
        c.webhook_url = Some(url);
        c.webhook_secret = Some(secret);
    })?;
    let id = s.create_job(JobMode::Background).await?;
    s.app.llm_queue.sqs.send(&s.app.llm_queue.url, bw_queue::Outgoing::llm_job(id, None)).await?;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let config = RunnerConfig { batch_size: 1, wait: Duration::from_secs(1), ..RunnerConfig::default() };
    let (worker, url, sqs) = (&s.worker, s.app.llm_queue.url.clone(), s.app.llm_queue.sqs.clone());
    let runner = async move { runner::run(&sqs, &url, worker, &config, rx).await };
    let waiter = async {
        let result = TestQueue::wait_until(Duration::from_secs(90), "the job to resolve", || async {
            Ok(s.job(id).await?.resolved_at.is_some())
        })
        .await;
        let _ = tx.send(true);
        result
    };
    let (_, resolved) = tokio::join!(runner, waiter);
    resolved?;
    let job = s.job(id).await?;
    Ok((s, job))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_background_job_completes_by_push_with_one_read_per_item_and_no_polls() -> anyhow::Result<()> {
    // Responses end 0.2-1.5 s after creation; the net is far longer than the test, so nothing is learnt by polling.
    let fake = bw_fake_openai::FakeConfig {
        complete_after_ms: bw_fake_openai::Timing::Range { min_ms: 200, max_ms: 1_500 },
        ..Default::default()
    };
    let (s, job) = screened_by_push(fake, Duration::from_secs(600)).await?;
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!((job.items_completed, job.ends_pushed, job.ends_polled), (12, 12, 0), "{job:?}");
    let stats = s.fake.stats();
    assert_eq!(stats.responses_created, 12);
    assert_eq!(stats.retrievals, 12, "one read per item, after its event: {stats:?}");
    assert_eq!(stats.webhooks_delivered, 12);
    let learnt = s.items_where(job.id, "learnt_by = 'push'").await?;
    assert_eq!(learnt, 12);
    assert_eq!(s.app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{}'", job.id)).await?, 12);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_doubled_and_reordered_events_still_resolve_the_job_the_lost_ones_by_polling() -> anyhow::Result<()> {
    let fake = bw_fake_openai::FakeConfig {
        complete_after_ms: bw_fake_openai::Timing::Range { min_ms: 100, max_ms: 1_000 },
        webhook_loss_rate: 0.4,
        webhook_duplicate_rate: 0.5,
        webhook_delay_ms: bw_fake_openai::Timing::Range { min_ms: 0, max_ms: 800 },
        seed: 7,
        ..Default::default()
    };
    let (s, job) = screened_by_push(fake, Duration::from_secs(3)).await?;
    let stats = s.fake.stats();
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.items_completed, 12, "{job:?}");
    assert!(stats.webhooks_lost > 0 && stats.webhooks_duplicated > 0, "the seed loses and doubles some: {stats:?}");
    assert_eq!(job.ends_pushed + job.ends_polled, 12, "{job:?}");
    // A lost event's item can only have been found by polling (a delivered one may be too, when its delay outlasts
    // the net).
    assert!(i64::from(job.ends_polled) >= i64::try_from(stats.webhooks_lost)?, "{job:?} {stats:?}");
    let events = s.app.db.scalar("SELECT count(*) FROM webhook_events").await?;
    assert_eq!(events, 12 - i64::try_from(stats.webhooks_lost)?, "each delivered event recorded once: {stats:?}");
    assert_eq!(s.app.db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{}'", job.id)).await?, 12);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_pruned_a_week_after_they_came() -> anyhow::Result<()> {
    let api = TestApi::spawn().await?;
    let body = fixture("event_response_completed.openapi_example.json")?;
    send(&api, "wh_old", &body).await?;
    send(&api, "wh_new", &body.replace("resp_abc123", "resp_new")).await?;
    api.db
        .exec("UPDATE webhook_events SET received_at = now() - interval '8 days' WHERE webhook_id = 'wh_old'")
        .await?;
    let mut conn = bw_db::pool::conn(&api.db.pool).await?;
    assert_eq!(bw_db::webhooks::prune(&mut conn, bw_db::webhooks::KEEP_SECS).await?, 1);
    let left = api.db.rows("SELECT webhook_id FROM webhook_events").await?;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["webhook_id"].as_str(), Some("wh_new"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_racing_the_write_of_its_response_id_is_never_missed() -> anyhow::Result<()> {
    // Each event and the worker's write of its response id at the same moment: without a lock on the id, each
    // transaction could read before the other commits, and the item would wait for the net.
    let api = TestApi::spawn().await?;
    let n = 120;
    let id = job(&api, JobMode::Background, n).await?;
    let body = fixture("event_response_completed.openapi_example.json")?;
    let races = (1..=n).map(|i| {
        let (api, body) = (&api, &body);
        async move {
            let response = format!("resp_race_{i}");
            let event = body.replace("resp_abc123", &response);
            let write = async {
                let mut conn = bw_db::pool::conn(&api.db.pool).await?;
                use diesel_async::AsyncConnection as _;
                conn.transaction::<_, anyhow::Error, _>(async |c| {
                    llm::mark_submitted(c, id, i32::try_from(i)?, &response).await
                })
                .await
            };
            let webhook_id = format!("wh_race_{i}");
            let (sent, written) = tokio::join!(send(api, &webhook_id, &event), write);
            anyhow::ensure!(sent?.status == 200 && written?, "item {i}");
            Ok(())
        }
    });
    futures::future::try_join_all(races).await?;
    let pushed = api
        .db
        .scalar(&format!("SELECT count(*) FROM llm_job_items WHERE job_id = '{id}' AND pushed_at IS NOT NULL"))
        .await?;
    assert_eq!(pushed, n, "every item whose event came counts as pushed");
    Ok(())
}
