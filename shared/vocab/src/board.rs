//! The kinds of career board the system reads.

crate::word::vocabulary! {
    /// The kinds of career board the system can read (`companies.board_kind`).
    BoardKind: "board kind" {
        /// Greenhouse Job Board API (`boards-api.greenhouse.io`).
        Greenhouse => "greenhouse",
        /// Lever Postings API (`api.lever.co`).
        Lever => "lever",
        /// Ashby public job board API (`api.ashbyhq.com`).
        Ashby => "ashby",
        /// Any careers page carrying schema.org `JobPosting` JSON-LD.
        Jsonld => "jsonld",
        /// Workday's career sites (`{tenant}.{pod}.myworkdayjobs.com/{site}`), read through their CXS API.
        Workday => "workday",
        /// Workable's widget API (`apply.workable.com`, one host for every account).
        Workable => "workable",
        /// SmartRecruiters Posting API (`api.smartrecruiters.com`).
        Smartrecruiters => "smartrecruiters",
        /// Teamtailor career sites' JSON feed (`{slug}.teamtailor.com/jobs.json`), else their RSS feed.
        Teamtailor => "teamtailor",
        /// Recruitee's offers API (`{slug}.recruitee.com/api/offers/`).
        Recruitee => "recruitee",
        /// Personio's XML feed (`{slug}.jobs.personio.de/xml`).
        Personio => "personio",
        /// BambooHR's careers API (`{tenant}.bamboohr.com/careers/list`).
        Bamboohr => "bamboohr",
    }
}

crate::word::vocabulary! {
    /// Which of its service's hosts a board lives on (`companies.board_region`): Greenhouse and Lever keep the boards
    /// of their EU customers apart, on hosts of their own. The other kinds have one.
    #[derive(Default)]
    BoardRegion: "board region" {
        /// The service's main host (`boards-api.greenhouse.io`, `api.lever.co`).
        #[default]
        Us => "us",
        /// The EU host (`boards-api.eu.greenhouse.io`, `api.eu.lever.co`).
        Eu => "eu",
    }
}

impl BoardKind {
    /// The regions a board of this kind can be in: both for Greenhouse and Lever, the main one for the others.
    pub fn regions(self) -> &'static [BoardRegion] {
        match self {
            Self::Greenhouse | Self::Lever => &BoardRegion::ALL,
            _ => &[BoardRegion::Us],
        }
    }
}
