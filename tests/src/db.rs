//! A real PostgreSQL database per test, cloned from a migrated template and dropped afterwards.

use anyhow::Context as _;
use bw_db::PgPool;

/// Prefix of the template databases every test database is cloned from.
const TEMPLATE_PREFIX: &str = "bw_tpl_";

/// The template's name: the prefix and a hash of the migration files, so a changed migration gets a new template
/// (a migration edited in place keeps its version, and `run_pending` would not notice).
fn template_name() -> anyhow::Result<String> {
    use sha2::{Digest as _, Sha256};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).with_context(|| format!("cannot read {}", root.display()))? {
        for file in std::fs::read_dir(dir?.path())? {
            files.push(file?.path());
        }
    }
    files.sort();
    let mut hash = Sha256::new();
    for file in files {
        hash.update(file.to_string_lossy().rsplit("migrations").next().unwrap_or_default().as_bytes());
        hash.update(std::fs::read(&file)?);
    }
    Ok(format!("{TEMPLATE_PREFIX}{}", &hex::encode(hash.finalize())[..12]))
}
/// Advisory lock serialising template migration and cloning across test processes.
const LOCK_KEY: i64 = 0x6277_7465_7374;

/// The maintenance database URL: `TEST_ADMIN_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`.
pub fn admin_url() -> String {
    bw_config::optional("TEST_ADMIN_DATABASE_URL")
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

fn url_for(admin: &str, database: &str) -> String {
    bw_db::connect::with_database(admin, database)
}

/// A database of its own for one test; dropped (with its connections) when this value drops.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub pool: PgPool,
    /// Where its one-off connections (for assertions and setup) go.
    target: bw_db::connect::Target,
    /// The maintenance database of the server it lives on.
    admin: String,
}

impl TestDb {
    /// Clones a fresh database from the migrated template.
    pub async fn new() -> anyhow::Result<Self> {
        Self::new_on(&admin_url()).await
    }

    /// Clones a fresh database on the server whose maintenance database is at `admin` (a URL whose query, such as
    /// its TLS settings, every connection keeps).
    pub async fn new_on(admin: &str) -> anyhow::Result<Self> {
        let client = bw_db::connect::client(admin)
            .await
            .with_context(|| format!("PostgreSQL is not reachable at {admin} (run scripts/bootstrap.sh)"))?;
        client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY]).await?;
        let result = Self::clone_template(&client, admin).await;
        client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]).await?;
        drop(client);
        let name = result?;
        let url = url_for(admin, &name);
        let pool = bw_db::pool::build(&url, 8)?;
        let target = bw_db::connect::Target::parse(&url)?;
        Ok(Self { name, url, pool, target, admin: admin.to_owned() })
    }

    async fn clone_template(client: &tokio_postgres::Client, admin: &str) -> anyhow::Result<String> {
        let template = template_name()?;
        let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&template]).await?.is_some();
        if !exists {
            let stale = client
                .query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", &[&TEMPLATE_PREFIX])
                .await?;
            for row in stale {
                let name: String = row.try_get(0)?;
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await;
            }
            client.batch_execute(&format!("CREATE DATABASE {template}")).await?;
            // The migration connection closes before cloning.
            if let Err(error) = bw_db::migrate::run_pending(&url_for(admin, &template)).await {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {template}")).await;
                return Err(error.context("failed to migrate the template database"));
            }
        }
        let name = format!("bwt_{}", uuid::Uuid::new_v4().simple());
        client
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
            .context("failed to clone the template")?;
        Ok(name)
    }

    /// Runs one SQL statement returning a single i64 (a count), for assertions.
    pub async fn scalar(&self, sql: &str) -> anyhow::Result<i64> {
        let client = self.target.client().await?;
        let row = client.query_one(sql, &[]).await.with_context(|| format!("query failed: {sql}"))?;
        Ok(row.try_get(0)?)
    }

    /// Runs statements that return nothing (DDL, updates), for test setup.
    pub async fn exec(&self, sql: &str) -> anyhow::Result<()> {
        let client = self.target.client().await?;
        client.batch_execute(sql).await.with_context(|| format!("statement failed: {sql}"))
    }

    /// Runs SQL and returns the rows as JSON objects (one `row_to_json` column), for assertions.
    pub async fn rows(&self, sql: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        let client = self.target.client().await?;
        let wrapped = format!("SELECT row_to_json(t)::text FROM ({sql}) t");
        let rows = client.query(&wrapped, &[]).await.with_context(|| format!("query failed: {sql}"))?;
        rows.iter().map(|r| Ok(serde_json::from_str(r.try_get::<_, &str>(0)?)?)).collect()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        let admin = self.admin.clone();
        // Drop cannot await; a short-lived thread with its own runtime removes the database.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(client) = bw_db::connect::client(&admin).await {
                    let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                }
            });
        })
        .join();
    }
}
