//! `HttpBoards` fetching politely and completely: transient failures tried again (with the board's `Retry-After`),
//! conditional requests, a limit per host, and a listing larger than memory wants read from its spool.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bw_extract::{Board, BoardKind, BoardSource, BoardUrls, ExtractError, Fetched, HttpBoards, Retries, Validators};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

mod server;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A listing of `n` small Greenhouse jobs.
fn listing(n: usize) -> String {
    let jobs: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{"id": {i}, "title": "Job {i}", "content": "{}"}}"#, "&lt;p&gt;words&lt;/p&gt;".repeat(40))
        })
        .collect();
    format!(r#"{{"jobs": [{}], "meta": {{"total": {n}}}}}"#, jobs.join(","))
}

/// A board server whose answers depend on how often a path was asked for; it counts requests per path and the
/// most requests it had in flight at once.
#[derive(Clone, Default)]
struct Server {
    hits: Arc<Mutex<HashMap<String, usize>>>,
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

impl Server {
    async fn start(&self) -> Result<String, std::io::Error> {
        let server = self.clone();
        server::serve(move |socket, head| {
            let server = server.clone();
            async move { server.answer(socket, head).await }
        })
        .await
    }

    fn hits(&self, token: &str) -> usize {
        let path = format!("/v1/boards/{token}/jobs?content=true&pay_transparency=true");
        self.hits.lock().map(|h| h.get(&path).copied().unwrap_or(0)).unwrap_or(0)
    }

    async fn answer(&self, mut socket: TcpStream, head: String) -> std::io::Result<()> {
        let request = head.to_ascii_lowercase();
        let target = server::target(&request);
        let hit = {
            let mut hits = self.hits.lock().map_err(|_| std::io::Error::other("poisoned"))?;
            let n = hits.entry(target.clone()).or_default();
            *n += 1;
            *n
        };
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        if let Some(rest) = target.strip_prefix("/v0/postings/long?mode=json&skip=") {
            // A Lever board of 2,500 postings, served a page at a time.
            let (skip, limit) = rest.split_once("&limit=").unwrap_or_default();
            let (skip, limit) = (skip.parse::<usize>().unwrap_or(0), limit.parse::<usize>().unwrap_or(0));
            let items: Vec<String> = (skip..(skip + limit).min(2_500))
                .map(|i| {
                    format!(r#"{{"id": "p{i}", "text": "Job {i}", "hostedUrl": "https://jobs.lever.co/long/p{i}"}}"#)
                })
                .collect();
            let body = format!("[{}]", items.join(","));
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"page\"\r\nConnection: close\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(body.as_bytes()).await?;
            return socket.shutdown().await;
        }
        let token = target.trim_start_matches("/v1/boards/").split('/').next().unwrap_or_default().to_owned();
        let small = listing(3);
        let reply = |status: &str, headers: &str, body: &str| {
            format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}", body.len())
        };
        let response = match (token.as_str(), hit) {
            ("flaky", 1 | 2) => reply("503 Service Unavailable", "", "busy"),
            ("throttled", 1) => reply("429 Too Many Requests", "Retry-After: 1\r\n", "slow down"),
            ("patient", _) => reply("503 Service Unavailable", "Retry-After: 3600\r\n", "come back in an hour"),
            ("down", _) => reply("502 Bad Gateway", "", "down"),
            ("gone", _) => reply("404 Not Found", "", "no such board"),
            ("cut", 1) => {
                // A body cut short: the connection closes before the promised length.
                let body = small.get(..20).unwrap_or_default();
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", small.len())
            }
            ("tagged", _) if request.contains("if-none-match: \"v1\"") => {
                reply("304 Not Modified", "ETag: \"v1\"\r\n", "")
            }
            ("tagged", _) => {
                reply("200 OK", "ETag: \"v1\"\r\nLast-Modified: Mon, 07 Dec 2026 03:00:00 GMT\r\n", &small)
            }
            ("slow", _) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                reply("200 OK", "", &small)
            }
            ("big", _) => reply("200 OK", "", &listing(4_000)),
            _ => reply("200 OK", "", &small),
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        socket.write_all(response.as_bytes()).await?;
        socket.shutdown().await
    }
}

/// Quick retries, so that the tests wait for `Retry-After` only.
fn quick() -> Retries {
    Retries { min_delay: Duration::from_millis(10), max_delay: Duration::from_millis(40), ..Retries::default() }
}

fn boards(base: &str) -> Result<HttpBoards, ExtractError> {
    let boards = HttpBoards::new(BoardUrls::all(base), Duration::from_secs(2), Duration::from_secs(5), 8 << 20)?;
    Ok(boards.with_retries(quick()))
}

fn greenhouse(token: &str) -> Result<Board, bw_extract::InvalidBoard> {
    Board::new(BoardKind::Greenhouse, token)
}

#[tokio::test]
async fn transient_failures_are_tried_again_and_lasting_ones_are_not() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?;
    assert_eq!(http.list(&greenhouse("flaky")?).await?.postings.len(), 3);
    assert_eq!(server.hits("flaky"), 3, "two 503s, then the listing");
    assert_eq!(http.list(&greenhouse("cut")?).await?.postings.len(), 3);
    assert_eq!(server.hits("cut"), 2, "a body cut short is fetched again");

