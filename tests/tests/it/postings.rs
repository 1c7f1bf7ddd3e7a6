//! Browsing a user's postings through the API (in-process, over PostgreSQL): every posting, filtered, sorted and
//! paged by a cursor that never repeats or skips one; one posting whole with the runs that changed it and its
//! flags; the export of a selection as CSV or JSON lines, streamed; bad input named.

use std::collections::BTreeSet;

use axum::body::Body;
use bw_api::routes::postings::{PostingList, PostingView};
use bw_tests::api::TestApi;
use bw_tests::app::token_for;
use bw_tests::client::Api as _;
use bw_tests::postings::{company, expire, flag, posting, store};
use bw_vocab::{BoardKind, PostingStatus};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

/// Alice: Acme with 30 postings (engineers in Berlin, remote, and designers in Paris, on site), stored an hour ago,
/// and Globex with 10 stored now; Bob: 5 of his own. Answers Acme's and Globex's ids.
async fn seed(app: &TestApi) -> anyhow::Result<(Uuid, Uuid)> {
    let db = &app.db;
    let acme = company(db, "alice", "Acme", BoardKind::Greenhouse, "acme").await?;
    let globex = company(db, "alice", "Globex", BoardKind::Lever, "globex").await?;
    let bobco = company(db, "bob", "BobCo", BoardKind::Lever, "bobco").await?;
    let title = |i: usize| if i.is_multiple_of(2) { format!("Engineer {i:02}") } else { format!("Designer {i:02}") };
    let acme_postings: Vec<_> = (0..30).map(|i| posting(&format!("a{i}"), &title(i), 1)).collect();
    store(db, "alice", acme, Uuid::new_v4(), Utc::now() - Duration::hours(1), &acme_postings).await?;
    let globex_postings: Vec<_> = (0..10).map(|i| posting(&format!("g{i}"), &format!("Analyst {i:02}"), 1)).collect();
    store(db, "alice", globex, Uuid::new_v4(), Utc::now(), &globex_postings).await?;
    let bobs: Vec<_> = (0..5).map(|i| posting(&format!("b{i}"), &format!("Bob's {i}"), 1)).collect();
    store(db, "bob", bobco, Uuid::new_v4(), Utc::now(), &bobs).await?;
    db.exec(
        "UPDATE postings SET status = 'ready', location = 'Berlin, DE', remote = true, department = 'Engineering' \
         WHERE title LIKE 'Engineer%'",
    )
    .await?;
    db.exec(
        "UPDATE postings SET location = 'Paris', remote = false, department = 'Design' WHERE title LIKE 'Designer%'",
    )
    .await?;
    Ok((acme, globex))
}

async fn list(app: &TestApi, user: &str, query: &str) -> anyhow::Result<PostingList> {
    app.get(user, &format!("/api/postings?{query}")).await
}

fn ids(list: &PostingList) -> Vec<i64> {
    list.postings.iter().map(|p| p.id).collect()
}

