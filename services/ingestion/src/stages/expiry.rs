//! The expire guard: a board that suddenly lists nothing, or far fewer postings than before, must not expire
//! everything on one look. Such a shrink from a last listing of [`GUARDED_FROM`] or more postings expires nothing
//! and marks the company's expiry held; the next run that sees the same shrink (a listing no larger than the held
//! one) confirms it and expires what is gone, a larger but still shrunken one is held again, and a run whose
//! listing recovers clears the mark. A listing read only in part (a careers page with a script that is not valid
//! JSON: what it leaves out may be in that script) is held the same way, and the next listing read in part confirms.

use bw_db::expiry::{self, ExpiryBase, Hold};
use bw_db::postings::{self, Expiring};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

/// A company's last listing must have had at least this many postings for a shrink of it to be held.
pub const GUARDED_FROM: i64 = 10;

/// What happens to the postings a company's listing leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// They expire: the listing is no suspicious shrink (an open hold, if any, is cleared).
    Expire,
    /// They expire: a second run saw the same suspicious listing as the run that held them.
    Confirmed { listed: i64, before: i64 },
    /// None expires, and the company's expiry is marked held until the next run looks again; `partial` when it is
    /// held because part of the listing could not be read.
    Held { listed: i64, before: i64, partial: bool },
}

impl Expiry {
    /// Decides for a listing of `listed` postings (`complete` when every part of it was read) against the company's
    /// state before it, with the guard's `percent` (`EXPIRE_GUARD_PERCENT`).
    pub fn decide(percent: u32, base: &ExpiryBase, listed: i64, complete: bool) -> Self {
        let before = base.live;
        if complete && !suspicious(percent, before, listed) {
            return Self::Expire;
        }
        // A shrunken listing that grew since the hold is no second look at the same one; a partial one always is.
        match base.hold {
            Some(hold) if !complete || listed <= hold.listed => Self::Confirmed { listed, before },
            _ => Self::Held { listed, before, partial: !complete },
        }
    }

    /// Why the expiry was held, for the counts and the log; `None` when the postings left out expire.
    pub fn held_reason(&self) -> Option<String> {
        match *self {
            Self::Expire | Self::Confirmed { .. } => None,
            Self::Held { partial: true, .. } => Some(
                "the listing could be read only in part, so the postings it leaves out may still be listed; a second \
                 run that reads it in part too is needed to expire them"
                    .into(),
            ),
            Self::Held { listed, before, .. } => Some(format!(
                "the board listed {} where its last listing had {before}; a second run that sees the same is needed \
                 to expire them",
                postings_count(listed)
            )),
        }
    }

