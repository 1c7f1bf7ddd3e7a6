//! A careers URL a user pasted, recognised as the board behind it: the applicant-tracking system by its host (and
//! path), and the board's token in it; any other web page is a careers page, read for its schema.org `JobPosting`
//! JSON-LD. Pure parsing: whether the address is public is the caller's check (see [`crate::guard`]).
//!
//! Kinds are named as the API names them (`greenhouse`, `lever`, `ashby`, `workable`, `recruitee`, `personio`,
//! `teamtailor`, `bamboohr`, `smartrecruiters`, `workday`, `jsonld`).

use url::Url;

/// The board a URL names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecognizedBoard {
    /// The board kind, as the API names it.
    pub kind: &'static str,
    /// The board's token: a slug, a company id, Workday's careers site URL, or (a careers page) the URL itself.
    pub token: String,
    /// On the board's EU host (Greenhouse's and Lever's EU customers).
    pub eu: bool,
}

/// Why a pasted URL cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BoardUrlError {
    /// Not a URL at all.
    #[error("{url:?} is not a URL: {reason}")]
    NotAUrl { url: String, reason: String },
    /// A URL of another scheme than http(s).
    #[error("{url:?} is not a web address (http or https)")]
    NotWeb { url: String },
    /// User name or password in the URL.
    #[error("{url:?} carries credentials; paste the board's public address")]
    Credentials { url: String },
    /// A board's host without the part that names the board.
    #[error(
        "{url:?} is a {kind} address without the board's name; paste the address of the company's board, e.g. {example}"
    )]
    NoBoard { url: String, kind: &'static str, example: &'static str },
}

/// Recognises the board a careers URL names (see the module's comment).
pub fn recognize(input: &str) -> Result<RecognizedBoard, BoardUrlError> {
    let text = input.trim();
    let url = Url::parse(text).map_err(|e| BoardUrlError::NotAUrl { url: text.to_owned(), reason: e.to_string() })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BoardUrlError::NotWeb { url: text.to_owned() });
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BoardUrlError::Credentials { url: text.to_owned() });
    }
    let host = url.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let first = segments.first().copied();
    let eu = matches!(host.as_str(), "boards.eu.greenhouse.io" | "job-boards.eu.greenhouse.io" | "jobs.eu.lever.co");
    let board = |kind: &'static str, token: Option<&str>, example: &'static str| match token.filter(|t| is_slug(t)) {
        Some(token) => Ok(RecognizedBoard { kind, token: token.to_owned(), eu }),
        None => Err(BoardUrlError::NoBoard { url: text.to_owned(), kind, example }),
    };
    match host.as_str() {
        "boards.greenhouse.io"
        | "job-boards.greenhouse.io"
        | "boards.eu.greenhouse.io"
        | "job-boards.eu.greenhouse.io" => {
            // The embedded board names its company in `for`.
            let embedded = url.query_pairs().find(|(k, _)| k == "for").map(|(_, v)| v.into_owned());
            let token = if first == Some("embed") { embedded.as_deref() } else { first };
            board("greenhouse", token, "https://boards.greenhouse.io/acme")
        }
        "jobs.lever.co" | "jobs.eu.lever.co" => board("lever", first, "https://jobs.lever.co/acme"),
        "jobs.ashbyhq.com" => board("ashby", first, "https://jobs.ashbyhq.com/acme"),
        "apply.workable.com" => board("workable", first, "https://apply.workable.com/acme"),
        "jobs.smartrecruiters.com" | "careers.smartrecruiters.com" => {
            board("smartrecruiters", first, "https://jobs.smartrecruiters.com/Acme")
        }
        _ => subdomain_board(text, &host, &segments)
            .unwrap_or_else(|| Ok(RecognizedBoard { kind: "jsonld", token: url.to_string(), eu: false })),
    }
}

/// Boards named by their subdomain: Recruitee, Personio, Teamtailor, BambooHR and Workday (whose site is the path's
/// first segment after an optional locale).
fn subdomain_board(text: &str, host: &str, segments: &[&str]) -> Option<Result<RecognizedBoard, BoardUrlError>> {
    let sub = |suffix: &str| host.strip_suffix(suffix).filter(|s| is_slug(s) && !s.contains('.'));
    let found = |kind: &'static str, token: String| Some(Ok(RecognizedBoard { kind, token, eu: false }));
    if let Some(slug) = sub(".recruitee.com") {
        return found("recruitee", slug.to_owned());
    }
    if let Some(slug) = sub(".jobs.personio.de").or_else(|| sub(".jobs.personio.com")) {
        return found("personio", slug.to_owned());
    }
    if let Some(slug) = sub(".teamtailor.com") {
        return found("teamtailor", slug.to_owned());
    }
    if let Some(tenant) = sub(".bamboohr.com") {
        return found("bamboohr", tenant.to_owned());
    }
    // {tenant}.{pod}.myworkdayjobs.com[/{locale}]/{site}
    let tenant_pod = host.strip_suffix(".myworkdayjobs.com")?;
    let (tenant, pod) = tenant_pod.split_once('.')?;
    if !is_slug(tenant) || !is_slug(pod) || pod.contains('.') {
        return None;
    }
    let site = segments.iter().copied().find(|s| !is_locale(s)).filter(|s| is_slug(s));
    Some(match site {
        Some(site) => Ok(RecognizedBoard { kind: "workday", token: format!("https://{host}/{site}"), eu: false }),
        None => Err(BoardUrlError::NoBoard {
            url: text.to_owned(),
            kind: "workday",
            example: "https://acme.wd5.myworkdayjobs.com/en-US/External",
        }),
    })
}

