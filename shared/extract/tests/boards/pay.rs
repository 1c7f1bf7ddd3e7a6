//! Structured pay on the real payloads: every board's own numbers, never read out of prose.

use bw_extract::Pay;
use bw_vocab::PayInterval;

use super::*;

fn pay(min: f64, max: f64, currency: &str, interval: Option<PayInterval>) -> Option<Pay> {
    Some(Pay { min: Some(min), max: Some(max), currency: Some(currency.to_owned()), interval })
}

fn pays(kind: BoardKind, body: &[u8]) -> Result<Vec<Option<Pay>>, bw_extract::ExtractError> {
    listing(kind, body)?.iter().map(|p| normalized(kind, p).map(|n| n.pay)).collect()
}

#[test]
fn lever_salary_ranges_whatever_their_key_order() -> TestResult {
    let plaid = pays(BoardKind::Lever, fixture!("lever/lever_plaid_postings.json"))?;
    let year = Some(PayInterval::Year);
    // `{min, max, ...}`, `{min, currency, interval, max}`, `{currency, interval, max, min}` in the capture.
    assert_eq!(plaid[0], pay(240000.0, 240000.0, "USD", year));
    assert_eq!(plaid[1], pay(309000.0, 309000.0, "USD", year));
    assert_eq!(plaid[4], pay(73788.0, 96600.0, "USD", year));
    assert_eq!(plaid[15], pay(193200.0, 358800.0, "USD", year));
    // The postings without a salaryRange have no pay, even where their text names one.
    let ranged = plaid.iter().filter(|p| p.is_some()).count();
    assert_eq!(ranged, 19, "19 of the 20 postings carry a salaryRange");
    // The Veeva capture has no salaryRange at all.
    assert!(pays(BoardKind::Lever, fixture!("lever/lever_veeva_postings_REDACTED.json"))?.iter().all(Option::is_none));
    Ok(())
}

#[test]
fn ashby_salary_components_and_not_equity() -> TestResult {
    let body = fixture!("ashby/ashby_wealthcom_openai_board_with_compensation_PARTLY_SYNTHETIC.json");
    let wealth = pays(BoardKind::Ashby, body)?;
    assert_eq!(
        wealth,
        [
            pay(130000.0, 180000.0, "USD", Some(PayInterval::Year)),
            pay(30.0, 38.0, "USD", Some(PayInterval::Hour)),
            // Its first component is equity with a cash value but no amount; the salary follows.
            pay(210000.0, 490000.0, "USD", Some(PayInterval::Year)),
            None,
        ]
    );
    // Listed without includeCompensation: nothing to read.
    assert!(pays(BoardKind::Ashby, fixture!("ashby/ashby_linear_job_board.json"))?.iter().all(Option::is_none));
    Ok(())
}

#[test]
fn greenhouse_pay_input_ranges_in_dollars_not_cents() -> TestResult {
    // The documented example is JSON with a `//` comment line.
    let text = std::str::from_utf8(fixture!("greenhouse/gh_docs_retrieve_job.jsonc"))?;
    let json: String = text.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    let job: Value = serde_json::from_str(&json)?;
    let n = normalize(BoardKind::Greenhouse, &job, None)?;
    assert_eq!(n.pay, pay(50000.0, 75000.0, "USD", None), "Greenhouse states no period");
    assert_eq!(n.compensation.as_deref(), Some("USD 50,000 - 75,000 (NYC Salary Range)"));
    // The same range laid over a list item as its detail.
    let listed = listing(BoardKind::Greenhouse, fixture!("greenhouse/gh_docs_list_jobs.json"))?;
    let n = normalize(BoardKind::Greenhouse, &listed[0].raw, Some(&job))?;
    assert_eq!(n.pay.and_then(|p| p.max), Some(75000.0));
    // Captured without pay_transparency: no ranges.
    let airbnb = fixture!("greenhouse/gh_airbnb_board_jobs_content_true.json");
    assert!(pays(BoardKind::Greenhouse, airbnb)?.iter().all(Option::is_none));
    Ok(())
}

#[test]
fn jsonld_base_salary_as_text_and_as_a_monetary_amount() -> TestResult {
    let documented = pays(BoardKind::Jsonld, fixture!("jsonld/schemaorg_eg-0028_JobPosting.jsonld.html"))?;
    assert_eq!(documented, [pay(100000.0, 100000.0, "USD", None)], "the string \"100000\" with salaryCurrency");
    let lamp = pays(BoardKind::Jsonld, fixture!("jsonld/lamp_jp_recruit_JobPosting.jsonld.html"))?;
    assert_eq!(lamp, [pay(900.0, 900.0, "JPY", Some(PayInterval::Hour))], "a capitalised `Value`");
    Ok(())
}
