//! Pausing and resuming a queue's consumers. In AWS the consumers are Lambda event source mappings: pausing disables
//! them (`UpdateEventSourceMapping` with `Enabled: false`) and SQS keeps the messages. Locally the consumers are
//! event-source runners, which obey a tag on the queue (see `bw_queue::pause`). One command does both, so it means
//! the same wherever it runs: the tag is set in AWS too, and mappings are changed wherever there are any.

use anyhow::Context as _;
use serde::Serialize;

use bw_ops::target::QueueRef;

use crate::aws::Aws;

/// One event source mapping of a queue.
#[derive(Clone, Debug, Serialize)]
pub struct Mapping {
    pub uuid: String,
    pub function: Option<String>,
    /// Enabled, Disabled, Enabling, Disabling, Creating, Updating or Deleting.
    pub state: Option<String>,
    pub batch_size: Option<i32>,
    pub maximum_concurrency: Option<i32>,
}

/// A queue's consumers: the local runners' pause tag and the Lambda mappings.
#[derive(Clone, Debug, Serialize)]
pub struct Consumers {
    pub queue: String,
    /// Paused for local runners (the queue's tag).
    pub paused: bool,
    pub mappings: Vec<Mapping>,
}

/// The consumers of `queue`.
pub async fn list(aws: &Aws, queue: &QueueRef) -> anyhow::Result<Consumers> {
    Ok(Consumers {
        queue: queue.name.clone(),
        paused: bw_queue::pause::is_paused(aws.ops.sqs(), &queue.url).await?,
        mappings: mappings(aws, queue).await?,
    })
}

/// Pauses (`paused`) or resumes the consumers of `queue`; returns them as they are afterwards. A mapping in the
/// middle of a change keeps the state SQS reports, which `ctl consumers list` shows until it settles.
pub async fn set(aws: &Aws, queue: &QueueRef, paused: bool) -> anyhow::Result<Consumers> {
    bw_queue::pause::set_paused(aws.ops.sqs(), &queue.url, paused).await?;
    let mut changed = Vec::new();
    for mapping in mappings(aws, queue).await? {
        let out =
            aws.lambda.update_event_source_mapping().uuid(&mapping.uuid).enabled(!paused).send().await.with_context(
                || format!("failed to {} mapping {}", if paused { "disable" } else { "enable" }, mapping.uuid),
            )?;
        changed.push(Mapping { state: out.state, ..mapping });
    }
    Ok(Consumers { queue: queue.name.clone(), paused, mappings: changed })
}

/// Every event source mapping that reads `queue`.
async fn mappings(aws: &Aws, queue: &QueueRef) -> anyhow::Result<Vec<Mapping>> {
    let mut found = Vec::new();
    let mut marker = None;
    loop {
        let out = aws
            .lambda
            .list_event_source_mappings()
            .event_source_arn(&queue.arn)
            .set_marker(marker)
            .send()
            .await
            .with_context(|| format!("failed to list the event source mappings of {}", queue.name))?;
        for m in out.event_source_mappings.unwrap_or_default() {
            found.push(Mapping {
                uuid: m.uuid.unwrap_or_default(),
                function: m.function_arn.as_deref().map(function_name),
                state: m.state,
                batch_size: m.batch_size,
                maximum_concurrency: m.scaling_config.and_then(|s| s.maximum_concurrency),
            });
        }
        marker = out.next_marker;
        if marker.is_none() {
            return Ok(found);
        }
    }
}

/// The function's name in its ARN (`arn:aws:lambda:region:account:function:NAME[:qualifier]`).
fn function_name(arn: &str) -> String {
    arn.split_once(":function:").map_or(arn, |(_, rest)| rest.split(':').next().unwrap_or(rest)).to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_function_name_comes_out_of_a_qualified_arn_too() {
        assert_eq!(super::function_name("arn:aws:lambda:us-east-1:1:function:bw-ingestion"), "bw-ingestion");
        assert_eq!(super::function_name("arn:aws:lambda:us-east-1:1:function:bw-worker:7"), "bw-worker");
    }
}
