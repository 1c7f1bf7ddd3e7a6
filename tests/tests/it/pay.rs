//! Pay as numbers beside the board's text: stored from every board that structures it (Greenhouse asked with
//! `pay_transparency`), answered by the API and the export; and postings an older normaliser stored are made again
//! once, without a change recorded.

use std::time::Duration;

use bw_fake_ats::Kind;
use bw_tests::app::{TestApp, token_for};
use bw_tests::client::Api as _;
use bw_vocab::RunStatus;
use reqwest::Method;
use serde_json::Value;

const LONG: Duration = Duration::from_secs(60);

async fn run(app: &TestApp) -> anyhow::Result<String> {
    let id = app.start_run("alice").await?;
    let run = app.wait_for_end("alice", &id, LONG).await?;
    anyhow::ensure!(run.status == RunStatus::Finished, "{run:?}");
    Ok(id)
}

/// Every posting's raw item and its stored pay, by external id.
async fn stored(app: &TestApp) -> anyhow::Result<Vec<Value>> {
    app.db
        .rows(
            "SELECT c.board_kind, p.external_id, p.raw, p.pay_min, p.pay_max, p.pay_currency, p.pay_interval, \
             p.compensation FROM postings p JOIN companies c ON c.id = p.company_id ORDER BY p.external_id",
        )
        .await
}

/// The pay the board's own numbers give for a raw item, read here independently of the normaliser.
fn expected(kind: &str, raw: &Value) -> (Option<f64>, Option<f64>, Option<&'static str>) {
    match kind {
        "greenhouse" => {
            let ranges = raw["pay_input_ranges"].as_array().cloned().unwrap_or_default();
            let min = ranges.iter().filter_map(|r| r["min_cents"].as_f64()).reduce(f64::min).map(|c| c / 100.0);
            let max = ranges.iter().filter_map(|r| r["max_cents"].as_f64()).reduce(f64::max).map(|c| c / 100.0);
            (min, max, None)
        }
        "lever" => (raw["salaryRange"]["min"].as_f64(), raw["salaryRange"]["max"].as_f64(), Some("year")),
        "ashby" => {
            let salary = raw["compensation"]["summaryComponents"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["compensationType"] == "Salary").cloned())
                .unwrap_or_default();
            (salary["minValue"].as_f64(), salary["maxValue"].as_f64(), Some("year"))
        }
        _ => (None, None, None),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_is_stored_from_each_boards_numbers_and_answered_beside_the_text() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 40, 1);
    app.ats.generate_board(Kind::Lever, "globex", 30, 2);
    app.ats.generate_board(Kind::Ashby, "initech", 10, 3);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.add_company("alice", "Initech", "ashby", "initech").await?;
    app.start_runner();
    run(&app).await?;

    let rows = stored(&app).await?;
    assert_eq!(rows.len(), 80);
    let mut with_pay = std::collections::BTreeMap::<String, usize>::new();
    for row in &rows {
        let kind = row["board_kind"].as_str().unwrap_or_default();
        let (min, max, interval) = expected(kind, &row["raw"]);
        let got = (row["pay_min"].as_f64(), row["pay_max"].as_f64(), row["pay_interval"].as_str());
        assert_eq!(got, (min, max, interval.filter(|_| min.is_some())), "{kind} {}", row["external_id"]);
        if min.is_some() {
            assert_eq!(row["pay_currency"], "USD");
            assert!(row["compensation"].is_string(), "the text stays beside the numbers");
            *with_pay.entry(kind.to_owned()).or_default() += 1;
        } else {
            assert!(row["pay_currency"].is_null());
        }
    }
    // The fake gives four in five Greenhouse and Lever postings a range, and every Ashby one.
    for (kind, total) in [("greenhouse", 40), ("lever", 30), ("ashby", 10)] {
        let n = with_pay.get(kind).copied().unwrap_or_default();
        assert!(n > total / 2 && (kind == "ashby" || n < total), "{kind}: {n} of {total} with pay");
    }

    // The API answers the numbers in the list, the posting, and the export.
    let (status, page) = app.call("alice", Method::GET, "/api/postings?limit=100", None).await?;
    assert_eq!(status, 200, "{page}");
    let listed = page["postings"].as_array().cloned().unwrap_or_default();
    let paid =
        listed.iter().find(|p| p["pay_min"].is_number() && p["pay_interval"] == "year").cloned().unwrap_or_default();
    let same = |a: &Value, b: &Value| a.as_f64() == b.as_f64();
    let row = rows.iter().find(|r| same(&r["pay_min"], &paid["pay_min"]) && same(&r["pay_max"], &paid["pay_max"]));
    assert!(row.is_some(), "a listed posting's pay is a stored one: {paid}");
    let (status, one) = app.call("alice", Method::GET, &format!("/api/postings/{}", paid["id"]), None).await?;
    assert_eq!(status, 200, "{one}");
    for field in ["pay_min", "pay_max", "pay_currency", "pay_interval", "compensation"] {
        assert_eq!(one[field], paid[field], "{field}");
    }
    let csv = app
        .http
        .get(format!("{}/api/postings/export?format=csv", app.api_url))
        .bearer_auth(token_for("alice", false))
        .send()
        .await?
        .text()
        .await?;
    let header = csv.split("\r\n").next().unwrap_or_default();
    assert!(header.contains(",compensation,pay_min,pay_max,pay_currency,pay_interval,"), "{header}");
    let yearly = csv.matches(",USD,year,").count();
    assert_eq!(yearly, rows.iter().filter(|r| r["pay_interval"] == "year").count(), "the CSV's pay columns");
    assert!(csv.contains(&format!(
        ",{},{},USD,year,",
        paid["pay_min"].as_f64().unwrap_or_default(),
        paid["pay_max"].as_f64().unwrap_or_default()
    )));
    Ok(())
}

