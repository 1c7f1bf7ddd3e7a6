//! Each route answers in the real service's shape.

use anyhow::{Context as _, ensure};
use bw_fake_ats::Kind;
use serde_json::Value;

use crate::common::{Harness, fixture, fixture_json, keys, ld_json, same_shape};

fn unescape_once(text: &str) -> String {
    text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&")
}

#[tokio::test]
async fn greenhouse_list_with_content_matches_the_real_shape() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Greenhouse, "acme", 25, 7);
    let body = h.json("/v1/boards/acme/jobs?content=true").await?;
    let jobs = body["jobs"].as_array().context("jobs array")?;
    ensure!(jobs.len() == 25, "{} jobs", jobs.len());
    ensure!(body["meta"]["total"] == 25);
    let template = &fixture_json("greenhouse/gh_databricks_board_jobs_content_true_REDACTED.json")?["jobs"][0];
    let ids: Vec<String> = jobs.iter().map(|job| job["id"].to_string()).collect();
    ensure!(ids == h.fake.posting_ids(Kind::Greenhouse, "acme"), "ids in board order");
    for job in jobs {
        same_shape(template, job, &[])?;
        let id = job["id"].as_u64().context("id is an unsigned integer")?;
        ensure!(id > 1 << 32, "id {id} is not past 2^32");
        let content = job["content"].as_str().context("content")?;
        ensure!(!content.contains('<') && content.contains("&lt;p&gt;"), "content is not escaped: {content}");
        let html = unescape_once(content);
        ensure!(
            html.contains("<p>") && html.contains("<li>") && html.contains("&nbsp;"),
            "entities escaped twice: {html}"
        );
        for field in ["updated_at", "first_published"] {
            let time = job[field].as_str().context("time")?;
            let parsed = chrono::DateTime::parse_from_rfc3339(time).with_context(|| format!("{field} {time}"))?;
            ensure!(parsed.offset().local_minus_utc() != 0, "{field} {time} has no US offset");
        }
        ensure!(job["company_name"] == "Acme");
        ensure!(job["absolute_url"].as_str().is_some_and(|url| url.ends_with(&format!("/acme/jobs/{id}"))));
        ensure!(job["departments"][0]["name"].is_string() && job["offices"][0]["id"].is_u64());
    }
    Ok(())
}

#[tokio::test]
async fn greenhouse_list_without_content_has_the_no_content_keys() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Greenhouse, "acme", 5, 1);
    let body = h.json("/v1/boards/acme/jobs").await?;
    let real = fixture_json("greenhouse/gh_gongio_board_jobs_no_content.json")?;
    for job in body["jobs"].as_array().context("jobs")? {
        ensure!(keys(job) == keys(&real["jobs"][0]), "{:?} vs {:?}", keys(job), keys(&real["jobs"][0]));
        same_shape(&real["jobs"][0], job, &[])?;
    }
    Ok(())
}

#[tokio::test]
async fn greenhouse_job_detail_or_404() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Greenhouse, "acme", 3, 1);
    let id = h.fake.posting_ids(Kind::Greenhouse, "acme").pop().context("an id")?;
    let job = h.json(&format!("/v1/boards/acme/jobs/{id}")).await?;
    ensure!(job["id"] == id.parse::<u64>()? && job["content"].is_string() && job["offices"].is_array());
    for missing in ["/v1/boards/acme/jobs/4294967299", "/v1/boards/acme/jobs/not-a-number", "/v1/boards/nope/jobs/1"] {
        let (status, content_type, body) = h.get(missing).await?;
        ensure!(status == 404 && content_type.starts_with("application/json"), "{missing}: {status}");
        let body: Value = serde_json::from_str(&body)?;
        ensure!(body["status"] == 404 && body["error"].is_string(), "{missing}: {body}");
    }
    Ok(())
}

