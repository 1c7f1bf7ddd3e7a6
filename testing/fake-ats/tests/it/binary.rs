//! The `fake-ats` binary with `--sample`.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;

#[tokio::test]
async fn sample_boards_are_served_by_the_binary() -> anyhow::Result<()> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-ats"))
        .args(["--listen", "127.0.0.1:0", "--sample"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let read = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let result = async {
        let line = tokio::time::timeout(Duration::from_secs(30), read).await.context("no ready line")???;
        let base = line.trim().strip_prefix("fake-ats listening on ").context(line.clone())?.to_owned();
        ensure!(base.starts_with("http://127.0.0.1:"), "{line}");
        let body: Value = reqwest::get(format!("{base}/_fake/boards")).await?.json().await?;
        let boards: Vec<(String, u64)> = body["boards"]
            .as_array()
            .context("boards")?
            .iter()
            .map(|b| {
                let name = format!("{}/{}", b["kind"].as_str().unwrap_or(""), b["token"].as_str().unwrap_or(""));
                (name, b["postings"].as_u64().unwrap_or(0))
            })
            .collect();
        let expected: Vec<(String, u64)> = [
            ("ashby/initech", 30),
            ("ashby/linear", 19),
            ("bamboohr/collectivemeasures", 4),
            ("greenhouse/acme", 40),
            ("greenhouse/airbnb", 20),
            ("jsonld/lamp", 3),
            ("jsonld/umbrella", 12),
            ("lever/eu/hooli", 15),
            ("lever/globex", 25),
            ("lever/plaid", 20),
            ("personio/soylent", 15),
            ("recruitee/wonka", 12),
            ("smartrecruiters/Vitol", 5),
            ("teamtailor/ferd", 3),
            ("workable/vandelay", 20),
            ("workday/initrode.External", 60),
            ("workday/nvidia.NVIDIAExternalCareerSite", 3),
        ]
        .into_iter()
        .map(|(board, count)| (board.to_owned(), count))
        .collect();
        ensure!(boards == expected, "{boards:?}");
        let page = reqwest::get(format!("{base}/careers/umbrella")).await?.text().await?;
        ensure!(page.matches("application/ld+json").count() == 12);
        // The EU board on Lever's EU host only.
        let eu: Value = reqwest::get(format!("{base}/eu/v0/postings/hooli?mode=json")).await?.json().await?;
        ensure!(eu.as_array().map(Vec::len) == Some(15), "{eu}");
        ensure!(reqwest::get(format!("{base}/v0/postings/hooli?mode=json")).await?.status() == 404);
        // NVIDIA's recorded page, and its first posting's recorded detail.
        let nvidia = format!("{base}/workday/nvidia/wday/cxs/nvidia/NVIDIAExternalCareerSite");
        let search = serde_json::json!({ "appliedFacets": {}, "limit": 20, "offset": 0, "searchText": "" });
        let page = reqwest::Client::new().post(format!("{nvidia}/jobs")).json(&search).send().await?.text().await?;
        ensure!(page == crate::common::fixture("workday/eujobfeeds_nvidia_list.json")?, "{page}");
        let first = "/job/Israel-Yokneam/Practical-Hardware-Electronics-Test-Engineer_JR2021705";
        let detail = reqwest::get(format!("{nvidia}{first}")).await?.text().await?;
        ensure!(detail == crate::common::fixture("workday/eujobfeeds_nvidia_detail.json")?);
        let feed = reqwest::get(format!("{base}/teamtailor/ferd/jobs.rss")).await?;
        ensure!(feed.status() == 200);
        ensure!(reqwest::get(format!("{base}/teamtailor/ferd/jobs.json")).await?.status() == 404);
        Ok(())
    }
    .await;
    child.kill()?;
    child.wait()?;
    result
}
