//! The seven boards added after the first four (Workday, Workable, SmartRecruiters, Teamtailor, Recruitee, Personio,
//! BambooHR), each read end to end from the fake ATS in its real wire format: listed, stored, details fetched where
//! the listing has no description, normalised; changed and vanished postings seen on the next run; their quirks
//! (Workday's 2,000 stop, Teamtailor's missing JSON feed, a Personio feed switched off, rate-limited bursts) met.

use std::time::Duration;

use bw_extract::{Board, BoardKind, BoardSource as _, BoardUrls, HttpBoards};
use bw_fake_ats::{Failure, FakeAts, Kind};
use bw_tests::app::TestApp;
use bw_tests::client::Api as _;
use bw_vocab::RunStatus;

const LONG: Duration = Duration::from_secs(90);

/// Each new kind's board in the fake (kind, the fake's key, the company's token, postings).
fn boards(base: &str) -> Vec<(Kind, &'static str, String, usize)> {
    vec![
        (Kind::Workday, "acme.External", "https://acme.wd5.myworkdayjobs.com/External".to_owned(), 45),
        (Kind::Workable, "globex", "globex".to_owned(), 12),
        (Kind::Smartrecruiters, "Initech", "Initech".to_owned(), 130),
        (Kind::Teamtailor, "umbrella", "umbrella".to_owned(), 9),
        (Kind::Recruitee, "hooli", "hooli".to_owned(), 11),
        // Given by its own URL (a custom domain; the fake's address stands for it).
        (Kind::Recruitee, "piedpiper", format!("{base}/recruitee/piedpiper"), 4),
        (Kind::Personio, "vandelay", "vandelay".to_owned(), 14),
        (Kind::Bamboohr, "wonka", "wonka".to_owned(), 8),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_new_kind_is_read_end_to_end_and_its_changes_seen() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    let boards = boards(&app.ats_server.base_url);
    for (seed, (kind, key, token, count)) in boards.iter().enumerate() {
        app.ats.generate_board(*kind, key, *count, seed as u64 + 1);
        app.add_company("alice", key, kind.as_str(), token).await?;
    }
    app.start_runner();
    let first = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &first, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    assert_eq!(run.counts.boards_failed, 0, "{run:?}");
    // A board listing a posting twice (Personio's feeds repeat ids; Workable lists a job once per place) stores it
    // once: what the fake holds by id is what is found.
    for (kind, key, _, _) in &boards {
        let ids = app.ats.posting_ids(*kind, key);
        let unique: std::collections::HashSet<&String> = ids.iter().collect();
        let company = run.counts.companies.iter().find(|c| c.name == *key).ok_or_else(|| anyhow::anyhow!("{key}"))?;
        assert_eq!(company.tally.found as usize, unique.len(), "{kind} {key}: {company:?}");
        assert_eq!(company.tally.ready, company.tally.found, "{kind} {key}: every posting normalised: {company:?}");
    }
    // Every posting has its description, those of Workday, SmartRecruiters and BambooHR from their detail calls; only
    // the Personio positions whose feed gives none have none.
    let without = app
        .db
        .rows(
            "SELECT c.board_kind, p.raw->'jobDescriptions' AS given FROM postings p \
             JOIN companies c ON c.id = p.company_id WHERE p.status = 'ready' AND coalesce(p.description, '') = ''",
        )
        .await?;
    assert!(
        without.iter().all(|r| r["board_kind"] == "personio" && r["given"] == ""),
        "postings without a description: {without:?}"
    );
    assert!(!without.is_empty(), "the fake's Personio feed leaves some descriptions out");
    let titled = app.db.scalar("SELECT count(*) FROM postings WHERE status = 'ready' AND title <> ''").await?;
    assert_eq!(titled, run.counts.total.ready);
    for path in
        ["/workday/acme/wday/cxs/acme/External/job/", "/v1/companies/Initech/postings/", "/bamboohr/wonka/careers/"]
    {
        assert!(app.ats.request_count(path) > 0, "no detail call under {path}");
    }

    // One posting changed and one gone on each board: the next run updates one and expires one per board.
    for (kind, key, _, _) in &boards {
        let ids = app.ats.posting_ids(*kind, key);
        let (changed, gone) = (ids.first().cloned().unwrap_or_default(), ids.last().cloned().unwrap_or_default());
        assert!(app.ats.change_posting(*kind, key, &changed), "{kind} {key}: {changed}");
        assert!(app.ats.remove_posting(*kind, key, &gone), "{kind} {key}: {gone}");
    }
    let second = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &second, LONG).await?;
    assert_eq!(run.status, RunStatus::Finished, "{run:?}");
    for company in &run.counts.companies {
        assert_eq!((company.tally.updated, company.tally.expired), (1, 1), "{company:?}");
    }
    Ok(())
}

