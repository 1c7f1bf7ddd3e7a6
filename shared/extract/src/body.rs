//! A board's listing as received: [`Fetched`], [`Validators`] and [`ListingBody`], whose postings are read one at a
//! time ([`ListingBody::postings`]) so that a board's size does not set the reader's memory.

use std::io::{Read, Seek, Write};

use tokio::sync::mpsc;

use crate::{BoardKind, ExtractError, ListedPosting, Listing};

/// What a board answered a conditional request with, to send back next time: a `304 Not Modified` then means the
/// listing has not changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Validators {
    /// The `ETag` header, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The `Last-Modified` header, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is nothing to send back.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// What fetching a board's listing came to.
#[derive(Debug)]
pub enum Fetched {
    /// The board answered `304 Not Modified` to the validators sent: its listing is as it was.
    NotModified,
    /// The listing.
    Listing(ListingBody),
}

/// Bodies up to this size stay in memory; a larger one goes to an unnamed temporary file as it arrives.
const SPILL_BYTES: usize = 1 << 20;

/// A listing's body, in memory or in an unnamed temporary file (removed when dropped).
#[derive(Debug)]
enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File),
    /// Read already (a source that holds its boards parsed).
    Read(Listing),
}

/// Collects a body as it arrives: in memory up to [`SPILL_BYTES`], then in a temporary file.
#[derive(Debug, Default)]
pub(crate) struct SpoolWriter {
    memory: Vec<u8>,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl SpoolWriter {
    /// Appends a chunk of the body.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() && self.memory.len() + chunk.len() > SPILL_BYTES {
            let mut file = std::io::BufWriter::with_capacity(64 << 10, tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(chunk),
            None => {
                self.memory.extend_from_slice(chunk);
                Ok(())
            }
        }
    }

    fn finish(self) -> std::io::Result<Spool> {
        match self.file {
            None => Ok(Spool::Memory(self.memory)),
            Some(file) => {
                let mut file = file.into_inner().map_err(std::io::IntoInnerError::into_error)?;
                file.rewind()?;
                Ok(Spool::File(file))
            }
        }
    }
}

/// A listing's body as the board sent it, with where it came from and its validators.
#[derive(Debug)]
pub struct ListingBody {
    kind: BoardKind,
    url: String,
    spool: Spool,
    validators: Validators,
    /// Parts of the listing that could not be read, found while it was fetched (sent after its postings).
    warnings: Vec<String>,
}

/// Postings in flight between the reading thread and the caller: enough to keep both busy, few enough to stay small.
const IN_FLIGHT: usize = 64;

/// One thing read from a listing.
#[derive(Debug)]
pub enum Item<T = ListedPosting> {
    /// A listed posting (or what the reader made of it, see [`ListingBody::read_with`]), in the order the board
    /// lists them (a posting listed twice comes twice).
    Posting(T),
    /// A part of the listing that could not be read without failing it (see [`Listing::warnings`]).
    Warning(String),
}

enum Message<T> {
    Item(Item<T>),
    End,
}

/// The postings of a [`ListingBody`], read in a blocking thread; see [`ListingBody::postings`].
#[derive(Debug)]
pub struct Postings<T = ListedPosting> {
    receiver: mpsc::Receiver<Result<Message<T>, ExtractError>>,
    done: bool,
}

impl<T> Postings<T> {
    /// The next item, `Ok(None)` once the whole listing was read; an error ends the listing (a `Malformed` one names
    /// the URL).
    pub async fn next(&mut self) -> Result<Option<Item<T>>, ExtractError> {
        if self.done {
            return Ok(None);
        }
        match self.receiver.recv().await {
            Some(Ok(Message::Item(item))) => Ok(Some(item)),
            Some(Ok(Message::End)) => {
                self.done = true;
                Ok(None)
            }
            Some(Err(error)) => {
                self.done = true;
                Err(error)
            }
            None => {
                self.done = true;
                Err(ExtractError::malformed("board listing", "could not be read to its end (its reader stopped)"))
            }
        }
    }
}

