//! A careers page's JSON-LD scripts, read one by one: a script that is not valid JSON is skipped and noted, so one
//! broken block does not hide the postings of the others; a page none of whose scripts is valid JSON fails.

use serde_json::Value;

use crate::ExtractError;

/// Unreadable scripts named one by one in a message; more are counted.
const NAMED: usize = 3;

/// The scripts of a page that parse, and those that do not.
pub(super) struct Scripts {
    /// The parsed scripts, in page order.
    pub docs: Vec<Value>,
    total: usize,
    /// The scripts that are not valid JSON: their number on the page (from 1) and why.
    unreadable: Vec<(usize, serde_json::Error)>,
}

/// Parses each script body; fails only when there are scripts and none of them parses.
pub(super) fn read(bodies: &[&str]) -> Result<Scripts, ExtractError> {
    let mut docs = Vec::with_capacity(bodies.len());
    let mut unreadable = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        match serde_json::from_str(body) {
            Ok(doc) => docs.push(doc),
            Err(e) => unreadable.push((i + 1, e)),
        }
    }
    let scripts = Scripts { docs, total: bodies.len(), unreadable };
    if scripts.docs.is_empty() && !scripts.unreadable.is_empty() {
        return Err(ExtractError::malformed("careers page", scripts.none_readable()));
    }
    Ok(scripts)
}

impl Scripts {
    /// What the skipped scripts were, e.g. "1 of 3 JSON-LD scripts could not be read: script 2 is not valid JSON:
    /// trailing comma at line 1 column 40"; `None` when every script was read.
    pub(super) fn warning(&self) -> Option<String> {
        (!self.unreadable.is_empty()).then(|| {
            format!("{} of {} JSON-LD scripts could not be read: {}", self.unreadable.len(), self.total, self.details())
        })
    }

    /// The reason of a page with no readable script, to follow "careers page".
    fn none_readable(&self) -> String {
        match self.total {
            1 => format!("has no readable JSON-LD: {}", self.details().replacen("script 1", "script 1 of 1", 1)),
            n => format!("has no readable JSON-LD: none of its {n} JSON-LD scripts is valid JSON: {}", self.details()),
        }
    }

    /// The first few unreadable scripts with their errors, and how many more there are.
    fn details(&self) -> String {
        let mut parts: Vec<String> =
            self.unreadable.iter().take(NAMED).map(|(n, e)| format!("script {n} is not valid JSON: {e}")).collect();
        if self.unreadable.len() > NAMED {
            parts.push(format!("and {} more", self.unreadable.len() - NAMED));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(bodies: &[&str]) -> Option<String> {
        read(bodies).ok().and_then(|s| s.warning())
    }

    fn error(bodies: &[&str]) -> String {
        read(bodies).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn readable_scripts_are_kept_and_the_others_named() {
        let scripts = read(&["{}", "[1,]", "{\"a\": 1}"]).ok();
        assert_eq!(scripts.as_ref().map(|s| s.docs.len()), Some(2));
        assert_eq!(
            warning(&["{}", "[1,]", "{\"a\": 1}"]).as_deref(),
            Some(
                "1 of 3 JSON-LD scripts could not be read: script 2 is not valid JSON: trailing comma at line 1 column 4"
            )
        );
        assert_eq!(warning(&["{}", "[]"]), None);
        assert_eq!(warning(&[]), None);
    }

    #[test]
    fn many_unreadable_scripts_are_counted_beyond_the_first_few() {
        let text = warning(&["{}", "x", "y", "z", "[", "w"]).unwrap_or_default();
        assert!(text.starts_with("5 of 6 JSON-LD scripts could not be read: script 2 is not valid JSON: "), "{text}");
        assert!(text.contains("; script 4 is not valid JSON: ") && text.ends_with("; and 2 more"), "{text}");
        assert!(!text.contains("script 5"), "{text}");
    }

    #[test]
    fn a_page_with_no_readable_script_fails_naming_them() {
        assert_eq!(
            error(&["{\"a\": 1,}"]),
            "careers page has no readable JSON-LD: script 1 of 1 is not valid JSON: trailing comma at line 1 column 9"
        );
        let text = error(&["{", "[1,]"]);
        assert!(
            text.starts_with(
                "careers page has no readable JSON-LD: none of its 2 JSON-LD scripts is valid JSON: script 1 is not \
                 valid JSON: EOF while parsing"
            ),
            "{text}"
        );
        assert!(text.ends_with("; script 2 is not valid JSON: trailing comma at line 1 column 4"), "{text}");
    }
}
