//! The LLM-job store: aggregates move with every item transition, decisions land once, leases keep one poller.

use bw_db::llm::{self, Decision, ItemEnd, ItemStatus, JobStatus, NewJob};
use bw_db::llm_tries;
use bw_tests::db::TestDb;
use serde_json::Value;
use uuid::Uuid;

async fn job_with_items(db: &TestDb, n: i64) -> anyhow::Result<Uuid> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let job = NewJob {
        user_id: "alice",
        name: "screen",
        model: "gpt-4.1-nano",
        instructions: "Is it remote?",
        mode: bw_vocab::JobMode::Background,
    };
    let ids: Vec<i64> = (1..=n).map(|i| 1000 + i).collect();
    Ok(llm::create(&mut conn, job, &ids).await?.id)
}

async fn aggregates(db: &TestDb, job: Uuid) -> anyhow::Result<Value> {
    let rows = db
        .rows(&format!(
            "SELECT status, items_total, items_pending, items_submitted, items_completed, items_failed, items_cancelled, \
             items_expired, flags_applied FROM llm_jobs WHERE id = '{job}'"
        ))
        .await?;
    rows.into_iter().next().ok_or_else(|| anyhow::anyhow!("job {job} missing"))
}

fn completed(flag: bool) -> ItemEnd {
    let decision = Decision { flag, label: "remote".into(), reason: "says so".into() };
    ItemEnd { output_text: Some("{}".into()), decision: Some(decision), ..ItemEnd::bare(ItemStatus::Completed) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregates_follow_every_transition_and_a_decision_lands_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 3).await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let a = aggregates(&db, job).await?;
    assert_eq!(
        (a["status"].as_str(), a["items_total"].as_i64(), a["items_pending"].as_i64()),
        (Some("queued"), Some(3), Some(3))
    );

    assert!(llm::mark_submitted(&mut conn, job, 1, "resp_1").await?);
    assert!(!llm::mark_submitted(&mut conn, job, 1, "resp_1bis").await?, "a submitted item is not submitted again");
    let a = aggregates(&db, job).await?;
    assert_eq!(
        (a["status"].as_str(), a["items_pending"].as_i64(), a["items_submitted"].as_i64()),
        (Some("running"), Some(2), Some(1))
    );

    assert!(llm::end_item(&mut conn, job, "alice", 1, &completed(true)).await?);
    assert!(!llm::end_item(&mut conn, job, "alice", 1, &completed(true)).await?, "the same result processed twice");
    let failed = ItemEnd { error: Some("malformed".into()), ..ItemEnd::bare(ItemStatus::Failed) };
    assert!(llm::end_item(&mut conn, job, "alice", 2, &failed).await?);
    assert_eq!(llm::resolve_if_done(&mut conn, job).await?, None, "item 3 is still open");
    let expired = ItemEnd { error: Some("batch_expired".into()), ..ItemEnd::bare(ItemStatus::Expired) };
    assert!(llm::end_item(&mut conn, job, "alice", 3, &expired).await?);
    assert_eq!(llm::resolve_if_done(&mut conn, job).await?, Some(JobStatus::Completed));
    assert_eq!(llm::resolve_if_done(&mut conn, job).await?, None, "resolved once");

    let a = aggregates(&db, job).await?;
    let counts: Vec<i64> =
        ["items_pending", "items_submitted", "items_completed", "items_failed", "items_expired", "flags_applied"]
            .iter()
            .map(|k| a[*k].as_i64().unwrap_or(-1))
            .collect();
    assert_eq!(counts, [0, 0, 1, 1, 1, 1]);
    assert_eq!(
        db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{job}' AND entity_id = 1001 AND flag"))
            .await?,
        1
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_result_processed_twice_at_once_is_applied_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 1).await?;
    let end = |pool: bw_db::PgPool| async move {
        let mut conn = bw_db::pool::conn(&pool).await?;
        use diesel_async::AsyncConnection as _;
        conn.transaction::<_, anyhow::Error, _>(async |c| llm::end_item(c, job, "alice", 1, &completed(true)).await)
            .await
    };
    let (a, b) = tokio::try_join!(end(db.pool.clone()), end(db.pool.clone()))?;
    assert!(a ^ b, "exactly one of the two ends the item: {a} {b}");
    let agg = aggregates(&db, job).await?;
    assert_eq!(
        (agg["items_completed"].as_i64(), agg["items_pending"].as_i64(), agg["flags_applied"].as_i64()),
        (Some(1), Some(0), Some(1))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_holds_a_job_and_a_released_job_is_due_when_its_poll_time_comes() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 2).await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    assert_eq!(llm::due(&mut conn, 10).await?, vec![job]);
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(llm::claim(&mut conn, job, a, 60).await?.is_some());
    assert!(llm::claim(&mut conn, job, b, 60).await?.is_none(), "a second worker skips a leased job");
    assert!(llm::due(&mut conn, 10).await?.is_empty(), "dispatch skips leased jobs");
    llm::release(&mut conn, job, a, 30).await?;
    assert!(llm::due(&mut conn, 10).await?.is_empty(), "not due before its poll time");
    llm::release(&mut conn, job, a, 0).await?;
    assert!(llm::claim(&mut conn, job, b, 60).await?.is_some(), "a released job can be claimed");

    assert_eq!(llm::request_cancel(&mut conn, "bob", job).await?, None, "another user's job is not found");
    assert_eq!(llm::request_cancel(&mut conn, "alice", job).await?, Some(true));
    let cancelled = ItemEnd::bare(ItemStatus::Cancelled);
    for item in 1..=2 {
        assert!(llm::end_item(&mut conn, job, "alice", item, &cancelled).await?);
    }
    assert_eq!(llm::resolve_if_done(&mut conn, job).await?, Some(JobStatus::Cancelled));
    assert_eq!(llm::request_cancel(&mut conn, "alice", job).await?, Some(false), "a resolved job cannot be cancelled");
    assert!(llm::due(&mut conn, 10).await?.is_empty(), "resolved jobs are never due");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_is_due_when_its_lease_ends_and_a_renewed_lease_holds_it() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 2).await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    // Dispatch sent it and put its poll time two minutes off (the lost-message net); a worker takes it and dies.
    llm::postpone(&mut conn, &[job], 120).await?;
    let (dead, other) = (Uuid::new_v4(), Uuid::new_v4());
    assert!(llm::claim(&mut conn, job, dead, 1).await?.is_some());
    assert!(llm::due(&mut conn, 10).await?.is_empty(), "not due while the lease is live");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(llm::due(&mut conn, 10).await?, vec![job], "due as the lease ends, not at the old poll time");

    // A live worker renews: its job is neither due nor claimable, and a renewal by anyone else is refused.
    assert!(llm::claim(&mut conn, job, other, 1).await?.is_some());
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(llm::renew(&mut conn, job, other, 60).await?);
    assert!(!llm::renew(&mut conn, job, dead, 60).await?, "the dead worker's lease is gone");
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    assert!(llm::due(&mut conn, 10).await?.is_empty(), "a renewed lease outlives its first length");
    assert!(llm::claim(&mut conn, job, dead, 60).await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_tries_count_on_open_items_and_giving_up_moves_each_item_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 4).await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    assert!(llm::mark_submitted(&mut conn, job, 1, "resp_1").await?);
    assert!(llm::mark_submitted(&mut conn, job, 2, "resp_2").await?);
    assert!(llm::end_item(&mut conn, job, "alice", 2, &completed(true)).await?);

    assert_eq!(
        llm_tries::record_failed_try(&mut conn, job, 1, "HTTP 503", true).await?,
        Some(2),
        "submitted once, failed once"
    );
    assert_eq!(llm_tries::record_failed_try(&mut conn, job, 3, "HTTP 502", true).await?, Some(1));
    assert_eq!(
        llm_tries::record_failed_try(&mut conn, job, 2, "late", true).await?,
        None,
        "an ended item is not tried"
    );
    let noted = llm_tries::record_failed_try(&mut conn, job, 4, "HTTP 401", false).await?;
    assert_eq!(noted, Some(0), "a failed poll is noted, not an attempt");
    let tried = db
        .rows(&format!(
            "SELECT item_id, attempts, last_error FROM llm_job_items WHERE job_id = '{job}' ORDER BY item_id"
        ))
        .await?;
    let tried: Vec<(i64, i64, Option<&str>)> = tried
        .iter()
        .map(|r| (r["item_id"].as_i64().unwrap_or(-1), r["attempts"].as_i64().unwrap_or(-1), r["last_error"].as_str()))
        .collect();
    assert_eq!(tried, [(1, 2, Some("HTTP 503")), (2, 1, None), (3, 1, Some("HTTP 502")), (4, 0, Some("HTTP 401"))]);

    // One item given up (twice: the second finds it ended), then the whole job.
    assert_eq!(llm_tries::give_up_items(&mut conn, job, &[3], "gave up after 1 attempts").await?, 1);
    assert_eq!(llm_tries::give_up_items(&mut conn, job, &[3, 2], "again").await?, 0, "ended items are left alone");
    assert_eq!(llm_tries::give_up_job(&mut conn, job, "gave up: no answer after 24 h").await?, 2, "items 1 and 4");
    let errors = db
        .rows(&format!("SELECT item_id, status, error FROM llm_job_items WHERE job_id = '{job}' ORDER BY item_id"))
        .await?;
    let errors: Vec<(&str, Option<&str>)> =
        errors.iter().map(|r| (r["status"].as_str().unwrap_or(""), r["error"].as_str())).collect();
    assert_eq!(
        errors,
        [
            ("failed", Some("gave up: no answer after 24 h; last error: HTTP 503")),
            ("completed", None),
            ("failed", Some("gave up after 1 attempts; last error: HTTP 502")),
            ("failed", Some("gave up: no answer after 24 h; last error: HTTP 401")),
        ]
    );
    let a = aggregates(&db, job).await?;
    let counts = ["items_pending", "items_submitted", "items_completed", "items_failed"].map(|k| a[k].as_i64());
    assert_eq!(counts, [Some(0), Some(0), Some(1), Some(3)], "{a}");
    assert_eq!(llm::resolve_if_done(&mut conn, job).await?, Some(JobStatus::Completed));
    let job_error = db.rows(&format!("SELECT error FROM llm_jobs WHERE id = '{job}'")).await?;
    assert_eq!(job_error[0]["error"], "gave up: no answer after 24 h");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_of_ends_moves_what_one_end_at_a_time_would_and_lands_each_decision_once() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let job = job_with_items(&db, 6).await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    for item in 1..=5 {
        assert!(llm::mark_submitted(&mut conn, job, item, &format!("resp_{item}")).await?);
    }
    assert!(llm::end_item(&mut conn, job, "alice", 4, &completed(false)).await?, "item 4 ended before the chunk");
    let usage = llm::ItemUsage {
        input_tokens: 100,
        cached_input_tokens: 10,
        output_tokens: 20,
        reasoning_tokens: 5,
        cost_usd: Some(0.5),
    };
    let pushed = |end: ItemEnd| end.learnt(bw_vocab::Learnt::Push);
    let failed = ItemEnd { error: Some("OpenAI answered 400: no".into()), ..ItemEnd::bare(ItemStatus::Failed) };
    let expired = ItemEnd { error: Some("batch_expired".into()), ..ItemEnd::bare(ItemStatus::Expired) };
    let chunk = vec![
        (1, pushed(ItemEnd { usage: Some(usage), ..completed(true) })),
        (2, pushed(ItemEnd { usage: Some(llm::ItemUsage { cost_usd: None, ..usage }), ..completed(false) })),
        (1, pushed(failed.clone())),
        (3, pushed(failed)),
        (4, pushed(completed(true))),
        (5, pushed(expired)),
        (99, pushed(completed(true))),
    ];
    let mut ended = llm::end_items(&mut conn, job, "alice", &chunk).await?;
    ended.sort_unstable();
    assert_eq!(ended, [1, 2, 3, 5], "item 1 once (as its first end says), 4 already ended, 99 no item");
    let a = aggregates(&db, job).await?;
    let counts: Vec<i64> = ["items_pending", "items_submitted", "items_completed", "items_failed", "items_expired"]
        .iter()
        .map(|c| a[*c].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(counts, [1, 0, 3, 1, 1], "{a}");
    assert_eq!(a["flags_applied"].as_i64(), Some(3), "items 1, 2 and 4: {a}");
    let q = |sql: &str| format!("SELECT {sql} FROM llm_jobs WHERE id = '{job}'");
    assert_eq!(db.scalar(&q("ends_pushed::int8")).await?, 4);
    let sums = db
        .rows(&format!(
            "SELECT input_tokens, cached_input_tokens, output_tokens, reasoning_tokens, cost_usd, items_unpriced \
             FROM llm_job_usage WHERE job_id = '{job}'"
        ))
        .await?;
    let s = &sums[0];
    assert_eq!(
        (s["input_tokens"].as_i64(), s["output_tokens"].as_i64(), s["reasoning_tokens"].as_i64()),
        (Some(200), Some(40), Some(10))
    );
    assert_eq!((s["cost_usd"].as_f64(), s["items_unpriced"].as_i64()), (Some(0.5), Some(1)));
    let item1 =
        db.rows(&format!("SELECT status, learnt_by FROM llm_job_items WHERE job_id = '{job}' AND item_id = 1")).await?;
    assert_eq!((item1[0]["status"].as_str(), item1[0]["learnt_by"].as_str()), (Some("completed"), Some("push")));

    // The same chunk again (an invocation that died before counting it applied): nothing moves.
    assert!(llm::end_items(&mut conn, job, "alice", &chunk).await?.is_empty());
    assert_eq!(aggregates(&db, job).await?, a);
    let flags = db.scalar(&format!("SELECT count(*) FROM entity_flags WHERE job_id = '{job}'")).await?;
    assert_eq!(flags, 3);
    Ok(())
}
