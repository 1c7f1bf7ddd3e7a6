//! Which board a posting comes from: [`BoardKind`] and the validated [`Board`].

use std::fmt;

pub use bw_vocab::{BoardKind, BoardRegion};
/// A board kind name that is not one of the known kinds.
pub type UnknownBoardKind = bw_vocab::Unknown;

/// A board token that does not suit its kind; the message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("board token for {kind} {problem}")]
pub struct InvalidBoard {
    /// The kind the token was given for.
    pub kind: BoardKind,
    /// What is wrong, phrased to follow "board token for {kind}".
    pub problem: String,
}

/// A region that a board of its kind cannot be in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} boards have no {region} host (only greenhouse and lever have an EU one)")]
pub struct WrongRegion {
    pub kind: BoardKind,
    pub region: BoardRegion,
}

/// A board that cannot be read as a company names it: its token does not suit its kind, or its kind has no such
/// host.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Token(#[from] InvalidBoard),
    #[error(transparent)]
    Region(#[from] WrongRegion),
}

/// One board to read: its kind, the host it is on, and its token (a board name, or for `jsonld` the careers page
/// URL).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Board {
    /// Which API or page format to use.
    pub kind: BoardKind,
    /// Greenhouse/Lever/Ashby: the board name (`[A-Za-z0-9._-]{1,128}`); jsonld: an absolute http(s) URL.
    pub token: String,
    /// Which of the service's hosts: `Eu` for Greenhouse and Lever boards on their EU hosts.
    pub region: BoardRegion,
}

/// Longest careers-page URL accepted for a jsonld board.
const MAX_URL_LEN: usize = 2048;

impl Board {
    /// Validates `token` for `kind`.
    ///
    /// Greenhouse, Lever and Ashby tokens are 1-128 characters of ASCII letters, digits, `.`, `_` or `-` (so they
    /// are safe to put in a URL path). A jsonld token is an absolute `http` or `https` URL with a host, at most
    /// 2048 characters.
    pub fn new(kind: BoardKind, token: &str) -> Result<Board, InvalidBoard> {
        let invalid = |problem: String| InvalidBoard { kind, problem };
        match kind {
            BoardKind::Greenhouse | BoardKind::Lever | BoardKind::Ashby => {
                let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
                if token.is_empty() || token.len() > 128 || !token.chars().all(ok_char) {
                    return Err(invalid("must be 1-128 characters of letters, digits, '.', '_' or '-'".to_owned()));
                }
            }
            BoardKind::Jsonld => {
                if token.len() > MAX_URL_LEN {
                    return Err(invalid(format!("must be a URL of at most {MAX_URL_LEN} characters")));
                }
                let url = reqwest::Url::parse(token)
                    .map_err(|e| invalid(format!("must be an absolute http(s) URL ({e})")))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(invalid(format!("must be an http(s) URL, not {}:", url.scheme())));
                }
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("must be a URL with a host".to_owned()));
                }
            }
        }
        Ok(Board { kind, token: token.to_owned(), region: BoardRegion::Us })
    }

    /// The board of `kind` on `region`'s host with `token`: [`Self::new`], then [`Self::in_region`].
    pub fn at(kind: BoardKind, region: BoardRegion, token: &str) -> Result<Board, BoardError> {
        Ok(Board::new(kind, token)?.in_region(region)?)
    }

    /// The board on `region`'s host, if its kind has one there.
    pub fn in_region(self, region: BoardRegion) -> Result<Board, WrongRegion> {
        if !self.kind.regions().contains(&region) {
            return Err(WrongRegion { kind: self.kind, region });
        }
        Ok(Board { region, ..self })
    }
}

impl fmt::Display for Board {
    /// `kind:token`, e.g. `greenhouse:airbnb`, or for a board on an EU host `greenhouse:airbnb (eu)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.token)?;
        match self.region {
            BoardRegion::Us => Ok(()),
            BoardRegion::Eu => f.write_str(" (eu)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_round_trip() {
        for kind in BoardKind::ALL {
            assert_eq!(kind.as_str().parse::<BoardKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<BoardKind>(&json).ok(), Some(kind));
        }
        assert_eq!(" Lever ".parse::<BoardKind>(), Ok(BoardKind::Lever));
        let err = "workday".parse::<BoardKind>().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "unknown board kind \"workday\": expected one of greenhouse, lever, ashby, jsonld");
    }

    #[test]
    fn api_tokens_are_restricted() {
        assert!(Board::new(BoardKind::Greenhouse, "airbnb").is_ok());
        assert!(Board::new(BoardKind::Ashby, "wealth-com").is_ok());
        assert!(Board::new(BoardKind::Lever, "a.b_c-1").is_ok());
        assert!(Board::new(BoardKind::Lever, &"x".repeat(128)).is_ok());
        for bad in ["", "a/b", "a b", "é", "../x", "a?b"] {
            assert!(Board::new(BoardKind::Lever, bad).is_err(), "{bad:?} accepted");
        }
        assert!(Board::new(BoardKind::Lever, &"x".repeat(129)).is_err());
        let err = Board::new(BoardKind::Lever, "a/b").err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err, "board token for lever must be 1-128 characters of letters, digits, '.', '_' or '-'");
    }

    #[test]
    fn jsonld_tokens_are_absolute_http_urls() {
        let board = Board::new(BoardKind::Jsonld, "https://example.com/careers?x=1");
        assert_eq!(board.map(|b| b.to_string()).ok().as_deref(), Some("jsonld:https://example.com/careers?x=1"));
        assert!(Board::new(BoardKind::Jsonld, "http://example.com").is_ok());
        for bad in ["", "example.com/careers", "/careers", "ftp://example.com/x", "mailto:a@b.c", "file:///etc/passwd"]
        {
            let err = Board::new(BoardKind::Jsonld, bad);
            assert!(err.is_err(), "{bad:?} accepted");
            let msg = err.err().map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.starts_with("board token for jsonld must be"), "{msg}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(Board::new(BoardKind::Jsonld, &long).is_err());
    }
}
