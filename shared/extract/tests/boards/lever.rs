//! Lever fixtures.

use super::*;

#[test]
fn lever_plaid_board() -> TestResult {
    let postings = listing(BoardKind::Lever, fixture!("lever/lever_plaid_postings.json"))?;
    let first = &postings[0];
    assert_eq!(first.external_id, "d6389903-e642-4189-804c-02d271714bdb");
    assert_eq!(first.url.as_deref(), Some("https://jobs.lever.co/plaid/d6389903-e642-4189-804c-02d271714bdb"));
    let n = normalized(BoardKind::Lever, first)?;
    assert_eq!(n.location.as_deref(), Some("New York | San Francisco"));
    assert_eq!(n.remote, Some(false)); // hybrid
    assert_eq!(n.department.as_deref(), Some("Sales"));
    assert_eq!(n.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(n.compensation.as_deref(), Some("USD 240,000 per year"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-01-08T23:26:43.825Z"));
    let description = n.description.unwrap_or_default();
    assert!(description.starts_with("We believe that the way people interact"), "{description}");
    assert!(description.contains("\nResponsibilities\n- Identify opportunities for Plaid solutions"), "{description}");
    assert!(description.contains("Our mission at Plaid is to unlock financial freedom"), "{description}");
    let n = normalized(BoardKind::Lever, &postings[2])?;
    assert_eq!(n.compensation.as_deref(), Some("USD 285,108 - 309,000 per year"));
    let workplaces: std::collections::HashSet<Option<bool>> =
        postings.iter().map(|p| normalized(BoardKind::Lever, p).map(|n| n.remote)).collect::<Result<_, _>>()?;
    assert_eq!(workplaces, [Some(true), Some(false)].into_iter().collect()); // remote, onsite, hybrid
    Ok(())
}

#[test]
fn lever_veeva_and_outreach_boards() -> TestResult {
    let veeva = listing(BoardKind::Lever, fixture!("lever/lever_veeva_postings_REDACTED.json"))?;
    let n = normalized(BoardKind::Lever, &veeva[0])?;
    assert_eq!(n.location.as_deref(), Some("Portugal - Lisbon"));
    assert_eq!(n.remote, Some(true));
    assert_eq!(n.compensation, None);
    let description = n.description.unwrap_or_default();
    assert!(
        description.starts_with(
            "Veeva Systems is a mission-driven organization and pioneer i [redacted for the fixture]\n#RemotePortugal"
        ),
        "{description}"
    );

    let outreach = listing(BoardKind::Lever, fixture!("lever/lever_outreach_postings_TRIMMED.json"))?;
    let n = normalized(BoardKind::Lever, &outreach[0])?;
    assert_eq!(n.compensation.as_deref(), Some("USD 140,000 - 160,000 per year"));
    assert_eq!(n.remote, Some(true));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-06-29T17:15:06.506Z"));
    assert!(n.description.unwrap_or_default().starts_with("About Outreach\nOutreach, founded in 2014"));
    let n = normalized(BoardKind::Lever, &outreach[1])?;
    assert_eq!((n.remote, n.compensation), (Some(false), None)); // hybrid, no salaryRange
    Ok(())
}