/// A client of the fake for listing boards directly.
fn client(fake: &str) -> anyhow::Result<HttpBoards> {
    let boards = HttpBoards::new(BoardUrls::all(fake), Duration::from_secs(2), Duration::from_secs(10), 64 << 20)?;
    Ok(boards.with_private_careers_pages())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workday_board_past_the_searchs_2000_is_read_by_facet() -> anyhow::Result<()> {
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    ats.generate_board(Kind::Workday, "big.Careers", 2_345, 7);
    let board = Board::new(BoardKind::Workday, "https://big.wd1.myworkdayjobs.com/Careers")?;
    let listing = client(&server.base_url)?.list(&board).await?;
    assert_eq!(listing.postings.len(), 2_345, "{:?}", listing.warnings);
    assert!(listing.is_complete(), "{:?}", listing.warnings);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_met_as_they_come() -> anyhow::Result<()> {
    let ats = FakeAts::new();
    let server = ats.serve(([127, 0, 0, 1], 0).into()).await?;
    let http = client(&server.base_url)?;
    // A Teamtailor site with no JSON feed is read from its RSS feed.
    ats.load_fixture_board(Kind::Teamtailor, "ferd", "teamtailor/jobba_ferd_jobs.rss")?;
    let ferd = http.list(&Board::new(BoardKind::Teamtailor, "ferd")?).await?;
    assert_eq!(ferd.postings.len(), 3);
    assert_eq!(ats.request_count("/teamtailor/ferd/jobs.json"), 1);
    assert_eq!(ats.request_count("/teamtailor/ferd/jobs.rss"), 1);
    // A Personio feed switched off says so.
    ats.generate_board(Kind::Personio, "closed", 3, 1);
    ats.set_failure(Kind::Personio, "closed", Some(Failure::NotFound));
    let error = http.list(&Board::new(BoardKind::Personio, "closed")?).await.err().map(|e| e.to_string());
    assert!(error.as_deref().is_some_and(|e| e.contains("switched its XML feed off")), "{error:?}");
    // Workable allows a burst of one request a second: two accounts read at once are read one after the other, the
    // 429 answered to any request too soon waited out as its Retry-After says.
    for account in ["one", "two"] {
        ats.generate_board(Kind::Workable, account, 5, 1);
        ats.set_rate_limit(Kind::Workable, account, Some(1));
    }
    let (one, two) = (Board::new(BoardKind::Workable, "one")?, Board::new(BoardKind::Workable, "two")?);
    let (a, b, c) = tokio::join!(http.list(&one), http.list(&two), http.list(&one));
    for listing in [a?, b?, c?] {
        assert_eq!(listing.postings.len(), 5);
    }
    let asked = ats.request_count("/api/v1/widget/accounts/one");
    assert_eq!(asked, 3, "the second read of one was refused once (429), then made again after Retry-After");
    // One request at a time to Workable's host: two accounts that each take 400 ms to answer take 800 ms together.
    for account in ["slow", "slower"] {
        ats.generate_board(Kind::Workable, account, 2, 1);
        ats.set_delay(Kind::Workable, account, Duration::from_millis(400));
    }
    let (slow, slower) = (Board::new(BoardKind::Workable, "slow")?, Board::new(BoardKind::Workable, "slower")?);
    let started = std::time::Instant::now();
    let (a, b) = tokio::join!(http.list(&slow), http.list(&slower));
    let (a, b) = (a?, b?);
    assert_eq!((a.postings.len(), b.postings.len()), (2, 2));
    assert!(started.elapsed() >= Duration::from_millis(800), "read at once: {:?}", started.elapsed());
    Ok(())
}
