//! The endpoints: Responses (background mode), Files and Batches.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::client::OpenAi;
use crate::decision::decision_text_format;
use crate::error::OpenAiError;
use crate::types::{Batch, FileObject, Response};

/// The endpoint batches created by this crate run against.
pub const BATCH_ENDPOINT: &str = "/v1/responses";
/// The only completion window OpenAI offers.
pub const BATCH_COMPLETION_WINDOW: &str = "24h";

impl OpenAi {
    /// `POST /responses` in background mode: `background: true`, `store: true`, and `text.format` asking for a
    /// strict [`Decision`](crate::Decision). OpenAI answers at once, normally with status `queued`; poll with
    /// [`retrieve_response`](Self::retrieve_response). `metadata` (at most 16 pairs) is omitted when empty.
    ///
    /// A retried create (after a timeout or 5xx) may leave an earlier response running on OpenAI's side; only the id
    /// returned here is known to the caller.
    pub async fn create_background_response(
        &self,
        model: &str,
        instructions: &str,
        input: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Response, OpenAiError> {
        let mut body = json!({
            "model": model,
            "instructions": instructions,
            "input": input,
            "background": true,
            "store": true,
            "text": decision_text_format(),
        });
        if !metadata.is_empty() {
            body["metadata"] = json!(metadata);
        }
        self.send_json(Method::POST, &["responses"], Some(&body)).await
    }

    /// `GET /responses/{id}`: the response's current state.
    pub async fn retrieve_response(&self, id: &str) -> Result<Response, OpenAiError> {
        self.send_json(Method::GET, &["responses", id], None).await
    }

    /// `POST /responses/{id}/cancel`: cancels a background response (status becomes `cancelled`).
    pub async fn cancel_response(&self, id: &str) -> Result<Response, OpenAiError> {
        self.send_json(Method::POST, &["responses", id, "cancel"], None).await
    }

    /// `POST /files` as `multipart/form-data` with `purpose=batch` and a `file` part named `filename` (which should
    /// end in `.jsonl`) holding the batch input lines.
    pub async fn upload_batch_file(&self, jsonl: Vec<u8>, filename: &str) -> Result<FileObject, OpenAiError> {
        let url = self.url(&["files"])?;
        // Shared, so each attempt's body is a new handle on the same bytes rather than a copy of a large file.
        let jsonl = bytes::Bytes::from(jsonl);
        let length = jsonl.len() as u64;
        let body = self
            .execute(Method::POST, url, |request| {
                let headers = reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/octet-stream"),
                )]);
                let part = Part::stream_with_length(reqwest::Body::from(jsonl.clone()), length)
                    .file_name(filename.to_owned())
                    .headers(headers);
                request.multipart(Form::new().text("purpose", "batch").part("file", part))
            })
            .await?;
        decode(&body, "POST /files answer")
    }

    /// `POST /batches` over an uploaded input file, for [`BATCH_ENDPOINT`] with [`BATCH_COMPLETION_WINDOW`].
    /// `metadata` (at most 16 pairs) is omitted when empty.
    pub async fn create_batch(
        &self,
        input_file_id: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Batch, OpenAiError> {
        let mut body = json!({
            "input_file_id": input_file_id,
            "endpoint": BATCH_ENDPOINT,
            "completion_window": BATCH_COMPLETION_WINDOW,
        });
        if !metadata.is_empty() {
            body["metadata"] = json!(metadata);
        }
        self.send_json(Method::POST, &["batches"], Some(&body)).await
    }

    /// `GET /batches/{id}`.
    pub async fn retrieve_batch(&self, id: &str) -> Result<Batch, OpenAiError> {
        self.send_json(Method::GET, &["batches", id], None).await
    }

    /// `POST /batches/{id}/cancel` (status becomes `cancelling`, later `cancelled`).
    pub async fn cancel_batch(&self, id: &str) -> Result<Batch, OpenAiError> {
        self.send_json(Method::POST, &["batches", id, "cancel"], None).await
    }

    /// `GET /files/{id}/content`: the raw bytes of a file, such as a batch's output or error file (JSONL; read it
    /// with [`parse_batch_output`](crate::parse_batch_output)).
    pub async fn file_content(&self, file_id: &str) -> Result<Vec<u8>, OpenAiError> {
        let url = self.url(&["files", file_id, "content"])?;
        self.execute(Method::GET, url, |request| request).await
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<T, OpenAiError> {
        let url = self.url(segments)?;
        let what = format!("{method} {} answer", url.path());
        let answer = self
            .execute(method, url, |request| match body {
                Some(body) => request.json(body),
                None => request,
            })
            .await?;
        decode(&answer, &what)
    }
}

fn decode<T: DeserializeOwned>(body: &[u8], what: &str) -> Result<T, OpenAiError> {
    serde_json::from_slice(body).map_err(|e| OpenAiError::decode(what, e))
}
