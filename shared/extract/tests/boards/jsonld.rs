//! JSON-LD careers page fixtures.

use super::*;

#[test]
fn jsonld_pages() -> TestResult {
    let lamp = listing(BoardKind::Jsonld, fixture!("jsonld/lamp_jp_recruit_JobPosting.jsonld.html"))?;
    assert_eq!(lamp[0].title, "Webデザイナー");
    assert_eq!(lamp[0].external_id.len(), 64); // no identifier or url: hash of title and organization
    let n = normalized(BoardKind::Jsonld, &lamp[0])?;
    assert_eq!(n.employment_type.as_deref(), Some("PART_TIME, INTERN"));
    assert_eq!(n.compensation.as_deref(), Some("JPY 900 per hour")); // capitalised "Value"
    assert_eq!(n.location.as_deref(), Some("京都市, 京都府, JP"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2019-04-18T00:00:00.000Z"));
    assert!(n.description.unwrap_or_default().starts_with("業務内容\nコンテンツマーケティング"));

    let eg28 = listing(BoardKind::Jsonld, fixture!("jsonld/schemaorg_eg-0028_JobPosting.jsonld.html"))?;
    let n = normalized(BoardKind::Jsonld, &eg28[0])?;
    assert_eq!(n.title, "Software Engineer");
    assert_eq!(n.compensation.as_deref(), Some("USD 100,000")); // string baseSalary + salaryCurrency
    assert_eq!(n.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(n.location.as_deref(), Some("Kirkland, WA"));

    let eg268 = listing(
        BoardKind::Jsonld,
        fixture!("jsonld/schemaorg_eg-0268_JobPosting_applicantLocationRequirements.jsonld.html"),
    )?;
    let n = normalized(BoardKind::Jsonld, &eg268[0])?;
    assert_eq!(n.title, "Telecommute from anywhere in USA!"); // `name`, no `title`
    assert_eq!(n.location.as_deref(), Some("USA"));
    Ok(())
}
