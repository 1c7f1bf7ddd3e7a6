//! Naming queues on the command line: a logical name (`runs`, `runs-dlq`), a real name (`bw-runs`), or a URL; and
//! finding a queue's DLQ and a DLQ's source queues.

use anyhow::Context as _;
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;

/// The AWS clients `ctl` talks to, built from one configuration (`AWS_ENDPOINT_URL` points them at LocalStack).
#[derive(Clone, Debug)]
pub struct Aws {
    /// SQS through the services' queue type, for what it already does (depth, ARN, URL lookup).
    pub queue: bw_queue::SqsQueue,
    pub lambda: aws_sdk_lambda::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    /// `QUEUE_PREFIX` (default `bw-`): the real name of queue `runs` is `{prefix}runs`.
    pub prefix: String,
}

impl Aws {
    pub async fn from_env(prefix: String) -> Self {
        let config = bw_queue::aws_config().await;
        Self {
            queue: bw_queue::SqsQueue::from_config(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            prefix,
        }
    }

    /// The SQS client.
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.queue.client()
    }

    /// The real names of the system's queues: each work queue, then its DLQ.
    pub fn known_names(&self) -> Vec<String> {
        bw_queue::definitions::ALL
            .iter()
            .flat_map(|def| [format!("{}{}", self.prefix, def.name), format!("{}{}-dlq", self.prefix, def.name)])
            .collect()
    }
}

/// A queue, resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QueueRef {
    pub name: String,
    pub url: String,
    pub arn: String,
}

/// Resolves `arg`: a URL is taken as it is; a name is tried as given, then with the prefix.
pub async fn resolve(aws: &Aws, arg: &str) -> anyhow::Result<QueueRef> {
    let arg = arg.trim();
    anyhow::ensure!(!arg.is_empty(), "no queue named: give a queue name such as runs or runs-dlq, or its URL");
    let url = if arg.starts_with("http://") || arg.starts_with("https://") {
        arg.to_owned()
    } else {
        let mut found = None;
        for name in [arg.to_owned(), format!("{}{arg}", aws.prefix)] {
            if let Ok(out) = aws.sqs().get_queue_url().queue_name(&name).send().await {
                found = out.queue_url;
                break;
            }
        }
        found.with_context(|| {
            format!("unknown queue {arg:?}: the system's queues are {}", aws.known_names().join(", "))
        })?
    };
    let arn = bw_queue::definitions::arn_of(aws.sqs(), &url)
        .await
        .with_context(|| format!("unknown queue {arg:?}: no queue answers at {url}"))?;
    Ok(QueueRef { name: name_of_arn(&arn).to_owned(), url, arn })
}

/// The DLQ to work on for `queue`: its redrive policy's target, or the queue itself when it is some queue's DLQ.
pub async fn dlq_of(aws: &Aws, queue: &QueueRef) -> anyhow::Result<QueueRef> {
    if let Some(target) = redrive_target(aws, &queue.url).await? {
        return resolve(aws, &target).await.with_context(|| format!("the DLQ of {} is missing", queue.name));
    }
    if !sources_of(aws, queue).await?.is_empty() {
        return Ok(queue.clone());
    }
    anyhow::bail!("queue {} has no DLQ: it has no redrive policy and is no queue's dead-letter queue", queue.name)
}

/// The queues whose redrive policy sends failures to `dlq`.
pub async fn sources_of(aws: &Aws, dlq: &QueueRef) -> anyhow::Result<Vec<QueueRef>> {
    let out = aws
        .sqs()
        .list_dead_letter_source_queues()
        .queue_url(&dlq.url)
        .max_results(1_000)
        .send()
        .await
        .with_context(|| format!("failed to list the source queues of {}", dlq.name))?;
    let mut sources = Vec::new();
    for url in out.queue_urls {
        let arn = bw_queue::definitions::arn_of(aws.sqs(), &url).await?;
        sources.push(QueueRef { name: name_of_arn(&arn).to_owned(), url, arn });
    }
    Ok(sources)
}

/// The name of the DLQ in the queue's redrive policy, when it has one.
async fn redrive_target(aws: &Aws, url: &str) -> anyhow::Result<Option<String>> {
    let out = aws
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
}
