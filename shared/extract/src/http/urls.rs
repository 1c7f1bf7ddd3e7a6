//! [`BoardUrls`]: where each board kind is read, on the public hosts or under one fake's base URL; [`Site`]: one
//! board's.

use crate::{Board, BoardKind, BoardRegion};

/// Base URLs of the board APIs, without a trailing slash. JSON-LD boards use their own URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoardUrls {
    /// Greenhouse Job Board API, e.g. `https://boards-api.greenhouse.io`.
    pub greenhouse: String,
    /// Its EU host, for the boards of Greenhouse's EU customers: `https://boards-api.eu.greenhouse.io`.
    pub greenhouse_eu: String,
    /// Lever Postings API, e.g. `https://api.lever.co`.
    pub lever: String,
    /// Its EU host: `https://api.eu.lever.co`.
    pub lever_eu: String,
    /// Ashby public job board API, e.g. `https://api.ashbyhq.com`.
    pub ashby: String,
    /// Workable's widget API, `https://apply.workable.com` (one host for every account).
    pub workable: String,
    /// SmartRecruiters Posting API, `https://api.smartrecruiters.com`.
    pub smartrecruiters: String,
    /// Where boards on hosts of their own (Workday, Teamtailor, Recruitee, Personio and BambooHR, given by name) are
    /// read instead of their hosts: `{tenants}/{kind}/{name}` followed by the real path (Workday:
    /// `{tenants}/workday/{tenant}/wday/cxs/…`). `None`: on their own hosts.
    pub tenants: Option<String>,
}

impl BoardUrls {
    /// The public production endpoints.
    pub fn public() -> Self {
        Self {
            greenhouse: "https://boards-api.greenhouse.io".to_owned(),
            greenhouse_eu: "https://boards-api.eu.greenhouse.io".to_owned(),
            lever: "https://api.lever.co".to_owned(),
            lever_eu: "https://api.eu.lever.co".to_owned(),
            ashby: "https://api.ashbyhq.com".to_owned(),
            workable: "https://apply.workable.com".to_owned(),
            smartrecruiters: "https://api.smartrecruiters.com".to_owned(),
            tenants: None,
        }
    }

    /// One fake server for every API (a trailing slash is removed): the shared hosts at `base`, the EU hosts at
    /// `{base}/eu`, the boards on hosts of their own at `{base}/{kind}/{name}` (see [`Self::tenants`]).
    pub fn all(base: &str) -> Self {
        let base = base.trim_end_matches('/').to_owned();
        let eu = format!("{base}/eu");
        Self {
            greenhouse: base.clone(),
            greenhouse_eu: eu.clone(),
            lever: base.clone(),
            lever_eu: eu,
            ashby: base.clone(),
            workable: base.clone(),
            smartrecruiters: base.clone(),
            tenants: Some(base),
        }
    }

    /// `ATS_BASE_URL` for every API when set (a fake server, see [`Self::all`]); else `GREENHOUSE_API_URL`,
    /// `GREENHOUSE_EU_API_URL`, `LEVER_API_URL`, `LEVER_EU_API_URL`, `ASHBY_API_URL`, `WORKABLE_API_URL` and
    /// `SMARTRECRUITERS_API_URL` each over the public endpoints.
    pub fn from_env() -> Self {
        let var = bw_config::optional;
        if let Some(base) = var("ATS_BASE_URL") {
            return Self::all(&base);
        }
        let public = Self::public();
        let or = |name: &str, default: String| var(name).map_or(default, |v| v.trim_end_matches('/').to_owned());
        Self {
            greenhouse: or("GREENHOUSE_API_URL", public.greenhouse),
            greenhouse_eu: or("GREENHOUSE_EU_API_URL", public.greenhouse_eu),
            lever: or("LEVER_API_URL", public.lever),
            lever_eu: or("LEVER_EU_API_URL", public.lever_eu),
            ashby: or("ASHBY_API_URL", public.ashby),
            workable: or("WORKABLE_API_URL", public.workable),
            smartrecruiters: or("SMARTRECRUITERS_API_URL", public.smartrecruiters),
            tenants: None,
        }
    }

    /// Where `board` is read: the base URL its API's paths follow, and whether it is held to the public-address
    /// guard (see [`crate::guard`]): a URL a user gave (a careers page, a board given by its own URL), and a board on
    /// a host of its own on the vendor's domain, since the vendor sends a tenant's host on to the customer's own
    /// domain, whose DNS and server the customer controls (not under `tenants`, the fake).
    pub fn site(&self, board: &Board) -> Site {
        let eu = board.region == BoardRegion::Eu;
        let shared = |base: &String| Site { base: base.clone(), guarded: false };
        match board.kind {
            BoardKind::Greenhouse if eu => shared(&self.greenhouse_eu),
            BoardKind::Greenhouse => shared(&self.greenhouse),
            BoardKind::Lever if eu => shared(&self.lever_eu),
            BoardKind::Lever => shared(&self.lever),
            BoardKind::Ashby => shared(&self.ashby),
            BoardKind::Workable => shared(&self.workable),
            BoardKind::Smartrecruiters => shared(&self.smartrecruiters),
            BoardKind::Jsonld => Site { base: board.token.clone(), guarded: true },
            BoardKind::Workday => {
                let site = crate::board::workday_site(&board.token).unwrap_or_else(|_| crate::board::WorkdaySite {
                    host: "invalid.myworkdayjobs.com".to_owned(),
                    tenant: String::new(),
                    site: String::new(),
                });
                let root = match &self.tenants {
                    Some(tenants) => format!("{tenants}/workday/{}", site.tenant),
                    None => format!("https://{}", site.host),
                };
                let guarded = self.tenants.is_none();
                Site { base: format!("{root}/wday/cxs/{}/{}", site.tenant, site.site), guarded }
            }
            BoardKind::Teamtailor | BoardKind::Recruitee | BoardKind::Personio | BoardKind::Bamboohr => {
                let name = &board.token;
                if board.is_url() {
                    return Site { base: name.trim_end_matches('/').to_owned(), guarded: true };
                }
                let base = match (&self.tenants, board.kind) {
                    (Some(tenants), kind) => format!("{tenants}/{kind}/{name}"),
                    (None, BoardKind::Teamtailor) => format!("https://{name}.teamtailor.com"),
                    (None, BoardKind::Recruitee) => format!("https://{name}.recruitee.com"),
                    (None, BoardKind::Personio) => format!("https://{name}.jobs.personio.de"),
                    (None, _) => format!("https://{name}.bamboohr.com"),
                };
                Site { base, guarded: self.tenants.is_none() }
            }
        }
    }
}

/// Where a board is read (see [`BoardUrls::site`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// The URL the API's paths follow (for a careers page, the page's URL).
    pub base: String,
    /// Held to the public-address guard (see [`BoardUrls::site`]).
    pub guarded: bool,
}
