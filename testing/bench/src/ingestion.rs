//! `bench ingestion`: N companies x M postings from the fake ATS through full runs (first run, unchanged re-run), and
//! the UPSERT measured against the physical bound (`COPY` into a scratch copy of the postings table) and the naive
//! way (one `INSERT … ON CONFLICT` statement per row), all in one process and database.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use bw_db::postings::{self, Listing, NewPosting};
use bw_extract::{Board, BoardKind, BoardSource as _, HttpBoards};
use bw_fake_ats::{FakeAts, Kind};
use bw_ingestion::{Ingestion, Settings};
use bw_messages::{Database, RunMessage};
use chrono::Utc;
use futures::StreamExt as _;
use uuid::Uuid;

use super::{figure, peak_rss_mb};
use bw_tests::db::TestDb;

const KINDS: [(Kind, BoardKind); 3] =
    [(Kind::Greenhouse, BoardKind::Greenhouse), (Kind::Lever, BoardKind::Lever), (Kind::Ashby, BoardKind::Ashby)];

/// Runs the benchmark with `companies` boards of `per_company` postings; `row_by_row_sample` rows for the naive way.
pub async fn run(companies: usize, per_company: usize, row_by_row_sample: usize) -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    let boards = HttpBoards::new(
        bw_extract::BoardUrls::all(&server.base_url),
        Duration::from_secs(5),
        Duration::from_secs(60),
        64 << 20,
    )?
    .with_private_careers_pages();
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let mut board_list = Vec::new();
    let mut generating = Duration::ZERO;
    for i in 0..companies {
        let (fake, kind) = KINDS[i % KINDS.len()];
        let token = format!("co{i}");
        let started = Instant::now();
        ats.generate_board(fake, &token, per_company, i as u64);
        generating += started.elapsed();
        bw_db::companies::create(&mut conn, "bench", &token, bw_db::companies::BoardRef::us(kind, &token)).await?;
        board_list.push(Board::new(kind, &token)?);
    }
    drop(conn);
    let total = companies * per_company;
    // The fake ATS's own cost, apart from the system's: a quadratic in its generator would show here.
    figure("fake_postings_generated_per_s", format!("{:.0}", total as f64 / generating.as_secs_f64().max(1e-9)));
    figure("companies", companies);
    figure("postings_per_company", per_company);
    figure("postings_total", total);

    let handler = Ingestion {
        primary: db.pool.clone(),
        test: None,
        boards: boards.clone(),
        settings: Settings::default(),
        continuation: None,
    };
    let before_first = RowsWritten::mark(&db).await?;
    let first = timed_run(&db, &handler).await?;
    figure("first_run_s", format!("{:.2}", first.as_secs_f64()));
    before_first.figures(&db, "first_run", total).await?;
    stage_figures(&db, "first_run").await?;
    figure("raw_json_bytes_avg", db.scalar("SELECT avg(octet_length(raw::text))::int8 FROM postings").await?);
    figure("raw_stored_bytes_avg", db.scalar("SELECT avg(pg_column_size(raw))::int8 FROM postings").await?);
    figure("postings_per_s_first_run", rate(total, first));
    let rerun_start = Utc::now();
    let before_rerun = RowsWritten::mark(&db).await?;
    let second = timed_run(&db, &handler).await?;
    let rerun_rows = before_rerun.figures(&db, "unchanged_rerun", total).await?;
    figure("rows_written_unchanged_rerun_per_board", format!("{:.2}", rerun_rows as f64 / companies.max(1) as f64));
    figure("unchanged_rerun_s", format!("{:.2}", second.as_secs_f64()));
    stage_figures(&db, "unchanged_rerun").await?;
    figure("postings_per_s_unchanged_rerun", rate(total, second));
    let rewritten = db
        .scalar(&format!(
            "SELECT count(*) FROM postings WHERE content_changed_at >= '{}' OR status <> 'ready'",
            rerun_start.to_rfc3339()
        ))
        .await?;
    figure("rows_rewritten_unchanged_rerun", rewritten);
    let bumped = format!("SELECT count(*) FROM postings WHERE last_seen_at >= '{}'", rerun_start.to_rfc3339());
    figure("last_seen_bumped_unchanged_rerun", db.scalar(&bumped).await?);
    figure("peak_rss_mb_after_runs", peak_rss_mb());

    // Each way of writing the rows gets a fresh database, so none pays for another's dead tuples.
    let listing = Instant::now();
    let rows = listed_rows(&boards, &board_list).await?;
    // The boards fetched from the fake (in this process) and parsed, with nothing stored: a floor under a first run.
    figure("fetch_and_parse_postings_per_s", rate(total, listing.elapsed()));
    let copy = copy_rate(&TestDb::new().await?, &rows).await?;
    let upsert = upsert_rate(&seeded(companies).await?, &rows, per_company).await?;
    let naive = row_by_row_rate(&seeded(1).await?, &rows[..row_by_row_sample.min(rows.len())]).await?;
    figure("copy_rows_per_s", format!("{copy:.0}"));
    figure("upsert_rows_per_s", format!("{upsert:.0}"));
    figure("row_by_row_rows_per_s", format!("{naive:.0}"));
    figure("row_by_row_sample_rows", row_by_row_sample.min(rows.len()));
    figure("upsert_vs_copy_ratio", format!("{:.2}", upsert / copy));
    let first_rate = total as f64 / first.as_secs_f64();
    figure("first_run_vs_copy_ratio", format!("{:.2}", first_rate / copy));
    figure("unchanged_rerun_vs_copy_ratio", format!("{:.2}", total as f64 / second.as_secs_f64() / copy));
    figure("upsert_vs_row_by_row_ratio", format!("{:.1}", upsert / naive));
    figure("peak_rss_mb_end", peak_rss_mb());
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        eprintln!("keeping database {}", db.name);
        std::mem::forget(db);
    }
    Ok(())
}

