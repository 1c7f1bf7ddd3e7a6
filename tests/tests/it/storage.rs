//! The database layer alone: bulk UPSERT under the parameter limit, and migrations that go down and up again.

use bw_db::postings::{self, Listing, NewPosting};
use bw_tests::db::TestDb;
use chrono::Utc;

fn postings(n: usize, version: &str) -> Vec<NewPosting> {
    (0..n)
        .map(|i| {
            let raw = serde_json::json!({ "id": i, "title": format!("Engineer {i}"), "v": version });
            NewPosting {
                external_id: i.to_string(),
                content_hash: format!("{i}-{version}").into_bytes(),
                title: format!("Engineer {i}"),
                url: None,
                raw,
                normalized: None,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_thousand_postings_upsert_in_statements_under_the_parameter_limit() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let company = match bw_db::companies::create(
        &mut conn,
        "alice",
        "Big",
        bw_db::companies::BoardRef::us(bw_vocab::BoardKind::Lever, "big"),
    )
    .await?
    {
        bw_db::companies::Created::Company(c) | bw_db::companies::Created::Duplicate(c) => c,
    };
    let rows = postings(40_000, "a");
    let listing = Listing {
        run_id: uuid::Uuid::new_v4(),
        user_id: "alice",
        company_id: company.id,
        seen_at: Utc::now(),
        rewrite: false,
    };
    let first = postings::upsert(&mut conn, listing, &rows).await?;
    assert_eq!(first.inserted, 40_000);
    assert_eq!(first.statements, 40_000usize.div_ceil(postings::UPSERT_CHUNK_ROWS), "{first:?}");

    let mut changed = rows.clone();
    changed[7].content_hash = b"changed".to_vec();
    let again = Listing { run_id: uuid::Uuid::new_v4(), seen_at: Utc::now(), ..listing };
    let second = postings::upsert(&mut conn, again, &changed).await?;
    // Given all of them again, it writes only the changed one (a run leaves the unchanged out before, see Known).
    assert_eq!((second.inserted, second.updated), (0, 1));
    assert_eq!(db.scalar(&format!("SELECT count(*) FROM postings WHERE run_id = '{}'", again.run_id)).await?, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_revert_and_reapply() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let conn = bw_db::connect::Target::parse(&db.url)?.diesel().await?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel_migrations::MigrationHarness as _;
        type Wrapper = diesel_async::async_connection_wrapper::AsyncConnectionWrapper<diesel_async::AsyncPgConnection>;
        let mut conn = Wrapper::from(conn);
        let reverted =
            conn.revert_all_migrations(bw_db::migrate::MIGRATIONS).map_err(|e| anyhow::anyhow!("{e}"))?.len();
        anyhow::ensure!(reverted > 0);
        let applied = conn.run_pending_migrations(bw_db::migrate::MIGRATIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::ensure!(applied.len() == reverted);
        Ok(())
    })
    .await??;
    assert_eq!(db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('companies','runs','run_events','run_companies','postings')").await?, 5);
    Ok(())
}