    let gone = http.list(&greenhouse("gone")?).await.err().ok_or("404 accepted")?;
    assert!(matches!(gone, ExtractError::Status { status: 404, .. }), "{gone:?}");
    assert_eq!(server.hits("gone"), 1, "a 404 is not tried again");
    let down = http.list(&greenhouse("down")?).await.err().ok_or("502 accepted")?;
    assert!(matches!(down, ExtractError::Status { status: 502, .. }), "{down:?}");
    assert_eq!(server.hits("down"), 1 + quick().times, "tried as often as allowed, then failed as before");
    Ok(())
}

#[tokio::test]
async fn the_boards_retry_after_is_waited_for_unless_it_is_too_long() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?;
    let started = Instant::now();
    assert_eq!(http.list(&greenhouse("throttled")?).await?.postings.len(), 3);
    assert!(started.elapsed() >= Duration::from_secs(1), "asked for 1 s, waited {:?}", started.elapsed());
    assert_eq!(server.hits("throttled"), 2);

    let started = Instant::now();
    let err = http.list(&greenhouse("patient")?).await.err().ok_or("503 accepted")?;
    assert!(matches!(err, ExtractError::Status { status: 503, .. }), "{err:?}");
    assert_eq!(server.hits("patient"), 1, "an hour is past the longest wait: it fails now");
    assert!(started.elapsed() < Duration::from_secs(2));
    Ok(())
}

#[tokio::test]
async fn retries_stop_at_the_budget() -> TestResult {
    let server = Server::default();
    let base = server.start().await?;
    let budget = Retries { times: 50, budget: Duration::from_millis(150), ..quick() };
    let http = boards(&base)?.with_retries(budget);
    let started = Instant::now();
    assert!(http.list(&greenhouse("down")?).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert!(server.hits("down") < 50, "{} tries within 150 ms", server.hits("down"));
    Ok(())
}

#[tokio::test]
async fn a_conditional_request_answered_304_is_not_modified() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?;
    let Fetched::Listing(body) = http.fetch(&greenhouse("tagged")?, &Validators::default()).await? else {
        return Err("an unconditional request answered 304".into());
    };
    let validators = body.validators().clone();
    assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
    assert_eq!(validators.last_modified.as_deref(), Some("Mon, 07 Dec 2026 03:00:00 GMT"));
    assert_eq!(body.collect().await?.postings.len(), 3);
    let again = http.fetch(&greenhouse("tagged")?, &validators).await?;
    assert!(matches!(again, Fetched::NotModified), "{again:?}");
    let other = Validators { etag: Some("\"v0\"".into()), last_modified: None };
    assert!(matches!(http.fetch(&greenhouse("tagged")?, &other).await?, Fetched::Listing(_)));
    Ok(())
}

#[tokio::test]
async fn requests_to_one_host_are_limited_across_boards() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?.with_host_concurrency(2);
    let lists = (0..6).map(|_| {
        let http = http.clone();
        async move {
            let board = greenhouse("slow").map_err(|e| e.to_string())?;
            http.list(&board).await.map_err(|e| e.to_string())
        }
    });
    let started = Instant::now();
    for listed in futures::future::join_all(lists).await {
        assert_eq!(listed?.postings.len(), 3);
    }
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 2, "clones share the limit");
    assert!(started.elapsed() >= Duration::from_millis(600), "six 200 ms answers two at a time");
    Ok(())
}

#[tokio::test]
async fn a_listing_larger_than_the_memory_spool_is_read_from_its_file() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?;
    assert!(listing(4_000).len() > 2 << 20, "the listing must spill to a file");
    let listed = http.list(&greenhouse("big")?).await?;
    assert_eq!(listed.postings.len(), 4_000);
    assert_eq!(listed.postings.last().map(|p| p.external_id.as_str()), Some("3999"));
    Ok(())
}

#[tokio::test]
async fn a_lever_board_longer_than_a_page_is_read_page_by_page_and_never_taken_as_not_modified() -> TestResult {
    let server = Server::default();
    let http = boards(&server.start().await?)?;
    let board = Board::new(BoardKind::Lever, "long")?;
    let Fetched::Listing(body) = http.fetch(&board, &Validators::default()).await? else {
        return Err("an unconditional request answered 304".into());
    };
    assert!(body.validators().is_empty(), "a board of several pages keeps no validators: {:?}", body.validators());
    let listing = body.collect().await?;
    let ids: Vec<&str> = listing.postings.iter().map(|p| p.external_id.as_str()).collect();
    assert_eq!(ids.len(), 2_500);
    let marks = (ids.first().copied(), ids.get(1_000).copied(), ids.last().copied());
    assert_eq!(marks, (Some("p0"), Some("p1000"), Some("p2499")));
    let pages =
        server.hits.lock().map(|h| h.keys().filter(|k| k.starts_with("/v0/postings/long")).count()).unwrap_or(0);
    assert_eq!(pages, 3, "skip 0, 1000 and 2000");
    Ok(())
}