    /// A note for the log line of a confirmed hold.
    pub fn confirmation(&self) -> Option<String> {
        match *self {
            Self::Confirmed { listed, before } => Some(format!(
                "expiry confirmed: a second look at the board listed {} where its last listing had {before}",
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
/// a held run that left postings out, cleared by one that expires.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    company_id: Uuid,
    listed_ids: &[&str],
    base: &ExpiryBase,
    decision: Expiry,
    when: Expiring,
) -> anyhow::Result<Applied> {
    let at = when.at;
    match decision {
        Expiry::Expire | Expiry::Confirmed { .. } => {
            let expired = postings::expire_missing(conn, company_id, listed_ids, when).await?;
            if base.hold.is_some() {
                expiry::set_held(conn, company_id, None).await?;
            }
            Ok(Applied { expired, ..Applied::default() })
        }
        Expiry::Held { listed, .. } => {
            let held = postings::count_missing(conn, company_id, listed_ids).await?;
            if held == 0 {
                // Nothing waits for a second look.
                return Ok(Applied::default());
            }
            let since = base.hold.map_or(at, |h| h.since);
            expiry::set_held(conn, company_id, Some(Hold { since, listed })).await?;
            // Left live but no longer listed: they keep their own last seen (see `bw_db::browse::LAST_SEEN`).
            postings::mark_unlisted(conn, company_id, listed_ids, at).await?;
            Ok(Applied { expired: 0, held, held_reason: decision.held_reason() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A company with `live` postings, held (on a listing of `held` postings) or not.
    fn base(live: i64, held: Option<i64>) -> ExpiryBase {
        ExpiryBase { live, hold: held.map(|listed| Hold { since: chrono::Utc::now(), listed }) }
    }

    #[test]
    fn a_shrink_to_nothing_or_past_the_percentage_is_held_once_then_confirmed() {
        for (before, listed) in [(20, 0), (120, 0), (10, 0), (20, 1), (100, 9)] {
            let held = Expiry::Held { listed, before, partial: false };
            assert_eq!(Expiry::decide(90, &base(before, None), listed, true), held);
            let confirmed = Expiry::Confirmed { listed, before };
            assert_eq!(Expiry::decide(90, &base(before, Some(listed)), listed, true), confirmed);
        }
    }

    #[test]
    fn a_second_look_must_see_no_more_than_the_held_listing() {
        // Held on an empty listing; a different, larger but still shrunken one is held again, not confirmed.
        let grown = Expiry::decide(90, &base(100, Some(0)), 3, true);
        assert_eq!(grown, Expiry::Held { listed: 3, before: 100, partial: false });
        assert_eq!(Expiry::decide(90, &base(100, Some(3)), 2, true), Expiry::Confirmed { listed: 2, before: 100 });
    }

    #[test]
    fn ordinary_listings_small_boards_and_recoveries_expire_at_once() {
        // 20 -> 2 is a shrink of exactly 90%: not more than the percentage.
        for (before, listed) in [(20, 15), (20, 2), (100, 10), (9, 0), (0, 0), (20, 20), (20, 40)] {
            for held in [None, Some(0)] {
                assert_eq!(Expiry::decide(90, &base(before, held), listed, true), Expiry::Expire, "{before}->{listed}");
            }
        }
    }

    #[test]
    fn the_percentage_sets_how_far_a_listing_may_shrink() {
        let held = |listed, before| Expiry::Held { listed, before, partial: false };
        assert_eq!(Expiry::decide(50, &base(20, None), 9, true), held(9, 20));
        assert_eq!(Expiry::decide(50, &base(20, None), 10, true), Expiry::Expire);
        assert_eq!(Expiry::decide(0, &base(20, None), 19, true), held(19, 20));
        // At 100 only an empty listing is held.
        assert_eq!(Expiry::decide(100, &base(20, None), 1, true), Expiry::Expire);
        assert_eq!(Expiry::decide(100, &base(20, None), 0, true), held(0, 20));
    }

    #[test]
    fn a_listing_read_in_part_is_held_once_then_confirmed_by_the_next_read_in_part() {
        for (before, listed) in [(20, 19), (3, 0), (20, 40)] {
            let held = Expiry::Held { listed, before, partial: true };
            assert_eq!(Expiry::decide(90, &base(before, None), listed, false), held);
            let confirmed = Expiry::Confirmed { listed, before };
            assert_eq!(Expiry::decide(90, &base(before, Some(listed - 1)), listed, false), confirmed, "grown or not");
        }
    }

    #[test]
    fn reasons_say_what_was_seen() {
        let held = Expiry::Held { listed: 0, before: 120, partial: false }.held_reason();
        assert_eq!(
            held.as_deref(),
            Some(
                "the board listed 0 postings where its last listing had 120; a second run that sees the same is \
                 needed to expire them"
            )
        );
        let one = Expiry::Held { listed: 1, before: 20, partial: false }.held_reason().unwrap_or_default();
        assert!(one.starts_with("the board listed 1 posting where"), "{one}");
        assert_eq!(Expiry::Expire.held_reason(), None);
        assert_eq!(
            Expiry::Confirmed { listed: 0, before: 20 }.confirmation().as_deref(),
            Some("expiry confirmed: a second look at the board listed 0 postings where its last listing had 20")
        );
    }
}
