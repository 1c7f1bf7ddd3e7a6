//! `shared/db/src/schema.rs` matches the migrated database: the same tables, columns, types and nullability.

use std::collections::BTreeMap;

use bw_tests::db::TestDb;

const SCHEMA_RS: &str = include_str!("../../shared/db/src/schema.rs");

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
                "Int4" => "integer",
                "Int8" => "bigint",
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
