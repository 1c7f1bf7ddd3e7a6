//! Keeping a lease (a run's, a job's) alive while its holder works: renewed every third of its length, so a short
//! lease, which is what a dead holder's work waits out, holds for work of any length.

use std::future::Future;
use std::time::Duration;

use crate::{PgConn, PgPool, pool};

/// The renewal task of one piece of work; dropping it stops the renewals (also when the work's future is dropped
/// before it ends, so a cancelled holder does not keep its lease alive).
pub struct Renewal(tokio::task::JoinHandle<()>);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts renewing: every third of `lease_secs`, `renew` gets a connection and says whether the lease is still
/// ours (`Ok(false)` stops the renewals). A failed renewal (the database away) is logged and tried again next time.
pub fn keep<F, Fut>(pool: PgPool, lease_secs: i64, mut renew: F) -> Renewal
where
    F: FnMut(PgConn) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<bool>> + Send,
{
    let every = Duration::from_secs(u64::try_from(lease_secs / 3).unwrap_or(10).max(1));
    Renewal(tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Ok(conn) = pool::conn(&pool).await else { continue };
            match renew(conn).await {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => tracing::warn!(error = %bw_telemetry::chain(error.as_ref()), "could not renew a lease"),
            }
        }
    }))
}
