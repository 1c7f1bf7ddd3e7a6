//! The shape of each service's generated posting, filled in from a [`Draw`] over a clone of the real template.

use serde_json::{Value, json};

use crate::Kind;
use crate::generate::{DAY, Draw, city_line, template, utc};
use crate::text::{self, Place, Rng};

fn location_name(draw: &Draw) -> String {
    if draw.others.is_empty() {
        return city_line(&draw.place);
    }
    let mut cities = vec![draw.place.city];
    cities.extend(draw.others.iter().map(|other| other.city));
    cities.join(" | ")
}

pub(crate) fn greenhouse(mut d: Draw, id: &str) -> Value {
    let mut job = template(Kind::Greenhouse).clone();
    let numeric: u64 = id.parse().unwrap_or_default();
    let small_id = |rng: &mut Rng| 4_000_000_000u64 + rng.below(60_000_000_000);
    let office_location = format!("{}, {}, {}", d.place.city, d.place.region, d.place.country);
    let fields = [
        ("id", json!(numeric)),
        ("internal_job_id", json!(small_id(&mut d.rng))),
        ("absolute_url", json!(format!("https://job-boards.greenhouse.io/{}/jobs/{id}", d.token))),
        ("location", json!({ "name": location_name(&d) })),
        (
            "metadata",
            json!([
                { "id": small_id(&mut d.rng), "name": "Time Type", "value": "Full time", "value_type": "single_select" },
                { "id": small_id(&mut d.rng), "name": "Career Page Posting Category", "value": [d.department], "value_type": "multi_select" },
                { "id": small_id(&mut d.rng), "name": "Remote eligible", "value": d.workplace.0 == "remote", "value_type": "yes_no" },
                { "id": small_id(&mut d.rng), "name": "Cost Center", "value": null, "value_type": "short_text" },
            ]),
        ),
        ("updated_at", json!(crate::generate::eastern(d.updated))),
        ("first_published", json!(crate::generate::eastern(d.published))),
        ("requisition_id", json!(format!("REQ-{}", 1000 + d.rng.below(9000)))),
        ("title", json!(d.title)),
        ("company_name", json!(d.company)),
        ("language", json!("en")),
        ("content", json!(text::escape_markup(&d.description.html()))),
        (
            "departments",
            json!([{ "id": small_id(&mut d.rng), "name": d.department, "child_ids": [], "parent_id": small_id(&mut d.rng) }]),
        ),
        (
            "offices",
            json!([{ "id": small_id(&mut d.rng), "name": d.place.city, "location": office_location, "child_ids": [], "parent_id": null }]),
        ),
    ];
    for (key, value) in fields {
        job.insert(key.to_owned(), value);
    }
    // Pay ranges (sent with `?pay_transparency=true`), one per pay zone, as in gh_docs_retrieve_job.jsonc; a fifth of
    // the postings have none, as most boards outside pay-transparency laws.
    let (min, max) = d.salary;
    let ranges = match d.rng.below(5) {
        0 => json!([]),
        1 => json!([
            { "min_cents": min * 100, "max_cents": max * 100, "currency_type": "USD", "title": "Zone 1 Pay Range",
              "blurb": "<p>The pay range for this role in New York and San Francisco.</p>" },
            { "min_cents": min * 85, "max_cents": max * 85, "currency_type": "USD", "title": "Zone 2 Pay Range",
              "blurb": "<p>The pay range for this role elsewhere in the US.</p>" },
        ]),
        _ => json!([
            { "min_cents": min * 100, "max_cents": max * 100, "currency_type": "USD", "title": "US Pay Range",
              "blurb": "<p>In order to provide transparency, we include the base pay range for this role.</p>" },
        ]),
    };
    job.insert("pay_input_ranges".to_owned(), ranges);
    Value::Object(job)
}

