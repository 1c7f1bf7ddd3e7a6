//! External ids of a careers page's postings, stable across reads of the same page.
//!
//! A posting's own id (`identifier.value` or `identifier`, a string or an integer) or, without one, its `url` is its
//! id. A posting with neither gets a key: the hex SHA-256 of its title, a newline and its hiring organization's
//! name. Two postings can share that key (one title, two places); every posting on the page is kept all the same:
//! the first with a key keeps the key as its id (so ids stored before stay), a later one gets the key of its title,
//! organization and location, and where even that is taken, the same with a number counting up from 2. A posting
//! repeated word for word is one posting listed twice: it keeps the id it had the first time.

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{get_ci, location, name_of, title};
use crate::listing::{canonical_hash, id_string, text};

/// The external id of each posting, in order.
pub(super) fn assign(postings: &[Value]) -> Vec<String> {
    let mut keys = Keys::default();
    postings.iter().map(|posting| own_id(posting).unwrap_or_else(|| keys.key_for(posting))).collect()
}

/// `identifier.value` or `identifier` (string or number), else `url`.
pub(super) fn own_id(job: &Value) -> Option<String> {
    let identifier = job.get("identifier");
    id_string(identifier.and_then(|i| get_ci(i, "value")))
        .or_else(|| id_string(identifier))
        .or_else(|| text(job.get("url")))
}

/// The keys given so far on one page.
#[derive(Default)]
struct Keys {
    taken: HashSet<String>,
    /// By the canonical hash of the posting it was given to.
    given: HashMap<[u8; 32], String>,
}

impl Keys {
    /// A key of its own for a posting without an id, unless the same posting was seen before.
    fn key_for(&mut self, posting: &Value) -> String {
        let content = canonical_hash(posting);
        if let Some(key) = self.given.get(&content) {
            return key.clone();
        }
        let title = title(posting).unwrap_or_default();
        let organization = name_of(posting.get("hiringOrganization")).unwrap_or_default();
        let mut key = hash(&[&title, &organization]);
        if self.taken.contains(&key) {
            let place = location(posting).unwrap_or_default();
            key = hash(&[&title, &organization, &place]);
            let mut n = 1_u64;
            while self.taken.contains(&key) {
                n += 1;
                key = hash(&[&title, &organization, &place, &n.to_string()]);
            }
        }
        self.taken.insert(key.clone());
        self.given.insert(content, key.clone());
        key
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
    fn the_first_posting_of_a_title_keeps_the_title_and_organization_key() {
        let expected = hex::encode(Sha256::digest(b"Engineer\nACME"));
        assert_eq!(assign(&[engineer("Berlin")]), std::slice::from_ref(&expected));
        assert_eq!(assign(&[json!({"title": "Engineer", "hiringOrganization": "ACME"})]), [expected]);
    }

    #[test]
    fn later_postings_of_a_title_fold_in_their_location_then_their_order() {
        // Three Paris postings that differ (their descriptions), so none is a repeat of another.
        let paris = |n: u32| {
            let mut posting = engineer("Paris");
            posting["description"] = json!(format!("team {n}"));
            posting
        };
        let ids = assign(&[engineer("Berlin"), paris(1), paris(2), paris(3)]);
        let expected: Vec<String> = [
            &b"Engineer\nACME"[..],
            b"Engineer\nACME\nParis",
            b"Engineer\nACME\nParis\n2",
            b"Engineer\nACME\nParis\n3",
        ]
        .into_iter()
        .map(|key| hex::encode(Sha256::digest(key)))
        .collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn a_posting_repeated_word_for_word_keeps_its_id() {
        let mut paris = engineer("Paris");
        paris["description"] = json!("The Paris one");
        let ids = assign(&[engineer("Berlin"), paris.clone(), engineer("Berlin"), paris]);
        assert_eq!(ids[0], ids[2]);
        assert_eq!(ids[1], ids[3]);
        assert_ne!(ids[0], ids[1]);
    }
}
