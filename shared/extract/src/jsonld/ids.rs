//! External ids of a careers page's postings, stable across reads of the same page, whatever its order.
//!
//! A posting's own id (`identifier.value` or `identifier`, a string or an integer) or, without one, its `url` is its
//! id. A posting with neither gets a key: the hex SHA-256 of its title, a newline and its hiring organization's
//! name. Two postings can share that key (one title, two places); every posting on the page is kept all the same.
//! A posting alone with its title keeps that key (so ids stored before stay); postings sharing one get the key of
//! their title, organization and location, and postings sharing even that, the key of those and their whole content
//! (so such a posting's id changes when its content does). No id depends on where a posting stands on the page. A
//! posting repeated word for word is one posting listed twice: both get one id.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{get_ci, location, name_of, title};
use crate::listing::{canonical_hash, id_string, text};

/// The external id of each posting, in order.
pub(super) fn assign(postings: &[Value]) -> Vec<String> {
    let keyed: Vec<Option<Key>> = postings.iter().map(|p| own_id(p).is_none().then(|| Key::of(p))).collect();
    // The distinct postings (by content) under each title key, and under each title-and-place key.
    let mut by_title: HashMap<&str, BTreeSet<[u8; 32]>> = HashMap::new();
    let mut by_place: HashMap<&str, BTreeSet<[u8; 32]>> = HashMap::new();
    for key in keyed.iter().flatten() {
        by_title.entry(&key.title).or_default().insert(key.content);
        by_place.entry(&key.place).or_default().insert(key.content);
    }
    let shared = |map: &HashMap<&str, BTreeSet<[u8; 32]>>, k: &str| map.get(k).is_some_and(|set| set.len() > 1);
    postings
        .iter()
        .zip(&keyed)
        .map(|(posting, key)| match key {
            None => own_id(posting).unwrap_or_default(),
            Some(key) if !shared(&by_title, &key.title) => key.title.clone(),
            Some(key) if !shared(&by_place, &key.place) => key.place.clone(),
            Some(key) => hash(&[&key.place, &hex::encode(key.content)]),
        })
        .collect()
}

/// `identifier.value` or `identifier` (string or number), else `url`.
pub(super) fn own_id(job: &Value) -> Option<String> {
    let identifier = job.get("identifier");
    id_string(identifier.and_then(|i| get_ci(i, "value")))
        .or_else(|| id_string(identifier))
        .or_else(|| text(job.get("url")))
}

/// The keys a posting without an id may get.
struct Key {
    /// Of its title and organization.
    title: String,
    /// Of its title, organization and location.
    place: String,
    /// Its canonical content hash.
    content: [u8; 32],
}

impl Key {
    fn of(posting: &Value) -> Self {
        let title = title(posting).unwrap_or_default();
        let organization = name_of(posting.get("hiringOrganization")).unwrap_or_default();
        let place = location(posting).unwrap_or_default();
        Self {
            title: hash(&[&title, &organization]),
            place: hash(&[&title, &organization, &place]),
            content: canonical_hash(posting),
        }
    }
}

/// The hex SHA-256 of the parts joined with newlines.
fn hash(parts: &[&str]) -> String {
    hex::encode(Sha256::digest(parts.join("\n").as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn engineer(city: &str) -> Value {
        json!({"@type": "JobPosting", "title": "Engineer", "hiringOrganization": {"name": "ACME"},
            "jobLocation": {"@type": "Place", "address": {"addressLocality": city}}})
    }

    #[test]
    fn own_ids_come_first() {
        assert_eq!(own_id(&json!({"identifier": 7, "url": "u"})).as_deref(), Some("7"));
        assert_eq!(own_id(&json!({"identifier": {"Value": "x"}, "url": "u"})).as_deref(), Some("x"));
        assert_eq!(own_id(&json!({"identifier": {"name": "n"}, "url": "u"})).as_deref(), Some("u"));
        assert_eq!(own_id(&json!({"title": "t"})), None);
    }

    #[test]
    fn a_posting_alone_with_its_title_keeps_the_title_and_organization_key() {
        let expected = hex::encode(Sha256::digest(b"Engineer\nACME"));
        assert_eq!(assign(&[engineer("Berlin")]), std::slice::from_ref(&expected));
        assert_eq!(assign(&[json!({"title": "Engineer", "hiringOrganization": "ACME"})]), [expected]);
    }

    #[test]
    fn postings_sharing_a_title_fold_in_their_location_then_their_content_whatever_their_order() {
        // Two Paris postings that differ (their descriptions), so neither is a repeat of the other.
        let paris = |n: u32| {
            let mut posting = engineer("Paris");
            posting["description"] = json!(format!("team {n}"));
            posting
        };
        let ids = assign(&[engineer("Berlin"), paris(1), paris(2)]);
        let berlin = hex::encode(Sha256::digest(b"Engineer\nACME\nBerlin"));
        assert_eq!(ids[0], berlin);
        let place = hex::encode(Sha256::digest(b"Engineer\nACME\nParis"));
        let by_content =
            |p: &Value| hex::encode(Sha256::digest(format!("{place}\n{}", hex::encode(canonical_hash(p)))));
        assert_eq!(ids[1..], [by_content(&paris(1)), by_content(&paris(2))]);
        let reordered = assign(&[paris(2), engineer("Berlin"), paris(1)]);
        assert_eq!(reordered, [ids[2].clone(), ids[0].clone(), ids[1].clone()], "the same ids in another order");
    }

    #[test]
    fn a_posting_repeated_word_for_word_keeps_its_id() {
        let mut paris = engineer("Paris");
        paris["description"] = json!("The Paris one");
        let ids = assign(&[engineer("Berlin"), paris.clone(), engineer("Berlin"), paris]);
        assert_eq!(ids[0], ids[2]);
        assert_eq!(ids[1], ids[3]);
        assert_ne!(ids[0], ids[1]);
        // Repeated alone, a posting is still alone with its title.
        let alone = assign(&[engineer("Berlin"), engineer("Berlin")]);
        assert_eq!(alone[0], hex::encode(Sha256::digest(b"Engineer\nACME")));
    }
}
