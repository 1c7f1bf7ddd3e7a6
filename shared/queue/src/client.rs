//! The queue behind a small trait, with the real SQS implementation beside it.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, MessageAttributeValue,
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

/// A message to send.
#[derive(Clone, Debug, Default)]
pub struct Outgoing {
    pub body: String,
    /// String message attributes (trace context).
    pub attributes: Vec<(String, String)>,
    pub delay_seconds: Option<i32>,
}

impl Outgoing {
    /// A `runs` message for `message`, with its run id (and the trace id, when there is one) as attributes.
    pub fn run(message: &bw_messages::RunMessage, trace_id: Option<&str>) -> Self {
        let mut attributes = vec![(bw_messages::attributes::RUN_ID.to_owned(), message.run_id.to_string())];
        attributes.extend(trace_id.map(|t| (bw_messages::attributes::TRACE_ID.to_owned(), t.to_owned())));
        Self { body: bw_messages::to_body(message), attributes, delay_seconds: None }
    }

    /// An `llm-jobs` message waking job `job_id`, delivered after `delay_seconds`.
    pub fn llm_job(job_id: uuid::Uuid, delay_seconds: Option<i32>) -> Self {
        Self::llm_job_message(&bw_messages::LlmJobMessage::new(job_id), delay_seconds)
    }

    /// An `llm-jobs` message, delivered after `delay_seconds`.
    pub fn llm_job_message(message: &bw_messages::LlmJobMessage, delay_seconds: Option<i32>) -> Self {
        Self {
            body: message.body(),
            attributes: vec![(bw_messages::attributes::JOB_ID.to_owned(), message.job_id.to_string())],
            delay_seconds,
        }
    }
}

/// What the services need of a queue.
pub trait Queue: Send + Sync {
    /// Sends one message; returns its id.
    fn send(&self, queue_url: &str, message: Outgoing) -> impl Future<Output = anyhow::Result<String>> + Send;
    /// Sends messages in batches of ten (SendMessageBatch); returns how many could not be sent.
    fn send_batch(
        &self,
        queue_url: &str,
        messages: Vec<Outgoing>,
    ) -> impl Future<Output = anyhow::Result<usize>> + Send;
    /// Long-polls for up to `max` (at most 10) messages, waiting at most `wait`.
    fn receive(
        &self,
        queue_url: &str,
        max: i32,
        wait: Duration,
    ) -> impl Future<Output = anyhow::Result<Vec<SqsMessage>>> + Send;
    /// Deletes the messages with these receipt handles; returns the receipt handles that could not be deleted.
    fn delete(
        &self,
        queue_url: &str,
        receipts: Vec<String>,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send;
    /// Sets the visibility timeout of received messages (receipt handle, seconds from now), in batches of ten;
    /// returns the receipt handles SQS refused.
    fn change_visibility(
        &self,
        queue_url: &str,
        changes: Vec<(String, i32)>,
    ) -> impl Future<Output = anyhow::Result<Vec<String>>> + Send {
        let _ = (queue_url, changes);
        async { anyhow::bail!("this queue cannot change a message's visibility") }
    }
    /// The queue's ARN, which an event source mapping puts on every record (`eventSourceARN`).
    fn arn(&self, queue_url: &str) -> impl Future<Output = anyhow::Result<String>> + Send {
        let _ = queue_url;
        async { anyhow::bail!("this queue has no ARN") }
    }
    /// The queue's visibility timeout, which bounds how long a failed record is kept back.
    fn visibility_timeout(&self, queue_url: &str) -> impl Future<Output = anyhow::Result<Duration>> + Send {
        let _ = queue_url;
        async { anyhow::bail!("this queue has no visibility timeout") }
    }
    /// Whether an operator paused the queue's consumers (see [`crate::pause`]).
    fn paused(&self, queue_url: &str) -> impl Future<Output = anyhow::Result<bool>> + Send {
        let _ = queue_url;
        async { Ok(false) }
    }
}

/// Messages on a queue, as SQS counts them (approximately).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Depth {
    pub visible: i64,
    pub in_flight: i64,
    pub delayed: i64,
}

/// Amazon SQS (or LocalStack, through `AWS_ENDPOINT_URL`).
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self { client }
    }

    /// A client configured from the environment ([`bw_aws::aws_config`]).
    pub async fn from_env() -> Self {
        Self::from_config(&bw_aws::aws_config().await)
    }

    /// A client from a configuration already loaded (a process loads it once for all its AWS clients).
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_sqs::Client::new(config))
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    /// The messages on the queue at `url`, as SQS counts them (approximately).
    pub async fn depth(&self, url: &str) -> anyhow::Result<Depth> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .with_context(|| format!("failed to read the depth of {url}"))?;
        let attrs = out.attributes.unwrap_or_default();
        let get = |k: QueueAttributeName| attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0);
        Ok(Depth {
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        })
    }

    /// The URL of the queue called `name`.
    pub async fn url_of(&self, name: &str) -> anyhow::Result<String> {
        let out = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .with_context(|| format!("queue {name:?} was not found (did scripts/bootstrap.sh create it?)"))?;
        out.queue_url.with_context(|| format!("SQS returned no URL for queue {name:?}"))
    }
}

