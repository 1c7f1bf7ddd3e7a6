//! Running the real `ctl` binary (built by `cargo build --bins`) as an operator would, with the test's environment
//! (LocalStack endpoint and credentials from the parent, DATABASE_URL when given).

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::Context as _;
use serde_json::Value;

/// What one `ctl` command printed and how it exited.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

/// A compiled binary of the workspace in the cargo target directory (`CARGO_TARGET_DIR`, else `target`).
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace.join("target"), |d| workspace.join(d));
    let binary = target.join("debug").join(name);
    anyhow::ensure!(binary.is_file(), "{} is missing: run `cargo build --bins` before these tests", binary.display());
    Ok(binary)
}

/// Runs `ctl args…` with `DATABASE_URL` set to `database_url` (or unset), stdin closed.
pub async fn run(args: &[&str], database_url: Option<&str>) -> anyhow::Result<Output> {
    let mut command = tokio::process::Command::new(binary("ctl")?);
    command.args(args).stdin(Stdio::null()).env_remove("DATABASE_URL").env_remove("QUEUE_PREFIX");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let out = command.output().await.context("failed to run ctl")?;
    Ok(Output {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs `ctl --json args…`, requires success, and parses what it printed.
pub async fn json(args: &[&str], database_url: Option<&str>) -> anyhow::Result<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(&all, database_url).await?;
    anyhow::ensure!(out.success, "ctl {} failed: {}", args.join(" "), out.stderr);
    serde_json::from_str(&out.stdout).with_context(|| format!("ctl {} printed no JSON: {}", args.join(" "), out.stdout))
}

/// Runs `ctl args…`, requires failure, and returns its error output.
pub async fn failing(args: &[&str], database_url: Option<&str>) -> anyhow::Result<String> {
    let out = run(args, database_url).await?;
    anyhow::ensure!(!out.success, "ctl {} succeeded but should have failed: {}", args.join(" "), out.stdout);
    anyhow::ensure!(!out.stderr.contains("panicked"), "ctl {} panicked: {}", args.join(" "), out.stderr);
    Ok(out.stderr)
}
