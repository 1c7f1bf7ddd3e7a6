//! The expire guard: a board that suddenly lists nothing, or far fewer postings than before, must not expire
//! everything on one look. Such a shrink from a last listing of [`GUARDED_FROM`] or more postings expires nothing
//! and marks the company's expiry held; the next run that sees the same shrink confirms it and expires what is
//! gone, and a run whose listing recovers clears the mark. A listing read only in part expires nothing either.

use bw_db::expiry::{self, ExpiryBase};
use bw_db::postings;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

/// A company's last listing must have had at least this many postings for a shrink of it to be held.
pub const GUARDED_FROM: i64 = 10;

/// What happens to the postings a company's listing leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// They expire: the listing is no suspicious shrink (an open hold, if any, is cleared).
    Expire,
    /// They expire: a second run saw the same suspicious shrink as the run that held them.
    Confirmed { listed: i64, before: i64 },
    /// None expires, and the company's expiry is marked held until the next run looks again.
    Held { listed: i64, before: i64 },
    /// None expires: part of the listing could not be read, so what it leaves out may still be listed.
    Incomplete,
}

impl Expiry {
    /// Decides for a listing of `listed` postings (`complete` when every part of it was read) against the company's
    /// state before it, with the guard's `percent` (`EXPIRE_GUARD_PERCENT`).
    pub fn decide(percent: u32, base: &ExpiryBase, listed: i64, complete: bool) -> Self {
        let before = base.live;
        if !complete {
            Self::Incomplete
        } else if !suspicious(percent, before, listed) {
            Self::Expire
        } else if base.held_since.is_some() {
            Self::Confirmed { listed, before }
        } else {
            Self::Held { listed, before }
        }
    }

    /// Why the expiry was held, for the counts and the log; `None` when the postings left out expire.
    pub fn held_reason(&self) -> Option<String> {
        match *self {
            Self::Expire | Self::Confirmed { .. } => None,
            Self::Held { listed, before } => Some(format!(
                "the board listed {} where its last listing had {before}; a second run that sees the same is needed \
                 to expire them",
                postings_count(listed)
            )),
            Self::Incomplete => {
                Some("the listing could be read only in part, so the postings it leaves out may still be listed".into())
            }
        }
    }

    /// A note for the log line of a confirmed hold.
    pub fn confirmation(&self) -> Option<String> {
        match *self {
            Self::Confirmed { listed, before } => Some(format!(
                "expiry confirmed: the board listed {} again where its last listing had {before}",
                postings_count(listed)
            )),
            _ => None,
        }
    }
}

/// A shrink from `before` live postings to `listed` is held when the last listing had [`GUARDED_FROM`] or more and
/// the board lists none, or more than `percent` percent fewer.
fn suspicious(percent: u32, before: i64, listed: i64) -> bool {
    before >= GUARDED_FROM && (listed == 0 || (before - listed) * 100 > i64::from(percent) * before)
}

/// "1 posting", "20 postings".
fn postings_count(n: i64) -> String {
    if n == 1 { "1 posting".to_owned() } else { format!("{n} postings") }
}

/// What applying a decision did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub expired: i64,
    /// Postings left out that did not expire because the expiry was held.
    pub held: i64,
    /// Why, when some were held.
    pub held_reason: Option<String>,
}

/// Expires (or holds) the company's postings its listing left out, and keeps the company's hold mark in step: set by
/// a held run, cleared by one that expires; a listing read only in part leaves the mark as it is.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    listed_ids: &[&str],
    base: &ExpiryBase,
    decision: Expiry,
    at: DateTime<Utc>,
) -> anyhow::Result<Applied> {
    match decision {
        Expiry::Expire | Expiry::Confirmed { .. } => {
            let expired = postings::expire_missing(conn, company_id, listed_ids, at).await?;
            if base.held_since.is_some() {
                expiry::set_held(conn, company_id, None).await?;
            }
            Ok(Applied { expired, ..Applied::default() })
        }
        Expiry::Held { .. } | Expiry::Incomplete => {
            let held = postings::count_missing(conn, company_id, listed_ids).await?;
            if matches!(decision, Expiry::Held { .. }) {
                expiry::set_held(conn, company_id, Some(at)).await?;
            }
            let held_reason = if held > 0 { decision.held_reason() } else { None };
            Ok(Applied { expired: 0, held, held_reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(live: i64, held: bool) -> ExpiryBase {
        ExpiryBase { live, held_since: held.then(Utc::now) }
    }

    #[test]
    fn a_shrink_to_nothing_or_past_the_percentage_is_held_once_then_confirmed() {
        for (before, listed) in [(20, 0), (120, 0), (10, 0), (20, 1), (100, 9)] {
            assert_eq!(Expiry::decide(90, &base(before, false), listed, true), Expiry::Held { listed, before });
            assert_eq!(Expiry::decide(90, &base(before, true), listed, true), Expiry::Confirmed { listed, before });
        }
    }

    #[test]
    fn ordinary_listings_small_boards_and_recoveries_expire_at_once() {
        // 20 -> 2 is a shrink of exactly 90%: not more than the percentage.
        for (before, listed) in [(20, 15), (20, 2), (100, 10), (9, 0), (0, 0), (20, 20), (20, 40)] {
            for held in [false, true] {
                assert_eq!(Expiry::decide(90, &base(before, held), listed, true), Expiry::Expire, "{before}->{listed}");
            }
        }
    }

    #[test]
    fn the_percentage_sets_how_far_a_listing_may_shrink() {
        assert_eq!(Expiry::decide(50, &base(20, false), 9, true), Expiry::Held { listed: 9, before: 20 });
        assert_eq!(Expiry::decide(50, &base(20, false), 10, true), Expiry::Expire);
        assert_eq!(Expiry::decide(0, &base(20, false), 19, true), Expiry::Held { listed: 19, before: 20 });
        // At 100 only an empty listing is held.
        assert_eq!(Expiry::decide(100, &base(20, false), 1, true), Expiry::Expire);
        assert_eq!(Expiry::decide(100, &base(20, false), 0, true), Expiry::Held { listed: 0, before: 20 });
    }

    #[test]
    fn a_listing_read_in_part_expires_nothing_whatever_its_size() {
        for (before, listed, held) in [(20, 19, false), (20, 0, true), (3, 0, false)] {
            assert_eq!(Expiry::decide(90, &base(before, held), listed, false), Expiry::Incomplete);
        }
    }

    #[test]
    fn reasons_say_what_was_seen() {
        let held = Expiry::Held { listed: 0, before: 120 }.held_reason();
        assert_eq!(
            held.as_deref(),
            Some(
                "the board listed 0 postings where its last listing had 120; a second run that sees the same is \
                 needed to expire them"
            )
        );
        let one = Expiry::Held { listed: 1, before: 20 }.held_reason().unwrap_or_default();
        assert!(one.starts_with("the board listed 1 posting where"), "{one}");
        assert_eq!(Expiry::Expire.held_reason(), None);
        assert_eq!(
            Expiry::Confirmed { listed: 0, before: 20 }.confirmation().as_deref(),
            Some("expiry confirmed: the board listed 0 postings again where its last listing had 20")
        );
    }
}
