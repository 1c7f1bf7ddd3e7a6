//! `HttpBoards` against a tiny local HTTP server writing raw responses.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bw_extract::{Board, BoardKind, BoardSource, BoardUrls, ExtractError, HttpBoards};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

mod server;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const AIRBNB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/greenhouse/gh_airbnb_board_jobs_content_true.json"
));
const GONG_DETAIL: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/greenhouse/gh_gongio_job_detail_TRIMMED.json"
));
const PLAID: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/lever/lever_plaid_postings.json"));
const WEALTH: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json"
));
const LAMP: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/jsonld/lamp_jp_recruit_JobPosting.jsonld.html"
));

const MAX_BODY: usize = 1 << 20;

/// The fake board server: answers by path, records each request's target and User-Agent.
struct Server {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn start() -> Result<Server, std::io::Error> {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let base = server::serve(move |socket, head| answer(socket, head, Arc::clone(&log))).await?;
    Ok(Server { base, requests })
}

async fn answer(mut socket: TcpStream, request: String, log: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let target = server::target(&request);
    let agent = request
        .lines()
        .find_map(|l| l.strip_prefix("user-agent: ").or_else(|| l.strip_prefix("User-Agent: ")))
        .unwrap_or_default()
        .to_owned();
    if let Ok(mut log) = log.lock() {
        log.push(format!("{target} {agent}"));
    }
    let big = vec![b' '; MAX_BODY + 1];
    let (status, body, length): (&str, &[u8], bool) = match target.as_str() {
        "/v1/boards/airbnb/jobs?content=true&pay_transparency=true" => ("200 OK", AIRBNB, true),
        "/v1/boards/airbnb/jobs/4679941006?pay_transparency=true" => ("200 OK", GONG_DETAIL, true),
        "/v1/boards/missing/jobs?content=true&pay_transparency=true" => {
            ("404 Not Found", br#"{"status":404,"error":"Job not found"}"#, true)
        }
        "/v1/boards/down/jobs?content=true&pay_transparency=true" => ("503 Service Unavailable", b"busy", true),
        "/v1/boards/bad/jobs?content=true&pay_transparency=true" => ("200 OK", b"<html>maintenance</html>", true),
        "/v1/boards/big/jobs?content=true&pay_transparency=true" => ("200 OK", &big, true),
        "/v1/boards/bigstream/jobs?content=true&pay_transparency=true" => ("200 OK", &big, false),
        "/v1/boards/slow/jobs?content=true&pay_transparency=true" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ("200 OK", AIRBNB, true)
        }
        "/v1/boards/slowbody/jobs?content=true&pay_transparency=true" => {
            socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"jobs\"").await?;
            tokio::time::sleep(Duration::from_secs(3)).await;
            return Ok(());
        }
        "/v0/postings/plaid?mode=json&skip=0&limit=1000" => ("200 OK", PLAID, true),
        "/posting-api/job-board/wealth-com?includeCompensation=true" => ("200 OK", WEALTH, true),
        "/careers" => ("200 OK", LAMP, true),
        _ => ("404 Not Found", b"no such route", true),
    };
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n");
    if length {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(body).await?;
    socket.shutdown().await
}

/// A client that tries once (retries are tested in `polite.rs`).
fn boards(base: &str, total: Duration) -> Result<HttpBoards, ExtractError> {
    let once = bw_extract::Retries { times: 0, ..bw_extract::Retries::default() };
    HttpBoards::new(BoardUrls::all(&format!("{base}/")), Duration::from_secs(2), total, MAX_BODY)
        .map(|b| b.with_private_careers_pages().with_retries(once))
}

fn board(kind: BoardKind, token: &str) -> Result<Board, bw_extract::InvalidBoard> {
    Board::new(kind, token)
}

#[tokio::test]
async fn good_responses_parse_for_every_kind() -> TestResult {
    let server = start().await?;
    let http = boards(&server.base, Duration::from_secs(5))?;

    let airbnb = http.list(&board(BoardKind::Greenhouse, "airbnb")?).await?.postings;
    assert_eq!(airbnb.len(), 20);
    assert_eq!(airbnb[0].external_id, "7649441");
    let detail = http.detail(&board(BoardKind::Greenhouse, "airbnb")?, "4679941006").await?;
    assert_eq!(detail.get("id").and_then(serde_json::Value::as_u64), Some(4679941006));

    assert_eq!(http.list(&board(BoardKind::Lever, "plaid")?).await?.postings.len(), 20);
    let wealth = board(BoardKind::Ashby, "wealth-com")?;
    assert_eq!(http.list(&wealth).await?.postings.len(), 4);
    let job = http.detail(&wealth, "nocomp-0002").await?;
    assert_eq!(job.get("title").and_then(serde_json::Value::as_str), Some("Revenue Systems Engineer"));
    let gone = http.detail(&wealth, "unlisted-draft-0001").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert_eq!(gone, "ashby board wealth-com no longer lists posting \"unlisted-draft-0001\"");

    let careers = board(BoardKind::Jsonld, &format!("{}/careers", server.base))?;
    let lamp = http.list(&careers).await?.postings;
    assert_eq!(lamp.len(), 1);
    assert_eq!(lamp[0].title, "Webデザイナー");

    let requests = server.requests.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(requests.iter().all(|r| r.contains(" bw-extract/")), "{requests:?}");
    Ok(())
}

#[tokio::test]
async fn error_statuses_are_status_errors() -> TestResult {
    let server = start().await?;
    let http = boards(&server.base, Duration::from_secs(5))?;
    let err = http.list(&board(BoardKind::Greenhouse, "missing")?).await.err().ok_or("404 accepted")?;
    assert!(matches!(err, ExtractError::Status { status: 404, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("GET {}/v1/boards/missing/jobs?content=true&pay_transparency=true answered 404 Not Found", server.base)
    );
    assert!(!err.is_transient());
    let err = http.list(&board(BoardKind::Greenhouse, "down")?).await.err().ok_or("503 accepted")?;
    assert!(matches!(err, ExtractError::Status { status: 503, .. }), "{err:?}");
    assert!(err.is_transient());
    let err = http.detail(&board(BoardKind::Greenhouse, "airbnb")?, "../x").await.err().ok_or("bad id accepted")?;
    assert_eq!(err.to_string(), "greenhouse job id \"../x\" is not a decimal integer");
    Ok(())
}

#[tokio::test]
async fn slow_answers_time_out() -> TestResult {
    let server = start().await?;
    let http = boards(&server.base, Duration::from_millis(300))?;
    for token in ["slow", "slowbody"] {
        let err = http.list(&board(BoardKind::Greenhouse, token)?).await.err().ok_or("slow answer accepted")?;
        assert!(matches!(err, ExtractError::Timeout { .. }), "{token}: {err:?}");
        assert_eq!(
            err.to_string(),
            format!("GET {}/v1/boards/{token}/jobs?content=true&pay_transparency=true timed out", server.base)
        );
        assert!(err.is_transient());
    }
    Ok(())
}

#[tokio::test]
async fn malformed_and_oversized_bodies() -> TestResult {
    let server = start().await?;
    let http = boards(&server.base, Duration::from_secs(5))?;
    let err = http.list(&board(BoardKind::Greenhouse, "bad")?).await.err().ok_or("html accepted")?;
    assert_eq!(err.kind(), "malformed");
    assert_eq!(
        err.to_string(),
        format!(
            "greenhouse board listing from {}/v1/boards/bad/jobs?content=true&pay_transparency=true is not valid JSON: expected value at line 1 column 1",
            server.base
        )
    );
    for token in ["big", "bigstream"] {
        let err = http.list(&board(BoardKind::Greenhouse, token)?).await.err().ok_or("big body accepted")?;
        assert!(matches!(err, ExtractError::TooLarge { limit_bytes: MAX_BODY, .. }), "{token}: {err:?}");
        assert!(!err.is_transient());
    }
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_transport_errors() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    drop(listener);
    let http = boards(&base, Duration::from_secs(5))?;
    let err = http.list(&board(BoardKind::Lever, "plaid")?).await.err().ok_or("refused connection accepted")?;
    assert!(matches!(err, ExtractError::Transport { .. }), "{err:?}");
    assert!(err.is_transient());
    let page = format!("GET {base}/v0/postings/plaid?mode=json&skip=0&limit=1000 failed: ");
    assert!(err.to_string().starts_with(&page), "{err}");
    Ok(())
}

#[tokio::test]
async fn hand_built_boards_are_checked_before_use() -> TestResult {
    let http = boards("http://127.0.0.1:9", Duration::from_secs(1))?;
    let forged = Board { kind: BoardKind::Greenhouse, token: "../admin".to_owned(), region: Default::default() };
    let err = http.list(&forged).await.err().ok_or("forged board accepted")?;
    assert_eq!(err.kind(), "malformed");
    assert!(
        err.to_string().starts_with("board greenhouse:../admin is invalid: board token for greenhouse must be"),
        "{err}"
    );
    Ok(())
}

#[test]
fn urls() -> TestResult {
    let public = BoardUrls::public();
    assert_eq!(public.greenhouse, "https://boards-api.greenhouse.io");
    assert_eq!(public.lever, "https://api.lever.co");
    assert_eq!(public.ashby, "https://api.ashbyhq.com");
    let http = HttpBoards::new(public, Duration::from_secs(1), Duration::from_secs(1), 10)?;
    assert_eq!(
        http.list_url(&board(BoardKind::Greenhouse, "airbnb")?),
        "https://boards-api.greenhouse.io/v1/boards/airbnb/jobs?content=true&pay_transparency=true"
    );
    assert_eq!(http.list_url(&board(BoardKind::Lever, "plaid")?), "https://api.lever.co/v0/postings/plaid?mode=json");
    assert_eq!(
        http.list_url(&board(BoardKind::Ashby, "linear")?),
        "https://api.ashbyhq.com/posting-api/job-board/linear?includeCompensation=true"
    );
    assert_eq!(http.list_url(&board(BoardKind::Jsonld, "https://x.test/jobs")?), "https://x.test/jobs");
    let eu = |kind, token| board(kind, token).map(|b| b.in_region(bw_extract::BoardRegion::Eu));
    assert_eq!(
        http.list_url(&eu(BoardKind::Greenhouse, "finn")??),
        "https://boards-api.eu.greenhouse.io/v1/boards/finn/jobs?content=true&pay_transparency=true"
    );
    assert_eq!(http.list_url(&eu(BoardKind::Lever, "swile")??), "https://api.eu.lever.co/v0/postings/swile?mode=json");
    let refused = eu(BoardKind::Ashby, "linear")?.err().map(|e| e.to_string());
    assert_eq!(refused.as_deref(), Some("ashby boards have no eu host (only greenhouse and lever have an EU one)"));
    let workday = "https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite";
    for (kind, token, url) in [
        (BoardKind::Workable, "vasion", "https://apply.workable.com/api/v1/widget/accounts/vasion?details=true"),
        (BoardKind::Smartrecruiters, "Vitol", "https://api.smartrecruiters.com/v1/companies/Vitol/postings"),
        (BoardKind::Teamtailor, "ferd", "https://ferd.teamtailor.com/jobs.json"),
        (BoardKind::Recruitee, "acme", "https://acme.recruitee.com/api/offers/"),
        (BoardKind::Recruitee, "https://jobs.acme.com/", "https://jobs.acme.com/api/offers/"),
        (BoardKind::Personio, "acme", "https://acme.jobs.personio.de/xml"),
        (BoardKind::Personio, "https://acme.jobs.personio.com", "https://acme.jobs.personio.com/xml"),
        (BoardKind::Bamboohr, "collectivemeasures", "https://collectivemeasures.bamboohr.com/careers/list"),
        (
            BoardKind::Workday,
            workday,
            "https://nvidia.wd5.myworkdayjobs.com/wday/cxs/nvidia/NVIDIAExternalCareerSite/jobs",
        ),
    ] {
        assert_eq!(http.list_url(&board(kind, token)?), url, "{kind}");
    }
    let fake = BoardUrls::all("http://127.0.0.1:1/");
    assert_eq!((fake.lever.as_str(), fake.lever_eu.as_str()), ("http://127.0.0.1:1", "http://127.0.0.1:1/eu"));
    let http = HttpBoards::new(fake, Duration::from_secs(1), Duration::from_secs(1), 10)?;
    for (kind, token, url) in [
        (BoardKind::Workable, "vasion", "http://127.0.0.1:1/api/v1/widget/accounts/vasion?details=true"),
        (BoardKind::Teamtailor, "ferd", "http://127.0.0.1:1/teamtailor/ferd/jobs.json"),
        (BoardKind::Personio, "acme", "http://127.0.0.1:1/personio/acme/xml"),
        (BoardKind::Recruitee, "https://jobs.acme.com", "https://jobs.acme.com/api/offers/"),
        (
            BoardKind::Workday,
            workday,
            "http://127.0.0.1:1/workday/nvidia/wday/cxs/nvidia/NVIDIAExternalCareerSite/jobs",
        ),
    ] {
        assert_eq!(http.list_url(&board(kind, token)?), url, "{kind} under ATS_BASE_URL");
    }
    Ok(())
}

#[tokio::test]
async fn careers_pages_on_private_addresses_are_refused_unless_allowed() -> Result<(), Box<dyn std::error::Error>> {
    let guarded = HttpBoards::new(BoardUrls::public(), Duration::from_secs(1), Duration::from_secs(2), MAX_BODY)?;
    for url in ["http://127.0.0.1:9/careers", "http://169.254.169.254/latest/meta-data/", "http://localhost:9/careers"]
    {
        let error =
            guarded.list(&board(BoardKind::Jsonld, url)?).await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("is not public") && error.contains("ALLOW_PRIVATE_CAREERS_URLS"), "{url}: {error}");
    }
    // A board given by its own URL is a URL from a user too.
    let error = guarded.list(&board(BoardKind::Recruitee, "http://127.0.0.1:9")?).await.err().map(|e| e.to_string());
    assert!(error.as_deref().is_some_and(|e| e.contains("is not public")), "{error:?}");
    Ok(())
}
