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
    lines: usize,
    bytes: u64,
    first_item: Option<i32>,
    last_item: i32,
}

/// A finished input file: where it is (deleted when dropped), how many requests and bytes, and the items from the
/// first to the last it carries.
pub struct Written {
    pub path: TempPath,
    pub lines: usize,
    pub bytes: u64,
    pub first_item: i32,
    pub last_item: i32,
}

impl InputFile {
    /// A new empty file in the system's temporary directory (`/tmp` on Lambda).
    pub fn new(limits: BatchLimits) -> std::io::Result<Self> {
        let file = tempfile::Builder::new().prefix("bw-batch-").suffix(".jsonl").tempfile()?;
        Ok(Self { out: BufWriter::new(file), limits, lines: 0, bytes: 0, first_item: None, last_item: 0 })
    }

    /// Adds item `item_id`'s request `line` (without its newline), if the file has room for it. Items come in
    /// increasing order.
    pub fn push(&mut self, item_id: i32, line: &str) -> std::io::Result<Pushed> {
        let needed = line.len() as u64 + 1;
        if needed > self.limits.max_bytes {
            return Ok(Pushed::TooLarge { bytes: needed });
        }
        if self.lines >= self.limits.max_requests || self.bytes + needed > self.limits.max_bytes {
            return Ok(Pushed::Full);
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        self.bytes += needed;
        self.first_item.get_or_insert(item_id);
        self.last_item = item_id;
        Ok(Pushed::Added)
    }

    /// How many requests it holds.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// The file, flushed; `None` when no line was written.
    pub fn finish(self) -> std::io::Result<Option<Written>> {
        let Some(first_item) = self.first_item else { return Ok(None) };
        let file = self.out.into_inner().map_err(std::io::IntoInnerError::into_error)?;
        file.as_file().sync_data()?;
        Ok(Some(Written {
            path: file.into_temp_path(),
            lines: self.lines,
            bytes: self.bytes,
            first_item,
            last_item: self.last_item,
        }))
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
        assert_eq!((written.lines, written.bytes, written.first_item, written.last_item), (2, 22, 3, 5));
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
