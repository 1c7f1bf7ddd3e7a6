//! Ashby fixtures.

use super::*;

#[test]
fn ashby_boards() -> TestResult {
    let linear = listing(BoardKind::Ashby, fixture!("ashby/ashby_linear_job_board.json"))?;
    let n = normalized(BoardKind::Ashby, &linear[0])?;
    assert_eq!(n.remote, Some(true));
    assert_eq!(n.location.as_deref(), Some("Europe"));
    assert_eq!(n.department.as_deref(), Some("Product"));
    assert_eq!(n.employment_type.as_deref(), Some("FullTime"));
    assert_eq!(n.compensation, None); // listed without includeCompensation
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2021-04-27T20:13:45.158Z"));
    let hybrid = linear
        .iter()
        .find(|p| p.raw.get("workplaceType").and_then(Value::as_str) == Some("Hybrid"))
        .ok_or("no hybrid job")?;
    assert_eq!(normalized(BoardKind::Ashby, hybrid)?.remote, Some(false));

    let vanta = listing(BoardKind::Ashby, fixture!("ashby/ashby_vanta_job_board_REDACTED.json"))?;
    let n = normalized(BoardKind::Ashby, &vanta[1])?;
    assert_eq!(n.remote, None); // isRemote and workplaceType both null
    assert_eq!(n.location.as_deref(), Some("San Francisco, CA"));

    let wealth = listing(
        BoardKind::Ashby,
        fixture!("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json"),
    )?;
    assert!(wealth.iter().all(|p| p.external_id != "unlisted-draft-0001"));
    let comp: Vec<Option<String>> =
        wealth.iter().map(|p| normalized(BoardKind::Ashby, p).map(|n| n.compensation)).collect::<Result<_, _>>()?;
    assert_eq!(
        comp,
        [
            Some("$130K - $180K \u{2022} Offers Equity".to_owned()),
            Some("$30 - $38 per hour \u{2022} Offers Equity".to_owned()),
            Some("$210K - $490K \u{2022} Offers Equity".to_owned()),
            None,
        ]
    );
    let n = normalized(BoardKind::Ashby, &wealth[2])?;
    assert_eq!(n.location.as_deref(), Some("San Francisco | New York City | Seattle"));
    assert_eq!(n.remote, None);
    Ok(())
}
