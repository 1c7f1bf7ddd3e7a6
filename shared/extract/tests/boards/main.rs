//! Parsers and normalisation against the real payloads in `tests/fixtures/` (see its README.md): the counts and
//! invariants for every fixture here, the per-board details in the submodules.

use bw_extract::{BoardKind, ListedPosting, NormalizedPosting, needs_detail, normalize, parse_listing};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/", $path)).as_slice()
    };
}

/// Every listing fixture (the `.jsonc` files are not JSON and the single-job files are not listings) with the
/// number of postings it must parse to.
const LISTINGS: &[(BoardKind, &str, &[u8], usize)] = &[
    (
        BoardKind::Greenhouse,
        "gh_airbnb_board_jobs_content_true",
        fixture!("greenhouse/gh_airbnb_board_jobs_content_true.json"),
        20,
    ),
    (
        BoardKind::Greenhouse,
        "gh_databricks",
        fixture!("greenhouse/gh_databricks_board_jobs_content_true_REDACTED.json"),
        2,
    ),
    (BoardKind::Greenhouse, "gh_docs_list_jobs", fixture!("greenhouse/gh_docs_list_jobs.json"), 1),
    (
        BoardKind::Greenhouse,
        "gh_docs_list_jobs_content_true",
        fixture!("greenhouse/gh_docs_list_jobs_content_true.json"),
        1,
    ),
    (
        BoardKind::Greenhouse,
        "gh_gongio_board_jobs_no_content",
        fixture!("greenhouse/gh_gongio_board_jobs_no_content.json"),
        3,
    ),
    (BoardKind::Lever, "lever_outreach", fixture!("lever/lever_outreach_postings_TRIMMED.json"), 4),
    (BoardKind::Lever, "lever_plaid", fixture!("lever/lever_plaid_postings.json"), 20),
    (BoardKind::Lever, "lever_veeva", fixture!("lever/lever_veeva_postings_REDACTED.json"), 2),
    (BoardKind::Ashby, "ashby_linear", fixture!("ashby/ashby_linear_job_board.json"), 19),
    (BoardKind::Ashby, "ashby_vanta", fixture!("ashby/ashby_vanta_job_board_REDACTED.json"), 2),
    // 5 jobs, one of them `isListed: false`.
    (
        BoardKind::Ashby,
        "ashby_wealthcom",
        fixture!("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json"),
        4,
    ),
    (BoardKind::Workday, "workday_nvidia", fixture!("workday/eujobfeeds_nvidia_list.json"), 3),
    (BoardKind::Workday, "workday_salesforce", fixture!("workday/careerkit_salesforce_list.json"), 2),
    (BoardKind::Workable, "workable_vasion", fixture!("workable/jobagent_vasion_widget.json"), 2),
    (BoardKind::Smartrecruiters, "smartrecruiters_vitol", fixture!("smartrecruiters/vjd_vitol_list_limit5.json"), 5),
    (BoardKind::Teamtailor, "teamtailor_json", fixture!("teamtailor/careerkit_teamtailor_jobs_feed.json"), 2),
    (BoardKind::Teamtailor, "teamtailor_rss", fixture!("teamtailor/jobba_ferd_jobs.rss"), 3),
    (BoardKind::Recruitee, "recruitee_acme", fixture!("recruitee/careerkit_offers_sanitized.json"), 2),
    (BoardKind::Personio, "personio_clearfetch", fixture!("personio/clearfetch_personio_feed_one_position.xml"), 1),
    // The same position listed twice.
    (BoardKind::Personio, "personio_careerkit", fixture!("personio/careerkit_feed_sanitized.xml"), 1),
    (
        BoardKind::Bamboohr,
        "bamboohr_collectivemeasures",
        fixture!("bamboohr/mwbackend_collectivemeasures_list.json"),
        4,
    ),
    (BoardKind::Jsonld, "lamp_jp", fixture!("jsonld/lamp_jp_recruit_JobPosting.jsonld.html"), 1),
    (BoardKind::Jsonld, "schemaorg_eg-0028", fixture!("jsonld/schemaorg_eg-0028_JobPosting.jsonld.html"), 1),
    (
        BoardKind::Jsonld,
        "schemaorg_eg-0268",
        fixture!("jsonld/schemaorg_eg-0268_JobPosting_applicantLocationRequirements.jsonld.html"),
        1,
    ),
];

