//! Greenhouse fixtures.

use super::*;

#[test]
fn greenhouse_airbnb_board() -> TestResult {
    let postings = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_airbnb_board_jobs_content_true.json"))?;
    let first = &postings[0];
    assert_eq!(first.external_id, "7649441");
    assert_eq!(first.url.as_deref(), Some("https://careers.airbnb.com/positions/7649441?gh_jid=7649441"));
    let n = normalized(BoardKind::Greenhouse, first)?;
    assert_eq!(n.title, "Account Executive (12 Month FTC)");
    assert_eq!(n.location.as_deref(), Some("Paris, France"));
    assert_eq!(n.remote, Some(false)); // metadata "Workplace Type": "Hybrid"
    assert_eq!(n.department.as_deref(), Some("Sales"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-02-24T14:04:33.000Z")); // -05:00 offset
    assert_eq!(rfc3339(n.updated_at).as_deref(), Some("2026-02-24T14:25:19.000Z"));
    let description = n.description.unwrap_or_default();
    assert!(description.starts_with("Airbnb was born in 2007 when two hosts welcomed three guests"), "{description}");
    assert!(description.contains("\nThe Community You Will Join:\nThe Airbnb Hotels team"), "{description}");
    assert!(description.contains("available to our guests."), "{description}"); // &amp;nbsp; became a space
    let remote: Vec<Option<bool>> =
        postings.iter().map(|p| normalized(BoardKind::Greenhouse, p).map(|n| n.remote)).collect::<Result<_, _>>()?;
    assert_eq!(remote.iter().filter(|r| **r == Some(true)).count(), 12);
    assert!(remote.iter().all(Option::is_some));
    // "United States " has a trailing space.
    assert_eq!(normalized(BoardKind::Greenhouse, &postings[3])?.location.as_deref(), Some("United States"));
    Ok(())
}

#[test]
fn greenhouse_databricks_without_meta_and_with_multi_select_metadata() -> TestResult {
    let postings =
        listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_databricks_board_jobs_content_true_REDACTED.json"))?;
    assert_eq!(postings[0].external_id, "8559344002"); // past 2^32
    assert_eq!(postings[0].title, "ソリューションアーキテクト (プリセールス)");
    let n = normalized(BoardKind::Greenhouse, &postings[1])?;
    assert_eq!(n.department.as_deref(), Some("Delivery Solutions Architects"));
    assert_eq!(n.remote, None);
    assert_eq!(
        n.description.as_deref(),
        Some("CSQ327R31\nDatabricksは、お客様がAIプラット [redacted for the fixture]")
    );
    Ok(())
}

#[test]
fn greenhouse_docs_examples_with_double_escaped_content() -> TestResult {
    let with = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_docs_list_jobs_content_true.json"))?;
    let n = normalized(BoardKind::Greenhouse, &with[0])?;
    assert_eq!(
        n.description.as_deref(),
        Some(
            "This is the job description.\nAny HTML included through the hosted job application editor will be automatically converted into corresponding HTML entities."
        )
    );
    assert_eq!(n.department.as_deref(), Some("Department of Departments"));
    assert_eq!(rfc3339(n.updated_at).as_deref(), Some("2016-01-14T15:55:28.000Z"));
    let without = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_docs_list_jobs.json"))?;
    assert_eq!(without[0].external_id, "127817");
    assert!(needs_detail(BoardKind::Greenhouse, &without[0].raw));
    assert!(!needs_detail(BoardKind::Greenhouse, &with[0].raw));
    Ok(())
}

#[test]
fn greenhouse_gong_list_without_content_plus_detail() -> TestResult {
    let postings = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_gongio_board_jobs_no_content.json"))?;
    assert!(postings.iter().all(|p| needs_detail(BoardKind::Greenhouse, &p.raw)));
    assert!(!needs_detail(BoardKind::Lever, &postings[0].raw));
    let bare = normalized(BoardKind::Greenhouse, &postings[0])?;
    assert_eq!(bare.location.as_deref(), Some("Austin | Chicago | New York City | Salt Lake City | San Francisco"));
    assert_eq!(bare.description, None);
    assert_eq!(bare.employment_type, None); // "Time Type" is null here
    let second = normalized(BoardKind::Greenhouse, &postings[1])?;
    assert_eq!(second.employment_type.as_deref(), Some("Full time"));
    assert_eq!(second.remote, Some(true)); // "Remote (US)"

    let detail: Value = serde_json::from_slice(fixture!("greenhouse/gh_gongio_job_detail_TRIMMED.json"))?;
    let n = normalize(BoardKind::Greenhouse, &postings[0].raw, Some(&detail))?;
    assert_eq!(n.department.as_deref(), Some("Customer Success"));
    assert_eq!(
        n.description.as_deref(),
        Some(
            "Trimmed for fixture.\nEducation & learning stipend.\nThe annual OTE for this position is $90,000 - $120,000 USD.\nCompensation is based on factors unique to each candidate, i"
        )
    );
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-05-07T18:53:31.000Z"));
    Ok(())
}

#[test]
fn greenhouse_anthropic_detail_alone() -> TestResult {
    let detail: Value =
        serde_json::from_slice(fixture!("greenhouse/gh_anthropic_job_detail_TRIMMED.transcribed.json"))?;
    let n = normalize(BoardKind::Greenhouse, &detail, None)?;
    assert_eq!(n.title, "AI Operations Engineer, Partnerships");
    assert_eq!(
        n.description.as_deref(),
        Some(
            "About Anthropic\nAnthropic\u{2019}s mission is to create reliable, interpretable, and steerable AI systems.\nYou may be a good fit if you have\n- 3+ years of experience in software engineering"
        )
    );
    assert_eq!(rfc3339(n.updated_at).as_deref(), Some("2026-08-24T23:47:05.000Z"));
    Ok(())
}
