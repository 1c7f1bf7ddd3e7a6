//! Generated postings: a real fixture item cloned as the template, with id, title, location, description and
//! dates varied deterministically from (kind, token, seed, index).

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value};

use crate::Kind;
use crate::shapes;
use crate::state::Posting;
use crate::text::{self, Description, Place, Rng};

const GREENHOUSE_SRC: &str = fixture!("greenhouse/gh_databricks_board_jobs_content_true_REDACTED.json");
const LEVER_SRC: &str = fixture!("lever/lever_plaid_postings.json");
const ASHBY_SRC: &str = fixture!("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json");
const JSONLD_SRC: &str = fixture!("jsonld/lamp_jp_recruit_JobPosting.jsonld.html");

/// Generated dates fall in the 180 days before this instant (2026-11-01T00:00:00Z), so output is reproducible.
const ANCHOR_SECS: i64 = 1_793_491_200;
pub(crate) const DAY: i64 = 86_400;

struct Templates {
    greenhouse: Map<String, Value>,
    lever: Map<String, Value>,
    ashby: Map<String, Value>,
    jsonld: Map<String, Value>,
}

static TEMPLATES: LazyLock<Templates> = LazyLock::new(|| {
    let parsed = |src: &str| serde_json::from_str::<Value>(src).unwrap_or(Value::Null);
    let object = |value: Option<&Value>| match value {
        Some(Value::Object(map)) => map.clone(),
        _ => Map::new(),
    };
    let jsonld = crate::fixtures::ld_json_blocks(JSONLD_SRC).into_iter().next().map(parsed);
    Templates {
        greenhouse: object(parsed(GREENHOUSE_SRC).pointer("/jobs/0")),
        lever: object(parsed(LEVER_SRC).pointer("/0")),
        ashby: object(parsed(ASHBY_SRC).pointer("/jobs/0")),
        jsonld: object(jsonld.as_ref()),
    }
});

/// The fixture item generated postings of this kind are cloned from (the kinds of `ats/` keep their own).
pub(crate) fn template(kind: Kind) -> &'static Map<String, Value> {
    let templates = &*TEMPLATES;
    match kind {
        Kind::Greenhouse => &templates.greenhouse,
        Kind::Lever => &templates.lever,
        Kind::Ashby => &templates.ashby,
        _ => &templates.jsonld,
    }
}

/// Everything varied in one posting, drawn before the kind-specific shape is filled in.
pub(crate) struct Draw {
    pub(crate) rng: Rng,
    /// The posting's place in the board's generation order.
    pub(crate) index: u64,
    pub(crate) token: String,
    pub(crate) company: String,
    pub(crate) title: String,
    pub(crate) department: &'static str,
    pub(crate) team: &'static str,
    pub(crate) place: Place,
    pub(crate) others: Vec<Place>,
    pub(crate) workplace: (&'static str, &'static str),
    pub(crate) published: i64,
    pub(crate) updated: i64,
    pub(crate) salary: (u64, u64),
    pub(crate) description: Description,
}

/// One posting; `taken` holds the board's ids so a (vanishingly rare) collision is drawn again.
pub(crate) fn posting(kind: Kind, token: &str, seed: u64, index: u64, taken: &HashSet<String>) -> Posting {
    let mut attempt: u64 = 0;
    loop {
        let bytes = text::digest(&[
            kind.as_str().as_bytes(),
            token.as_bytes(),
            &seed.to_le_bytes(),
            &index.to_le_bytes(),
            &attempt.to_le_bytes(),
        ]);
        let draw = draw(kind, &bytes, token, index);
        let id = match kind {
            Kind::Greenhouse => greenhouse_id(text::u64_at(&bytes, 16)).to_string(),
            Kind::Lever | Kind::Ashby | Kind::Jsonld => text::uuid(&bytes),
            _ => crate::ats::id(kind, &bytes, &draw),
        };
        if !taken.contains(&id) {
            let value = match kind {
                Kind::Greenhouse => shapes::greenhouse(draw, &id),
                Kind::Lever => shapes::lever(draw, &id),
                Kind::Ashby => shapes::ashby(draw, &id),
                Kind::Jsonld => shapes::jsonld(draw, &id),
                _ => crate::ats::generate(kind, draw, &id),
            };
            return Posting::new(id, &value);
        }
        attempt += 1;
    }
}

