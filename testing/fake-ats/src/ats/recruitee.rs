//! Recruitee's offers API on the tenant's host: `GET /recruitee/{slug}/api/offers/` answers `{"offers": [...]}`, each
//! offer with its HTML `description` and `requirements` inline, `translations` and an optional salary.

use std::sync::LazyLock;

use anyhow::bail;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Map, Value, json};

use super::{fill, scalar, template_at, url_slug};
use crate::fixtures::{Loaded, Raw};
use crate::generate::{DAY, Draw, city_line, utc};
use crate::render::View;
use crate::routes::{App, respond};
use crate::state::{Board, Posting};
use crate::text;

const SRC: &str = fixture!("recruitee/careerkit_offers_sanitized.json");

static OFFER: LazyLock<Map<String, Value>> = LazyLock::new(|| template_at(SRC, "/offers/0"));

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/recruitee/{token}/api/offers/", get(offers))
        .route("/recruitee/{token}/api/offers", get(offers))
}

async fn offers(State(app): State<App>, Path(token): Path<String>) -> Response {
    respond(&app, &token, View::Recruitee).await
}

pub(crate) fn generate(mut d: Draw, id: &str) -> Value {
    let mut offer = OFFER.clone();
    let numeric: u64 = id.parse().unwrap_or_default();
    let guid: String = super::hex(&d.rng.next().to_le_bytes(), 5);
    let slug = url_slug(&format!("{} {}", d.title, d.place.city));
    let careers_url = format!("https://{}.recruitee.com/o/{slug}", d.token);
    let description = format!(
        "<p><strong>About us</strong></p><p>{}</p><p>{}</p><p><strong>What you’ll do</strong></p><ul>{}</ul>",
        text::escape_html(&d.description.intro),
        text::escape_html(&d.description.role),
        d.description.duties_html()
    );
    let requirements = format!(
        "<p><strong>What you’ll bring</strong></p><ul>{}</ul><p>{}</p>",
        d.description.needs_html(),
        text::escape_html(&d.description.benefits)
    );
    let sharing_title = format!("We are hiring a {} in {}", d.title, d.place.city);
    let sharing_description: String = d.description.intro.chars().take(150).collect();
    let (min, max) = d.salary;
    let salary = if d.rng.below(4) == 0 {
        json!({ "min": null, "max": null, "period": null, "currency": null })
    } else {
        json!({ "min": min.to_string(), "max": max.to_string(), "period": "year", "currency": "EUR" })
    };
    let postal = format!("{:05}", 10_000 + d.rng.below(89_999));
    let street = format!("{} {}", d.rng.pick(STREETS).unwrap_or("Main Street"), 1 + d.rng.below(120));
    let location = json!({
        "id": 10_000 + d.rng.below(90_000),
        "name": d.place.city,
        "state": d.place.region,
        "country": d.place.country,
        "city": d.place.city,
        "translations": { "en": { "name": d.place.city, "city": d.place.city, "postal_code": postal, "street": street, "note": null } },
        "country_code": d.place.code,
        "state_code": null,
        "postal_code": postal,
        "street": street,
        "note": null,
    });
    let (remote, hybrid) = (d.workplace.0 == "remote", d.workplace.0 == "hybrid");
    let full_time = d.rng.below(8) != 0;
    let created = d.published - (1 + d.rng.below(10)) as i64 * DAY;
    let stamp = |secs: i64| utc(secs, "%Y-%m-%d %H:%M:%S UTC");
    fill(
        &mut offer,
        [
            ("id", json!(numeric)),
            ("guid", json!(guid)),
            ("slug", json!(slug)),
            ("position", json!(d.index + 1)),
            ("title", json!(d.title)),
            ("description", json!(description)),
            ("requirements", json!(requirements)),
            ("department", json!(d.department)),
            ("company_name", json!(d.company)),
            ("location", json!(format!("{}, {}", city_line(&d.place), d.place.country))),
            ("locations", json!([location])),
            ("city", json!(d.place.city)),
            ("state_name", json!(d.place.region)),
            ("state_code", Value::Null),
            ("country", json!(d.place.country)),
            ("country_code", json!(d.place.code)),
            ("postal_code", json!(postal)),
            ("remote", json!(remote)),
            ("hybrid", json!(hybrid)),
            ("on_site", json!(!remote && !hybrid)),
            ("employment_type_code", json!(if full_time { "fulltime_permanent" } else { "parttime_permanent" })),
            ("min_hours", json!(if full_time { 40 } else { 20 })),
            ("max_hours", json!(if full_time { 40 } else { 30 })),
            ("category_code", json!(url_slug(d.department).replace('-', "_"))),
            ("salary", salary),
            ("careers_url", json!(careers_url)),
            ("careers_apply_url", json!(format!("{careers_url}/c/new"))),
            ("mailbox_email", json!(format!("job.{guid}@{}.recruitee.com", d.token))),
            ("sharing_title", json!(sharing_title)),
            ("sharing_description", json!(sharing_description)),
            ("created_at", json!(stamp(created))),
            ("published_at", json!(stamp(d.published))),
            ("updated_at", json!(stamp(d.updated))),
        ],
    );
    // One screening question, the template's first with a question any posting can ask.
    if let Some(Value::Array(questions)) = offer.get_mut("open_questions") {
        questions.truncate(1);
        let body = format!("Are you authorised to work in {}?", d.place.country);
        if let Some(Value::Object(question)) = questions.first_mut() {
            fill(question, [("id", json!(4_000_000 + d.rng.below(1_000_000))), ("body", json!(body))]);
            question.insert("translations".to_owned(), json!({ "en": { "body": body } }));
        }
    }
    if let Some(Value::Object(en)) = offer.get_mut("translations").and_then(|translations| translations.get_mut("en")) {
        fill(
            en,
            [
                ("title", json!(d.title)),
                ("description", json!(description)),
                ("requirements", json!(requirements)),
                ("sharing_title", json!(sharing_title)),
                ("sharing_description", json!(sharing_description)),
            ],
        );
    }
    Value::Object(offer)
}

const STREETS: &[&str] =
    &["Main Street", "Market Street", "Hauptstraße", "Keizersgracht", "High Street", "Rue de Rivoli"];

pub(crate) fn load(object: Map<String, Value>, body: Vec<u8>, source: String) -> anyhow::Result<Loaded> {
    let Some(Value::Array(offers)) = object.get("offers") else {
        bail!("fixture `{source}` is not a recruitee board: no `offers` array");
    };
    let mut postings = Vec::with_capacity(offers.len());
    for (index, offer) in offers.iter().enumerate() {
        let Some(id) = scalar(offer.get("id")) else { bail!("fixture `{source}`: offer {index} has no `id`") };
        postings.push(Posting::new(id, offer));
    }
    Ok(Loaded { postings, raw: Raw::list(body), source, envelope: Value::Null })
}

pub(crate) fn list(board: &Board) -> Bytes {
    if let Some(body) = board.raw.as_ref().and_then(|raw| raw.body.clone()) {
        return body;
    }
    let offers: Vec<&str> = board.postings.iter().map(|posting| posting.json.as_str()).collect();
    Bytes::from(format!("{{\"offers\":[{}]}}", offers.join(",")))
}
