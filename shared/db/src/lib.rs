//! The database layer: schema, models, and every query the services run. Each write is guarded by state (status
//! checks, leases, `ON CONFLICT`), so a message handled twice leaves the same rows as one handling.

pub mod browse;
pub mod companies;
pub mod connect;
pub mod counts;
pub mod events;
pub mod expiry;
pub mod failures;
pub mod lease;
pub mod listings;
pub mod llm;
pub mod llm_tries;
pub mod migrate;
pub mod models;
pub mod notify;
pub mod pool;
pub mod postings;
pub mod runs;
pub mod schedules;
pub mod schema;
pub mod screens;
pub mod tls;
pub mod webhooks;

pub use pool::{PgConn, PgPool};

/// PostgreSQL refuses statements with more than 32,767 bind parameters; bulk writes stay under this bound.
pub const MAX_BIND_PARAMS: usize = 30_000;

/// `text` PostgreSQL can store: NUL characters (which boards and error messages do carry) removed.
pub(crate) fn storable(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "") } else { text }
}

/// `now() + secs` seconds, on the database's clock: leases and poll times are set and compared on one clock, so a
/// service host whose clock drifts cannot make a lease live longer or shorter than intended.
pub(crate) fn db_now_plus<ST: diesel::sql_types::SingleValue>(secs: i64) -> diesel::expression::SqlLiteral<ST> {
    diesel::dsl::sql::<ST>(&format!("now() + make_interval(secs => {secs})"))
}
