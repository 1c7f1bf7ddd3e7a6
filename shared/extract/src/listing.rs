//! [`ListedPosting`], its content hash, [`Listing`], and helpers shared by the board parsers.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::ExtractError;

/// One posting as a board lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedPosting {
    /// The board's own id for the posting (Greenhouse's 64-bit integer ids are kept as decimal strings).
    pub external_id: String,
    /// The posting's title, trimmed.
    pub title: String,
    /// The public page of the posting, where the board gives one.
    pub url: Option<String>,
    /// The list item exactly as received (for jsonld: the `JobPosting` object).
    pub raw: Value,
}

/// What a board lists: its postings, and what could be read only in part without failing the listing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// The postings, each external id once.
    pub postings: Vec<ListedPosting>,
    /// One sentence per problem that left part of the listing unread, e.g. "1 of 3 JSON-LD scripts could not be
    /// read: script 2 is not valid JSON: ...". Empty when the whole listing was read.
    pub warnings: Vec<String>,
}

impl Listing {
    /// A listing read whole.
    pub fn complete(postings: Vec<ListedPosting>) -> Self {
        Self { postings, warnings: Vec::new() }
    }

    /// Whether every part of the listing was read: only then does a posting it leaves out surely no longer exist.
    pub fn is_complete(&self) -> bool {
        self.warnings.is_empty()
    }
}

impl ListedPosting {
    /// SHA-256 of a canonical JSON encoding of [`raw`](Self::raw): no whitespace, object keys sorted by their
    /// UTF-8 bytes, strings escaped as `serde_json` escapes them, numbers as `serde_json` prints them. Two
    /// payloads that differ only in key order or formatting hash the same.
    pub fn content_hash(&self) -> [u8; 32] {
        canonical_hash(&self.raw)
    }
}

/// SHA-256 of the canonical JSON encoding of `value` (see [`ListedPosting::content_hash`]).
pub(crate) fn canonical_hash(value: &Value) -> [u8; 32] {
    let mut hasher = Sha256::new();
    write_canonical(value, &mut hasher);
    hasher.finalize().into()
}

/// Feeds the canonical encoding of `value` to `hasher`.
fn write_canonical(value: &Value, hasher: &mut Sha256) {
    match value {
        Value::Null => hasher.update(b"null"),
        Value::Bool(true) => hasher.update(b"true"),
        Value::Bool(false) => hasher.update(b"false"),
        Value::Number(n) => hasher.update(n.to_string().as_bytes()),
        Value::String(s) => write_string(s, hasher),
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                write_canonical(item, hasher);
            }
            hasher.update(b"]");
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            hasher.update(b"{");
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                write_string(key, hasher);
                hasher.update(b":");
                write_canonical(item, hasher);
            }
            hasher.update(b"}");
        }
    }
}

/// A JSON string literal; `serde_json`'s escaping is deterministic and cannot fail for a `&str`.
fn write_string(s: &str, hasher: &mut Sha256) {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    hasher.update(quoted.as_bytes());
}

/// Parses a JSON body, naming `what` (e.g. "greenhouse board listing") when it is not JSON.
pub(crate) fn parse_json(what: &str, body: &[u8]) -> Result<Value, ExtractError> {
    serde_json::from_slice(body).map_err(|e| ExtractError::malformed(what, format!("is not valid JSON: {e}")))
}

/// A non-empty trimmed string, for optional text fields.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => {
            let trimmed = s.trim();
            (!trimmed.is_empty()).then(|| trimmed.to_owned())
        }
        _ => None,
    }
}

/// An id given as a non-empty string or as an integer (kept exactly, as its decimal digits).
pub(crate) fn id_string(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        Value::String(_) => text(value),
        _ => None,
    }
}

/// Builds a [`ListedPosting`] from a list item, or says which item lacks an id or a title.
pub(crate) fn listed(
    what: &str,
    index: usize,
    item: Value,
    external_id: Option<String>,
    title: Option<String>,
    url: Option<String>,
) -> Result<ListedPosting, ExtractError> {
    let at = || format!("{what} item {index}");
    if !item.is_object() {
        return Err(ExtractError::malformed(at(), "is not a JSON object"));
    }
    let external_id = external_id.ok_or_else(|| ExtractError::malformed(at(), "has no id"))?;
    let title = title.ok_or_else(|| ExtractError::malformed(at(), "has no title"))?;
    Ok(ListedPosting { external_id, title, url, raw: item })
}

/// Drops postings whose `external_id` was already seen, keeping the first (a board that lists a posting twice
/// would otherwise make one run write the same row twice).
pub(crate) fn dedupe(what: &str, postings: Vec<ListedPosting>) -> Vec<ListedPosting> {
    let mut seen = std::collections::HashSet::new();
    let before = postings.len();
    let kept: Vec<ListedPosting> = postings.into_iter().filter(|p| seen.insert(p.external_id.clone())).collect();
    if kept.len() < before {
        tracing::debug!(what, dropped = before - kept.len(), "dropped postings listed twice");
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn posting(raw: Value) -> ListedPosting {
        ListedPosting { external_id: "1".into(), title: "t".into(), url: None, raw }
    }

    #[test]
    fn hash_ignores_key_order_and_formatting() -> Result<(), serde_json::Error> {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2, {"q": null, "p": true}], "x": "é\n"}}"#)?;
        let b: Value = serde_json::from_str(r#"{"a":{"x":"\u00e9\n","y":[1,2,{"p":true,"q":null}]},"b":1}"#)?;
        assert_eq!(posting(a).content_hash(), posting(b).content_hash());
        Ok(())
    }

    #[test]
    fn hash_is_sha256_of_canonical_text() {
        let raw = json!({"z": "x\"y", "a": [1, -2, 1.5, false], "m": {}});
        let canonical = r#"{"a":[1,-2,1.5,false],"m":{},"z":"x\"y"}"#;
        let expected: [u8; 32] = Sha256::digest(canonical.as_bytes()).into();
        assert_eq!(posting(raw).content_hash(), expected);
    }

    #[test]
    fn hash_changes_with_content() {
        let a = posting(json!({"title": "A", "n": 1})).content_hash();
        let b = posting(json!({"title": "A", "n": 2})).content_hash();
        let c = posting(json!({"title": "A", "n": "1"})).content_hash();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ids_keep_big_integers_exactly() {
        assert_eq!(id_string(Some(&json!(8638232002_u64))).as_deref(), Some("8638232002"));
        assert_eq!(id_string(Some(&json!(u64::MAX))).as_deref(), Some("18446744073709551615"));
        assert_eq!(id_string(Some(&json!(" abc "))).as_deref(), Some("abc"));
        assert_eq!(id_string(Some(&json!(""))), None);
        assert_eq!(id_string(Some(&json!(1.5))), None);
        assert_eq!(id_string(Some(&Value::Null)), None);
        assert_eq!(id_string(None), None);
    }
}
