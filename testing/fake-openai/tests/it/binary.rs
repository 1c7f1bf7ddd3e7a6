//! The `fake-openai` binary announces its address and serves with the flags applied.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

use anyhow::Context as _;
use serde_json::json;

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_prints_its_base_url_and_applies_flags() -> anyhow::Result<()> {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_fake-openai"))
            .args(["--listen", "127.0.0.1:0", "--rate-limit-per-minute", "7", "--complete-after-ms", "0"])
            .args(["--latency-ms", "1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let stdout = child.0.stdout.take().context("stdout")?;
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await??;
    let base = line.trim().strip_prefix("fake-openai listening on ").context(line.clone())?.to_owned();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"), "{base}");
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("{base}/responses"))
        .bearer_auth("sk-any")
        .json(&json!({"model": "gpt-4o-mini", "input": "x", "background": true}))
        .send()
        .await?;
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(answer.headers().get("x-ratelimit-limit-requests").and_then(|v| v.to_str().ok()), Some("7"));
    let config: serde_json::Value =
        client.get(format!("{}/_fake/config", base.trim_end_matches("/v1"))).send().await?.json().await?;
    assert_eq!((config["latency_ms"].as_u64(), config["complete_after_ms"].as_u64()), (Some(1), Some(0)));
    Ok(())
}
