//! Reading a DLQ's messages without consuming them: receive them with a short hold, then make them visible again at
//! once. Only for DLQs: a DLQ has no consumer and no redrive policy of its own, so the extra receive harms nothing
//! (on a work queue it would count towards `maxReceiveCount`).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use anyhow::Context as _;
use aws_sdk_sqs::types::{ChangeMessageVisibilityBatchRequestEntry, Message, MessageSystemAttributeName};
use serde::Serialize;

use crate::Ops;

/// One message as an operator sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Peeked {
    pub message_id: String,
    pub body: String,
    /// Message attributes (trace context: run or job id, trace id), string and number values.
    pub attributes: BTreeMap<String, String>,
    /// Deliveries so far, this peek included.
    pub receive_count: u32,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    pub first_received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why its consumer failed it, when the consumer could record it.
    pub failure: Option<bw_db::failures::MessageFailure>,
    #[serde(skip)]
    pub receipt_handle: String,
    /// The message as received, to send on unchanged.
    #[serde(skip)]
    pub raw: Option<Message>,
}

impl Peeked {
    fn from_message(message: Message) -> Self {
        let system = message.attributes.clone().unwrap_or_default();
        let time = |name: MessageSystemAttributeName| {
            system
                .get(&name)
                .and_then(|ms| ms.parse::<i64>().ok())
                .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
        };
        let attributes = message
            .message_attributes
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(name, value)| value.string_value.map(|v| (name, v)))
            .collect();
        Self {
            message_id: message.message_id.clone().unwrap_or_default(),
            body: message.body.clone().unwrap_or_default(),
            attributes,
            receive_count: system
                .get(&MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|c| c.parse().ok())
                .unwrap_or(0),
            sent_at: time(MessageSystemAttributeName::SentTimestamp),
            first_received_at: time(MessageSystemAttributeName::ApproximateFirstReceiveTimestamp),
            failure: None,
            receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            raw: Some(message),
        }
    }
}

/// Receives distinct messages from `url` until `limit` or the queue gives no more, each hidden for `hold` (so one
/// scan sees each message once). The caller releases them ([`release`]) or deletes them.
pub async fn receive_distinct(ops: &Ops, url: &str, limit: usize, hold: Duration) -> anyhow::Result<Vec<Peeked>> {
    let mut seen = HashMap::new();
    let mut empty_in_a_row = 0;
    while seen.len() < limit && empty_in_a_row < 2 {
        let batch = receive_batch(ops, url, limit - seen.len(), hold).await?;
        empty_in_a_row = if batch.is_empty() { empty_in_a_row + 1 } else { 0 };
        for peeked in batch {
            // The newest receipt handle is the one that can still change the message's visibility.
            seen.insert(peeked.message_id.clone(), peeked);
        }
    }
    let mut messages: Vec<Peeked> = seen.into_values().collect();
    messages.sort_by(|a, b| a.sent_at.cmp(&b.sent_at).then_with(|| a.message_id.cmp(&b.message_id)));
    Ok(messages)
}

/// One receive of up to `max` (at most 10) messages, each hidden for `hold`. A one-second long poll asks every SQS
/// server, so an empty answer means the queue has no more visible messages.
pub async fn receive_batch(ops: &Ops, url: &str, max: usize, hold: Duration) -> anyhow::Result<Vec<Peeked>> {
    let out = ops
        .sqs()
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
        .visibility_timeout(i32::try_from(hold.as_secs()).unwrap_or(60).max(1))
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .with_context(|| format!("failed to receive messages from {url}"))?;
    Ok(out.messages.unwrap_or_default().into_iter().map(Peeked::from_message).collect())
}

/// Makes these received messages visible again at once.
pub async fn release(ops: &Ops, url: &str, messages: &[&Peeked]) -> anyhow::Result<()> {
    for chunk in messages.chunks(10) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, m)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(&m.receipt_handle)
                    .visibility_timeout(0)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .context("failed to build a visibility change")?;
        let out = ops
            .sqs()
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .with_context(|| format!("failed to make peeked messages visible again on {url}"))?;
        if !out.failed.is_empty() {
            let why = out.failed.iter().map(|f| f.message.as_deref().unwrap_or(&f.code)).collect::<Vec<_>>();
            tracing::warn!(
                queue.url = url,
                failed = out.failed.len(),
                why = why.join("; "),
                "peeked messages could not be made visible again; they reappear after the hold"
            );
        }
    }
    Ok(())
}

/// Up to `limit` messages of the DLQ at `url`, left in the queue, with the failure reasons `reasons` has for them.
pub async fn peek(ops: &Ops, url: &str, limit: usize, reasons: Option<&Reasons>) -> anyhow::Result<Vec<Peeked>> {
    let mut messages = receive_distinct(ops, url, limit, Duration::from_secs(30)).await?;
    release(ops, url, &messages.iter().collect::<Vec<_>>()).await?;
    if let Some(reasons) = reasons {
        reasons.attach(&mut messages).await?;
    }
    Ok(messages)
}

/// Where consumers record failure reasons (the `message_failures` table): one pool for every lookup of a command.
pub struct Reasons {
    pool: bw_db::PgPool,
    /// The database, as error messages name it (a URL without its password).
    label: String,
}

impl Reasons {
    /// A pool of one connection (made on first use) to `database_url`; `None` without a URL.
    pub fn open(database_url: Option<&str>) -> anyhow::Result<Option<Self>> {
        database_url
            .map(|url| Ok(Self { pool: bw_db::pool::build(url, 1)?, label: bw_db::migrate::redact(url) }))
            .transpose()
    }

    /// Over a pool the caller already has.
    pub fn from_pool(pool: bw_db::PgPool) -> Self {
        Self { pool, label: "the database".to_owned() }
    }

    /// Adds the recorded failure reasons to `messages`.
    pub async fn attach(&self, messages: &mut [Peeked]) -> anyhow::Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut conn = bw_db::pool::conn(&self.pool)
            .await
            .with_context(|| format!("failed to reach {} for failure reasons", self.label))?;
        let ids: Vec<String> = messages.iter().map(|m| m.message_id.clone()).collect();
        let mut failures = bw_db::failures::lookup(&mut conn, &ids).await.context("failed to read failure reasons")?;
        for message in messages {
            message.failure = failures.remove(&message.message_id);
        }
        Ok(())
    }
}
