//! At-least-once delivery: duplicates (one after the other, and at the same moment), bad bodies in a batch, the
//! DLQ after `maxReceiveCount`, and the last delivery of a run that keeps failing.

use std::time::Duration;

use bw_fake_ats::Kind;
use bw_messages::{Database, RunMessage};
use bw_queue::{Outgoing, Queue as _, process_event};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_tests::sqs::{TestQueue, event, record};
use bw_vocab::RunStatus;

const LONG: Duration = Duration::from_secs(60);

fn run_body(run_id: &str) -> anyhow::Result<String> {
    Ok(bw_messages::to_body(&RunMessage::new(run_id.parse()?, "alice", Database::Primary)))
}

async fn boards(app: &TestApp) -> anyhow::Result<()> {
    app.ats.generate_board(Kind::Greenhouse, "acme", 25, 1);
    app.ats.generate_board(Kind::Lever, "globex", 15, 2);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.add_company("alice", "Globex", "lever", "globex").await?;
    Ok(())
}

/// Everything a delivery writes, as JSON text, to compare database states.
async fn state(app: &TestApp) -> anyhow::Result<String> {
    let postings = app.db.rows("SELECT * FROM postings ORDER BY id").await?;
    let runs =
        app.db.rows("SELECT id, status, stage, counts, error, finished_at FROM runs ORDER BY created_at").await?;
    let checkpoints = app.db.rows("SELECT * FROM run_companies ORDER BY run_id, company_id").await?;
    let events = app.db.rows("SELECT run_id, level, stage, message FROM run_events ORDER BY id").await?;
    Ok(serde_json::json!([postings, runs, checkpoints, events]).to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_twice_leaves_the_database_as_one_delivery() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    let body = run_body(&run_id)?;

    let first = process_event(&*app.ingestion, event(vec![record("m-1", &body, 1)]), 1).await;
    assert!(first.batch_item_failures.is_empty());
    let after_one = state(&app).await?;
    let second = process_event(&*app.ingestion, event(vec![record("m-1", &body, 2)]), 1).await;
    assert!(second.batch_item_failures.is_empty(), "a message for an ended run is acknowledged");
    assert_eq!(state(&app).await?, after_one);
    assert_eq!(app.run("alice", &run_id).await?.status, RunStatus::Finished);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_twice_at_once_is_worked_by_one_delivery() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    let body = run_body(&run_id)?;

    let (a, b) = tokio::join!(
        process_event(&*app.ingestion, event(vec![record("m-a", &body, 1)]), 1),
        process_event(&*app.ingestion, event(vec![record("m-b", &body, 1)]), 1),
    );
    let failed = a.batch_item_failures.len() + b.batch_item_failures.len();
    assert!(failed <= 1, "at most the delivery that found the run leased fails: {a:?} {b:?}");
    if failed == 1 {
        // SQS redelivers the one that found the run busy; by then the run has ended and it is acknowledged.
        let again = process_event(&*app.ingestion, event(vec![record("m-b", &body, 2)]), 1).await;
        assert!(again.batch_item_failures.is_empty());
    }
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.counts.total.inserted, 40, "{run:?}");
    assert_eq!(run.counts.total.ready, 40, "{run:?}");
    let started = app
        .db
        .scalar(&format!("SELECT count(*) FROM run_events WHERE run_id = '{run_id}' AND message = 'run started'"))
        .await?;
    assert_eq!(started, 1);
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings").await?, 40);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_fail_alone_in_their_batch() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    let good = run_body(&run_id)?;
    let batch = event(vec![
        record("bad-json", "{oops", 1),
        record("good", &good, 1),
        record("bad-version", &good.replace("\"v\":1", "\"v\":2"), 1),
        record("unknown-run", &run_body(&uuid::Uuid::new_v4().to_string())?, 1),
        record("empty", "", 1),
    ]);
    let response = process_event(&*app.ingestion, batch, 3).await;
    let mut failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    failed.sort_unstable();
    assert_eq!(failed, ["bad-json", "bad-version", "empty", "unknown-run"]);
    assert_eq!(app.run("alice", &run_id).await?.status, RunStatus::Finished);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_reaches_the_dlq_after_max_receive_count_and_its_neighbours_are_processed()
-> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    boards(&app).await?;
    let poison = "{\"v\":1,\"run_id\":\"not-a-uuid\"}";
    app.queue.sqs.send(&app.queue.url, Outgoing { body: poison.to_owned(), ..Outgoing::default() }).await?;
    let run_id = app.start_run("alice").await?;
    app.start_runner();

    assert_eq!(app.wait_for_end("alice", &run_id, LONG).await?.status, RunStatus::Finished);
    let (queue, dlq) = (app.queue.url.clone(), app.queue.dlq_url.clone());
    TestQueue::wait_until(LONG, "the poison message to reach the DLQ", || async {
        Ok(app.queue.depth(&dlq).await? == 1 && app.queue.depth(&queue).await? == 0)
    })
    .await?;
    let stats = app.stop_runner().await?;
    // At least the poison's failures: on a loaded machine a delivery of the run can outlast the test queue's 2 s
    // visibility timeout, and the run's second delivery then fails as busy (the first holds the lease).
    assert!(stats.failed >= u64::from(app.queue.max_receive_count), "{stats:?}");
    let moved = app.queue.sqs.receive(&dlq, 10, Duration::from_secs(1)).await?;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].body.as_deref(), Some(poison));
    // Its receive count goes on in the DLQ: max_receive_count deliveries failed, this receive is one more.
    let receives = moved[0].attributes.get("ApproximateReceiveCount").and_then(|n| n.parse::<u32>().ok());
    assert_eq!(receives, Some(app.queue.max_receive_count + 1), "{:?}", moved[0].attributes);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_failing_on_its_last_delivery_is_marked_failed_unless_another_worker_owns_it() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    let body = run_body(&run_id)?;

    // Another worker holds a live lease: a delivery fails as busy (it comes back shortly), and the last one is
    // acknowledged rather than dead-lettered, the run left to that worker.
    let set_lease = |until: &str| {
        format!("UPDATE runs SET lease_owner = gen_random_uuid(), lease_until = {until} WHERE id = '{run_id}'")
    };
    app.db.exec(&set_lease("now() + interval '1 hour'")).await?;
    let busy =
        bw_queue::handle_event(&*app.ingestion, event(vec![record("m", &body, 1)]), 1, &Default::default()).await;
    assert_eq!(busy.retries.iter().map(|r| r.kind).collect::<Vec<_>>(), [bw_queue::Kind::Busy]);
    let last_busy = process_event(&*app.ingestion, event(vec![record("m", &body, 3)]), 1).await;
    assert!(last_busy.batch_item_failures.is_empty(), "{last_busy:?}");
    assert_eq!(app.run("alice", &run_id).await?.status, RunStatus::Pending);

    // A database error that repeats on every delivery: the run is failed on the last one, with the reason.
    app.db.exec(&set_lease("NULL")).await?;
    app.db.exec("CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full (simulated)'; END $$").await?;
    app.db.exec("CREATE TRIGGER refuse BEFORE INSERT ON postings FOR EACH ROW EXECUTE FUNCTION refuse()").await?;
    let early = process_event(&*app.ingestion, event(vec![record("m", &body, 1)]), 1).await;
    assert_eq!(early.batch_item_failures.len(), 1);
    assert_eq!(
        app.run("alice", &run_id).await?.status,
        RunStatus::Initializing,
        "an early failure leaves the run to be retried"
    );
    let last = process_event(&*app.ingestion, event(vec![record("m", &body, 3)]), 1).await;
    assert_eq!(last.batch_item_failures.len(), 1, "the message still fails, so SQS moves it to the DLQ");
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    assert!(run.error.as_deref().is_some_and(|e| e.contains("disk full (simulated)")), "{run:?}");
    // The user is not blocked: a new run starts.
    app.start_run("alice").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_delivered_too_many_times_is_given_up() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    let max = app.ingestion.settings.max_attempts;
    app.db.exec(&format!("UPDATE runs SET attempts = {max} WHERE id = '{run_id}'")).await?;
    let response = process_event(&*app.ingestion, event(vec![record("m", &run_body(&run_id)?, 1)]), 1).await;
    assert!(response.batch_item_failures.is_empty(), "the message is acknowledged");
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.status, RunStatus::Failed, "{run:?}");
    assert!(run.error.as_deref().is_some_and(|e| e.contains("gave up after")), "{run:?}");
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings").await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_lease_was_taken_over_cannot_write() -> anyhow::Result<()> {
    let app = TestApp::spawn().await?;
    let run_id: uuid::Uuid = app.start_run("alice").await?.parse()?;
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    let (old, new) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    assert!(matches!(bw_db::runs::claim(&mut conn, "alice", run_id, old, 30).await?, bw_db::runs::Claim::Claimed(_)));
    assert!(matches!(bw_db::runs::claim(&mut conn, "alice", run_id, new, 30).await?, bw_db::runs::Claim::Busy(_)));
    app.db.exec(&format!("UPDATE runs SET lease_until = now() - interval '1 second' WHERE id = '{run_id}'")).await?;
    assert!(matches!(bw_db::runs::claim(&mut conn, "alice", run_id, new, 30).await?, bw_db::runs::Claim::Claimed(_)));

    let fenced = bw_ingestion::run::fence(&mut conn, run_id, old).await;
    assert!(fenced.is_err_and(|e| e.downcast_ref::<bw_ingestion::run::LeaseLost>().is_some()));
    assert!(bw_ingestion::run::fence(&mut conn, run_id, new).await.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_waits_for_the_fenced_writes_in_flight_while_renewals_and_aborts_do_not() -> anyhow::Result<()> {
    use diesel_async::AsyncConnection as _;
    let app = TestApp::spawn().await?;
    let run_id: uuid::Uuid = app.start_run("alice").await?.parse()?;
    let (old, new) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let mut conn = bw_db::pool::conn(&app.db.pool).await?;
    assert!(matches!(bw_db::runs::claim(&mut conn, "alice", run_id, old, 30).await?, bw_db::runs::Claim::Claimed(_)));

    // The old worker's two write transactions, fenced, held open until told to commit.
    let (fenced_tx, mut fenced) = tokio::sync::mpsc::channel::<()>(2);
    let (commit_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut writers = Vec::new();
    for _ in 0..2 {
        let (pool, fenced_tx, mut commit) = (app.db.pool.clone(), fenced_tx.clone(), commit_tx.subscribe());
        writers.push(tokio::spawn(async move {
            let mut conn = bw_db::pool::conn(&pool).await?;
            conn.transaction::<_, anyhow::Error, _>(async |c| {
                bw_ingestion::run::fence(c, run_id, old).await?;
                let _ = fenced_tx.send(()).await;
                let _ = commit.recv().await;
                Ok(())
            })
            .await
        }));
    }
    for _ in 0..2 {
        fenced.recv().await;
    }
    // Both are in flight at once; neither a renewal nor an abort request waits for them.
    let quick = Duration::from_secs(2);
    let renewed = tokio::time::timeout(quick, bw_db::runs::heartbeat(&mut conn, run_id, old, 30)).await;
    assert!(matches!(renewed, Ok(Ok(bw_db::runs::Heartbeat::Continue))), "{renewed:?}");
    app.db.exec(&format!("UPDATE runs SET lease_until = now() - interval '1 second' WHERE id = '{run_id}'")).await?;
    // A takeover waits for them.
    let pool = app.db.pool.clone();
    let takeover = tokio::spawn(async move {
        let mut conn = bw_db::pool::conn(&pool).await?;
        bw_db::runs::claim(&mut conn, "alice", run_id, new, 30).await
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!takeover.is_finished(), "the takeover must wait for the fenced transactions");
    let _ = commit_tx.send(());
    for writer in writers {
        writer.await??;
    }
    assert!(matches!(takeover.await??, bw_db::runs::Claim::Claimed(_)));
    let fenced_again = bw_ingestion::run::fence(&mut conn, run_id, old).await;
    assert!(fenced_again.is_err_and(|e| e.downcast_ref::<bw_ingestion::run::LeaseLost>().is_some()));
    let abort = tokio::time::timeout(quick, bw_db::runs::request_abort(&mut conn, "alice", run_id)).await;
    assert!(matches!(abort, Ok(Ok(bw_db::runs::Abort::Requested(_)))), "the abort request waited or failed");
    Ok(())
}

/// A run of alice's whose message is gone: taken from the queue and never handled (lost, or hidden with a dead
/// worker for the visibility timeout).
async fn run_without_its_message(app: &TestApp) -> anyhow::Result<String> {
    boards(app).await?;
    let run_id = app.start_run("alice").await?;
    assert_eq!(app.queue.take_all(&app.queue.url).await?, 1);
    Ok(run_id)
}

/// One pass of the stale-run sweep over the app's database and queue, with the default `STALE_RUN_SECS`.
async fn sweep(app: &TestApp) -> anyhow::Result<usize> {
    bw_maintenance::stale_runs::requeue_stale(&app.db.pool, &app.queue.sqs, &app.queue.url, Database::Primary, 300)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_worker_died_is_re_enqueued_as_soon_as_its_lease_ends() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    // A worker took the run and was killed: its message stays hidden for the visibility timeout, and the run keeps
    // the lease it last renewed a moment ago, which has just run out.
    let run_id = run_without_its_message(&app).await?;
    let dead = uuid::Uuid::new_v4();
    app.db
        .exec(&format!(
            "UPDATE runs SET status = 'initializing', lease_owner = '{dead}', lease_until = now() - interval '1 second', \
             updated_at = now() - interval '20 seconds' WHERE id = '{run_id}'"
        ))
        .await?;
    assert_eq!(sweep(&app).await?, 1, "sent again at once, not after STALE_RUN_SECS");
    assert_eq!(sweep(&app).await?, 0, "then left alone for STALE_RUN_SECS like any re-enqueued run");

    // A live worker's run (its lease renewed) is never sent again, however long since it last wrote.
    app.db
        .exec(&format!(
            "UPDATE runs SET lease_until = now() + interval '30 seconds', updated_at = now() - interval '1 hour' \
             WHERE id = '{run_id}'"
        ))
        .await?;
    assert_eq!(sweep(&app).await?, 0);
    app.db.exec(&format!("UPDATE runs SET lease_until = now() - interval '1 second' WHERE id = '{run_id}'")).await?;
    app.start_runner();
    assert_eq!(app.wait_for_end("alice", &run_id, LONG).await?.status, RunStatus::Finished);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_run_message_is_re_enqueued_by_the_stale_run_sweep() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let run_id = run_without_its_message(&app).await?;
    app.db.exec(&format!("UPDATE runs SET updated_at = now() - interval '10 minutes' WHERE id = '{run_id}'")).await?;

    assert_eq!(sweep(&app).await?, 1);
    assert_eq!(sweep(&app).await?, 0, "a re-enqueued run is left alone for another period");
    app.start_runner();
    assert_eq!(app.wait_for_end("alice", &run_id, LONG).await?.status, RunStatus::Finished);
    assert_eq!(sweep(&app).await?, 0, "ended runs are never re-enqueued");
    let events = app.event_messages("alice", &run_id).await?;
    assert!(events.first().is_some_and(|e| e.starts_with("run re-enqueued")), "{events:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_nearing_its_invocation_deadline_yields_and_continues_through_a_new_message() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    boards(&app).await?;
    let run_id = app.start_run("alice").await?;
    // Take the API's message away, so only the continuation can drive the run on.
    assert_eq!(app.queue.take_all(&app.queue.url).await?, 1);

    let message = RunMessage::new(run_id.parse()?, "alice", Database::Primary);
    let deadline_passed = Some(std::time::Instant::now());
    let outcome = app.ingestion.handle_run_until(&message, 1, deadline_passed).await;
    assert_eq!(outcome.ok(), Some(bw_ingestion::pipeline::Outcome::Yielded));
    let run = app.run("alice", &run_id).await?;
    assert_eq!(run.status, RunStatus::Initializing, "{run:?}");
    assert_eq!(
        app.db.scalar(&format!("SELECT count(*) FROM runs WHERE id = '{run_id}' AND lease_owner IS NULL")).await?,
        1
    );
    assert_eq!(app.queue.depth(&app.queue.url).await?, 1, "the continuation message");

    app.start_runner();
    let run = app.wait_for_end("alice", &run_id, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!((run.counts.total.inserted, run.counts.total.ready), (40, 40), "{run:?}");
    let events = app.event_messages("alice", &run_id).await?;
    assert!(events.iter().any(|e| e.starts_with("invocation deadline near")), "{events:?}");
    let attempts = app.db.scalar(&format!("SELECT attempts::bigint FROM runs WHERE id = '{run_id}'")).await?;
    assert_eq!(attempts, 1, "a continued delivery gives its attempt back; only the one that finished counts");
    Ok(())
}
