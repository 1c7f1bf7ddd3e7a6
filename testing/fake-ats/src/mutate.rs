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

fn title_key(kind: Kind, posting: &serde_json::Map<String, Value>) -> &'static str {
    match kind {
        Kind::Lever => "text",
        Kind::Jsonld if !posting.contains_key("title") && posting.contains_key("name") => "name",
        _ => "title",
    }
}

fn description_fields(kind: Kind) -> &'static [(&'static str, Form)] {
    match kind {
        Kind::Greenhouse => &[("content", Form::EscapedHtml)],
        Kind::Lever => &[
            ("description", Form::Html),
            ("descriptionPlain", Form::Plain),
            ("opening", Form::Html),
            ("openingPlain", Form::Plain),
        ],
        Kind::Ashby => &[("descriptionHtml", Form::Html), ("descriptionPlain", Form::Plain)],
        Kind::Jsonld => &[("description", Form::Html)],
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
    let Value::Object(map) = value else { return };

    let key = title_key(kind, map);
    let old = map.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let title = (0..10)
        .map(|_| {
            let level = rng.pick(text::LEVELS).unwrap_or_default();
            let role = rng.pick(text::ROLES).map(|(role, _, _)| role).unwrap_or("Engineer");
            format!("{level}{role}")
        })
        .find(|title| *title != old)
        .unwrap_or_else(|| format!("{old} (revised)"));
    map.insert(key.to_owned(), Value::String(title.clone()));

    let note = format!("Updated listing (revision {revision}): this {title} role was revised.");
    let note_html = format!("<p>{}</p>", text::escape_html(&note));
    for (field, form) in description_fields(kind) {
        let addition = match form {
            Form::Plain => format!("{note}\n"),
            Form::Html => note_html.clone(),
            Form::EscapedHtml => text::escape_markup(&note_html),
        };
        match map.get_mut(*field) {
            Some(Value::String(existing)) => existing.insert_str(0, &addition),
            // A careers page posting without a description gets one; the other services' shapes stay as recorded.
            None if kind == Kind::Jsonld => {
                map.insert((*field).to_owned(), Value::String(addition));
            }
            _ => {}
        }
    }

    if kind == Kind::Greenhouse
        && let Some(Value::String(updated)) = map.get_mut("updated_at")
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
            let key = title_key(kind, after.as_object().unwrap());
            assert_ne!(before[key], after[key], "{kind}");
            let (field, _) = description_fields(kind)[0];
            assert_ne!(before[field], after[field], "{kind}");
            assert!(after[field].as_str().unwrap().contains("revision 2"), "{kind}");
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
