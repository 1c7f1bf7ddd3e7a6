//! Naming queues: a logical name (`runs`, `runs-dlq`), a real name (`bw-runs`), or a URL; the system's work queues
//! by logical name; and finding a queue's DLQ and a DLQ's source queues.

use anyhow::Context as _;
use aws_sdk_sqs::types::QueueAttributeName;
use bw_queue::definitions::QueueDef;
use serde::Serialize;

use crate::Ops;

/// A queue, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueRef {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// The system's work queue with the logical name `name` (`runs`, `llm-jobs`); `None` for any other name.
pub fn work_queue(name: &str) -> Option<QueueDef> {
    bw_queue::definitions::ALL.into_iter().find(|def| def.name == name)
}

/// The logical names of the system's work queues.
pub fn work_queue_names() -> Vec<&'static str> {
    bw_queue::definitions::ALL.iter().map(|def| def.name).collect()
}

/// Resolves `arg`: a URL is taken as it is; a name is tried as given, then with the prefix.
pub async fn resolve(ops: &Ops, arg: &str) -> anyhow::Result<QueueRef> {
    let arg = arg.trim();
    anyhow::ensure!(!arg.is_empty(), "no queue named: give a queue name such as runs or runs-dlq, or its URL");
    let url = if arg.starts_with("http://") || arg.starts_with("https://") {
        arg.to_owned()
    } else {
        let mut found = None;
        for name in [arg.to_owned(), ops.real_name(arg)] {
            if let Ok(out) = ops.sqs().get_queue_url().queue_name(&name).send().await {
                found = out.queue_url;
                break;
            }
        }
        found.with_context(|| {
            format!("unknown queue {arg:?}: the system's queues are {}", ops.known_names().join(", "))
        })?
    };
    let arn = bw_queue::definitions::arn_of(ops.sqs(), &url)
        .await
        .with_context(|| format!("unknown queue {arg:?}: no queue answers at {url}"))?;
    Ok(QueueRef { name: name_of_arn(&arn).to_owned(), url, arn })
}

/// The DLQ to work on for `queue`: its redrive policy's target, or the queue itself when it is some queue's DLQ.
pub async fn dlq_of(ops: &Ops, queue: &QueueRef) -> anyhow::Result<QueueRef> {
    if let Some(target) = redrive_target(ops, &queue.url).await? {
        return resolve(ops, &target).await.with_context(|| format!("the DLQ of {} is missing", queue.name));
    }
    if !sources_of(ops, queue).await?.is_empty() {
        return Ok(queue.clone());
    }
    anyhow::bail!("queue {} has no DLQ: it has no redrive policy and is no queue's dead-letter queue", queue.name)
}

/// The queues whose redrive policy sends failures to `dlq`.
pub async fn sources_of(ops: &Ops, dlq: &QueueRef) -> anyhow::Result<Vec<QueueRef>> {
    let out = ops
        .sqs()
        .list_dead_letter_source_queues()
        .queue_url(&dlq.url)
        .max_results(1_000)
        .send()
        .await
        .with_context(|| format!("failed to list the source queues of {}", dlq.name))?;
    let mut sources = Vec::new();
    for url in out.queue_urls {
        let arn = bw_queue::definitions::arn_of(ops.sqs(), &url).await?;
        sources.push(QueueRef { name: name_of_arn(&arn).to_owned(), url, arn });
    }
    Ok(sources)
}

/// The name of the DLQ in the queue's redrive policy, when it has one.
pub async fn redrive_target(ops: &Ops, url: &str) -> anyhow::Result<Option<String>> {
    let out = ops
        .sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .with_context(|| format!("failed to read the redrive policy of {url}"))?;
    let Some(policy) = out.attributes.and_then(|mut a| a.remove(&QueueAttributeName::RedrivePolicy)) else {
        return Ok(None);
    };
    let policy: serde_json::Value =
        serde_json::from_str(&policy).with_context(|| format!("the redrive policy of {url} is not JSON: {policy}"))?;
    let arn = policy["deadLetterTargetArn"]
        .as_str()
        .with_context(|| format!("the redrive policy of {url} names no deadLetterTargetArn: {policy}"))?;
    Ok(Some(name_of_arn(arn).to_owned()))
}

/// The queue name in an SQS ARN (`arn:aws:sqs:region:account:name`).
pub fn name_of_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_last_part_of_the_arn() {
        assert_eq!(name_of_arn("arn:aws:sqs:us-east-1:000000000000:bw-runs-dlq"), "bw-runs-dlq");
        assert_eq!(name_of_arn("plain"), "plain");
    }

    #[test]
    fn work_queues_are_known_by_their_logical_names_only() {
        assert_eq!(work_queue("runs").map(|d| d.name), Some("runs"));
        assert_eq!(work_queue("llm-jobs").map(|d| d.name), Some("llm-jobs"));
        assert!(work_queue("runs-dlq").is_none() && work_queue("bw-runs").is_none());
        assert_eq!(work_queue_names(), ["runs", "llm-jobs"]);
    }
}