pub(crate) fn lever(mut d: Draw, id: &str) -> Value {
    let mut posting = template(Kind::Lever).clone();
    let desc = &d.description;
    let opening_plain = format!("{}\n{}\n", desc.intro, desc.role);
    let opening = format!(
        "<div>{}</div><div><br></div><div>{}</div>",
        text::escape_html(&desc.intro),
        text::escape_html(&desc.role)
    );
    let body_plain = "Here is what the role looks like day to day.\n".to_owned();
    let body = "<div>Here is what the role looks like day to day.</div>".to_owned();
    let mut all_locations = vec![d.place.city];
    all_locations.extend(d.others.iter().map(|other| other.city));
    let commitment = if d.rng.below(8) == 0 { "Part-time" } else { "Full-time" };
    let fields = [
        ("id", json!(id)),
        ("text", json!(d.title)),
        ("country", json!(d.place.code)),
        ("workplaceType", json!(d.workplace.0)),
        ("createdAt", json!(d.published * 1000 + d.rng.below(1000) as i64)),
        ("hostedUrl", json!(format!("https://jobs.lever.co/{}/{id}", d.token))),
        ("applyUrl", json!(format!("https://jobs.lever.co/{}/{id}/apply", d.token))),
        (
            "categories",
            json!({ "commitment": commitment, "department": d.department, "location": d.place.city, "team": d.team, "allLocations": all_locations }),
        ),
        ("opening", json!(opening)),
        ("openingPlain", json!(opening_plain)),
        ("descriptionBody", json!(body)),
        ("descriptionBodyPlain", json!(body_plain)),
        ("description", json!(format!("{opening}{body}"))),
        ("descriptionPlain", json!(format!("{opening_plain}\n{body_plain}"))),
        (
            "lists",
            json!([
                { "text": "What you’ll do", "content": desc.duties_html() },
                { "text": "What you’ll bring", "content": desc.needs_html() },
            ]),
        ),
        ("additional", json!(format!("<div>{}</div>", text::escape_html(&desc.benefits)))),
        ("additionalPlain", json!(format!("{}\n", desc.benefits))),
    ];
    for (key, value) in fields {
        posting.insert(key.to_owned(), value);
    }
    // Lever leaves the pay fields out when a posting has none.
    if d.rng.below(5) == 0 {
        for key in ["salaryRange", "salaryDescription", "salaryDescriptionPlain"] {
            posting.remove(key);
        }
    } else {
        let (min, max) = d.salary;
        let line = format!("The base salary range for this role is ${min} - ${max} per year.");
        posting.insert(
            "salaryRange".into(),
            json!({ "min": min, "max": max, "currency": "USD", "interval": "per-year-salary" }),
        );
        posting.insert("salaryDescription".into(), json!(format!("<div>{}</div>", text::escape_html(&line))));
        posting.insert("salaryDescriptionPlain".into(), json!(format!("{line}\n")));
    }
    Value::Object(posting)
}

fn address(place: &Place) -> Value {
    json!({ "postalAddress": { "addressRegion": place.region, "addressCountry": place.country, "addressLocality": place.city } })
}

