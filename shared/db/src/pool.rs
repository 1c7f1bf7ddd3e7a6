//! Connection pools (diesel-async over tokio-postgres, no libpq), opened through [`crate::connect`] so they honour
//! `sslmode`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use futures::FutureExt as _;

use crate::connect::Target;

/// A pool of PostgreSQL connections.
pub type PgPool = Pool<AsyncPgConnection>;
/// A connection checked out of a [`PgPool`].
pub type PgConn = Object<AsyncPgConnection>;

/// How long to wait for a free connection, and for a new one to open, before failing (a transient failure the
/// caller retries) instead of hanging while the database does not answer.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a pool of at most `max_size` connections to `url`; connections open lazily. A bad URL (an unknown
/// `sslmode`, an unreadable `sslrootcert`) fails here, not at the first query.
pub fn build(url: &str, max_size: usize) -> anyhow::Result<PgPool> {
    let target = Arc::new(Target::parse(url)?);
    let mut config = ManagerConfig::default();
    config.custom_setup = Box::new(move |_url| {
        let target = Arc::clone(&target);
        async move { target.diesel().await.map_err(|e| diesel::ConnectionError::BadConnection(format!("{e:#}"))) }
            .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(CHECKOUT_TIMEOUT))
        .create_timeout(Some(CHECKOUT_TIMEOUT))
        .recycle_timeout(Some(CHECKOUT_TIMEOUT))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .context("failed to build the PostgreSQL connection pool")
}

/// Checks a connection out of the pool, with an error that says the database could not be reached, and why. The
/// pool's error already prints its cause (a connection error from [`Target`] names the URL and the TLS problem), so
/// it is formatted into one message rather than chained, which would print the cause twice.
pub async fn conn(pool: &PgPool) -> anyhow::Result<PgConn> {
    pool.get().await.map_err(|e| anyhow::anyhow!("failed to get a PostgreSQL connection from the pool: {e}"))
}

/// Connections the pool could hand out now without anyone waiting: idle ones and ones it may still open, less the
/// callers already waiting.
pub fn spare(pool: &PgPool) -> usize {
    let status = pool.status();
    (status.max_size.saturating_sub(status.size) + status.available).saturating_sub(status.waiting)
}
