//! Workday, Workable, SmartRecruiters, Teamtailor, Recruitee, Personio and BambooHR fixtures.

use super::*;

/// Normalises a listed posting with a detail answer's posting laid over it, as the ingest stage does.
fn with_detail(
    kind: BoardKind,
    posting: &ListedPosting,
    detail: &Value,
) -> Result<NormalizedPosting, bw_extract::ExtractError> {
    normalize(kind, &posting.raw, Some(detail))
}

#[test]
fn workday_lists_then_details() -> TestResult {
    let nvidia = listing(BoardKind::Workday, fixture!("workday/eujobfeeds_nvidia_list.json"))?;
    let first = &nvidia[0];
    assert_eq!(first.external_id, "/job/Israel-Yokneam/Practical-Hardware-Electronics-Test-Engineer_JR2021705");
    assert!(first.raw.get("postedOn").is_none(), "relative dates change daily and are not kept");
    let listed = normalized(BoardKind::Workday, first)?;
    assert_eq!((listed.location.as_deref(), listed.description), (Some("Israel, Yokneam"), None));
    assert_eq!(normalized(BoardKind::Workday, &nvidia[2])?.location, None, "\"2 Locations\" is not a place");

    let answer: Value = serde_json::from_slice(fixture!("workday/eujobfeeds_nvidia_detail.json"))?;
    let detail = answer.get("jobPostingInfo").ok_or("no jobPostingInfo")?;
    let n = with_detail(BoardKind::Workday, first, detail)?;
    assert_eq!(n.title, "Practical Hardware Electronics Test Engineer");
    assert_eq!(
        n.url.as_deref(),
        Some(
            "https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite/job/Israel-Yokneam/Practical-Hardware-Electronics-Test-Engineer_JR2021705"
        )
    );
    assert_eq!(n.employment_type.as_deref(), Some("Full time"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-08-02T00:00:00.000Z"));
    let description = n.description.ok_or("no description")?;
    assert!(description.starts_with("Our Lab team in Israel Yokneam"), "{description}");
    assert!(description.contains("What you'll be doing:"), "entities decoded: {description}");
    assert_plain(&description, "workday detail");
    assert_eq!((n.department, n.compensation, n.remote), (None, None, None), "the board has none");
    Ok(())
}

#[test]
fn workable_jobs_are_inline() -> TestResult {
    let vasion = listing(BoardKind::Workable, fixture!("workable/jobagent_vasion_widget.json"))?;
    assert_eq!(vasion[0].external_id, "74172297A5");
    let n = normalized(BoardKind::Workable, &vasion[0])?;
    assert_eq!(n.url.as_deref(), Some("https://apply.workable.com/j/74172297A5"));
    assert_eq!(n.location.as_deref(), Some("New South Wales, Australia"));
    assert_eq!(n.remote, Some(true));
    assert_eq!(n.department.as_deref(), Some("Sales - International"));
    assert_eq!(n.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-08-05T00:00:00.000Z"));
    assert!(n.description.is_some_and(|d| d.starts_with("Vasion is a cloud-native SaaS platform")));
    let london = normalized(BoardKind::Workable, &vasion[1])?;
    assert_eq!((london.location.as_deref(), london.remote), (Some("London, England, United Kingdom"), Some(false)));
    Ok(())
}

#[test]
fn smartrecruiters_lists_then_details() -> TestResult {
    let vitol = listing(BoardKind::Smartrecruiters, fixture!("smartrecruiters/vjd_vitol_list_limit5.json"))?;
    let first = &vitol[0];
    assert_eq!((first.external_id.as_str(), first.title.as_str()), ("744000133666057", "Platform Engineer"));
    let detail: Value = serde_json::from_slice(fixture!("smartrecruiters/vjd_vitol_detail.json"))?;
    let n = with_detail(BoardKind::Smartrecruiters, first, &detail)?;
    assert_eq!(n.url.as_deref(), Some("https://jobs.smartrecruiters.com/Vitol/744000133666057-platform-engineer"));
    assert_eq!(n.location.as_deref(), Some("Singapore, Singapore"));
    assert_eq!(n.remote, Some(false));
    assert_eq!(n.department.as_deref(), Some("MIS, Technology"));
    assert_eq!(n.employment_type.as_deref(), Some("Full-time"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-06-23T17:40:25.923Z"));
    let description = n.description.ok_or("no description")?;
    assert!(description.starts_with("Company Description\nVitol is a leader in the energy sector"), "{description}");
    assert!(description.contains("\nJob Description\n") && description.contains("\nQualifications\n"));
    assert!(!description.contains("Additional Information"), "an empty section is left out");
    assert_plain(&description, "smartrecruiters detail");
    let houston = normalized(BoardKind::Smartrecruiters, &vitol[1])?;
    assert_eq!(houston.location.as_deref(), Some("Houston, TX, United States"));
    Ok(())
}

#[test]
fn teamtailor_reads_both_feeds() -> TestResult {
    let json = listing(BoardKind::Teamtailor, fixture!("teamtailor/careerkit_teamtailor_jobs_feed.json"))?;
    assert_eq!(json[0].external_id, "20fafb7d-f013-4061-b6de-2894b3e0838b");
    let n = normalized(BoardKind::Teamtailor, &json[1])?;
    assert_eq!(n.title, "Mid-Market Account Executive - Copenhagen");
    assert_eq!(
        n.url.as_deref(),
        Some("https://career.teamtailor.com/jobs/7069633-mid-market-account-executive-copenhagen")
    );
    let location = n.location.ok_or("no location")?;
    assert!(location.contains("Stockholm") && location.contains("København"), "{location}");
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-01-18T18:35:57.000Z"));
    assert_eq!(n.description, None, "the fixture's feed was trimmed of content_html");

    let rss = listing(BoardKind::Teamtailor, fixture!("teamtailor/jobba_ferd_jobs.rss"))?;
    assert_eq!(rss[0].external_id, "a23bdfdf-e5b7-49d8-8923-e77f96224a6f");
    let n = normalized(BoardKind::Teamtailor, &rss[0])?;
    assert_eq!(n.url.as_deref(), Some("https://ferd.teamtailor.com/jobs/8344301-ferd-digital-internship"));
    assert_eq!(n.location.as_deref(), Some("Oslo"));
    assert_eq!(n.remote, Some(false));
    assert_eq!(n.department.as_deref(), Some("Digital"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-09-08T17:07:00.000Z"));
    let description = n.description.ok_or("no description")?;
    assert!(description.starts_with("Ferd er et familieeid norsk investeringsselskap"), "{description}");
    assert_plain(&description, "teamtailor rss");
    Ok(())
}

#[test]
fn recruitee_offers_carry_pay() -> TestResult {
    let acme = listing(BoardKind::Recruitee, fixture!("recruitee/careerkit_offers_sanitized.json"))?;
    assert_eq!(acme[0].external_id, "2700825");
    let n = normalized(BoardKind::Recruitee, &acme[0])?;
    assert_eq!(n.location.as_deref(), Some("Berlin, Berlin, Germany"));
    assert_eq!(n.remote, Some(false), "hybrid");
    assert_eq!(n.department.as_deref(), Some("Finance"));
    assert_eq!(n.compensation.as_deref(), Some("EUR 60,000 - 75,000 per year"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2026-08-05T10:10:39.000Z"));
    assert_eq!(rfc3339(n.updated_at).as_deref(), Some("2026-08-05T11:45:30.000Z"));
    let description = n.description.ok_or("no description")?;
    assert!(description.starts_with("How you will make an impact"), "{description}");
    assert!(description.contains("What we expect from you"), "requirements follow the description");
    Ok(())
}

#[test]
fn personio_positions_from_xml() -> TestResult {
    let one = listing(BoardKind::Personio, fixture!("personio/clearfetch_personio_feed_one_position.xml"))?;
    assert_eq!(
        (one[0].external_id.as_str(), one[0].title.as_str()),
        ("1834171", "Staff Software Engineer, Data Platform")
    );
    let n = normalized(BoardKind::Personio, &one[0])?;
    assert_eq!(n.location.as_deref(), Some("Munich | Berlin"));
    assert_eq!(n.department.as_deref(), Some("Product and Tech"));
    assert_eq!(n.employment_type.as_deref(), Some("permanent, full-time"));
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2024-11-13T14:10:41.000Z"));
    let description = n.description.ok_or("no description")?;
    assert!(
        description.starts_with("The Role: How you'll make an impact at Personio\nThis position is hybrid"),
        "{description}"
    );
    assert_plain(&description, "personio");
    let twice = listing(BoardKind::Personio, fixture!("personio/careerkit_feed_sanitized.xml"))?;
    assert_eq!(normalized(BoardKind::Personio, &twice[0])?.description, None, "empty jobDescriptions");
    Ok(())
}

#[test]
fn bamboohr_lists_then_details() -> TestResult {
    let jobs = listing(BoardKind::Bamboohr, fixture!("bamboohr/mwbackend_collectivemeasures_list.json"))?;
    assert_eq!((jobs[0].external_id.as_str(), jobs[0].title.as_str()), ("214", "Future Interest Application"));
    let listed = normalized(BoardKind::Bamboohr, &jobs[1])?;
    assert_eq!(listed.department.as_deref(), Some("Performance Media"));
    assert_eq!(listed.location.as_deref(), Some("Minneapolis, Minnesota"));
    let answer: Value = serde_json::from_slice(fixture!("bamboohr/mwbackend_collectivemeasures_detail.json"))?;
    let detail = answer.pointer("/result/jobOpening").ok_or("no jobOpening")?;
    let n = with_detail(BoardKind::Bamboohr, &jobs[0], detail)?;
    assert_eq!(n.url.as_deref(), Some("https://collectivemeasures.bamboohr.com/careers/214"));
    assert_eq!(n.location.as_deref(), Some("Minneapolis, Minnesota, United States"));
    assert_eq!(n.employment_type.as_deref(), Some("Full time"));
    assert_eq!(n.remote, Some(false), "isRemote is null; locationType 2 is hybrid");
    assert_eq!(rfc3339(n.posted_at).as_deref(), Some("2023-07-25T00:00:00.000Z"));
    assert!(n.description.is_some_and(|d| d.starts_with("If you are interested in joining our team")));
    Ok(())
}
