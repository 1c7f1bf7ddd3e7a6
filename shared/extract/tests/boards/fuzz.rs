//! Property-based fuzzing of every board parser, the careers-page scanner and the HTML-to-text conversion: arbitrary
//! bytes, the real fixtures with fields replaced by arbitrary JSON, and adversarial careers pages. Nothing panics or
//! hangs, every error names what is wrong, what parses keeps the listing invariants, and output stays within a small
//! multiple of the input (memory bounded).

use std::time::{Duration, Instant};

use bw_extract::html_to_text;
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

use super::*;

const KINDS: [BoardKind; 4] = [BoardKind::Greenhouse, BoardKind::Lever, BoardKind::Ashby, BoardKind::Jsonld];

fn config(cases: u32) -> Config {
    // Failures are reported with the minimal input; none are written into the source tree.
    Config { cases, failure_persistence: Some(Box::new(FileFailurePersistence::Off)), ..Config::default() }
}

/// Strings a board could send: any Unicode, markup, entities, NUL and other controls, long runs.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[<>&;/\"'a-z \\x00-\\x1f]{0,40}",
        Just("<p>a&amp;b</p><script>x</script><br/>&#x1F600;&#0;&bogus;".to_owned()),
        ".{0,8}".prop_map(|s| s.repeat(500)),
    ]
}

/// Arbitrary JSON, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            proptest::collection::btree_map(text(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Checks what any body must give: a listing with the invariants, or an error that names the problem.
fn check_listing(kind: BoardKind, body: &[u8]) -> Result<usize, TestCaseError> {
    let started = Instant::now();
    let outcome = parse_listing(kind, body);
    prop_assert!(
        started.elapsed() < Duration::from_secs(20),
        "{kind:?}: {} bytes took {:?}",
        body.len(),
        started.elapsed()
    );
    let listing = match outcome {
        Ok(listing) => listing,
        Err(error) => {
            prop_assert!(!error.to_string().trim().is_empty(), "{kind:?}: an error without a message");
            return Ok(0);
        }
    };
    let mut ids = std::collections::HashSet::new();
    let mut output = 0;
    for posting in &listing.postings {
        prop_assert!(!posting.external_id.is_empty(), "{kind:?}: a posting without an id");
        prop_assert!(!posting.title.trim().is_empty(), "{kind:?}: a posting without a title");
        prop_assert!(ids.insert(posting.external_id.clone()), "{kind:?}: id {} listed twice", posting.external_id);
        output += posting.raw.to_string().len() + posting.title.len() + posting.external_id.len();
        if let Ok(n) = normalize(kind, &posting.raw, None) {
            output += n.description.map_or(0, |d| d.len()) + n.title.len();
        }
    }
    // JSON escapes can grow a string up to six times (a control character becomes \u00XX), and each posting's id
    // may be a 64-character hash.
    prop_assert!(
        output <= 8 * body.len() + 100 * listing.postings.len() + 1024,
        "{kind:?}: {output} bytes out of a {}-byte body",
        body.len()
    );
    Ok(listing.postings.len())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_bytes_never_panic(kind in 0..4usize, body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check_listing(KINDS[kind], &body)?;
    }

    #[test]
    fn arbitrary_json_never_panics(kind in 0..4usize, value in json()) {
        check_listing(KINDS[kind], value.to_string().as_bytes())?;
    }

    #[test]
    fn html_to_text_never_panics_and_stays_small(html in text()) {
        let out = html_to_text(&html);
        prop_assert!(out.len() <= 2 * html.len() + 16, "{} bytes of text from {} of HTML", out.len(), html.len());
    }
}

/// A real fixture with some of its postings' fields (known ones and others) replaced by arbitrary JSON, removed, or
/// the postings repeated.
fn mutated(body: &[u8]) -> impl Strategy<Value = Vec<u8>> + use<> {
    let base: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let keys = [
        "id",
        "title",
        "text",
        "name",
        "absolute_url",
        "hostedUrl",
        "jobUrl",
        "content",
        "description",
        "location",
        "categories",
        "updated_at",
        "createdAt",
        "publishedAt",
        "isListed",
        "compensation",
        "lists",
        "jobs",
    ];
    let edits = proptest::collection::vec((any::<usize>(), 0..keys.len(), prop::option::of(json())), 1..8);
    (edits, any::<bool>()).prop_map(move |(edits, repeat)| {
        let mut value = base.clone();
        let jobs = match &mut value {
            Value::Array(items) => Some(items),
            Value::Object(map) => map.get_mut("jobs").and_then(Value::as_array_mut),
            _ => None,
        };
        if let Some(jobs) = jobs.filter(|j| !j.is_empty()) {
            for (which, key, replacement) in edits {
                let n = jobs.len();
                if let Some(Value::Object(job)) = jobs.get_mut(which % n) {
                    match replacement {
                        Some(v) => job.insert(keys[key].to_owned(), v),
                        None => job.remove(keys[key]),
                    };
                }
            }
            if repeat {
                let copy = jobs.clone();
                jobs.extend(copy);
            }
        }
        value.to_string().into_bytes()
    })
}

