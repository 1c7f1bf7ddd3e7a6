//! Real fixture files served verbatim.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, bail};
use axum::body::Bytes;
use serde_json::Value;

use crate::Kind;
use crate::state::Posting;

/// A fixture board: its postings (for listing, mutation and rebuilt answers) and the file's bytes (for
/// verbatim answers until the board is first changed).
pub(crate) struct Loaded {
    pub postings: Vec<Posting>,
    pub raw: Raw,
    pub source: String,
    /// See [`crate::state::Board::envelope`].
    pub envelope: Value,
}

#[derive(Default)]
pub(crate) struct Raw {
    /// The list answer; none when the file is a single posting's detail.
    pub body: Option<Bytes>,
    /// Greenhouse: the items carry `content`, so the file answers `?content=true`.
    pub with_content: bool,
    /// Ashby: the items carry `compensation`, so the file answers `?includeCompensation=true`.
    pub with_compensation: bool,
    /// Detail answers recorded for single postings (Workday, SmartRecruiters, BambooHR), by posting id.
    pub details: HashMap<String, Bytes>,
    /// SmartRecruiters: the `offset` and `limit` the recorded page answered.
    pub page: Option<(usize, usize)>,
}

impl Raw {
    pub(crate) fn list(body: impl Into<Bytes>) -> Raw {
        Raw { body: Some(body.into()), ..Raw::default() }
    }
}

/// `$FIXTURES_DIR`, else the workspace's `tests/fixtures`.
pub(crate) fn fixtures_dir() -> PathBuf {
    match std::env::var_os("FIXTURES_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures"),
    }
}

pub(crate) fn load(kind: Kind, token: &str, fixture: &str) -> anyhow::Result<Loaded> {
    let relative = Path::new(fixture);
    if fixture.is_empty() || !relative.components().all(|part| matches!(part, Component::Normal(_))) {
        bail!("fixture path `{fixture}` must be a relative path inside the fixtures directory, without `..`");
    }
    let path = fixtures_dir().join(relative);
    let source = fixture.to_owned();
    if kind == Kind::Jsonld {
        return load_jsonld(token, &path, source);
    }
    let body = std::fs::read(&path).with_context(|| format!("reading fixture {}", path.display()))?;
    if !matches!(kind, Kind::Greenhouse | Kind::Lever | Kind::Ashby) {
        return crate::ats::load(kind, token, &path, body, source);
    }
    let value: Value =
        serde_json::from_slice(&body).with_context(|| format!("fixture `{fixture}` is not valid JSON"))?;
    let items = match (kind, &value) {
        (Kind::Lever, Value::Array(items)) => items,
        (Kind::Greenhouse | Kind::Ashby, Value::Object(object)) => match object.get("jobs") {
            Some(Value::Array(items)) => items,
            _ => bail!("fixture `{fixture}` is not a {kind} board: no `jobs` array"),
        },
        (Kind::Lever, _) => bail!("fixture `{fixture}` is not a lever board: the body is not an array"),
        _ => bail!("fixture `{fixture}` is not a {kind} board: the body is not an object"),
    };
    let mut postings = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let id = match item.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(Value::Number(id)) => id.to_string(),
            _ => bail!("fixture `{fixture}`: item {index} has no string or number `id`"),
        };
        postings.push(Posting::new(id, item));
    }
    let has = |key: &str| items.iter().any(|item| item.get(key).is_some());
    let raw = Raw { with_content: has("content"), with_compensation: has("compensation"), ..Raw::list(body) };
    Ok(Loaded { postings, raw, source, envelope: Value::Null })
}

/// One careers page from a `.html` fixture, or from every `.html` file of a fixture directory.
fn load_jsonld(token: &str, path: &Path, source: String) -> anyhow::Result<Loaded> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("listing fixture directory {}", path.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|file| file.extension().is_some_and(|ext| ext == "html"))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    let mut snippets = String::new();
    let mut postings = Vec::new();
    for file in &files {
        let html = std::fs::read_to_string(file).with_context(|| format!("reading fixture {}", file.display()))?;
        for block in ld_json_blocks(&html) {
            let value: Value = serde_json::from_str(block)
                .with_context(|| format!("fixture {}: its ld+json is not valid JSON", file.display()))?;
            for item in job_postings(value) {
                let id = jsonld_id(&item).unwrap_or_else(|| format!("{token}-{}", postings.len()));
                postings.push(Posting::new(id, &item));
            }
        }
        snippets.push_str(html.trim_end());
        snippets.push('\n');
    }
    if postings.is_empty() {
        bail!("fixture `{source}` holds no ld+json JobPosting");
    }
    let titles: Vec<String> = postings.iter().map(|posting| crate::render::jsonld_title(&posting.value())).collect();
    let page = crate::render::careers_page(token, &snippets, &titles);
    let raw = Raw { with_content: true, with_compensation: true, ..Raw::list(page) };
    Ok(Loaded { postings, raw, source, envelope: Value::Null })
}

