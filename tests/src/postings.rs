//! Postings stored for a test through the real write path (`bw_db::postings::upsert`, as a run's extract stage
//! stores them), with fields and flags set by hand where a test needs them.

use bw_db::companies::{self, Created};
use bw_db::postings::{self, Expiring, Listing, NewPosting};
use bw_vocab::BoardKind;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::TestDb;

/// One posting to store: its external id, title and content version (a new version is a content change).
pub fn posting(external_id: &str, title: &str, version: u32) -> NewPosting {
    let raw = serde_json::json!({ "id": external_id, "title": title, "version": version });
    let content_hash = sha2_of(&raw.to_string());
    NewPosting {
        external_id: external_id.to_owned(),
        content_hash,
        title: title.to_owned(),
        url: None,
        raw,
        normalized: None,
    }
}

fn sha2_of(text: &str) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(text.as_bytes()).to_vec()
}

/// The user's company following `kind`/`token` (created when missing); answers its id.
pub async fn company(db: &TestDb, user: &str, name: &str, kind: BoardKind, token: &str) -> anyhow::Result<Uuid> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    Ok(match companies::create(&mut conn, user, name, companies::BoardRef::us(kind, token)).await? {
        Created::Company(c) | Created::Duplicate(c) => c.id,
    })
}

/// Stores `postings` as company `company_id`'s listing seen by run `run_id` at `at` (a run id of the caller's; no
/// run row is needed).
pub async fn store(
    db: &TestDb,
    user: &str,
    company_id: Uuid,
    run_id: Uuid,
    at: DateTime<Utc>,
    postings: &[NewPosting],
) -> anyhow::Result<()> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    let listing = Listing { run_id, user_id: user, company_id, seen_at: at, rewrite: false };
    postings::upsert(&mut conn, listing, postings).await?;
    Ok(())
}

/// Expires the company's postings `listed` leaves out, as run `run_id` at `at`; answers how many expired.
pub async fn expire(
    db: &TestDb,
    company_id: Uuid,
    listed: &[&str],
    run_id: Uuid,
    at: DateTime<Utc>,
) -> anyhow::Result<i64> {
    let mut conn = bw_db::pool::conn(&db.pool).await?;
    postings::expire_missing(&mut conn, company_id, listed, Expiring { run_id, at }).await
}

/// A job of `user`'s (named `name`) that flags the postings `flagged` with `label` (and decides the others not).
pub async fn flag(
    db: &TestDb,
    user: &str,
    name: &str,
    label: &str,
    flagged: &[i64],
    unflagged: &[i64],
) -> anyhow::Result<Uuid> {
    let job = Uuid::new_v4();
    db.exec(&format!(
        "INSERT INTO llm_jobs (id, user_id, name, model, instructions, mode, status) \
         VALUES ('{job}', '{user}', '{name}', 'gpt-4.1-nano', 'q', 'background', 'completed')"
    ))
    .await?;
    for (ids, flag) in [(flagged, true), (unflagged, false)] {
        for id in ids {
            db.exec(&format!(
                "INSERT INTO entity_flags (entity_kind, entity_id, job_id, user_id, flag, label, reason) \
                 VALUES ('posting', {id}, '{job}', '{user}', {flag}, '{}', 'because {id}')",
                if flag { label } else { "no" }
            ))
            .await?;
        }
    }
    Ok(job)
}