/// Above 2^32 like real Greenhouse ids, below 2^53 so JavaScript-minded clients stay exact.
fn greenhouse_id(raw: u64) -> u64 {
    const LOW: u64 = (1 << 32) + 1;
    const SPAN: u64 = (1 << 53) - LOW;
    LOW + raw % SPAN
}

fn draw(kind: Kind, bytes: &[u8; 32], token: &str, index: u64) -> Draw {
    let mut rng = Rng::new(text::u64_at(bytes, 24));
    // A Workday token is `{tenant}.{site}`: the company is the tenant.
    let company = match token.split_once('.') {
        Some((tenant, _)) if kind == Kind::Workday => text::company_name(tenant),
        _ => text::company_name(token),
    };
    let level = rng.pick(text::LEVELS).unwrap_or_default();
    let (role, department, team) = rng.pick(text::ROLES).unwrap_or(("Engineer", "Engineering", "Engineering"));
    let place = rng.pick(text::PLACES).unwrap_or(Place {
        city: "San Francisco",
        region: "California",
        country: "United States",
        code: "US",
    });
    let others = if rng.below(6) == 0 { rng.several(text::PLACES, 2) } else { Vec::new() };
    let others = others.into_iter().filter(|other| other.city != place.city).collect();
    let workplace = rng.pick(text::WORKPLACES).unwrap_or(("onsite", "OnSite"));
    let published = ANCHOR_SECS - 1 - rng.below(180 * DAY as u64) as i64;
    let updated = (published + rng.below(20 * DAY as u64) as i64).min(ANCHOR_SECS);
    let low = (60 + rng.below(140)) * 1000;
    let salary = (low, low + 20_000 + rng.below(60) * 1000);
    let title = format!("{level}{role}");
    let description = Description::new(&mut rng, &company, &title, &city_line(&place));
    Draw {
        rng,
        index,
        token: token.to_owned(),
        company,
        title,
        department,
        team,
        place,
        others,
        workplace,
        published,
        updated,
        salary,
        description,
    }
}

pub(crate) fn city_line(place: &Place) -> String {
    if place.code == "US" {
        format!("{}, {}", place.city, place.region)
    } else {
        format!("{}, {}", place.city, place.country)
    }
}

/// `2026-07-16T14:44:23-04:00`: Greenhouse writes US Eastern offsets.
pub(crate) fn eastern(secs: i64) -> String {
    use chrono::Datelike as _;
    let day = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().ordinal();
    let hours = if (70..308).contains(&day) { 4 } else { 5 };
    let local = chrono::DateTime::from_timestamp(secs - hours * 3600, 0).unwrap_or_default();
    format!("{}-0{hours}:00", local.naive_utc().format("%Y-%m-%dT%H:%M:%S"))
}

pub(crate) fn utc(secs: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default().format(format).to_string()
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn templates_come_from_the_fixtures() {
        for kind in [Kind::Greenhouse, Kind::Lever, Kind::Ashby, Kind::Jsonld] {
            assert!(template(kind).len() >= 10, "{kind} template has {} keys", template(kind).len());
        }
        assert!(template(Kind::Ashby).contains_key("compensation"));
        assert!(template(Kind::Greenhouse).contains_key("ai_opt_out_request_url"));
    }

    #[test]
    fn same_inputs_same_posting_and_different_index_different_id() {
        let none = HashSet::new();
        for kind in Kind::ALL {
            let a = posting(kind, "acme", 7, 3, &none);
            let b = posting(kind, "acme", 7, 3, &none);
            assert_eq!(a.id, b.id);
            assert_eq!(a.json, b.json);
            assert_ne!(a.id, posting(kind, "acme", 7, 4, &none).id);
            assert_ne!(a.id, posting(kind, "acme", 8, 3, &none).id);
            assert_ne!(a.id, posting(kind, "acmf", 7, 3, &none).id);
        }
    }

    #[test]
    fn a_taken_id_is_drawn_again() {
        let first = posting(Kind::Greenhouse, "acme", 1, 0, &HashSet::new());
        let taken = HashSet::from([first.id.clone()]);
        let second = posting(Kind::Greenhouse, "acme", 1, 0, &taken);
        assert_ne!(first.id, second.id);
        assert!(second.id.parse::<u64>().unwrap() > 1 << 32);
    }

    #[test]
    fn eastern_times_carry_an_offset() {
        let time = eastern(ANCHOR_SECS);
        assert!(chrono::DateTime::parse_from_rfc3339(&time).is_ok(), "{time}");
        assert!(time.ends_with("-04:00") || time.ends_with("-05:00"), "{time}");
    }
}