#[tokio::test]
async fn lever_is_a_bare_array_with_epoch_millis() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Lever, "globex", 12, 2);
    let body = h.json("/v0/postings/globex?mode=json").await?;
    let postings = body.as_array().context("a bare array")?;
    ensure!(postings.len() == 12);
    let template = &fixture_json("lever/lever_plaid_postings.json")?[0];
    let optional = ["salaryRange", "salaryDescription", "salaryDescriptionPlain"];
    for posting in postings {
        same_shape(template, posting, &optional)?;
        let created = posting["createdAt"].as_u64().context("createdAt is an integer")?;
        ensure!(created > 1_700_000_000_000, "createdAt {created} is not epoch milliseconds");
        let id = posting["id"].as_str().context("id")?;
        ensure!(id.len() == 36 && id.matches('-').count() == 4, "id {id}");
        ensure!(posting["hostedUrl"] == format!("https://jobs.lever.co/globex/{id}"));
        ensure!(["onsite", "remote", "hybrid"].contains(&posting["workplaceType"].as_str().unwrap_or_default()));
    }
    let page = h.json("/v0/postings/globex?skip=3&limit=4").await?;
    let ids: Vec<&str> = page.as_array().context("array")?.iter().filter_map(|p| p["id"].as_str()).collect();
    ensure!(ids == postings[3..7].iter().filter_map(|p| p["id"].as_str()).collect::<Vec<_>>());
    let (status, _, _) = h.get("/v0/postings/globex?skip=x").await?;
    ensure!(status == 400);
    Ok(())
}

#[tokio::test]
async fn ashby_sends_compensation_only_when_asked() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Ashby, "initech", 8, 3);
    let plain = h.json("/posting-api/job-board/initech").await?;
    ensure!(plain["apiVersion"] == "1");
    let real = fixture_json("ashby/ashby_linear_job_board.json")?;
    for job in plain["jobs"].as_array().context("jobs")? {
        ensure!(keys(job) == keys(&real["jobs"][0]), "{:?}", keys(job));
        same_shape(&real["jobs"][0], job, &[])?;
    }
    let paid = h.json("/posting-api/job-board/initech?includeCompensation=true").await?;
    let template = &fixture_json("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json")?;
    let jobs = paid["jobs"].as_array().context("jobs")?;
    ensure!(jobs.len() == 8);
    for job in jobs {
        same_shape(&template["jobs"][0], job, &[])?;
        let tier = &job["compensation"]["compensationTiers"][0];
        let component_ids: std::collections::HashSet<&str> =
            tier["components"].as_array().into_iter().flatten().filter_map(|c| c["id"].as_str()).collect();
        ensure!(component_ids.len() == 2 && !component_ids.contains(tier["id"].as_str().unwrap_or("")), "{tier}");
        let salary = &job["compensation"]["summaryComponents"][0];
        ensure!(salary["interval"] == "1 YEAR" && salary["minValue"].is_u64(), "{salary}");
        let published = job["publishedAt"].as_str().context("publishedAt")?;
        ensure!(published.len() == 29 && published.ends_with("+00:00"), "publishedAt {published}");
        chrono::DateTime::parse_from_rfc3339(published)?;
    }
    Ok(())
}

#[tokio::test]
async fn careers_page_has_one_job_posting_script_per_posting() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    h.fake.generate_board(Kind::Jsonld, "umbrella", 5, 4);
    let (status, content_type, page) = h.get("/careers/umbrella").await?;
    ensure!(status == 200 && content_type.starts_with("text/html"), "{status} {content_type}");
    ensure!(h.server.careers_url("umbrella") == h.url("/careers/umbrella"));
    let scripts = ld_json(&page);
    ensure!(scripts.len() == 5, "{} scripts", scripts.len());
    let mut ids = Vec::new();
    for script in scripts {
        let posting: Value = serde_json::from_str(script)?;
        ensure!(posting["@type"] == "JobPosting" && posting["@context"] == "https://schema.org");
        ids.push(posting["identifier"]["value"].as_str().context("identifier.value")?.to_owned());
        ensure!(posting["hiringOrganization"]["name"] == "Umbrella");
        ensure!(posting["description"].as_str().is_some_and(|d| d.contains("<p>")));
        ensure!(posting["title"].is_string() && posting["datePosted"].is_string());
        ensure!(posting["jobLocation"]["address"]["addressCountry"].is_string());
    }
    ensure!(ids == h.fake.posting_ids(Kind::Jsonld, "umbrella"));
    Ok(())
}