fn listing(kind: BoardKind, body: &[u8]) -> Result<Vec<ListedPosting>, bw_extract::ExtractError> {
    parse_listing(kind, body).map(|listing| listing.postings)
}

fn normalized(kind: BoardKind, posting: &ListedPosting) -> Result<NormalizedPosting, bw_extract::ExtractError> {
    normalize(kind, &posting.raw, None)
}

fn rfc3339(at: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Plain text has no markup, no escaped entities and no non-breaking spaces.
fn assert_plain(text: &str, context: &str) {
    for bad in ["<p", "<div", "<li", "<br", "&lt;", "&amp;", "&nbsp;", "&quot;", "\u{a0}", "  "] {
        assert!(!text.contains(bad), "{context}: description contains {bad:?}: {text}");
    }
    for line in text.lines() {
        assert_eq!(line, line.trim(), "{context}: untrimmed line");
        assert!(!line.is_empty(), "{context}: empty line");
    }
}

#[test]
fn every_fixture_parses_to_the_expected_count_and_normalizes() -> TestResult {
    for &(kind, name, body, count) in LISTINGS {
        let postings = listing(kind, body)?;
        assert_eq!(postings.len(), count, "{name}");
        let mut ids = std::collections::HashSet::new();
        for posting in &postings {
            assert!(ids.insert(posting.external_id.clone()), "{name}: duplicate id {}", posting.external_id);
            assert!(posting.raw.is_object(), "{name}");
            let n = normalized(kind, posting)?;
            assert_eq!(n.title, posting.title, "{name}");
            assert_eq!(n.url, posting.url, "{name}");
            if let Some(description) = &n.description {
                assert_plain(description, name);
            }
            let listed_without_description = match kind {
                BoardKind::Greenhouse => posting.raw.get("content").is_none(),
                BoardKind::Workday | BoardKind::Smartrecruiters | BoardKind::Bamboohr => true,
                _ => false,
            };
            assert_eq!(needs_detail(kind, &posting.raw), listed_without_description, "{name}");
        }
    }
    Ok(())
}

mod ashby;
mod fuzz;
mod greenhouse;
mod jsonld;
mod lever;
mod more;
mod pay;

#[test]
fn content_hash_is_stable_across_reserialization() -> TestResult {
    for &(kind, name, body, _) in LISTINGS {
        for posting in listing(kind, body)? {
            let pretty = serde_json::to_string_pretty(&posting.raw)?;
            let again = ListedPosting { raw: serde_json::from_str(&pretty)?, ..posting.clone() };
            assert_eq!(posting.content_hash(), again.content_hash(), "{name}");
        }
    }
    let airbnb = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_airbnb_board_jobs_content_true.json"))?;
    let hashes: std::collections::HashSet<[u8; 32]> = airbnb.iter().map(ListedPosting::content_hash).collect();
    assert_eq!(hashes.len(), airbnb.len());
    Ok(())
}

#[test]
fn a_body_of_the_wrong_board_kind_is_malformed() {
    let lever = fixture!("lever/lever_plaid_postings.json");
    let err = parse_listing(BoardKind::Greenhouse, lever).err().map(|e| (e.kind(), e.to_string()));
    assert_eq!(err, Some(("malformed", "greenhouse board listing has no \"jobs\" array".to_owned())));
    let greenhouse = fixture!("greenhouse/gh_docs_list_jobs.json");
    assert!(parse_listing(BoardKind::Lever, greenhouse).is_err());
    assert!(parse_listing(BoardKind::Jsonld, greenhouse).is_err());
    let html = fixture!("jsonld/lamp_jp_recruit_JobPosting.jsonld.html");
    let err = parse_listing(BoardKind::Ashby, html).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.starts_with("ashby board listing is not valid JSON: expected value at line 1 column 1"), "{err}");
}
