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
    /// The board's name on its service (`[A-Za-z0-9._-]{1,128}`); for Teamtailor, Recruitee, Personio and BambooHR
    /// that name or the board's own URL (custom domains are common); Workday: the careers site's URL; jsonld: the
    /// careers page's URL.
    pub token: String,
    /// Which of the service's hosts: `Eu` for Greenhouse and Lever boards on their EU hosts.
    pub region: BoardRegion,
}

/// Longest URL accepted as a token.
const MAX_URL_LEN: usize = 2048;

const NAME_RULE: &str = "must be 1-128 characters of letters, digits, '.', '_' or '-'";
const NAME_RULE_SHORT: &str = "1-128 letters, digits, '.', '_' or '-'";

/// A board's name on its service: safe to put in a URL path or a host's first label.
fn is_name(token: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    !token.is_empty() && token.len() <= 128 && token.chars().all(ok_char)
}

/// An absolute http(s) URL with a host, at most [`MAX_URL_LEN`] long; the error follows "must be".
fn web_url(token: &str) -> Result<reqwest::Url, String> {
    if token.len() > MAX_URL_LEN {
        return Err(format!("a URL of at most {MAX_URL_LEN} characters"));
    }
    let url = reqwest::Url::parse(token).map_err(|e| format!("an absolute http(s) URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("an http(s) URL, not {}:", url.scheme()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("a URL with a host".to_owned());
    }
    Ok(url)
}

/// A Workday careers site: its host, tenant and site name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WorkdaySite {
    /// `{tenant}.{pod}.myworkdayjobs.com`
    pub host: String,
    pub tenant: String,
    pub site: String,
}

