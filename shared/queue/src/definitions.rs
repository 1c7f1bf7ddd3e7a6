//! The queues of the system and their DLQs, defined once, in `infra/template.yaml`: `build.rs` reads the queues'
//! settings from the template into [`RUNS`], [`LLM_JOBS`], [`ALL`] and [`DLQ_RETENTION_SECS`], and `ctl queues create`
//! (and so `scripts/bootstrap.sh`) makes the local queues from them, so local queues and the stack's cannot drift.

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_sqs::types::QueueAttributeName;

/// One work queue and its dead-letter queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueDef {
    /// Logical name; the real name is `{prefix}{name}`, its DLQ `{prefix}{name}-dlq`.
    pub name: &'static str,
    /// At least six times the consumer's function timeout, as AWS advises for Lambda consumers.
    pub visibility_timeout_secs: u32,
    /// Deliveries before SQS moves a message to the DLQ.
    pub max_receive_count: u32,
    /// Retention of the work queue; the DLQ keeps messages for 14 days.
    pub retention_secs: u32,
}

// `RUNS`, `LLM_JOBS`, `ALL` and `DLQ_RETENTION_SECS`, generated from infra/template.yaml by build.rs.
include!(concat!(env!("OUT_DIR"), "/queue_definitions.rs"));

/// URLs of a created queue and its DLQ.
#[derive(Clone, Debug)]
pub struct Created {
    pub url: String,
    pub dlq_url: String,
}

/// Creates (or updates) `{prefix}{def.name}` and its DLQ with the redrive policy. Idempotent.
pub async fn ensure(client: &aws_sdk_sqs::Client, prefix: &str, def: &QueueDef) -> anyhow::Result<Created> {
    ensure_named(client, &format!("{prefix}{}", def.name), def).await
}

/// Creates (or updates) the queue `name` with `def`'s settings, and its DLQ `{name}-dlq`. Idempotent.
pub async fn ensure_named(client: &aws_sdk_sqs::Client, name: &str, def: &QueueDef) -> anyhow::Result<Created> {
    let dlq_name = format!("{name}-dlq");
    let dlq_attrs = HashMap::from([(QueueAttributeName::MessageRetentionPeriod, DLQ_RETENTION_SECS.to_string())]);
    let dlq_url = create_or_update(client, &dlq_name, dlq_attrs).await?;
    let dlq_arn = arn_of(client, &dlq_url).await?;
    let redrive =
        serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": def.max_receive_count.to_string() });
    let attrs = HashMap::from([
        (QueueAttributeName::VisibilityTimeout, def.visibility_timeout_secs.to_string()),
        (QueueAttributeName::MessageRetentionPeriod, def.retention_secs.to_string()),
        (QueueAttributeName::RedrivePolicy, redrive.to_string()),
    ]);
    let url = create_or_update(client, name, attrs).await?;
    Ok(Created { url, dlq_url })
}

/// The URL of queue `name`, created with `attrs`, or, when it exists, given `attrs`: CreateQueue refuses an existing
/// queue whose attributes differ, and a changed definition must reach the queues already made.
async fn create_or_update(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> anyhow::Result<String> {
    let existing = match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => out.queue_url,
        Err(e) if e.as_service_error().is_some_and(|e| e.is_queue_does_not_exist()) => None,
        Err(e) => return Err(e).with_context(|| format!("failed to look up queue {name}")),
    };
    if let Some(url) = existing {
        client
            .set_queue_attributes()
            .queue_url(&url)
            .set_attributes(Some(attrs))
            .send()
            .await
            .with_context(|| format!("failed to set attributes of queue {name}"))?;
        return Ok(url);
    }
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs))
        .send()
        .await
        .with_context(|| format!("failed to create queue {name}"))?;
    out.queue_url.with_context(|| format!("SQS returned no URL for queue {name}"))
}

/// The ARN of the queue at `url`.
pub async fn arn_of(client: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    attribute_of(client, url, QueueAttributeName::QueueArn).await
}

/// One attribute of the queue at `url`.
pub async fn attribute_of(client: &aws_sdk_sqs::Client, url: &str, name: QueueAttributeName) -> anyhow::Result<String> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.clone())
        .send()
        .await
        .with_context(|| format!("failed to read the {name} of {url}"))?;
    out.attributes.and_then(|mut a| a.remove(&name)).with_context(|| format!("SQS returned no {name} for {url}"))
}

/// The URL of a work queue: `{env_var}` when set (as in AWS, from the template), else the URL of the queue named
/// `{QUEUE_PREFIX}{def.name}` (default prefix `bw-`), looked up by name.
pub async fn resolve_url(queue: &crate::SqsQueue, env_var: &str, def: &QueueDef) -> anyhow::Result<String> {
    if let Some(url) = bw_config::optional(env_var) {
        return Ok(url);
    }
    queue.url_of(&format!("{}{}", prefix(), def.name)).await
}

/// The queue name prefix, `QUEUE_PREFIX` (default `bw-`).
pub fn prefix() -> String {
    bw_config::optional("QUEUE_PREFIX").unwrap_or_else(|| "bw-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dlq_outlives_its_queue() {
        // SQS keeps a message's original enqueue time when it moves to the DLQ: a shorter DLQ retention would drop it
        // early.
        for def in ALL {
            assert!(def.retention_secs <= DLQ_RETENTION_SECS, "{def:?}");
            assert!(def.visibility_timeout_secs > 0 && def.max_receive_count > 0, "{def:?}");
        }
    }
}
