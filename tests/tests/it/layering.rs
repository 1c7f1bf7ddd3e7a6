//! The code's layering, read from its sources: within ingestion, the poller and the web UI no module imports a
//! module that imports it back (the state machine calls the stages, never the reverse); services never depend on
//! each other, and shared crates never on a service.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bw_tests::layering::{Graph, js_graph, rust_graph};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The graph has no cycle, and it sees the imports `edges` (so it reads the code at all).
fn assert_acyclic(what: &str, graph: &Graph, edges: &[(&str, &str)]) {
    assert!(graph.len() > 3, "{what}: read only {} modules; is the path right?", graph.len());
    for (from, to) in edges {
        assert!(graph.get(from).is_some_and(|i| i.contains(*to)), "{what}: {from} imports {to}, unseen: {graph:?}");
    }
    if let Some(cycle) = graph.cycle() {
        panic!("{what}: modules import each other: {}", cycle.join(" -> "));
    }
}

#[test]
fn ingestion_modules_only_call_down() {
    let graph = rust_graph(&workspace().join("services/ingestion/src"));
    let edges = [
        ("handler", "pipeline"),
        ("pipeline", "run"),
        ("pipeline", "stages::extract"),
        ("pipeline", "stages::ingest"),
        ("stages::extract", "run"),
        ("stages::extract", "stages::store"),
        ("stages::store", "stages::expiry"),
        ("stages::ingest", "run"),
    ];
    assert_acyclic("ingestion", &graph, &edges);
}

#[test]
fn poller_modules_only_call_down() {
    let graph = rust_graph(&workspace().join("services/poller/src"));
    let edges =
        [("poll", "worker"), ("poll", "stats"), ("background", "worker"), ("stats", "item"), ("worker", "item")];
    assert_acyclic("poller", &graph, &edges);
}

#[test]
fn web_ui_modules_only_call_down() {
    let graph = js_graph(&workspace().join("services/api/ui"));
    assert_acyclic("web UI", &graph, &[("app", "runs"), ("runs", "widgets"), ("run", "widgets"), ("widgets", "api")]);
    // Pages (what app.js routes to, `import * as page`) are reached through the router and never import one another.
    let app = std::fs::read_to_string(workspace().join("services/api/ui/app.js")).unwrap_or_default();
    let pages: Vec<&str> = app
        .lines()
        .filter(|l| l.starts_with("import * as "))
        .filter_map(|l| l.split("from './").nth(1)?.strip_suffix(".js';"))
        .collect();
    assert!(pages.len() >= 9 && pages.contains(&"postings"), "{pages:?}");
    for page in pages.iter().copied() {
        let imports = graph.get(page).cloned().unwrap_or_default();
        let other_pages: Vec<&String> = imports.iter().filter(|m| pages.contains(&m.as_str())).collect();
        assert!(other_pages.is_empty(), "page {page} imports pages {other_pages:?}");
    }
}

#[test]
fn the_checker_finds_a_cycle_where_there_is_one() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("layering-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(dir.join("stages"))?;
    std::fs::write(dir.join("lib.rs"), "pub mod pipeline;\npub mod stages;\n")?;
    std::fs::write(dir.join("pipeline.rs"), "use crate::stages;\nfn go() { stages::extract::run(); }\n")?;
    std::fs::write(dir.join("stages/mod.rs"), "pub mod extract;\n")?;
    std::fs::write(
        dir.join("stages/extract.rs"),
        "//! Docs may name [`crate::pipeline`].\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\nuse crate::{pipeline::Ctx, stages};\n",
    )?;
    let graph = rust_graph(&dir);
    assert_eq!(graph.cycle().map(|c| c.join(" -> ")).as_deref(), Some("pipeline -> stages::extract -> pipeline"));
    std::fs::write(dir.join("stages/extract.rs"), "use super::super::pipeline;\n")?;
    assert!(rust_graph(&dir).cycle().is_some(), "super::super:: reaches the crate root");
    std::fs::write(dir.join("stages/extract.rs"), "//! [`crate::pipeline`] calls this.\nuse crate::stages;\n")?;
    assert_eq!(rust_graph(&dir).cycle(), None);
    std::fs::remove_dir_all(&dir)?;

    let ui = std::env::temp_dir().join(format!("layering-ui-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&ui)?;
    std::fs::write(ui.join("app.js"), "import * as runs from './runs.js';\n")?;
    std::fs::write(ui.join("runs.js"), "import { go } from './app.js';\n")?;
    assert!(js_graph(&ui).cycle().is_some());
    std::fs::remove_dir_all(&ui)?;
    Ok(())
}

#[test]
fn services_never_depend_on_each_other_nor_shared_crates_on_services() -> anyhow::Result<()> {
    let root = workspace();
    let mut crates: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    for group in ["services", "shared", "testing"] {
        for entry in std::fs::read_dir(root.join(group))? {
            let manifest = std::fs::read_to_string(entry?.path().join("Cargo.toml"))?;
            let name = manifest
                .lines()
                .find_map(|l| l.strip_prefix("name = \""))
                .map(|n| n.trim_end_matches('"').to_owned())
                .unwrap_or_default();
            let deps = manifest
                .lines()
                .filter_map(|l| l.split_once([' ', '.', '=']).map(|(dep, _)| dep.trim().to_owned()))
                .filter(|dep| dep.starts_with("bw-"))
                .collect();
            crates.insert(name, (group.to_owned(), deps));
        }
    }
    let services: BTreeSet<&String> = crates.iter().filter(|(_, (g, _))| g == "services").map(|(n, _)| n).collect();
    assert!(services.len() >= 4, "found services {services:?}");
    for (name, (group, deps)) in &crates {
        let on_services: Vec<&String> = deps.iter().filter(|d| services.contains(d) && *d != name).collect();
        if group != "testing" {
            assert!(on_services.is_empty(), "{group} crate {name} depends on services {on_services:?}");
        }
    }
    Ok(())
}
