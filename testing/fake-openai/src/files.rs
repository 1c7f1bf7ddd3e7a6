//! The Files API as far as batches need it: `POST /v1/files` (multipart), `GET /v1/files/{id}`,
//! `GET /v1/files/{id}/content`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::FakeOpenAi;
use crate::errors::ApiError;
use crate::ids;

/// Purposes the real API accepts on upload.
const PURPOSES: [&str; 6] = ["assistants", "batch", "fine-tune", "vision", "user_data", "evals"];

/// How long batch input and output files live (30 days), reported in `expires_at`.
const BATCH_FILE_TTL_SECS: u64 = 30 * 24 * 3600;

/// One stored file.
#[derive(Clone, Debug)]
pub(crate) struct FileRecord {
    pub id: String,
    pub filename: String,
    pub purpose: String,
    pub created_secs: u64,
    pub content: Bytes,
}

impl FileRecord {
    pub(crate) fn new(id: String, filename: String, purpose: &str, created_secs: u64, content: Bytes) -> Self {
        Self { id, filename, purpose: purpose.to_owned(), created_secs, content }
    }

    /// The file object, in the shape of the API reference (`status` is deprecated but still sent).
    pub(crate) fn render(&self) -> Value {
        let expires_at = matches!(self.purpose.as_str(), "batch" | "batch_output")
            .then_some(self.created_secs + BATCH_FILE_TTL_SECS);
        json!({
            "object": "file",
            "id": self.id,
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": self.content.len(),
            "created_at": self.created_secs,
            "expires_at": expires_at,
            "status": "processed",
            "status_details": null,
        })
    }
}

/// Uploads a file: multipart with a `purpose` field and a `file` part. Batch files must be `.jsonl`.
pub(crate) async fn upload(
    State(fake): State<FakeOpenAi>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut multipart = multipart.map_err(|rejection| {
        ApiError::invalid(
            format!("Expected a multipart/form-data body with 'purpose' and 'file': {rejection}"),
            None,
            None,
        )
    })?;
    let (mut purpose, mut file) = (None, None);
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::invalid(format!("Could not read the multipart body: {e}"), None, None))?;
        let Some(field) = field else { break };
        match field.name() {
            Some("purpose") => {
                let text = field.text().await.map_err(|e| ApiError::invalid(e.to_string(), Some("purpose"), None))?;
                purpose = Some(text.trim().to_owned());
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("upload").to_owned();
                let bytes = field.bytes().await.map_err(|e| ApiError::invalid(e.to_string(), Some("file"), None))?;
                file = Some((name, bytes));
            }
            _ => {}
        }
    }
    let purpose = purpose.ok_or_else(|| ApiError::missing("purpose"))?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(ApiError::invalid_value("purpose", &purpose, &PURPOSES));
    }
    let (filename, content) = file.ok_or_else(|| ApiError::missing("file"))?;
    if purpose == "batch" && !filename.ends_with(".jsonl") {
        return Err(ApiError::invalid("Invalid file format for Batch API. Must be .jsonl", Some("file"), None));
    }
    let now_secs = fake.state.clock.now_secs();
    let mut inner = fake.state.lock();
    let inner = &mut *inner;
    let record = FileRecord::new(ids::file(&mut inner.rng), filename, &purpose, now_secs, content);
    let rendered = record.render();
    inner.stats.files_uploaded += 1;
    inner.files.insert(record.id.clone(), record);
    Ok(Json(rendered))
}

/// The file object.
pub(crate) async fn retrieve(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let inner = fake.state.lock();
    inner.files.get(&id).map(|file| Json(file.render())).ok_or_else(|| not_found(&id))
}

/// The file's bytes (JSONL for batch files).
pub(crate) async fn content(State(fake): State<FakeOpenAi>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let inner = fake.state.lock();
    let file = inner.files.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], file.content.clone()).into_response())
}

/// 404 for an unknown file, worded as the real API words it.
pub(crate) fn not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No such File object: {id}"), Some("id"))
}