/// Rows a run wrote, read off the row versions themselves: a row whose current version some transaction after the
/// mark wrote (its `xmin`) counts once, whatever the number of updates before it (a run's own row, updated at each
/// step, is one). Statistics views lag; `xmin` does not.
struct RowsWritten {
    after_xid: i64,
}

impl RowsWritten {
    async fn mark(db: &TestDb) -> anyhow::Result<Self> {
        // The 32-bit xid that `xmin` holds; a fresh database is nowhere near wrapping around.
        Ok(Self { after_xid: db.scalar("SELECT (pg_current_xact_id()::text::int8 % 4294967296)").await? })
    }

    /// Prints `rows_written_{label}` (all tables), `rows_written_{label}_{table}`, and per posting; answers the total.
    async fn figures(&self, db: &TestDb, label: &str, postings: usize) -> anyhow::Result<i64> {
        let tables =
            db.rows("SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1").await?;
        let mut total = 0;
        for table in tables.iter().filter_map(|r| r["name"].as_str()) {
            let sql = format!("SELECT count(*) FROM {table} WHERE xmin::text::int8 > {}", self.after_xid);
            let n = db.scalar(&sql).await?;
            if n > 0 {
                figure(&format!("rows_written_{label}_{table}"), n);
            }
            total += n;
        }
        figure(&format!("rows_written_{label}"), total);
        figure(&format!("rows_written_{label}_per_posting"), format!("{:.3}", total as f64 / postings.max(1) as f64));
        Ok(total)
    }
}

fn rate(n: usize, took: Duration) -> String {
    format!("{:.0}", n as f64 / took.as_secs_f64())
}

/// One run of the handler over `db` to its end (finished), timed.
pub(crate) async fn timed_run(db: &TestDb, handler: &Ingestion<HttpBoards>) -> anyhow::Result<Duration> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let run = match bw_db::runs::create(&mut conn, "bench").await? {
        bw_db::runs::Created::Run(run) => run,
        bw_db::runs::Created::ActiveExists(run) => anyhow::bail!("run {} still active", run.id),
    };
    drop(conn);
    let started = Instant::now();
    let outcome = handler
        .handle_run(&RunMessage::new(run.id, "bench", Database::Primary), 1)
        .await
        .map_err(|f| anyhow::anyhow!("run failed: {f}"))?;
    let took = started.elapsed();
    anyhow::ensure!(outcome == bw_ingestion::pipeline::Outcome::Finished, "run ended {outcome:?}");
    Ok(took)
}

/// Seconds the latest run spent initializing (extract, UPSERT, expire) and ingesting, from its event log.
async fn stage_figures(db: &TestDb, label: &str) -> anyhow::Result<()> {
    let span = |from: &str, to: &str| {
        format!(
            "SELECT (extract(epoch FROM ({to}) - ({from})) * 1000)::int8 FROM runs r WHERE r.id = \
             (SELECT id FROM runs ORDER BY created_at DESC LIMIT 1)"
        )
    };
    let at = |cond: &str| format!("SELECT max(at) FROM run_events e WHERE e.run_id = r.id AND {cond}");
    let init = db.scalar(&span(&at("message = 'run started'"), &at("stage = 'expire'"))).await?;
    let ingest = db.scalar(&span(&at("stage = 'expire'"), &at("message = 'run finished'"))).await?;
    figure(&format!("{label}_initializing_s"), format!("{:.2}", init as f64 / 1000.0));
    figure(&format!("{label}_ingesting_s"), format!("{:.2}", ingest as f64 / 1000.0));
    Ok(())
}