/// One of the real Greenhouse, Lever and Ashby listings, mutated.
fn mutated_fixture() -> impl Strategy<Value = (BoardKind, Vec<u8>)> {
    let fixtures = [
        (BoardKind::Greenhouse, fixture!("greenhouse/gh_airbnb_board_jobs_content_true.json")),
        (BoardKind::Lever, fixture!("lever/lever_plaid_postings.json")),
        (BoardKind::Ashby, fixture!("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json")),
    ];
    proptest::sample::select(fixtures.to_vec())
        .prop_flat_map(|(kind, body)| mutated(body).prop_map(move |mutated| (kind, mutated)))
}

proptest! {
    #![proptest_config(config(384))]

    #[test]
    fn mutated_fixtures_keep_the_invariants((kind, body) in mutated_fixture()) {
        check_listing(kind, &body)?;
    }

    #[test]
    fn a_postings_hash_does_not_depend_on_key_order(value in json()) {
        let posting = ListedPosting { external_id: "1".into(), title: "t".into(), url: None, raw: value.clone() };
        let reordered = reorder(&value);
        let again = ListedPosting { raw: reordered, ..posting.clone() };
        prop_assert_eq!(posting.content_hash(), again.content_hash());
    }
}

/// The same JSON with every object's keys in reverse order (serde_json's map keeps insertion order here only when
/// built so; the hash must not care either way).
fn reorder(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().rev().map(|(k, v)| (k.clone(), reorder(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(reorder).collect()),
        other => other.clone(),
    }
}

/// Pieces an adversarial careers page is made of.
fn page_piece() -> impl Strategy<Value = String> {
    let posting = || {
        (text(), prop::option::of(text()), json()).prop_map(|(title, id, extra)| {
            serde_json::json!({ "@context": "https://schema.org", "@type": "JobPosting", "title": title,
                "identifier": id, "description": "<p>x</p>", "extra": extra })
            .to_string()
        })
    };
    prop_oneof![
        Just("<script type=\"application/ld+json\">".to_owned()),
        Just("<SCRIPT TYPE='application/ld+json' >".to_owned()),
        Just("</script>".to_owned()),
        Just("<script>".to_owned()),
        Just("<!--".to_owned()),
        Just("-->".to_owned()),
        Just("<![CDATA[".to_owned()),
        Just("]]>".to_owned()),
        Just("{\"@graph\":[".to_owned()),
        Just("]}".to_owned()),
        Just("<div class=\"x\">".to_owned()),
        Just("<".to_owned()),
        posting(),
        posting().prop_map(|p| format!("<script type=\"application/ld+json\">[{p},{p}]</script>")),
        text(),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn adversarial_careers_pages_keep_the_invariants(pieces in proptest::collection::vec(page_piece(), 0..40)) {
        let page = pieces.concat();
        let found = check_listing(BoardKind::Jsonld, page.as_bytes())?;
        prop_assert!(found <= page.matches("JobPosting").count(), "{found} postings from fewer JobPosting objects");
    }
}

/// Pages of about 5 MB built to make a scanner quadratic: unclosed scripts, comments and tags, thousands of
/// scripts, a posting repeated many times. Each parses well within the hang guard (in a debug build).
#[test]
fn five_megabyte_adversarial_pages_parse_without_hanging() -> TestResult {
    let posting = r#"{"@type":"JobPosting","title":"Engineer","identifier":"a"}"#;
    let script = format!("<script type=\"application/ld+json\">{posting}</script>");
    let pages = [
        "<script type=\"application/ld+json\">".repeat(150_000),
        "<!--".repeat(1_250_000),
        "<".repeat(5_000_000),
        script.repeat(50_000),
        format!("<script type=\"application/ld+json\">{}</script>", "[".repeat(5_000_000)),
        format!("<script type=\"application/ld+json\">[{}]</script>", vec![posting; 80_000].join(",")),
    ];
    for page in pages {
        let started = Instant::now();
        let found = match parse_listing(BoardKind::Jsonld, page.as_bytes()) {
            Ok(listing) => listing.postings.len(),
            Err(error) => {
                assert!(!error.to_string().is_empty());
                0
            }
        };
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "a {}-byte page took {took:?}", page.len());
        assert!(found <= page.matches("JobPosting").count());
        let started = Instant::now();
        let text = html_to_text(&page);
        let took = started.elapsed();
        assert!(took < Duration::from_secs(20), "html_to_text of a {}-byte page took {took:?}", page.len());
        assert!(text.len() <= 2 * page.len() + 16);
    }
    Ok(())
}
