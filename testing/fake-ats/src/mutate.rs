//! Changing a posting the way an employer's edit would: new title, amended description, same id.

use serde_json::Value;

use crate::Kind;
use crate::state::Posting;
use crate::text::{self, Rng};

/// How a description field is written.
#[derive(Clone, Copy)]
enum Form {
    Plain,
    Html,
    /// Greenhouse `content`: HTML, entity-escaped once more.
    EscapedHtml,
}

/// JSON pointers of the posting's title, wherever the kind's stored item repeats it (a list row and its detail,
/// both feeds, a translation); the first one present holds the current title.
fn title_pointers(kind: Kind, posting: &Value) -> &'static [&'static str] {
    match kind {
        Kind::Greenhouse | Kind::Ashby | Kind::Workable => &["/title"],
        Kind::Lever => &["/text"],
        Kind::Jsonld if posting.get("title").is_none() && posting.get("name").is_some() => &["/name"],
        Kind::Jsonld => &["/title"],
        Kind::Workday => &["/list/title", "/detail/jobPostingInfo/title"],
        Kind::Smartrecruiters => &["/list/name", "/detail/name"],
        Kind::Teamtailor => &["/json/title", "/json/_jobposting/title", "/rss/title"],
        Kind::Recruitee => &["/title", "/translations/en/title"],
        Kind::Personio => &["/name"],
        Kind::Bamboohr => &["/list/jobOpeningName", "/detail/result/jobOpening/jobOpeningName"],
    }
}

/// JSON pointers of the posting's description fields.
fn description_fields(kind: Kind) -> &'static [(&'static str, Form)] {
    match kind {
        Kind::Greenhouse => &[("/content", Form::EscapedHtml)],
        Kind::Lever => &[
            ("/description", Form::Html),
            ("/descriptionPlain", Form::Plain),
            ("/opening", Form::Html),
            ("/openingPlain", Form::Plain),
        ],
        Kind::Ashby => &[("/descriptionHtml", Form::Html), ("/descriptionPlain", Form::Plain)],
        Kind::Jsonld | Kind::Workable => &[("/description", Form::Html)],
        Kind::Workday => &[("/detail/jobPostingInfo/jobDescription", Form::Html)],
        Kind::Smartrecruiters => &[("/detail/jobAd/sections/jobDescription/text", Form::Html)],
        Kind::Teamtailor => &[("/json/content_html", Form::Html), ("/rss/description", Form::Html)],
        Kind::Recruitee => &[("/description", Form::Html), ("/translations/en/description", Form::Html)],
        Kind::Personio => &[("/jobDescriptions/0/value", Form::Html)],
        Kind::Bamboohr => &[("/detail/result/jobOpening/description", Form::Html)],
    }
}

pub(crate) fn change(kind: Kind, posting: &mut Posting) {
    posting.revision += 1;
    let mut value = posting.value();
    edit(kind, &posting.id, posting.revision, &mut value);
    if let Ok(json) = serde_json::to_string(&value) {
        posting.json = json;
    }
}

fn edit(kind: Kind, id: &str, revision: u32, value: &mut Value) {
    let bytes = text::digest(&[id.as_bytes(), &revision.to_le_bytes()]);
    let mut rng = Rng::new(text::u64_at(&bytes, 0));
    if !value.is_object() {
        return;
    }

    let pointers = title_pointers(kind, value);
    let old = pointers.iter().find_map(|at| value.pointer(at)).and_then(Value::as_str).unwrap_or_default().to_owned();
    let title = (0..10)
        .map(|_| {
            let level = rng.pick(text::LEVELS).unwrap_or_default();
            let role = rng.pick(text::ROLES).map(|(role, _, _)| role).unwrap_or("Engineer");
            format!("{level}{role}")
        })
        .find(|title| *title != old)
        .unwrap_or_else(|| format!("{old} (revised)"));
    for at in pointers {
        if let Some(slot) = value.pointer_mut(at) {
            *slot = Value::String(title.clone());
        }
    }
    if kind == Kind::Jsonld
        && let Some(map) = value.as_object_mut()
        && !map.contains_key("title")
        && !map.contains_key("name")
    {
        map.insert("title".to_owned(), Value::String(title.clone()));
    }

    // Descriptions some items lack are added where the service does have them: a careers page posting's, the JSON
    // feed's `content_html` (trimmed from the Teamtailor fixture), a Personio position's first block.
    if kind == Kind::Jsonld
        && let Some(map) = value.as_object_mut()
    {
        map.entry("description").or_insert_with(|| Value::String(String::new()));
    }
    if kind == Kind::Teamtailor
        && let Some(Value::Object(item)) = value.get_mut("json")
    {
        item.entry("content_html").or_insert_with(|| Value::String(String::new()));
    }
    if kind == Kind::Personio
        && let Some(Value::Array(blocks)) = value.get_mut("jobDescriptions")
        && blocks.is_empty()
    {
        blocks.push(serde_json::json!({ "name": "About the role", "value": "" }));
    }

    let note = format!("Updated listing (revision {revision}): this {title} role was revised.");
    let note_html = format!("<p>{}</p>", text::escape_html(&note));
    for (at, form) in description_fields(kind) {
        let addition = match form {
            Form::Plain => format!("{note}\n"),
            Form::Html => note_html.clone(),
            Form::EscapedHtml => text::escape_markup(&note_html),
        };
        if let Some(Value::String(existing)) = value.pointer_mut(at) {
            existing.insert_str(0, &addition);
        }
    }

    if kind == Kind::Greenhouse
        && let Some(Value::String(updated)) = value.get_mut("updated_at")
        && let Ok(time) = chrono::DateTime::parse_from_rfc3339(updated)
    {
        *updated = (time + chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_kind_gets_a_new_title_and_description_but_keeps_its_id() {
        for kind in Kind::ALL {
            let mut posting = crate::generate::posting(kind, "acme", 1, 0, &HashSet::new());
            let before = posting.value();
            change(kind, &mut posting);
            change(kind, &mut posting);
            let after = posting.value();
            for at in title_pointers(kind, &after) {
                assert_ne!(before.pointer(at), after.pointer(at), "{kind} {at}");
                assert!(after.pointer(at).is_some(), "{kind} {at}");
            }
            assert!(!description_fields(kind).is_empty(), "{kind}");
            for (at, _) in description_fields(kind) {
                assert_ne!(before.pointer(at), after.pointer(at), "{kind} {at}");
                assert!(after.pointer(at).unwrap().as_str().unwrap().contains("revision 2"), "{kind} {at}");
            }
            assert_eq!(crate::generate::posting(kind, "acme", 1, 0, &HashSet::new()).id, posting.id);
        }
    }

    #[test]
    fn greenhouse_updated_at_moves_forward_and_keeps_its_offset() {
        let mut posting = crate::generate::posting(Kind::Greenhouse, "acme", 1, 0, &HashSet::new());
        let before = posting.value()["updated_at"].as_str().unwrap().to_owned();
        change(Kind::Greenhouse, &mut posting);
        let after = posting.value()["updated_at"].as_str().unwrap().to_owned();
        let parse = |time: &str| chrono::DateTime::parse_from_rfc3339(time).unwrap();
        assert_eq!(parse(&after) - parse(&before), chrono::Duration::hours(1));
        assert_eq!(before[before.len() - 6..], after[after.len() - 6..]);
    }
}