async fn listed_rows(boards: &HttpBoards, list: &[Board]) -> anyhow::Result<Vec<(usize, NewPosting)>> {
    let listed: Vec<_> = futures::stream::iter(list.iter().enumerate())
        .map(|(i, b)| async move { (i, boards.list(b).await) })
        .buffered(8)
        .collect()
        .await;
    let mut rows = Vec::new();
    for (i, postings) in listed {
        for p in postings?.postings {
            let hash = p.content_hash().to_vec();
            rows.push((
                i,
                NewPosting {
                    external_id: p.external_id,
                    content_hash: hash,
                    title: p.title,
                    url: p.url,
                    raw: p.raw,
                    normalized: None,
                },
            ));
        }
    }
    Ok(rows)
}

/// Rows per second of a text `COPY` of the same rows into an empty scratch copy of `postings`, timed like the
/// UPSERT: from the rows in memory (encoding included), streamed in chunks.
async fn copy_rate(db: &TestDb, rows: &[(usize, NewPosting)]) -> anyhow::Result<f64> {
    use futures::SinkExt as _;
    let client = bw_db::connect::client(&db.url).await?;
    client.batch_execute("CREATE TABLE postings_copy (LIKE postings INCLUDING ALL)").await?;
    let (company, run, now) = (Uuid::new_v4(), Uuid::new_v4(), Utc::now().to_rfc3339());
    let started = Instant::now();
    let sink = client
        .copy_in(
            "COPY postings_copy (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title, \
             url, raw, first_seen_at, last_seen_at, content_changed_at) FROM STDIN",
        )
        .await?;
    futures::pin_mut!(sink);
    for chunk in rows.chunks(1_000) {
        let mut text = String::with_capacity(chunk.len() * 4096);
        for (i, row) in chunk {
            let url = row.url.as_deref().map_or("\\N".to_owned(), escape_copy);
            text.push_str(&format!(
                "bench\t{company}\t{i}-{}\t{run}\t{run}\tpending\t\\\\x{}\t{}\t{url}\t{}\t{now}\t{now}\t{now}\n",
                escape_copy(&row.external_id),
                hex::encode(&row.content_hash),
                escape_copy(&row.title),
                escape_copy(&row.raw.to_string()),
            ));
        }
        sink.send(bytes_of(text)).await?;
    }
    let n = sink.finish().await?;
    let took = started.elapsed();
    anyhow::ensure!(n as usize == rows.len(), "COPY wrote {n} rows of {}", rows.len());
    Ok(rows.len() as f64 / took.as_secs_f64())
}

fn bytes_of(text: String) -> std::io::Cursor<Vec<u8>> {
    std::io::Cursor::new(text.into_bytes())
}

fn escape_copy(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r")
}

/// A fresh database with `n` companies of the bench user.
async fn seeded(n: usize) -> anyhow::Result<TestDb> {
    let db = TestDb::new().await?;
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    for i in 0..n {
        bw_db::companies::create(
            &mut conn,
            "bench",
            &format!("co{i}"),
            bw_db::companies::BoardRef::us(BoardKind::Lever, &format!("co{i}")),
        )
        .await?;
    }
    drop(conn);
    Ok(db)
}

/// Rows per second of the production UPSERT into an empty `postings`, one call per company (as a run does).
async fn upsert_rate(db: &TestDb, rows: &[(usize, NewPosting)], per_company: usize) -> anyhow::Result<f64> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let companies = bw_db::companies::list(&mut conn, "bench").await?;
    let plain: Vec<&NewPosting> = rows.iter().map(|(_, r)| r).collect();
    let started = Instant::now();
    for (chunk, company) in plain.chunks(per_company.max(1)).zip(companies.iter().cycle()) {
        let owned: Vec<NewPosting> = chunk.iter().map(|r| (*r).clone()).collect();
        let listing = Listing {
            run_id: Uuid::new_v4(),
            user_id: "bench",
            company_id: company.id,
            seen_at: Utc::now(),
            rewrite: false,
        };
        postings::upsert(&mut conn, listing, &owned).await?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

/// Rows per second of one prepared `INSERT … ON CONFLICT DO UPDATE` statement per row (autocommit), into an empty
/// `postings`: the naive way at its best (no ORM overhead, no network between client and server).
async fn row_by_row_rate(db: &TestDb, rows: &[(usize, NewPosting)]) -> anyhow::Result<f64> {
    let client = bw_db::connect::client(&db.url).await?;
    let company: Uuid = client.query_one("SELECT id FROM companies LIMIT 1", &[]).await?.try_get(0)?;
    let statement = client
        .prepare(
            "INSERT INTO postings AS p (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title, \
             url, raw, first_seen_at, last_seen_at, content_changed_at) VALUES ('bench', $1, $2, $3, $3, 'pending', $4, $5, $6, $7, now(), now(), now()) \
             ON CONFLICT (company_id, external_id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .await
        .context("failed to prepare the row-by-row statement")?;
    let run = Uuid::new_v4();
    let started = Instant::now();
    for (i, row) in rows {
        let id = format!("{i}-{}", row.external_id);
        client.execute(&statement, &[&company, &id, &run, &row.content_hash, &row.title, &row.url, &row.raw]).await?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}
