//! A server-sent-events client for the tests and the progress benchmark: reads a `text/event-stream` response as the
//! WHATWG parsing rules say (fields `event`, `data`, `id`, `retry`; comments skipped; a blank line dispatches) and
//! notes when each event arrived.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::Value;

/// One dispatched event.
#[derive(Clone, Debug)]
pub struct SseEvent {
    /// The `event` field (`message` when absent).
    pub event: String,
    pub id: Option<String>,
    pub data: String,
    pub retry: Option<u64>,
    /// When its last byte arrived.
    pub at: Instant,
}

impl SseEvent {
    /// The data as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.data)
            .with_context(|| format!("{} event data is not JSON: {}", self.event, self.data))
    }
}

/// An open stream.
pub struct SseStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    done: bool,
}

impl SseStream {
    /// GETs `url` (its token in the query or none) with an optional `Last-Event-ID`; fails unless the answer is a 200
    /// event stream.
    pub async fn open(http: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> anyhow::Result<Self> {
        let mut request = http.get(url).header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.with_context(|| format!("GET {url}"))?;
        let status = response.status();
        let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        if status != reqwest::StatusCode::OK || !kind.starts_with("text/event-stream") {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("GET {url} answered {status} ({kind}), not an event stream: {body}");
        }
        Ok(Self { response, buffer: Vec::new(), done: false })
    }

    /// The next event; `None` once the server has closed the stream. Fails after `within` without one.
    pub async fn next(&mut self, within: Duration) -> anyhow::Result<Option<SseEvent>> {
        tokio::time::timeout(within, self.next_event()).await.with_context(|| format!("no event within {within:?}"))?
    }

    /// Every event until the server closes the stream (each within `within` of the one before).
    pub async fn rest(&mut self, within: Duration) -> anyhow::Result<Vec<SseEvent>> {
        let mut events = Vec::new();
        while let Some(event) = self.next(within).await? {
            events.push(event);
        }
        Ok(events)
    }

    async fn next_event(&mut self) -> anyhow::Result<Option<SseEvent>> {
        loop {
            if let Some(block) = self.take_block() {
                if let Some(event) = parse_block(&block) {
                    return Ok(Some(event));
                }
                continue;
            }
            if self.done {
                return Ok(None);
            }
            match self.response.chunk().await.context("reading the event stream")? {
                Some(bytes) => self.buffer.extend_from_slice(&bytes),
                None => self.done = true,
            }
        }
    }

    /// The bytes up to the next blank line, without it.
    fn take_block(&mut self) -> Option<String> {
        let end = self.buffer.windows(2).position(|w| w == b"\n\n")?;
        let block: Vec<u8> = self.buffer.drain(..end + 2).take(end).collect();
        Some(String::from_utf8_lossy(&block).replace('\r', ""))
    }
}

/// One event from its lines; `None` for a block of comments only (keep-alives).
fn parse_block(block: &str) -> Option<SseEvent> {
    let (mut event, mut id, mut data, mut retry) = (None, None, Vec::new(), None);
    for line in block.lines() {
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = line.split_once(':').map_or((line, ""), |(f, v)| (f, v.strip_prefix(' ').unwrap_or(v)));
        match field {
            "event" => event = Some(value.to_owned()),
            "data" => data.push(value),
            "id" => id = Some(value.to_owned()),
            "retry" => retry = value.parse().ok(),
            _ => {}
        }
    }
    if event.is_none() && data.is_empty() && id.is_none() && retry.is_none() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".to_owned()),
        id,
        data: data.join("\n"),
        retry,
        at: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_comments_and_multiline_data_parse() {
        let event = parse_block("event: log\nid: l5\nretry: 1000\ndata: {\"a\":\ndata: 1}").unwrap_or_else(|| panic!());
        assert_eq!((event.event.as_str(), event.id.as_deref(), event.retry), ("log", Some("l5"), Some(1000)));
        assert_eq!(event.data, "{\"a\":\n1}");
        assert!(parse_block(": keep-alive").is_none());
        assert_eq!(parse_block("data: x").map(|e| e.event), Some("message".to_owned()));
    }
}
