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
    }
}
