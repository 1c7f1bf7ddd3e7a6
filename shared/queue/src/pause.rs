//! Pausing a queue's consumers. In AWS, `ctl consumers pause` disables the queue's event source mappings; locally
//! there are none, so the same command tags the queue and every local runner of that queue stops taking messages
//! once it reads the tag (it re-reads it every `RunnerConfig::pause_check`). The tag is set in AWS too, so both
//! kinds of consumer, and anyone reading the queue's tags, agree on what the operator asked for.

use anyhow::Context as _;

/// The queue tag that holds the consumers' state.
pub const TAG: &str = "bw:consumers";
/// Its value while the consumers are paused; any other value (or none) means running.
pub const PAUSED: &str = "paused";

/// Whether the consumers of the queue at `url` are paused.
pub async fn is_paused(client: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<bool> {
    let out = client
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .with_context(|| format!("failed to read the tags of {url}"))?;
    Ok(out.tags.is_some_and(|tags| tags.get(TAG).is_some_and(|v| v == PAUSED)))
}

/// Pauses (or resumes) the local consumers of the queue at `url`.
pub async fn set_paused(client: &aws_sdk_sqs::Client, url: &str, paused: bool) -> anyhow::Result<()> {
    if paused {
        client
            .tag_queue()
            .queue_url(url)
            .tags(TAG, PAUSED)
            .send()
            .await
            .with_context(|| format!("failed to tag {url} as paused"))?;
    } else {
        client
            .untag_queue()
            .queue_url(url)
            .tag_keys(TAG)
            .send()
            .await
            .with_context(|| format!("failed to remove the pause tag of {url}"))?;
    }
    Ok(())
}