impl ListingBody {
    /// A body already in memory (a test's, or a careers page's).
    pub fn from_bytes(kind: BoardKind, url: impl Into<String>, body: Vec<u8>) -> Self {
        Self {
            kind,
            url: url.into(),
            spool: Spool::Memory(body),
            validators: Validators::default(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn spooled(
        kind: BoardKind,
        url: String,
        writer: SpoolWriter,
        validators: Validators,
    ) -> std::io::Result<Self> {
        Ok(Self { kind, url, spool: writer.finish()?, validators, warnings: Vec::new() })
    }

    /// The body with parts of its listing that could not be read (see [`crate::Listing::warnings`]).
    pub(crate) fn with_warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// A listing read already, as a source that holds its boards parsed serves it.
    pub fn from_listing(kind: BoardKind, url: impl Into<String>, listing: Listing) -> Self {
        let (validators, warnings) = (Validators::default(), Vec::new());
        Self { kind, url: url.into(), spool: Spool::Read(listing), validators, warnings }
    }

    /// The board's kind.
    pub fn kind(&self) -> BoardKind {
        self.kind
    }

    /// The URL the body came from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What to send back with the next request for this listing.
    pub fn validators(&self) -> &Validators {
        &self.validators
    }

    /// Reads the listing's postings in a blocking thread, a few at a time ahead of the caller. A JSON listing is read
    /// item by item (memory holds a few items, not the board); a careers page is read whole (pages are small).
    /// Must be called within a Tokio runtime.
    pub fn postings(self) -> Postings {
        self.read_with(|posting| posting)
    }

    /// [`Self::postings`], each posting passed through `map` in the reading thread: work done there (hashing,
    /// normalising) overlaps with the caller's (writing).
    pub fn read_with<T: Send + 'static>(self, mut map: impl FnMut(ListedPosting) -> T + Send + 'static) -> Postings<T> {
        let (sender, receiver) = mpsc::channel(IN_FLIGHT);
        tokio::task::spawn_blocking(move || {
            let url = self.url.clone();
            let mut send = |message: Result<Message<ListedPosting>, ExtractError>| {
                let message = message.map(|m| match m {
                    Message::Item(Item::Posting(posting)) => Message::Item(Item::Posting(map(posting))),
                    Message::Item(Item::Warning(warning)) => Message::Item(Item::Warning(warning)),
                    Message::End => Message::End,
                });
                sender.blocking_send(message).is_ok()
            };
            let read = match self.spool {
                Spool::Memory(bytes) => read(self.kind, &bytes[..], &mut send),
                Spool::File(file) => read(self.kind, std::io::BufReader::with_capacity(64 << 10, file), &mut send),
                Spool::Read(listing) => Ok(send_all(listing, &mut send)),
            }
            .map(|wanted| wanted && self.warnings.into_iter().all(|w| send(Ok(Message::Item(Item::Warning(w))))));
            match read {
                Ok(true) => {
                    send(Ok(Message::End));
                }
                Ok(false) => {}
                Err(error) => {
                    send(Err(with_url(error, &url)));
                }
            }
        });
        Postings { receiver, done: false }
    }

    /// Reads the whole listing into memory, each external id once (the first kept): for a dry run, a test.
    pub async fn collect(self) -> Result<Listing, ExtractError> {
        let mut postings = self.postings();
        let mut listing = Listing::default();
        while let Some(item) = postings.next().await? {
            match item {
                Item::Posting(posting) => listing.postings.push(posting),
                Item::Warning(warning) => listing.warnings.push(warning),
            }
        }
        listing.postings = crate::listing::dedupe("board listing", listing.postings);
        Ok(listing)
    }
}

/// Sends every item of the listing; `Ok(false)` when the receiver went away (nobody wants the rest).
fn read(
    kind: BoardKind,
    reader: impl Read,
    send: &mut impl FnMut(Result<Message<ListedPosting>, ExtractError>) -> bool,
) -> Result<bool, ExtractError> {
    let gone = || ExtractError::malformed("board listing", "is no longer wanted");
    if kind == BoardKind::Jsonld {
        let mut page = Vec::new();
        let mut reader = reader;
        reader
            .read_to_end(&mut page)
            .map_err(|e| ExtractError::malformed("careers page", format!("could not be read back: {e}")))?;
        let listing = crate::jsonld::parse_listing(&page)?;
        drop(page);
        return Ok(send_all(listing, send));
    }
    let mut wanted = true;
    let walked = crate::each_listed(kind, reader, |posting| {
        wanted = send(Ok(Message::Item(Item::Posting(posting))));
        if wanted { Ok(()) } else { Err(gone()) }
    });
    match walked {
        Ok(()) => Ok(true),
        Err(_) if !wanted => Ok(false),
        Err(error) => Err(error),
    }
}

/// Sends a listing read whole; `false` when the receiver went away.
fn send_all(listing: Listing, send: &mut impl FnMut(Result<Message<ListedPosting>, ExtractError>) -> bool) -> bool {
    let items = listing.postings.into_iter().map(Item::Posting).chain(listing.warnings.into_iter().map(Item::Warning));
    for item in items {
        if !send(Ok(Message::Item(item))) {
            return false;
        }
    }
    true
}

/// A `Malformed` error names the URL its body came from.
pub(crate) fn with_url(error: ExtractError, url: &str) -> ExtractError {
    match error {
        ExtractError::Malformed { what, reason } => {
            ExtractError::Malformed { what: format!("{what} from {url}"), reason }
        }
        other => other,
    }
}