/// Reads a Workday token, `https://{tenant}.{pod}.myworkdayjobs.com/{site}`; the error follows "board token for
/// workday".
pub(crate) fn workday_site(token: &str) -> Result<WorkdaySite, String> {
    const RULE: &str = "must be the careers site's URL, https://{tenant}.{pod}.myworkdayjobs.com/{site}";
    let wrong = |why: &str| format!("{RULE} ({why})");
    let url = web_url(token).map_err(|problem| wrong(&format!("not {problem}")))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let Some((tenant, pod)) = host.strip_suffix(".myworkdayjobs.com").and_then(|t| t.split_once('.')) else {
        return Err(wrong("the host is not a myworkdayjobs.com site"));
    };
    let (tenant, pod) = (tenant.to_owned(), pod.to_owned());
    let label = |s: &str| {
        !s.is_empty() && s.len() <= 63 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !label(&tenant) || !label(&pod) {
        return Err(wrong("the host is not {tenant}.{pod}.myworkdayjobs.com"));
    }
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let [site] = segments[..] else { return Err(wrong("the path is not the site's name alone")) };
    if !is_name(site) {
        return Err(wrong("the site's name must be letters, digits, '.', '_' or '-'"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(wrong("without a query or fragment"));
    }
    if url.port().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(wrong("without a port or credentials"));
    }
    Ok(WorkdaySite { host, tenant, site: site.to_owned() })
}

impl Board {
    /// Validates `token` for `kind`.
    ///
    /// A board's name is 1-128 characters of ASCII letters, digits, `.`, `_` or `-` (safe to put in a URL path or a
    /// host's first label): the only token of Greenhouse, Lever, Ashby, Workable and SmartRecruiters boards.
    /// Teamtailor, Recruitee, Personio and BambooHR boards take their name or their own URL (an absolute `http` or
    /// `https` URL with a host, without a query or credentials, at most 2048 characters; kept with its host
    /// lower-cased and without a trailing slash); a jsonld token is such a URL (a query allowed, kept as given). A
    /// Workday token is its careers site's URL, `https://{tenant}.{pod}.myworkdayjobs.com/{site}` (kept so, its host
    /// lower-cased, whatever scheme it was given with).
    pub fn new(kind: BoardKind, token: &str) -> Result<Board, InvalidBoard> {
        let invalid = |problem: String| InvalidBoard { kind, problem };
        match kind {
            BoardKind::Greenhouse
            | BoardKind::Lever
            | BoardKind::Ashby
            | BoardKind::Workable
            | BoardKind::Smartrecruiters => {
                if !is_name(token) {
                    return Err(invalid(NAME_RULE.to_owned()));
                }
            }
            BoardKind::Teamtailor | BoardKind::Recruitee | BoardKind::Personio | BoardKind::Bamboohr => {
                if !is_name(token) {
                    let url = web_url(token).map_err(|problem| {
                        invalid(format!("must be the board's name ({NAME_RULE_SHORT}) or its URL: {problem}"))
                    })?;
                    if url.query().is_some() || url.fragment().is_some() {
                        return Err(invalid("must be the board's URL without a query or fragment".to_owned()));
                    }
                    if !url.username().is_empty() || url.password().is_some() {
                        return Err(invalid("must be the board's public URL, without credentials".to_owned()));
                    }
                    // One spelling per board: the host lower-cased, no trailing slash.
                    let canonical = url.as_str().trim_end_matches('/').to_owned();
                    return Ok(Board { kind, token: canonical, region: BoardRegion::Us });
                }
            }
            BoardKind::Workday => {
                let site = workday_site(token).map_err(invalid)?;
                let token = format!("https://{}/{}", site.host, site.site);
                return Ok(Board { kind, token, region: BoardRegion::Us });
            }
            BoardKind::Jsonld => {
                web_url(token).map_err(|problem| invalid(format!("must be {problem}")))?;
            }
        }
        Ok(Board { kind, token: token.to_owned(), region: BoardRegion::Us })
    }

    /// Whether the token is the board's own URL (a custom domain), not its name on the board service's host.
    pub fn is_url(&self) -> bool {
        self.kind == BoardKind::Jsonld || (!is_name(&self.token) && self.kind != BoardKind::Workday)
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
        let err = "icims".parse::<BoardKind>().err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            err,
            "unknown board kind \"icims\": expected one of greenhouse, lever, ashby, jsonld, workday, workable, \
             smartrecruiters, teamtailor, recruitee, personio, bamboohr"
        );
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

    #[test]
    fn tenant_boards_take_a_name_or_their_url() {
        for kind in [BoardKind::Teamtailor, BoardKind::Recruitee, BoardKind::Personio, BoardKind::Bamboohr] {
            let name = Board::new(kind, "acme");
            assert!(name.as_ref().is_ok_and(|b| !b.is_url()), "{kind}: {name:?}");
            let url = Board::new(kind, "https://Jobs.Acme.com/");
            assert!(url.as_ref().is_ok_and(Board::is_url), "{kind}: {url:?}");
            assert_eq!(url.map(|b| b.token).ok().as_deref(), Some("https://jobs.acme.com"), "one spelling");
            for bad in
                ["a b", "ftp://jobs.acme.com", "https://jobs.acme.com/?page=2", "/careers", "https://u:p@jobs.acme.com"]
            {
                assert!(Board::new(kind, bad).is_err(), "{kind}: {bad:?} accepted");
            }
        }
        for kind in [BoardKind::Workable, BoardKind::Smartrecruiters] {
            assert!(Board::new(kind, "Vitol").is_ok());
            let err = Board::new(kind, "https://apply.workable.com/acme").err().map(|e| e.to_string());
            assert_eq!(err, Some(format!("board token for {kind} {NAME_RULE}")));
        }
    }

    #[test]
    fn workday_tokens_are_site_urls() -> Result<(), String> {
        let site = workday_site("https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite")?;
        assert_eq!(
            (site.host.as_str(), site.tenant.as_str(), site.site.as_str()),
            ("nvidia.wd5.myworkdayjobs.com", "nvidia", "NVIDIAExternalCareerSite")
        );
        assert!(
            Board::new(BoardKind::Workday, "https://salesforce.wd12.myworkdayjobs.com/External_Career_Site").is_ok()
        );
        for bad in [
            "nvidia",
            "https://nvidia.wd5.myworkdayjobs.com/",
            "https://nvidia.wd5.myworkdayjobs.com/en-US/NVIDIAExternalCareerSite",
            "https://nvidia.wd5.myworkdayjobs.com/site?q=1",
            "https://nvidia.wd5.myworkdayjobs.com:8443/site",
            "https://myworkdayjobs.com/site",
            "https://nvidia.example.com/site",
        ] {
            let err = Board::new(BoardKind::Workday, bad).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.starts_with("board token for workday must be the careers site's URL"), "{bad:?}: {err}");
        }
        Ok(())
    }
}
