//! Migrations are a deploy step (`ctl migrate`), never start-up work.

use anyhow::Context as _;
use diesel_async::AsyncPgConnection;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations in the repository's `migrations/` folder, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// Applies every pending migration to the database at `url` and returns the versions applied.
pub async fn run_pending(url: &str) -> anyhow::Result<Vec<String>> {
    let conn = crate::connect::Target::parse(url)?
        .diesel()
        .await
        .with_context(|| format!("failed to connect to {} to migrate it", redact(url)))?;
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        // Built on the blocking thread: the wrapper drives the async connection on the runtime it finds here.
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        let applied = conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    })
    .await
    .context("migration task panicked")?
}

/// `url` with any password replaced, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Creates the database named in `url` when it does not exist, connecting to the server's `postgres` database (with
/// the same TLS settings). Returns whether it created it.
pub async fn create_database_if_missing(url: &str) -> anyhow::Result<bool> {
    let name = crate::connect::database_name(url).with_context(|| format!("{} has no database name", redact(url)))?;
    anyhow::ensure!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "database name {name:?} must be letters, digits and underscores"
    );
    let admin = crate::connect::with_database(url, "postgres");
    let client = crate::connect::client(&admin)
        .await
        .with_context(|| format!("PostgreSQL is not reachable at {}", redact(&admin)))?;
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name]).await?.is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .with_context(|| format!("failed to create {name}"))?;
    }
    Ok(!exists)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(super::redact("postgres://u:pw@h:5432/d"), "postgres://u:***@h:5432/d");
        assert_eq!(super::redact("postgres://h/d"), "postgres://h/d");
    }
}
