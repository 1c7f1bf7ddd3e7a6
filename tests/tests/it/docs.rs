//! The docs against the code: every environment variable the programs read is in `docs/configuration.md`, every
//! `ctl` subcommand in `docs/operating.md`, and every operation of the OpenAPI document in `docs/api.md`.

use std::path::{Path, PathBuf};

use bw_tests::docs::{env_vars, rust_files, subcommands};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn doc(name: &str) -> anyhow::Result<String> {
    Ok(std::fs::read_to_string(workspace().join("docs").join(name))?)
}

#[test]
fn every_environment_variable_the_code_reads_is_in_the_configuration_doc() -> anyhow::Result<()> {
    let root = workspace();
    let mut files = Vec::new();
    for group in ["services", "shared", "testing/fake-ats", "testing/fake-openai"] {
        let dir = root.join(group);
        let srcs: Vec<PathBuf> = if dir.join("src").is_dir() {
            vec![dir.join("src")]
        } else {
            std::fs::read_dir(&dir)?.flatten().map(|e| e.path().join("src")).filter(|p| p.is_dir()).collect()
        };
        files.extend(srcs.iter().flat_map(|src| rust_files(src)));
    }
    assert!(files.len() > 50, "read only {} files", files.len());
    let vars = env_vars(&files);
    assert!(vars.contains_key("DATABASE_URL") && vars.contains_key("JWT_SECRET_ID"), "{vars:?}");
    let configuration = doc("configuration.md")?;
    let missing: Vec<String> = vars
        .iter()
        .filter(|(name, _)| !configuration.contains(&format!("`{name}`")))
        .map(|(name, files)| {
            format!("{name} (read in {})", files.iter().next().map(|f| f.display().to_string()).unwrap_or_default())
        })
        .collect();
    assert!(missing.is_empty(), "docs/configuration.md does not name: {}", missing.join(", "));
    Ok(())
}

#[test]
fn every_ctl_subcommand_is_in_the_operating_doc() -> anyhow::Result<()> {
    let ctl = bw_tests::ctl::binary("ctl")?;
    let help = |args: &[&str]| -> anyhow::Result<String> {
        let output = std::process::Command::new(&ctl).args(args).arg("--help").output()?;
        anyhow::ensure!(output.status.success(), "ctl {args:?} --help failed: {output:?}");
        Ok(String::from_utf8(output.stdout)?)
    };
    let mut commands: Vec<Vec<String>> = subcommands(&help(&[])?).into_iter().map(|c| vec![c]).collect();
    let mut all = Vec::new();
    while let Some(command) = commands.pop() {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        for sub in subcommands(&help(&args)?) {
            commands.push([command.clone(), vec![sub]].concat());
        }
        all.push(command.join(" "));
    }
    assert!(all.len() >= 12, "{all:?}");
    let operating = doc("operating.md")?;
    let missing: Vec<&String> = all.iter().filter(|c| !operating.contains(&format!("`ctl {c}"))).collect();
    assert!(missing.is_empty(), "docs/operating.md does not show `ctl {missing:?}`");
    Ok(())
}

#[test]
fn every_operation_of_the_openapi_document_is_in_the_api_doc() -> anyhow::Result<()> {
    let document = serde_json::to_value(bw_api::openapi())?;
    let api = doc("api.md")?;
    let mut missing = Vec::new();
    let paths = document["paths"].as_object().map(|p| p.iter().collect::<Vec<_>>()).unwrap_or_default();
    assert!(paths.len() > 15, "{} paths", paths.len());
    for (path, item) in paths {
        for method in item.as_object().map(|o| o.keys().collect::<Vec<_>>()).unwrap_or_default() {
            let named = format!("`{} {path}", method.to_uppercase());
            if !["`", "?", " "].iter().any(|next| api.contains(&format!("{named}{next}"))) {
                missing.push(named);
            }
        }
    }
    assert!(missing.is_empty(), "docs/api.md does not list {missing:?}");
    Ok(())
}

#[test]
fn every_relative_link_of_the_docs_leads_to_a_file() -> anyhow::Result<()> {
    let root = workspace();
    let mut pages = vec![root.join("README.md")];
    pages.extend(std::fs::read_dir(root.join("docs"))?.flatten().map(|e| e.path()));
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = std::fs::read_to_string(page)?;
        for link in text.split("](").skip(1).filter_map(|rest| rest.split_once(')').map(|(link, _)| link)) {
            let path = link.split('#').next().unwrap_or_default();
            if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let dir = page.parent().unwrap_or(&root);
            if !dir.join(path).exists() {
                broken.push(format!("{} -> {link}", page.display()));
            }
        }
    }
    assert!(checked > 20, "only {checked} links read");
    assert!(broken.is_empty(), "links to nothing: {broken:?}");
    Ok(())
}
