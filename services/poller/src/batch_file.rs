//! A batch's input file, written to a temporary file a request line at a time and closed before it would pass
//! OpenAI's limits on one batch ([`BatchLimits`]): the worker's memory holds one page of postings, never the file.

use std::io::{BufWriter, Write as _};

use tempfile::{NamedTempFile, TempPath};

/// What one batch may carry: OpenAI takes at most 50,000 requests and 200 MB in one input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    pub max_requests: usize,
    pub max_bytes: u64,
}

impl BatchLimits {
    /// OpenAI's limits (200 MB counted in decimal megabytes, the stricter reading).
    pub const OPENAI: Self = Self { max_requests: 50_000, max_bytes: 200_000_000 };
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self::OPENAI
    }
}

/// What [`InputFile::push`] did with a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Written.
    Added,
    /// Not written: the file is full; the line starts the next one.
    Full,
    /// Not written: the line alone (with its newline) is larger than a whole file may be, so no batch can carry it.
    TooLarge { bytes: u64 },
}

/// A batch input file being written.
pub struct InputFile {
    out: BufWriter<NamedTempFile>,
    limits: BatchLimits,
    bytes: u64,
    item_ids: Vec<i32>,
}

/// A finished input file: where it is (deleted when dropped), its size, and the items it carries, in order.
pub struct Written {
    pub path: TempPath,
    pub bytes: u64,
    pub item_ids: Vec<i32>,
}

/// The prefix of input files' names in the temporary directory.
const PREFIX: &str = "bw-batch-";
/// An input file older than this is left over from an invocation that was stopped before it could delete its file
/// (a Lambda timeout freezes the process): far longer than any invocation.
const STALE: std::time::Duration = std::time::Duration::from_secs(3_600);

impl InputFile {
    /// A new empty file in the system's temporary directory (`/tmp` on Lambda, which a warm function keeps between
    /// invocations), after deleting files stale invocations left there.
    pub fn new(limits: BatchLimits) -> std::io::Result<Self> {
        sweep(&std::env::temp_dir(), STALE);
        let file = tempfile::Builder::new().prefix(PREFIX).suffix(".jsonl").tempfile()?;
        Ok(Self { out: BufWriter::new(file), limits, bytes: 0, item_ids: Vec::new() })
    }

    /// Adds item `item_id`'s request `line` (without its newline), if the file has room for it. Items come in
    /// increasing order.
    pub fn push(&mut self, item_id: i32, line: &str) -> std::io::Result<Pushed> {
        let needed = line.len() as u64 + 1;
        if needed > self.limits.max_bytes {
            return Ok(Pushed::TooLarge { bytes: needed });
        }
        if self.item_ids.len() >= self.limits.max_requests || self.bytes + needed > self.limits.max_bytes {
            return Ok(Pushed::Full);
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += needed;
        self.item_ids.push(item_id);
        Ok(Pushed::Added)
    }

    /// How many requests it holds.
    pub fn lines(&self) -> usize {
        self.item_ids.len()
    }

    /// The file, flushed; `None` when no line was written.
    pub fn finish(self) -> std::io::Result<Option<Written>> {
        if self.item_ids.is_empty() {
            return Ok(None);
        }
        let file = self.out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        Ok(Some(Written { path: file.into_temp_path(), bytes: self.bytes, item_ids: self.item_ids }))
    }
}

/// Deletes input files in `dir` last modified more than `older_than` ago (best effort).
fn sweep(dir: &std::path::Path, older_than: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let stale = entry.file_name().to_str().is_some_and(|n| n.starts_with(PREFIX))
            && entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age > older_than));
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            tracing::info!(path = %entry.path().display(), "deleted a batch input file a stopped invocation left");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_file() -> std::io::Error {
        std::io::Error::other("no file was written")
    }

    fn line(n: usize) -> String {
        "x".repeat(n)
    }

    #[test]
    fn a_file_closes_at_the_request_limit() -> std::io::Result<()> {
        let mut file = InputFile::new(BatchLimits { max_requests: 2, max_bytes: 1_000 })?;
        assert_eq!(file.push(3, &line(10))?, Pushed::Added);
        assert_eq!(file.push(5, &line(10))?, Pushed::Added);
        assert_eq!(file.push(6, &line(10))?, Pushed::Full);
        let written = file.finish()?.ok_or_else(no_file)?;
        assert_eq!((written.bytes, &written.item_ids[..]), (22, &[3, 5][..]));
        let text = std::fs::read_to_string(&written.path)?;
        assert_eq!(text, format!("{}\n{}\n", line(10), line(10)));
        Ok(())
    }

    #[test]
    fn a_file_closes_before_its_bytes_would_pass_the_limit_counting_newlines() -> std::io::Result<()> {
        let mut file = InputFile::new(BatchLimits { max_requests: 100, max_bytes: 30 })?;
        assert_eq!(file.push(1, &line(14))?, Pushed::Added);
        assert_eq!(file.push(2, &line(14))?, Pushed::Added);
        assert_eq!(file.lines(), 2);
        // 30 bytes written: not even an empty line's newline fits.
        assert_eq!(file.push(3, "")?, Pushed::Full);
        assert_eq!(file.finish()?.ok_or_else(no_file)?.bytes, 30);
        Ok(())
    }

    #[test]
    fn a_line_larger_than_a_file_is_refused_whatever_the_file_holds() -> std::io::Result<()> {
        let mut file = InputFile::new(BatchLimits { max_requests: 100, max_bytes: 30 })?;
        assert_eq!(file.push(1, &line(30))?, Pushed::TooLarge { bytes: 31 });
        assert_eq!(file.push(2, &line(29))?, Pushed::Added);
        assert!(file.finish()?.is_some());
        Ok(())
    }

    #[test]
    fn an_empty_file_is_none() -> std::io::Result<()> {
        let file = InputFile::new(BatchLimits::OPENAI)?;
        assert!(file.finish()?.is_none());
        Ok(())
    }

    #[test]
    fn files_stale_invocations_left_are_swept_and_others_kept() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        for name in ["bw-batch-old.jsonl", "other.jsonl"] {
            std::fs::write(dir.path().join(name), "{}")?;
        }
        sweep(dir.path(), std::time::Duration::from_secs(3_600));
        assert!(dir.path().join("bw-batch-old.jsonl").exists(), "an hour has not passed");
        std::thread::sleep(std::time::Duration::from_millis(20));
        sweep(dir.path(), std::time::Duration::from_millis(10));
        assert!(!dir.path().join("bw-batch-old.jsonl").exists());
        assert!(dir.path().join("other.jsonl").exists(), "not ours");
        Ok(())
    }

    #[test]
    fn the_file_is_deleted_with_its_path() -> std::io::Result<()> {
        let mut file = InputFile::new(BatchLimits::OPENAI)?;
        file.push(1, "{}")?;
        let written = file.finish()?.ok_or_else(no_file)?;
        let path = written.path.to_path_buf();
        assert!(path.exists());
        drop(written);
        assert!(!path.exists());
        Ok(())
    }
}