/// Puts the company's Greenhouse postings back as normaliser 1 stored them: listed without `pay_transparency` (no
/// `pay_input_ranges` in the item, its hash over that), no pay.
async fn as_normaliser_one_stored(app: &TestApp) -> anyhow::Result<()> {
    let rows = app
        .db
        .rows("SELECT p.id, p.raw FROM postings p JOIN companies c ON c.id = p.company_id WHERE c.board_kind = 'greenhouse'")
        .await?;
    let mut sql = String::new();
    for row in rows {
        let mut raw = row["raw"].clone();
        raw.as_object_mut().map(|item| item.remove("pay_input_ranges"));
        let listed = bw_extract::ListedPosting { external_id: String::new(), title: String::new(), url: None, raw };
        let json = listed.raw.to_string().replace('\'', "''");
        let hash = hex::encode(listed.content_hash());
        sql.push_str(&format!(
            "UPDATE postings SET raw = '{json}'::json, content_hash = '\\x{hash}'::bytea WHERE id = {};",
            row["id"]
        ));
    }
    sql.push_str(
        "UPDATE postings SET pay_min = NULL, pay_max = NULL, pay_currency = NULL, pay_interval = NULL; \
         UPDATE companies SET normalized_with = 1;",
    );
    app.db.exec(&sql).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postings_an_older_normaliser_stored_are_made_again_once_without_a_change() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Greenhouse, "acme", 30, 1);
    app.ats.generate_board(Kind::Lever, "globex", 20, 2);
    app.add_company("alice", "Acme", "greenhouse", "acme").await?;
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.start_runner();
    run(&app).await?;
    let paid = app.db.scalar("SELECT count(*) FROM postings WHERE pay_min IS NOT NULL").await?;
    let ranged = "SELECT count(*) FROM postings WHERE (raw::jsonb) ? 'pay_input_ranges'";
    assert_eq!(app.db.scalar(ranged).await?, 30, "Greenhouse was asked for its pay ranges");
    // As an earlier release left them.
    as_normaliser_one_stored(&app).await?;
    assert_eq!(app.db.scalar(ranged).await?, 0);
    let changes_before = app.db.scalar("SELECT count(*) FROM posting_changes").await?;

    let second = run(&app).await?;
    let conditional = format!("SELECT count(*) FROM run_companies WHERE run_id = '{second}' AND not_modified");
    assert_eq!(app.db.scalar(&conditional).await?, 0, "the boards were read whole, not asked conditionally");
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE pay_min IS NOT NULL").await?, paid);
    assert_eq!(app.db.scalar(ranged).await?, 30, "the items as listed now");
    assert_eq!(
        app.db.scalar("SELECT count(*) FROM posting_changes").await?,
        changes_before,
        "no change recorded: the pay ranges a newer request adds are not a change of content"
    );
    let content_moved = format!(
        "SELECT count(*) FROM postings WHERE content_changed_at > (SELECT created_at FROM runs WHERE id = '{second}')"
    );
    assert_eq!(app.db.scalar(&content_moved).await?, 0);
    assert_eq!(
        app.db.scalar("SELECT min(normalized_with)::int8 FROM companies").await?,
        i64::from(bw_extract::NORMALIZER_VERSION)
    );

    // Made again once: the next run asks conditionally and writes nothing.
    let third = run(&app).await?;
    let conditional = format!("SELECT count(*) FROM run_companies WHERE run_id = '{third}' AND not_modified");
    assert_eq!(app.db.scalar(&conditional).await?, 2);

    // A posting whose content did change in the meantime is a change, rewrite or not.
    as_normaliser_one_stored(&app).await?;
    let gh = app.ats.posting_ids(Kind::Greenhouse, "acme");
    assert!(app.ats.change_posting(Kind::Greenhouse, "acme", &gh[0]));
    run(&app).await?;
    assert_eq!(app.db.scalar("SELECT count(*) FROM posting_changes").await?, changes_before + 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_whose_expiry_is_held_stays_with_its_older_normaliser() -> anyhow::Result<()> {
    let mut app = TestApp::spawn().await?;
    app.ats.generate_board(Kind::Lever, "globex", 20, 2);
    app.add_company("alice", "Globex", "lever", "globex").await?;
    app.start_runner();
    run(&app).await?;
    app.db.exec("UPDATE companies SET normalized_with = 1").await?;
    // The board suddenly lists one posting of twenty: the expire guard holds the others live, unlisted, and those
    // were not made again.
    for id in app.ats.posting_ids(Kind::Lever, "globex").iter().skip(1) {
        assert!(app.ats.remove_posting(Kind::Lever, "globex", id));
    }
    run(&app).await?;
    assert_eq!(app.db.scalar("SELECT count(*) FROM postings WHERE unlisted_since IS NOT NULL").await?, 19);
    assert_eq!(app.db.scalar("SELECT min(normalized_with)::int8 FROM companies").await?, 1);
    Ok(())
}
