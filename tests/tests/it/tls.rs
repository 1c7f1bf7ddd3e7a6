//! TLS to PostgreSQL against a real server that refuses anything else (a private cluster per test: `ssl = on`,
//! `hostssl` only, certificates made at test time): `sslmode=verify-full` with the CA migrates, runs a run end to
//! end and carries LISTEN/NOTIFY progress; the wrong CA, the wrong host name and `sslmode=disable` each fail saying
//! which.

use std::time::Duration;

use anyhow::Context as _;
use bw_db::notify::{Notice, listen_forever};
use bw_fake_ats::Kind;
use bw_tests::app::{TestApp, token_for};
use bw_tests::client::Api as _;
use bw_tests::db::TestDb;
use bw_tests::sse::SseStream;
use bw_tests::tls_pg::TlsCluster;

const WAIT: Duration = Duration::from_secs(10);

/// 1 when the connection asking is encrypted.
const ENCRYPTED: &str = "SELECT count(*) FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_ca_migrates_runs_end_to_end_and_carries_progress() -> anyhow::Result<()> {
    let cluster = TlsCluster::start()?;
    // Cloning the test database migrates its template over this connection string.
    let db = TestDb::new_on(&cluster.verified_url("postgres")).await?;
    assert_eq!(db.scalar(ENCRYPTED).await?, 1, "the test's own connection is TLS");
    assert!(db.url.contains("sslmode=verify-full"), "{}", db.url);

    // `ctl migrate --create`, the deploy step, as a process of its own.
    let fresh = cluster.verified_url("deployed");
    let migrated = bw_tests::ctl::run(&["migrate", "--create"], Some(&fresh)).await?;
    assert!(migrated.success, "ctl migrate over verify-full failed: {}", migrated.stderr);
    let tables = bw_db::connect::client(&fresh)
        .await?
        .query_one("SELECT count(*) FROM information_schema.tables WHERE table_name = 'runs'", &[])
        .await?
        .try_get::<_, i64>(0)?;
    assert_eq!(tables, 1, "the migrations created the runs table");

    // LISTEN over TLS: a notification sent after the listener says it listens reaches it.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let url = db.url.clone();
    let listener = tokio::spawn(async move { listen_forever(&url, "bw_tls_probe", move |n| drop(tx.send(n))).await });
    let first = tokio::time::timeout(WAIT, rx.recv()).await?.context("the listener stopped")?;
    assert_eq!(first, Notice::Resync, "listening");
    db.exec("NOTIFY bw_tls_probe, 'over tls'").await?;
    let notice = tokio::time::timeout(WAIT, rx.recv()).await?.context("the listener stopped")?;
    assert_eq!(notice, Notice::Payload("over tls".to_owned()));
    listener.abort();

    // A run end to end (API, queue, runner, pools) on this database, followed live through the progress stream.
    let mut app = TestApp::spawn_on(db).await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 12, 1);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    let run = app.start_run("alice").await?;
    let url = format!("{}/api/ingestion/progress/{run}?token={}", app.api_url, token_for("alice", false));
    let mut stream = SseStream::open(&app.http, &url, None).await?;
    let state = stream.next(WAIT).await?.context("the stream closed at once")?;
    assert_eq!((state.event.as_str(), state.json()?["status"].as_str()), ("state", Some("pending")));
    app.start_runner();
    let events = stream.rest(Duration::from_secs(60)).await?;
    let end = events.iter().find(|e| e.event == "end").context("the stream never ended")?;
    assert_eq!(end.json()?["status"], "finished", "{events:?}");
    assert!(events.iter().any(|e| e.event == "change"), "changes were streamed: {events:?}");
    let finished = app.run("alice", &run).await?;
    assert_eq!(finished.counts.total.inserted, 12, "{finished:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_ca_the_wrong_host_name_and_no_tls_each_say_so() -> anyhow::Result<()> {
    let cluster = TlsCluster::start()?;
    let ca = cluster.ca.display().to_string();
    let refused = async |url: &str| -> anyhow::Result<String> {
        let pool = bw_db::pool::build(url, 1)?;
        match bw_db::pool::conn(&pool).await {
            Ok(_) => anyhow::bail!("{url} connected"),
            Err(e) => Ok(format!("{e:#}")),
        }
    };

    let wrong_ca = refused(&cluster.url(
        "localhost",
        "postgres",
        &format!("sslmode=verify-full&sslrootcert={}", cluster.wrong_ca.display()),
    ))
    .await?;
    assert!(wrong_ca.contains("the server's certificate is not signed by a CA in sslrootcert="), "{wrong_ca}");
    assert!(wrong_ca.contains("wrong-ca.pem") && wrong_ca.contains("sslmode=verify-full"), "{wrong_ca}");

    // The certificate names localhost; 127.0.0.1 is the same server by another name.
    let by_address = format!("sslrootcert={ca}");
    let wrong_host =
        refused(&cluster.url("127.0.0.1", "postgres", &format!("sslmode=verify-full&{by_address}"))).await?;
    assert!(
        wrong_host.contains("the server's certificate is not valid for the host name \"127.0.0.1\""),
        "{wrong_host}"
    );
    assert!(wrong_host.contains("localhost"), "names what the certificate is valid for: {wrong_host}");
    // verify-ca checks the chain and not the name; require encrypts without checking.
    for params in [format!("sslmode=verify-ca&{by_address}"), "sslmode=require".to_owned(), String::new()] {
        let client = bw_db::connect::client(&cluster.url("127.0.0.1", "postgres", &params)).await?;
        let encrypted: i64 = client.query_one(ENCRYPTED, &[]).await?.try_get(0)?;
        assert_eq!(encrypted, 1, "{params:?} connects over TLS");
    }

    let plain = cluster.url("localhost", "postgres", "sslmode=disable");
    let disabled = refused(&plain).await?;
    assert!(
        disabled.contains("the server accepts only TLS connections and sslmode=disable connected without TLS"),
        "{disabled}"
    );
    // The operator's view of the same mistake: `ctl migrate` says it in one line.
    let stderr = bw_tests::ctl::failing(&["migrate"], Some(&plain)).await?;
    assert!(stderr.contains("sslmode=disable") && stderr.contains("only TLS"), "{stderr}");
    Ok(())
}
