//! Connection pools (diesel-async over tokio-postgres, no libpq).

use std::time::Duration;

use anyhow::Context as _;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool};

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;
/// A connection checked out of a [`PgPool`].
pub type PgConn = Object<AsyncPgConnection>;

/// How long to wait for a free connection, and for a new one to open, before failing (a transient failure the
/// caller retries) instead of hanging while the database does not answer.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a pool of at most `max_size` connections to `url`; connections open lazily.
pub fn build(url: &str, max_size: usize) -> anyhow::Result<PgPool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(CHECKOUT_TIMEOUT))
        .create_timeout(Some(CHECKOUT_TIMEOUT))
        .recycle_timeout(Some(CHECKOUT_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("failed to build the PostgreSQL connection pool")
}

/// Checks a connection out of the pool, with an error that says the database could not be reached.
pub async fn conn(pool: &PgPool) -> anyhow::Result<PgConn> {
    pool.get().await.context("failed to get a PostgreSQL connection from the pool")
}