impl Queue for SqsQueue {
    async fn send(&self, queue_url: &str, message: Outgoing) -> anyhow::Result<String> {
        let out = self
            .client
            .send_message()
            .queue_url(queue_url)
            .set_message_attributes(message.attribute_map()?)
            .set_delay_seconds(message.delay_seconds)
            .message_body(message.body)
            .send()
            .await
            .with_context(|| format!("failed to send a message to {queue_url}"))?;
        Ok(out.message_id.unwrap_or_default())
    }

    async fn send_batch(&self, queue_url: &str, messages: Vec<Outgoing>) -> anyhow::Result<usize> {
        let mut failed = 0;
        for chunk in messages.chunks(10) {
            let mut entries = Vec::with_capacity(chunk.len());
            for (i, message) in chunk.iter().enumerate() {
                let entry = SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&message.body)
                    .set_message_attributes(message.attribute_map()?)
                    .set_delay_seconds(message.delay_seconds);
                entries.push(entry.build().context("failed to build a batch entry")?);
            }
            let out = self
                .client
                .send_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .with_context(|| format!("failed to send a batch of messages to {queue_url}"))?;
            failed += out.failed.len();
        }
        Ok(failed)
    }

    async fn receive(&self, queue_url: &str, max: i32, wait: Duration) -> anyhow::Result<Vec<SqsMessage>> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .wait_time_seconds(i32::try_from(wait.as_secs()).unwrap_or(20).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .with_context(|| format!("failed to receive messages from {queue_url}"))?;
        Ok(out.messages.unwrap_or_default().into_iter().map(to_event_message).collect())
    }

    async fn delete(&self, queue_url: &str, receipts: Vec<String>) -> anyhow::Result<Vec<String>> {
        let mut failed = Vec::new();
        for chunk in receipts.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, receipt)| {
                    DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(receipt).build()
                })
                .collect::<Result<Vec<_>, _>>()
                .context("failed to build a delete entry")?;
            let out = self
                .client
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .with_context(|| format!("failed to delete messages from {queue_url}"))?;
            failed.extend(failed_entries(out.failed.iter().map(|f| f.id.as_str()), chunk).cloned());
        }
        Ok(failed)
    }

    async fn change_visibility(&self, queue_url: &str, changes: Vec<(String, i32)>) -> anyhow::Result<Vec<String>> {
        let mut refused = Vec::new();
        for chunk in changes.chunks(10) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, (receipt, secs))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(receipt)
                        .visibility_timeout(*secs)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .context("failed to build a visibility change entry")?;
            let out = self
                .client
                .change_message_visibility_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .with_context(|| format!("failed to change the visibility of messages on {queue_url}"))?;
            let failed = failed_entries(out.failed.iter().map(|f| f.id.as_str()), chunk);
            refused.extend(failed.map(|(receipt, _)| receipt.clone()));
        }
        Ok(refused)
    }

    async fn arn(&self, queue_url: &str) -> anyhow::Result<String> {
        crate::definitions::arn_of(&self.client, queue_url).await
    }

    async fn visibility_timeout(&self, queue_url: &str) -> anyhow::Result<Duration> {
        let name = QueueAttributeName::VisibilityTimeout;
        let secs = crate::definitions::attribute_of(&self.client, queue_url, name).await?;
        let secs = secs.parse().with_context(|| format!("{queue_url} has a visibility timeout of {secs:?} s"))?;
        Ok(Duration::from_secs(secs))
    }

    async fn paused(&self, queue_url: &str) -> anyhow::Result<bool> {
        crate::pause::is_paused(&self.client, queue_url).await
    }
}

impl Outgoing {
    /// The attributes as SQS string message attributes; `None` when there are none.
    fn attribute_map(&self) -> anyhow::Result<Option<HashMap<String, MessageAttributeValue>>> {
        if self.attributes.is_empty() {
            return Ok(None);
        }
        self.attributes
            .iter()
            .map(|(name, value)| {
                let attr = MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(value)
                    .build()
                    .context("failed to build a message attribute")?;
                Ok((name.clone(), attr))
            })
            .collect::<anyhow::Result<_>>()
            .map(Some)
    }
}

/// The items of a batch request's `chunk` whose entries (their ids are their indices) SQS reports `failed`.
fn failed_entries<'a, T>(failed: impl Iterator<Item = &'a str>, chunk: &'a [T]) -> impl Iterator<Item = &'a T> {
    failed.filter_map(|id| chunk.get(id.parse::<usize>().ok()?))
}

/// An SQS API message as the Lambda event source mapping would present it.
fn to_event_message(m: aws_sdk_sqs::types::Message) -> SqsMessage {
    let mut out = SqsMessage::default();
    out.message_id = m.message_id;
    out.receipt_handle = m.receipt_handle;
    out.body = m.body;
    out.md5_of_body = m.md5_of_body;
    out.event_source = Some("aws:sqs".to_owned());
    out.attributes = m.attributes.unwrap_or_default().into_iter().map(|(k, v)| (k.as_str().to_owned(), v)).collect();
    out.message_attributes = m
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let mut attr = SqsMessageAttribute::default();
            attr.string_value = v.string_value;
            attr.data_type = Some(v.data_type);
            (k, attr)
        })
        .collect::<HashMap<_, _>>();
    out
}
