//! Hostile message bodies on both consumers' queues (and another user's message for a real run), handled by the real
//! binaries: each fails alone, with its reason
//! recorded, and reaches its DLQ within seconds; the good messages beside them are processed; no service stops or
//! panics.

use std::time::Duration;

use bw_fake_ats::{FakeAts, Kind};
use bw_queue::{Outgoing, Queue as _};
use bw_tests::chaos::procs::{Role, panics};
use bw_tests::chaos::workload::{create_job, start_run, wait_job_resolved, wait_run_ended};
use bw_tests::chaos::world::World;
use bw_tests::sqs::TestQueue;
use serde_json::json;

/// Bodies no producer of ours sends: not JSON, the wrong shape, wrong types, versions and ids, huge, deep.
fn hostile_bodies(queue: &str) -> Vec<String> {
    let id = if queue == "runs" { "run_id" } else { "job_id" };
    let mut bodies: Vec<String> = [
        " ",
        "null",
        "[]",
        "{}",
        "not json at all",
        "{\"v\":1",
        "{\"v\":1,\"v\":1}",
        "\"a string\"",
        "1e999999",
        "{\"v\":99,\"run_id\":\"00000000-0000-0000-0000-000000000000\",\"job_id\":\"00000000-0000-0000-0000-000000000000\",\"user_id\":\"alice\",\"database\":\"primary\"}",
        "{\"v\":-1}",
        "{\"v\":256}",
    ]
    .iter()
    .map(|b| (*b).to_owned())
    .collect();
    bodies.push(json!({ "v": 1, id: "not-a-uuid", "user_id": "alice", "database": "primary" }).to_string());
    bodies.push(json!({ "v": 1, id: "\u{0}", "user_id": "alice\u{0}", "database": "primary" }).to_string());
    bodies.push(json!({ "v": 1, id: 42, "user_id": ["alice"], "database": {} }).to_string());
    bodies.push(json!({ "v": 1, id: uuid::Uuid::new_v4(), "user_id": "alice", "database": "nowhere" }).to_string());
    // Well formed, for nothing that exists.
    bodies.push(json!({ "v": 1, id: uuid::Uuid::new_v4(), "user_id": "mallory", "database": "primary" }).to_string());
    // Deeper than any parser should recurse, and near SQS's 256 KiB limit.
    bodies.push(format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
    bodies.push(
        json!({ "v": 1, id: uuid::Uuid::new_v4(), "user_id": "x".repeat(200_000), "database": "primary" }).to_string(),
    );
    bodies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_bodies_fail_alone_with_their_reason_in_the_dlq_while_good_work_goes_on() -> anyhow::Result<()> {
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    let dir = std::env::temp_dir().join(format!("bw-hostile-{}", uuid::Uuid::new_v4().simple()));
    let (world, mut services) = World::start(&server.base_url, 1, &dir).await?;
    ats.generate_board(Kind::Greenhouse, "acme", 20, 1);
    let body = json!({ "name": "Acme", "board_kind": "greenhouse", "board_token": "acme" });
    let (status, answer) = world.api.call("alice", reqwest::Method::POST, "/api/companies", Some(&body)).await?;
    assert_eq!(status, 201, "{answer}");

    let mut sent = 0;
    for (name, queue) in [("runs", &world.runs), ("llm-jobs", &world.llm_jobs)] {
        for body in hostile_bodies(name) {
            queue.sqs.send(&queue.url, Outgoing { body, ..Outgoing::default() }).await?;
            sent += 1;
        }
    }
    // Good work beside them: a run, then a job over what it ingested.
    let run = start_run(&world, "alice").await?;
    wait_run_ended(&world, &run).await?;
    let rows = world
        .db
        .rows(&format!("SELECT status, counts->'total'->>'inserted' AS n FROM runs WHERE id = '{run}'"))
        .await?;
    assert_eq!((rows[0]["status"].as_str(), rows[0]["n"].as_str()), (Some("finished"), Some("20")), "{rows:?}");
    // Another user's message for alice's real run: refused as a run that does not exist for that user, and the run
    // is left as it was.
    let before = world.db.rows(&format!("SELECT status, counts, finished_at FROM runs WHERE id = '{run}'")).await?;
    let theirs = json!({ "v": 1, "run_id": run, "user_id": "mallory", "database": "primary" }).to_string();
    world.runs.sqs.send(&world.runs.url, Outgoing { body: theirs, ..Outgoing::default() }).await?;
    sent += 1;
    // SQS carries only Unicode text of XML characters: bytes that are not UTF-8 cannot be sent at all, and a body
    // with a NUL is refused at the send, so neither can reach a consumer.
    let refused = world
        .runs
        .sqs
        .send(&world.runs.url, Outgoing { body: "{\"v\":1,\u{0}}".to_owned(), ..Outgoing::default() })
        .await;
    assert!(refused.is_err(), "SQS took a body with a NUL character");
    let job = create_job(&world, "alice", "background").await?;
    wait_job_resolved(&world, &job).await?;
    let completed =
        world.db.scalar(&format!("SELECT items_completed::bigint FROM llm_jobs WHERE id = '{job}'")).await?;
    assert_eq!(completed, 20);

    TestQueue::wait_until(Duration::from_secs(120), "every hostile body in a DLQ", || async {
        let runs = world.runs.depth(&world.runs.dlq_url).await?;
        Ok(runs + world.llm_jobs.depth(&world.llm_jobs.dlq_url).await? >= sent)
    })
    .await?;
    let dead = bw_tests::chaos::check::dead_letters(&world).await?;
    assert_eq!(dead.len(), usize::try_from(sent)?, "only the hostile bodies, each once");
    for (queue, id, reason) in &dead {
        let reason = reason.as_deref().unwrap_or_default();
        assert!(!reason.is_empty(), "dead letter {id} on {queue} has no recorded reason");
    }
    let after = world.db.rows(&format!("SELECT status, counts, finished_at FROM runs WHERE id = '{run}'")).await?;
    assert_eq!(before, after, "another user's message changed alice's run");
    let theirs_reason = dead.iter().filter_map(|(_, _, r)| r.as_deref()).find(|r| r.contains("mallory"));
    assert!(theirs_reason.is_some_and(|r| r.contains("does not exist")), "{dead:?}");
    services.check_running()?;
    for role in Role::ALL {
        let found = panics(&services.log_path(role));
        assert!(found.is_empty(), "{} panicked: {found:?}", role.name());
    }
    services.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