pub(crate) fn ashby(mut d: Draw, id: &str) -> Value {
    let mut job = template(Kind::Ashby).clone();
    let (min, max) = d.salary;
    let range = format!("${}K - ${}K", min / 1000, max / 1000);
    let uuid = |rng: &mut Rng| {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&rng.next().to_le_bytes());
        bytes[8..16].copy_from_slice(&rng.next().to_le_bytes());
        text::uuid(&bytes)
    };
    let compensation = json!({
        "compensationTierSummary": format!("{range} • Offers Equity"),
        "scrapeableCompensationSalarySummary": range,
        "compensationTiers": [{
            "id": uuid(&mut d.rng),
            "tierSummary": format!("Salary {range} • Offers Equity"),
            "title": null,
            "additionalInformation": null,
            "components": [
                { "id": uuid(&mut d.rng), "summary": format!("Salary {range}"), "compensationType": "Salary",
                  "interval": "1 YEAR", "currencyCode": "USD", "minValue": min, "maxValue": max },
                { "id": uuid(&mut d.rng), "summary": "Offers Equity", "compensationType": "EquityPercentage",
                  "interval": "NONE", "currencyCode": null, "minValue": null, "maxValue": null },
            ],
        }],
        "summaryComponents": [
            { "compensationType": "Salary", "interval": "1 YEAR", "currencyCode": "USD", "minValue": min, "maxValue": max },
            { "compensationType": "EquityPercentage", "interval": "NONE", "currencyCode": null, "minValue": null, "maxValue": null },
        ],
    });
    let secondary: Vec<Value> =
        d.others.iter().map(|other| json!({ "location": other.city, "address": address(other) })).collect();
    let remote = d.workplace.1 == "Remote";
    let html = d.description.html().replace("<p>", "<p style=\"min-height:1.5em\">");
    let employment = if d.rng.below(10) == 0 { "Contract" } else { "FullTime" };
    let fields = [
        ("id", json!(id)),
        ("title", json!(d.title)),
        ("department", json!(d.department)),
        ("team", json!(d.team)),
        ("employmentType", json!(employment)),
        ("location", json!(d.place.city)),
        ("shouldDisplayCompensationOnJobPostings", json!(true)),
        ("secondaryLocations", json!(secondary)),
        ("publishedAt", json!(format!("{}.{:03}+00:00", utc(d.published, "%Y-%m-%dT%H:%M:%S"), d.rng.below(1000)))),
        ("isListed", json!(true)),
        ("isRemote", if d.rng.below(6) == 0 { Value::Null } else { json!(remote) }),
        ("workplaceType", json!(d.workplace.1)),
        ("address", address(&d.place)),
        ("jobUrl", json!(format!("https://jobs.ashbyhq.com/{}/{id}", d.token))),
        ("applyUrl", json!(format!("https://jobs.ashbyhq.com/{}/{id}/application", d.token))),
        ("descriptionHtml", json!(html)),
        ("descriptionPlain", json!(d.description.plain())),
        ("compensation", compensation),
    ];
    for (key, value) in fields {
        job.insert(key.to_owned(), value);
    }
    Value::Object(job)
}

pub(crate) fn jsonld(mut d: Draw, id: &str) -> Value {
    let mut posting = template(Kind::Jsonld).clone();
    let (min, max) = d.salary;
    let employment = if d.rng.below(2) == 0 { json!("FULL_TIME") } else { json!(["FULL_TIME"]) };
    let fields = [
        ("@context", json!("https://schema.org")),
        ("identifier", json!({ "@type": "PropertyValue", "name": d.company, "value": id })),
        ("title", json!(d.title)),
        (
            "hiringOrganization",
            json!({ "@type": "Organization", "name": d.company, "sameAs": format!("https://{}.example.com/", d.token),
                    "logo": format!("https://{}.example.com/logo.png", d.token) }),
        ),
        (
            "jobLocation",
            json!({ "@type": "Place", "address": { "@type": "PostalAddress", "addressLocality": d.place.city,
                    "addressRegion": d.place.region, "addressCountry": d.place.code } }),
        ),
        (
            "baseSalary",
            json!({ "@type": "MonetaryAmount", "currency": "USD",
                    "value": { "@type": "QuantitativeValue", "minValue": min, "maxValue": max, "unitText": "YEAR" } }),
        ),
        ("employmentType", employment),
        ("description", json!(d.description.html())),
        ("datePosted", json!(utc(d.published, "%Y-%m-%d"))),
        ("validThrough", json!(utc(d.published + 90 * DAY, "%Y-%m-%dT00:00"))),
    ];
    for (key, value) in fields {
        posting.insert(key.to_owned(), value);
    }
    Value::Object(posting)
}
