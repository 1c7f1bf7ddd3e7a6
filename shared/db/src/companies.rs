//! Companies a user follows. Removal is soft so the next run can expire the company's postings.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::models::{BoardKind, BoardRegion, Company};
use crate::schema::companies::dsl as c;

/// What creating a company came to.
pub enum Created {
    Company(Company),
    /// The user already follows this board.
    Duplicate(Company),
}

/// A board as a company names it: its kind, the host it is on and its token.
#[derive(Clone, Copy, Debug)]
pub struct BoardRef<'a> {
    pub kind: BoardKind,
    pub region: BoardRegion,
    pub token: &'a str,
}

impl<'a> BoardRef<'a> {
    /// A board on its service's main host.
    pub fn us(kind: BoardKind, token: &'a str) -> Self {
        Self { kind, region: BoardRegion::Us, token }
    }
}

/// Adds a company for `user_id`, or returns the live company that already has this board.
pub async fn create(
    conn: &mut diesel_async::AsyncPgConnection,
    user_id: &str,
    name: &str,
    board: BoardRef<'_>,
) -> anyhow::Result<Created> {
    let row = (
        c::id.eq(Uuid::new_v4()),
        c::user_id.eq(user_id),
        c::name.eq(name),
        c::board_kind.eq(board.kind),
        c::board_region.eq(board.region),
        c::board_token.eq(board.token),
    );
    let inserted: Option<Company> = diesel::insert_into(c::companies)
        .values(row)
        .on_conflict_do_nothing()
        .returning(Company::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(company) = inserted {
        return Ok(Created::Company(company));
    }
    let existing = c::companies
        .filter(c::user_id.eq(user_id))
        .filter(c::board_kind.eq(board.kind))
        .filter(c::board_region.eq(board.region))
        .filter(c::board_token.eq(board.token))
        .filter(c::deleted_at.is_null())
        .select(Company::as_select())
        .first(conn)
        .await?;
    Ok(Created::Duplicate(existing))
}

/// The user's live companies, oldest first.
pub async fn list(conn: &mut diesel_async::AsyncPgConnection, user_id: &str) -> anyhow::Result<Vec<Company>> {
    Ok(c::companies
        .filter(c::user_id.eq(user_id))
        .filter(c::deleted_at.is_null())
        .order((c::created_at.asc(), c::id.asc()))
        .select(Company::as_select())
        .load(conn)
        .await?)
}

/// Soft-deletes the user's company; `false` when there is no such live company.
pub async fn remove(conn: &mut diesel_async::AsyncPgConnection, user_id: &str, id: Uuid) -> anyhow::Result<bool> {
    let n = diesel::update(c::companies)
        .filter(c::id.eq(id))
        .filter(c::user_id.eq(user_id))
        .filter(c::deleted_at.is_null())
        .set(c::deleted_at.eq(Utc::now()))
        .execute(conn)
        .await?;
    Ok(n == 1)
}
