//! Batch files as streams, so a worker's memory does not grow with them: an input file uploaded from disk (read
//! again for every attempt, never held whole), and a result file read line by line as it downloads.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt as _};
use reqwest::Method;
use reqwest::multipart::{Form, Part};

use crate::client::OpenAi;
use crate::error::OpenAiError;
use crate::types::FileObject;

impl OpenAi {
    /// `POST /files` with `purpose=batch`, the `file` part named `filename` (ending in `.jsonl`) streamed from the
    /// file at `path`, which each attempt opens again.
    pub async fn upload_batch_file_from(&self, path: &Path, filename: &str) -> Result<FileObject, OpenAiError> {
        let unreadable =
            |e: std::io::Error| OpenAiError::LocalFile { path: path.display().to_string(), reason: e.to_string() };
        let length = std::fs::metadata(path).map_err(unreadable)?.len();
        let url = self.url(&["files"])?;
        let response = self
            .execute_transfer(Method::POST, url, |request| {
                let headers = reqwest::header::HeaderMap::from_iter([(
                    reqwest::header::CONTENT_TYPE,
                    reqwest::header::HeaderValue::from_static("application/octet-stream"),
                )]);
                let part =
                    Part::stream_with_length(file_body(path), length).file_name(filename.to_owned()).headers(headers);
                request.multipart(Form::new().text("purpose", "batch").part("file", part))
            })
            .await?;
        let body = response.bytes().await.map_err(|e| crate::client::transport_error("POST /files", &e).error)?;
        serde_json::from_slice(&body).map_err(|e| OpenAiError::decode("POST /files answer", e))
    }

    /// `GET /files/{id}/content` as [`FileLines`]: a batch's output or error file read a line at a time.
    pub async fn file_lines(&self, file_id: &str) -> Result<FileLines, OpenAiError> {
        let url = self.url(&["files", file_id, "content"])?;
        let what = format!("GET /files/{file_id}/content");
        let response = self.execute_transfer(Method::GET, url, |request| request).await?;
        Ok(FileLines::new(response.bytes_stream(), what))
    }
}

/// The file at `path` as a request body read as it is sent; a file that cannot be opened makes the body fail (and
/// the attempt, as a transport error).
fn file_body(path: &Path) -> reqwest::Body {
    match std::fs::File::open(path) {
        Ok(file) => reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file))),
        Err(e) => reqwest::Body::wrap_stream(futures::stream::once(async move { Err::<Bytes, _>(e) })),
    }
}

/// The longest line read: far more than any batch result (a response of the largest output a model gives).
pub const MAX_LINE: usize = 64 << 20;

/// A file's lines as its body downloads: at most one line and one network chunk are held at a time.
pub struct FileLines {
    stream: std::pin::Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    buffer: BytesMut,
    ended: bool,
    what: String,
    /// Lines returned so far.
    read: u64,
}

impl FileLines {
    fn new(stream: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static, what: String) -> Self {
        Self { stream: Box::pin(stream), buffer: BytesMut::new(), ended: false, what, read: 0 }
    }

    /// Lines returned so far (the next one's 1-based number, less one).
    pub fn read(&self) -> u64 {
        self.read
    }

    /// The next line, without its `\n` (nor a `\r` before it); `None` at the end of the file. A last line without a
    /// newline is a line; bytes that are not UTF-8 are replaced (U+FFFD). A download that breaks, or a line longer
    /// than [`MAX_LINE`], is an error.
    pub async fn next_line(&mut self) -> Result<Option<String>, OpenAiError> {
        loop {
            if let Some(at) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line = self.buffer.split_to(at + 1);
                line.truncate(at);
                return Ok(Some(self.line(&line)));
            }
            if self.ended {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                let line = self.buffer.split();
                return Ok(Some(self.line(&line)));
            }
            if self.buffer.len() > MAX_LINE {
                let what = format!("{} line {}", self.what, self.read + 1);
                return Err(OpenAiError::decode(what, format!("longer than {MAX_LINE} bytes")));
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Err(crate::client::transport_error(&self.what, &e).error),
                None => self.ended = true,
            }
        }
    }

    /// Skips `n` lines (those an earlier invocation applied); returns how many there were.
    pub async fn skip(&mut self, n: u64) -> Result<u64, OpenAiError> {
        let mut skipped = 0;
        while skipped < n && self.next_line().await?.is_some() {
            skipped += 1;
        }
        Ok(skipped)
    }

    fn line(&mut self, bytes: &[u8]) -> String {
        self.read += 1;
        String::from_utf8_lossy(bytes.strip_suffix(b"\r").unwrap_or(bytes)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(chunks: &[&'static str]) -> FileLines {
        let chunks: Vec<reqwest::Result<Bytes>> = chunks.iter().map(|c| Ok(Bytes::from_static(c.as_bytes()))).collect();
        FileLines::new(futures::stream::iter(chunks), "test file".to_owned())
    }

    async fn all(mut lines: FileLines) -> Result<Vec<String>, OpenAiError> {
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().await? {
            out.push(line);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn lines_split_across_chunks_come_whole() -> Result<(), OpenAiError> {
        let lines = lines_of(&["{\"a\":", "1}\n{\"b\"", ":2}\r\n", "", "last"]);
        assert_eq!(all(lines).await?, ["{\"a\":1}", "{\"b\":2}", "last"]);
        Ok(())
    }

    #[tokio::test]
    async fn skipping_counts_lines_and_stops_at_the_end() -> Result<(), OpenAiError> {
        let mut lines = lines_of(&["one\ntwo\nthree\n"]);
        assert_eq!(lines.skip(2).await?, 2);
        assert_eq!(lines.next_line().await?.as_deref(), Some("three"));
        assert_eq!(lines.read(), 3);
        assert_eq!(lines.skip(5).await?, 0);
        Ok(())
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_replaced_and_the_lines_go_on() -> Result<(), OpenAiError> {
        let chunks = vec![Ok(Bytes::from_static(b"ok\n\xff{}\nnext\n"))];
        let mut lines = FileLines::new(futures::stream::iter(chunks), "file-x".to_owned());
        assert_eq!(lines.next_line().await?.as_deref(), Some("ok"));
        assert_eq!(lines.next_line().await?.as_deref(), Some("\u{fffd}{}"));
        assert_eq!(lines.next_line().await?.as_deref(), Some("next"));
        Ok(())
    }

    #[tokio::test]
    async fn a_line_past_the_cap_is_an_error_naming_it() {
        let chunk = Bytes::from(vec![b'x'; MAX_LINE + 2]);
        let mut lines = FileLines::new(futures::stream::iter(vec![Ok(chunk)]), "file-y".to_owned());
        let error = lines.next_line().await.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("file-y line 1") && error.contains("longer than"), "{error}");
    }
}