/// A board's name or id as the boards spell them: letters, digits, `-`, `_` and `.`.
fn is_slug(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A locale segment of a Workday path (`en-US`, `de-DE`, `fr`).
fn is_locale(s: &str) -> bool {
    let (lang, region) = s.split_once('-').unwrap_or((s, ""));
    lang.len() == 2
        && lang.chars().all(|c| c.is_ascii_lowercase())
        && (region.is_empty() || (region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_and_token(url: &str) -> (String, String) {
        match recognize(url) {
            Ok(b) if b.eu => (format!("{} eu", b.kind), b.token),
            Ok(b) => (b.kind.to_owned(), b.token),
            Err(e) => ("error".to_owned(), e.to_string()),
        }
    }

    #[test]
    fn each_boards_url_gives_its_kind_and_token() {
        for (url, kind, token) in [
            ("https://boards.greenhouse.io/airbnb", "greenhouse", "airbnb"),
            ("https://job-boards.greenhouse.io/airbnb/jobs/123?gh_src=x", "greenhouse", "airbnb"),
            ("https://boards.greenhouse.io/embed/job_board?for=stripe", "greenhouse", "stripe"),
            ("https://jobs.lever.co/plaid", "lever", "plaid"),
            ("https://jobs.lever.co/plaid/0b8f-4c1e?lever-source=x", "lever", "plaid"),
            ("https://jobs.ashbyhq.com/linear/", "ashby", "linear"),
            ("https://apply.workable.com/acme-inc/j/ABC123/", "workable", "acme-inc"),
            ("https://acme.recruitee.com/o/engineer", "recruitee", "acme"),
            ("https://acme.jobs.personio.de/", "personio", "acme"),
            ("https://acme.jobs.personio.com/job/1", "personio", "acme"),
            ("https://acme.teamtailor.com/jobs", "teamtailor", "acme"),
            ("https://acme.bamboohr.com/careers", "bamboohr", "acme"),
            ("https://jobs.smartrecruiters.com/Visa1", "smartrecruiters", "Visa1"),
            ("https://careers.smartrecruiters.com/Visa1/", "smartrecruiters", "Visa1"),
            (
                "https://nvidia.wd5.myworkdayjobs.com/en-US/NVIDIAExternalCareerSite/job/x",
                "workday",
                "https://nvidia.wd5.myworkdayjobs.com/NVIDIAExternalCareerSite",
            ),
            ("https://acme.wd1.myworkdayjobs.com/External", "workday", "https://acme.wd1.myworkdayjobs.com/External"),
            (" HTTPS://Jobs.Lever.CO/plaid ", "lever", "plaid"),
            ("https://job-boards.eu.greenhouse.io/acme", "greenhouse eu", "acme"),
            ("https://jobs.eu.lever.co/acme/1", "lever eu", "acme"),
        ] {
            assert_eq!(kind_and_token(url), (kind.to_owned(), token.to_owned()), "{url}");
        }
    }

    #[test]
    fn any_other_web_page_is_a_careers_page() {
        for url in
            ["https://www.acme.com/careers", "http://careers.example.org/jobs?team=eng", "https://greenhouse.io/"]
        {
            let board = recognize(url).map_err(|e| e.to_string());
            assert_eq!(board.map(|b| b.kind), Ok("jsonld"), "{url}");
        }
    }

    #[test]
    fn a_url_that_cannot_be_used_says_why() {
        for (url, says) in [
            ("acme careers", "is not a URL"),
            ("ftp://boards.greenhouse.io/acme", "not a web address"),
            ("https://user:pw@jobs.lever.co/plaid", "credentials"),
            ("https://boards.greenhouse.io/", "greenhouse address without the board's name"),
            ("https://boards.greenhouse.io/embed/job_board", "greenhouse address without"),
            ("https://jobs.lever.co/", "lever address without"),
            ("https://acme.wd5.myworkdayjobs.com/en-US", "workday address without"),
        ] {
            let error = recognize(url).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(error.contains(says), "{url}: {error}");
        }
    }
}
