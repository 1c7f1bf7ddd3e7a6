//! `shared/db/src/schema.rs` matches the migrated database: the same tables, columns, types and nullability.

use std::collections::BTreeMap;

use bw_tests::db::TestDb;

const SCHEMA_RS: &str = include_str!("../../../shared/db/src/schema.rs");

/// (table, column) -> (SQL type name, nullable), as schema.rs declares them.
fn declared() -> BTreeMap<(String, String), (String, bool)> {
    let mut columns = BTreeMap::new();
    let mut table = None;
    for line in SCHEMA_RS.lines().map(str::trim) {
        if let Some((name, _key)) = line.strip_suffix(") {").and_then(|l| l.split_once(" (")) {
            table = Some(name.to_owned());
        } else if line == "}" {
            table = None;
        } else if let (Some(t), Some((column, ty))) = (&table, line.trim_end_matches(',').split_once(" -> ")) {
            let nullable = ty.starts_with("Nullable<");
            let ty = ty.trim_start_matches("Nullable<").trim_end_matches('>');
            let sql = match ty {
                "Uuid" => "uuid",
                "Text" => "text",
                "Int2" => "smallint",
                "Int4" => "integer",
                "Int8" => "bigint",
                "Float8" => "double precision",
                "Bool" => "boolean",
                "Bytea" => "bytea",
                "Json" => "json",
                "Jsonb" => "jsonb",
                "Timestamptz" => "timestamp with time zone",
                other => other,
            };
            columns.insert((t.clone(), column.to_owned()), (sql.to_owned(), nullable));
        }
    }
    columns
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_matches_the_migrated_database() -> anyhow::Result<()> {
    let db = TestDb::new().await?;
    let rows = db
        .rows(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES' AS nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .await?;
    let actual: BTreeMap<(String, String), (String, bool)> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            ((s("table_name"), s("column_name")), (s("data_type"), r["nullable"].as_bool().unwrap_or_default()))
        })
        .collect();
    let declared = declared();
    assert!(declared.len() > 90, "schema.rs was not parsed: {declared:?}");
    assert_eq!(declared, actual);
    Ok(())
}

/// The words a column's `CHECK (column IN (…))` constraint allows, in the order the migration lists them (its
/// constraints over several columns, such as a board region's over the kind, are other rules).
async fn allowed(db: &TestDb, table: &str, column: &str) -> anyhow::Result<Vec<String>> {
    let rows = db
        .rows(&format!(
            "SELECT pg_get_constraintdef(c.oid) AS def FROM pg_constraint c \
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) \
             WHERE c.conrelid = '{table}'::regclass AND c.contype = 'c' AND a.attname = '{column}' \
             AND cardinality(c.conkey) = 1"
        ))
        .await?;
    anyhow::ensure!(rows.len() == 1, "{table}.{column}: expected one CHECK constraint, found {rows:?}");
    let def = rows[0]["def"].as_str().unwrap_or_default();
    // `CHECK ((status = ANY (ARRAY['pending'::text, …])))`: the quoted parts are the words.
    Ok(def.split('\'').skip(1).step_by(2).map(str::to_owned).collect())
}

/// The vocabulary's enums and the database's CHECK constraints allow the same words: a word added to one and not
/// the other would fail at a write (or at reading a row) instead of here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vocabulary_is_what_the_database_allows() -> anyhow::Result<()> {
    use bw_vocab::{
        BoardKind, BoardRegion, ItemStatus, JobMode, JobStatus, Learnt, PayInterval, PostingChange, PostingStatus,
        RunStart, RunStatus,
    };
    fn words<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|&w| name(w).to_owned()).collect()
    }
    let db = TestDb::new().await?;
    assert_eq!(allowed(&db, "runs", "status").await?, words(&RunStatus::ALL, RunStatus::as_str));
    assert_eq!(allowed(&db, "companies", "board_kind").await?, words(&BoardKind::ALL, BoardKind::as_str));
    assert_eq!(allowed(&db, "llm_jobs", "status").await?, words(&JobStatus::ALL, JobStatus::as_str));
    assert_eq!(allowed(&db, "llm_jobs", "mode").await?, words(&JobMode::ALL, JobMode::as_str));
    assert_eq!(allowed(&db, "llm_job_items", "status").await?, words(&ItemStatus::ALL, ItemStatus::as_str));
    assert_eq!(allowed(&db, "runs", "started_by").await?, words(&RunStart::ALL, RunStart::as_str));
    assert_eq!(allowed(&db, "postings", "status").await?, words(&PostingStatus::ALL, PostingStatus::as_str));
    assert_eq!(allowed(&db, "posting_changes", "change").await?, words(&PostingChange::ALL, PostingChange::as_str));
    assert_eq!(allowed(&db, "companies", "board_region").await?, words(&BoardRegion::ALL, BoardRegion::as_str));
    assert_eq!(allowed(&db, "postings", "pay_interval").await?, words(&PayInterval::ALL, PayInterval::as_str));
    assert_eq!(allowed(&db, "llm_job_items", "learnt_by").await?, words(&Learnt::ALL, Learnt::as_str));
    Ok(())
}