/// Every page of a listing, following `next_cursor`.
async fn all_pages(app: &TestApi, query: &str) -> anyhow::Result<(Vec<i64>, usize)> {
    let (mut ids_seen, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let page =
            list(app, "alice", &format!("{query}{}", cursor.map(|c| format!("&cursor={c}")).unwrap_or_default()))
                .await?;
        ids_seen.extend(ids(&page));
        pages += 1;
        anyhow::ensure!(pages < 50, "the cursor never ends");
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Ok((ids_seen, pages)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_are_listed_filtered_sorted_and_paged_by_cursor() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let (acme, globex) = seed(&app).await?;

    let everything = list(&app, "alice", "").await?;
    assert_eq!((everything.postings.len(), &everything.next_cursor), (40, &None));
    assert!(everything.postings.iter().all(|p| p.company == "Acme" || p.company == "Globex"), "only alice's");
    // Newest first: Globex's ten (stored now) before Acme's thirty; within one time, the newest id first.
    assert!(everything.postings[..10].iter().all(|p| p.company_id == globex), "{:?}", ids(&everything));
    let firsts: Vec<_> = everything.postings.iter().map(|p| (p.first_seen_at, p.id)).collect();
    assert!(firsts.windows(2).all(|w| w[0] > w[1]), "{firsts:?}");

    // Pages of 7 give every posting once, in the same order, and end.
    let (paged, pages) = all_pages(&app, "limit=7").await?;
    assert_eq!((paged, pages), (ids(&everything), 6));
    // By title, paged, is the titles' order.
    let (by_title, _) = all_pages(&app, "sort=title&limit=9").await?;
    let titled = list(&app, "alice", "sort=title").await?;
    assert_eq!(by_title, ids(&titled));
    let titles: Vec<&str> = titled.postings.iter().map(|p| p.title.as_str()).collect();
    assert!(titles.windows(2).all(|w| w[0] <= w[1]) && titles[0] == "Analyst 00", "{titles:?}");

    for (query, expected) in [
        (format!("company_id={acme}"), 30),
        (format!("company_id={globex}&title=analyst"), 10),
        ("status=ready".to_owned(), 15),
        ("status=pending".to_owned(), 25),
        ("remote=true".to_owned(), 15),
        ("remote=false&location=paris".to_owned(), 15),
        ("location=BERLIN".to_owned(), 15),
        ("title=engineer%201".to_owned(), 5),
        ("department=design".to_owned(), 15),
        ("title=%25".to_owned(), 0),
        (format!("since={}", (Utc::now() - Duration::minutes(30)).format("%Y-%m-%dT%H:%M:%SZ")), 10),
        (format!("since={}", (Utc::now() - Duration::days(1)).format("%Y-%m-%d")), 40),
    ] {
        let found = list(&app, "alice", &query).await?;
        assert_eq!(
            found.postings.len(),
            expected,
            "{query}: {:?}",
            found.postings.iter().map(|p| &p.title).collect::<Vec<_>>()
        );
    }

    // Flags: the label filter, a job filter, and the matching flag on each posting.
    let engineers = list(&app, "alice", "title=engineer&sort=title").await?;
    let (flagged, rest): (Vec<i64>, Vec<i64>) = (ids(&engineers)[..3].to_vec(), ids(&engineers)[3..].to_vec());
    let job = flag(&app.db, "alice", "remote?", "match", &flagged, &rest).await?;
    let matched = list(&app, "alice", "flag=match").await?;
    assert_eq!(ids(&matched).into_iter().collect::<BTreeSet<_>>(), flagged.iter().copied().collect());
    assert!(matched.postings.iter().all(|p| p.label.as_deref() == Some("match") && p.job_id == Some(job)));
    assert_eq!(list(&app, "alice", &format!("job_id={job}")).await?.postings.len(), 3);
    assert_eq!(list(&app, "alice", &format!("job_id={}", Uuid::new_v4())).await?.postings.len(), 0);
    assert_eq!(list(&app, "alice", "flag=no").await?.postings.len(), 0, "a decision not to flag is no flag");
    let unflagged = list(&app, "alice", "title=designer").await?;
    assert!(unflagged.postings.iter().all(|p| p.label.is_none()), "no flag, no label");

    assert_eq!(list(&app, "bob", "").await?.postings.len(), 5, "bob sees his own");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_order_pages_through_ties_and_both_directions_once() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let acme = company(&app.db, "alice", "Acme", BoardKind::Greenhouse, "acme").await?;
    // Eleven postings, nine of them with one title and one time (ties broken by id), two apart.
    let at = Utc::now() - Duration::minutes(5);
    let mut postings: Vec<_> = (0..9).map(|i| posting(&format!("s{i}"), "Same title", 1)).collect();
    postings.push(posting("a", "Alpha", 1));
    postings.push(posting("z", "Zulu", 1));
    store(&app.db, "alice", acme, Uuid::new_v4(), at, &postings).await?;
    for sort in ["-first_seen", "first_seen", "title", "-title"] {
        let whole = list(&app, "alice", &format!("sort={sort}")).await?;
        assert_eq!(whole.postings.len(), 11);
        let (paged, pages) = all_pages(&app, &format!("sort={sort}&limit=2")).await?;
        assert_eq!((paged, pages), (ids(&whole), 6), "{sort}");
    }
    let titles = |list: &PostingList| list.postings.iter().map(|p| p.title.clone()).collect::<Vec<_>>();
    let down = list(&app, "alice", "sort=-title").await?;
    assert_eq!(
        (titles(&down).first().cloned(), titles(&down).last().cloned()),
        (Some("Zulu".into()), Some("Alpha".into()))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_listing_input_gets_a_400_naming_it() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    seed(&app).await?;
    let by_title = list(&app, "alice", "sort=title&limit=5").await?;
    let title_cursor = by_title.next_cursor.clone().unwrap_or_default();
    for (query, expected) in [
        ("colour=red".to_owned(), "unknown field `colour`"),
        ("status=gone".to_owned(), "status: unknown posting status \"gone\""),
        ("sort=salary".to_owned(), "sort: unknown posting sort \"salary\""),
        ("sort=-last_seen".to_owned(), "sort: unknown posting sort \"-last_seen\""),
        ("since=yesterday".to_owned(), "since: \"yesterday\" is not a date"),
        ("remote=maybe".to_owned(), "invalid query"),
        ("company_id=acme".to_owned(), "invalid query"),
        ("cursor=not-a-cursor".to_owned(), "is not a cursor this API gave"),
        (format!("cursor={title_cursor}"), "cursor: the cursor was given for sort title, not -first_seen"),
        ("limit=0".to_owned(), "limit must be between 1 and 1000"),
        (format!("title={}", "x".repeat(201)), "title must be at most 200 characters"),
    ] {
        let (status, answer) = app.call("alice", Method::GET, &format!("/api/postings?{query}"), None).await?;
        assert_eq!(status, 400, "{query} -> {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(expected), "{query} -> {message}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_posting_shows_its_fields_its_raw_item_the_runs_that_changed_it_and_its_flags() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let db = &app.db;
    let acme = company(db, "alice", "Acme", BoardKind::Greenhouse, "acme").await?;
    let (first, second, third) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let t0 = Utc::now() - Duration::hours(3);
    store(db, "alice", acme, first, t0, &[posting("a1", "Engineer", 1), posting("a2", "Designer", 1)]).await?;
    // The second run sees a1 changed and a2 the same; the third no longer lists a1.
    store(
        db,
        "alice",
        acme,
        second,
        t0 + Duration::hours(1),
        &[posting("a1", "Engineer", 2), posting("a2", "Designer", 1)],
    )
    .await?;
    assert_eq!(expire(db, acme, &["a2"], third, t0 + Duration::hours(2)).await?, 1);
    let id = db.scalar("SELECT id FROM postings WHERE external_id = 'a1'").await?;
    let unchanged = db.scalar("SELECT id FROM postings WHERE external_id = 'a2'").await?;
    let job = flag(db, "alice", "remote?", "match", &[id], &[]).await?;

    let view: PostingView = app.get("alice", &format!("/api/postings/{id}")).await?;
    let p = &view.posting;
    assert_eq!(
        (p.id, p.company.as_str(), p.board_kind, p.external_id.as_str()),
        (id, "Acme", BoardKind::Greenhouse, "a1")
    );
    assert_eq!((p.status, p.title.as_str()), (PostingStatus::Expired, "Engineer"));
    assert_eq!(p.raw["version"], 2, "the board's item as last received: {}", p.raw);
    assert_eq!(p.first_run_id, first);
    let runs: Vec<(Uuid, &str)> = view.runs.iter().map(|r| (r.run_id, r.change.as_str())).collect();
    assert_eq!(runs, [(first, "inserted"), (second, "changed"), (third, "expired")]);
    assert_eq!(view.flags.len(), 1);
    assert_eq!(
        (view.flags[0].job_id, view.flags[0].job_name.as_str(), view.flags[0].label.as_str(), view.flags[0].flag),
        (job, "remote?", "match", true)
    );
    // Listed again with the content it had: seen again, back to pending, and said in its history.
    let fourth = Uuid::new_v4();
    store(db, "alice", acme, fourth, t0 + Duration::hours(3), &[posting("a1", "Engineer", 2)]).await?;
    let back: PostingView = app.get("alice", &format!("/api/postings/{id}")).await?;
    assert_eq!(back.posting.status, PostingStatus::Pending);
    assert_eq!(back.runs.last().map(|r| (r.run_id, r.change.as_str())), Some((fourth, "seen_again")));
    assert_eq!(back.posting.content_changed_at, view.posting.content_changed_at, "the content did not change");
    // A failed posting listed again with the same content is tried again, which is no change to its history.
    db.exec(&format!("UPDATE postings SET status = 'failed', ingest_error = 'no description' WHERE id = {unchanged}"))
        .await?;
    store(db, "alice", acme, Uuid::new_v4(), t0 + Duration::hours(4), &[posting("a2", "Designer", 1)]).await?;
    let same: PostingView = app.get("alice", &format!("/api/postings/{unchanged}")).await?;
    assert_eq!(same.posting.status, PostingStatus::Pending, "tried again");
    let runs: Vec<&str> = same.runs.iter().map(|r| r.change.as_str()).collect();
    assert_eq!(runs, ["inserted"], "an unchanged posting seen again is not a change");

    assert_eq!(app.call("bob", Method::GET, &format!("/api/postings/{id}"), None).await?.0, 404);
    assert_eq!(app.call("alice", Method::GET, "/api/postings/999999999", None).await?.0, 404);
    let (status, answer) = app.call("alice", Method::GET, "/api/postings/abc", None).await?;
    assert!(
        status == 400 && answer["error"]["message"].as_str().is_some_and(|m| m.contains("invalid path")),
        "{answer}"
    );
    Ok(())
}

/// `GET /api/postings/export?…` as alice: status and body.
async fn export(app: &TestApi, query: &str) -> anyhow::Result<(u16, String, String)> {
    let token = token_for("alice", false);
    let request =
        TestApi::request(Method::GET, &format!("/api/postings/export?{query}"), Some(&token)).body(Body::empty())?;
    let answer = app.send(request).await?;
    let content_type = answer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    Ok((answer.status, content_type, answer.text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_streams_every_selected_posting_as_csv_or_json_lines() -> anyhow::Result<()> {
    let app = TestApi::spawn().await?;
    let acme = company(&app.db, "alice", "Acme", BoardKind::Greenhouse, "acme").await?;
    let run = Uuid::new_v4();
    // 100,000 postings straight into the table (the write path is tested elsewhere); every tenth remote, and one
    // title that a CSV must quote and a spreadsheet must not run.
    app.db
        .exec(&format!(
            "INSERT INTO postings (user_id, company_id, external_id, run_id, first_run_id, status, content_hash, title, \
             raw, remote, location, first_seen_at, last_seen_at, content_changed_at) \
             SELECT 'alice', '{acme}', 'e' || n, '{run}', '{run}', 'ready', '\\x00', 'Engineer ' || n, '{{}}', n % 10 = 0, \
                    'Berlin, DE', now() - n * interval '1 second', now(), now() \
             FROM generate_series(1, 100000) AS n"
        ))
        .await?;
    app.db.exec("UPDATE postings SET title = '=HYPERLINK(\"x\"), \"quoted\"' WHERE external_id = 'e1'").await?;

    let (status, content_type, csv) = export(&app, "format=csv").await?;
    assert_eq!((status, content_type.as_str()), (200, "text/csv; charset=utf-8"));
    let mut lines = csv.split("\r\n").filter(|l| !l.is_empty());
    assert_eq!(lines.next(), Some(bw_api::routes::postings::export::CSV_COLUMNS.join(",").as_str()));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 100_000);
    let ids: BTreeSet<&str> = rows.iter().filter_map(|r| r.split(',').next()).collect();
    assert_eq!(ids.len(), 100_000, "each posting once");
    assert!(csv.contains(",\"'=HYPERLINK(\"\"x\"\"), \"\"quoted\"\"\","), "quoted and defused");
    assert!(rows.iter().all(|r| r.contains(",\"Berlin, DE\",")), "a comma inside a field is quoted");

    let (status, content_type, jsonl) = export(&app, "format=jsonl&remote=true&sort=title").await?;
    assert_eq!((status, content_type.as_str()), (200, "application/x-ndjson"));
    let lines: Vec<Value> = jsonl.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!(lines.len(), 10_000);
    assert!(lines.iter().all(|l| l["remote"] == true && l["company"] == "Acme"));
    let titles: Vec<&str> = lines.iter().filter_map(|l| l["title"].as_str()).collect();
    assert!(titles.windows(2).all(|w| w[0] <= w[1]), "in the order asked");

    let (status, _, empty) = export(&app, "format=csv&title=nobody").await?;
    assert_eq!((status, empty.lines().count()), (200, 1), "a header and no rows");
    for (query, expected) in
        [("", "format is required"), ("format=xml", "invalid query"), ("format=csv&cursor=x", "unknown field `cursor`")]
    {
        let (status, _, body) = export(&app, query).await?;
        assert!(status == 400 && body.contains(expected), "{query}: {status} {body}");
    }
    Ok(())
}