#[tokio::test]
async fn fixture_boards_are_served_verbatim() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let cases = [
        (
            Kind::Greenhouse,
            "airbnb",
            "greenhouse/gh_airbnb_board_jobs_content_true.json",
            "/v1/boards/airbnb/jobs?content=true",
            20,
        ),
        (Kind::Lever, "plaid", "lever/lever_plaid_postings.json", "/v0/postings/plaid?mode=json", 20),
        (
            Kind::Ashby,
            "linear",
            "ashby/ashby_linear_job_board.json",
            "/posting-api/job-board/linear?includeCompensation=true",
            19,
        ),
    ];
    for (kind, token, file, path, count) in cases {
        ensure!(h.fake.load_fixture_board(kind, token, file)? == count, "{file}");
        let (status, _, body) = h.get(path).await?;
        ensure!(status == 200 && body == fixture(file)?, "{path} is not the fixture");
    }
    // Asked without content, Greenhouse drops it; the file's ids stay.
    let plain = h.json("/v1/boards/airbnb/jobs").await?;
    let jobs = plain["jobs"].as_array().context("jobs")?;
    ensure!(jobs.len() == 20 && jobs.iter().all(|job| job.get("content").is_none() && job["id"].is_u64()));
    ensure!(h.fake.posting_ids(Kind::Greenhouse, "airbnb").first().map(String::as_str) == Some("7649441"));
    // Without includeCompensation, Ashby drops the compensation a fixture has.
    let file = "ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json";
    h.fake.load_fixture_board(Kind::Ashby, "wealth", file)?;
    let plain = h.json("/posting-api/job-board/wealth").await?;
    ensure!(plain["jobs"].as_array().is_some_and(|jobs| jobs.iter().all(|job| job.get("compensation").is_none())));
    let paid = h.json("/posting-api/job-board/wealth?includeCompensation=true").await?;
    ensure!(paid["jobs"][0]["compensation"].is_object());
    // A careers page made of every JSON-LD fixture, each kept as written.
    ensure!(h.fake.load_fixture_board(Kind::Jsonld, "lamp", "jsonld")? == 3);
    let (_, _, page) = h.get("/careers/lamp").await?;
    for file in ["jsonld/lamp_jp_recruit_JobPosting.jsonld.html", "jsonld/schemaorg_eg-0028_JobPosting.jsonld.html"] {
        ensure!(page.contains(fixture(file)?.trim_end()), "{file} is not on the page");
    }
    ensure!(ld_json(&page).len() == 3);
    Ok(())
}

#[tokio::test]
async fn unknown_boards_answer_404_like_the_services() -> anyhow::Result<()> {
    let h = Harness::start().await?;
    let cases = [
        ("/v1/boards/nope/jobs?content=true", "status"),
        ("/v0/postings/nope?mode=json", "ok"),
        ("/posting-api/job-board/nope", "success"),
    ];
    for (path, key) in cases {
        let (status, content_type, body) = h.get(path).await?;
        ensure!(status == 404 && content_type.starts_with("application/json"), "{path}: {status}");
        let body: Value = serde_json::from_str(&body)?;
        ensure!(body.get(key).is_some() && body["error"].is_string(), "{path}: {body}");
    }
    let (status, content_type, _) = h.get("/careers/nope").await?;
    ensure!(status == 404 && content_type.starts_with("text/html"));
    let (status, _, body) = h.get("/v2/whatever").await?;
    ensure!(status == 404 && body.contains("no route"), "{status} {body}");
    Ok(())
}