/// A careers page a test wrote, served verbatim until the board changes. Its postings are those of its ld+json
/// blocks that are valid JSON: a page may carry broken blocks on purpose.
pub(crate) fn page(token: &str, html: &str) -> Loaded {
    let mut postings = Vec::new();
    for value in ld_json_blocks(html).into_iter().filter_map(|block| serde_json::from_str::<Value>(block).ok()) {
        for item in job_postings(value) {
            let id = jsonld_id(&item).unwrap_or_else(|| format!("{token}-{}", postings.len()));
            postings.push(Posting::new(id, &item));
        }
    }
    let raw = Raw { with_content: true, with_compensation: true, ..Raw::list(html.to_owned()) };
    Loaded { postings, raw, source: "page".to_owned(), envelope: Value::Null }
}

/// The `JobPosting` objects of one ld+json block (a posting, an array of them, or an `@graph`).
fn job_postings(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.into_iter().flat_map(job_postings).collect(),
        Value::Object(mut object) => {
            if let Some(graph) = object.remove("@graph") {
                return job_postings(graph);
            }
            let is_posting = match object.get("@type") {
                Some(Value::String(kind)) => kind == "JobPosting",
                Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "JobPosting"),
                _ => false,
            };
            if is_posting { vec![Value::Object(object)] } else { Vec::new() }
        }
        _ => Vec::new(),
    }
}

/// `identifier.value` (or a bare `identifier`), else `url`.
pub(crate) fn jsonld_id(posting: &Value) -> Option<String> {
    let scalar = |value: &Value| match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    };
    match posting.get("identifier") {
        Some(Value::Object(identifier)) => identifier.get("value").and_then(scalar),
        Some(other) => scalar(other),
        None => None,
    }
    .or_else(|| posting.get("url").and_then(scalar))
}

/// Byte ranges of the contents of every `<script type="application/ld+json">` element.
pub(crate) fn ld_json_spans(html: &str) -> Vec<Range<usize>> {
    // ASCII lowercasing keeps byte offsets valid in the original.
    let lower = html.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(open) = lower.get(from..).and_then(|rest| rest.find("<script")).map(|at| at + from) {
        let Some(tag_end) = lower.get(open..).and_then(|rest| rest.find('>')).map(|at| at + open + 1) else { break };
        let Some(close) = lower.get(tag_end..).and_then(|rest| rest.find("</script")).map(|at| at + tag_end) else {
            break;
        };
        if lower.get(open..tag_end).is_some_and(|tag| tag.contains("application/ld+json")) {
            spans.push(tag_end..close);
        }
        from = close;
    }
    spans
}

pub(crate) fn ld_json_blocks(html: &str) -> Vec<&str> {
    ld_json_spans(html).into_iter().filter_map(|span| html.get(span)).collect()
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_ld_json_but_not_other_scripts() {
        let html =
            "<script src=x></script><SCRIPT type=\"application/ld+json\">{\"a\":1}</SCRIPT><script>var b</script>";
        assert_eq!(ld_json_blocks(html), vec!["{\"a\":1}"]);
    }

    #[test]
    fn rejects_paths_leaving_the_fixtures_dir() {
        for path in ["../Cargo.toml", "/etc/passwd", "", "greenhouse/../../x"] {
            let error = load(Kind::Greenhouse, "x", path).err().unwrap();
            assert!(error.to_string().contains("relative path"), "{path}: {error}");
        }
    }

    #[test]
    fn a_fixture_of_another_kind_is_refused() {
        let error = load(Kind::Lever, "x", "greenhouse/gh_docs_list_jobs.json").err().unwrap();
        assert!(error.to_string().contains("not an array"), "{error}");
        let error = load(Kind::Greenhouse, "x", "lever/lever_outreach_postings_TRIMMED.json").err().unwrap();
        assert!(error.to_string().contains("not an object"), "{error}");
    }

    #[test]
    fn a_written_page_is_kept_verbatim_and_lists_its_readable_postings() {
        let html = "<script type=\"application/ld+json\">{\"@type\": \"JobPosting\", \"title\": \"A\"}</script>\
                    <script type=\"application/ld+json\">{\"@type\": \"JobPosting\",</script>";
        let loaded = page("acme", html);
        assert_eq!(loaded.postings.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["acme-0"]);
        assert_eq!(loaded.raw.body.as_deref(), Some(html.as_bytes()));
    }

    #[test]
    fn the_jsonld_directory_makes_one_page() {
        let loaded = load(Kind::Jsonld, "lamp", "jsonld").unwrap();
        assert_eq!(loaded.postings.len(), 3);
        let page = std::str::from_utf8(loaded.raw.body.as_deref().unwrap()).unwrap();
        assert_eq!(ld_json_blocks(page).len(), 3);
        assert!(page.contains("\"Value\": 900"), "fixture text is kept verbatim");
    }
}
