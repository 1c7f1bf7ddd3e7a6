//! A user's schedule of runs, and when it is next due: every N hours from a first due time, or a cron expression
//! (five fields: minute, hour, day of month, month, day of week) read in an IANA time zone, so `0 8 * * 1-5` in
//! `Europe/Berlin` stays at 08:00 local time across daylight-saving changes.
//!
//! A schedule is due at most once an hour: runs read every board of a user, and the scheduled dispatch looks once a
//! minute. A due time that passed while nobody looked (the dispatch was down) is one run, not a backlog: the next due
//! time is always the first one after now.

use std::str::FromStr as _;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// Most hours between two runs: a year.
pub const MAX_EVERY_HOURS: u32 = 8_760;

/// Why a schedule cannot be used; the message names the field and what it must be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("give either every_hours or cron, not both and not neither")]
    NotOneKind,
    #[error("every_hours must be a whole number of hours from 1 to {MAX_EVERY_HOURS}")]
    Hours,
    #[error("cron must have 5 fields (minute hour day-of-month month day-of-week), not {0}")]
    CronFields(usize),
    #[error("cron {expr:?} is not a cron expression: {reason}")]
    Cron { expr: String, reason: String },
    #[error("cron {0:?} would start runs less than an hour apart; runs are at most hourly")]
    TooOften(String),
    #[error("cron {0:?} never comes due")]
    Never(String),
    #[error("time_zone {0:?} is not an IANA time zone name (such as UTC or Europe/Berlin)")]
    TimeZone(String),
    #[error("first_at goes with every_hours only")]
    FirstAtWithCron,
    #[error("time_zone goes with cron only: every_hours counts hours, whatever the zone")]
    TimeZoneWithHours,
}

/// When runs are due.
#[derive(Clone, Debug)]
pub enum Schedule {
    /// Every `hours` hours, counted from a due time.
    EveryHours { hours: u32 },
    /// Whenever the cron expression matches, read in `time_zone`.
    Cron { expr: String, cron: Box<Cron>, time_zone: Tz },
}

impl Schedule {
    /// Every `hours` hours.
    pub fn every_hours(hours: i64) -> Result<Self, ScheduleError> {
        let hours =
            u32::try_from(hours).ok().filter(|h| (1..=MAX_EVERY_HOURS).contains(h)).ok_or(ScheduleError::Hours)?;
        Ok(Self::EveryHours { hours })
    }

    /// `expr` (five fields) in the time zone `time_zone`.
    pub fn cron(expr: &str, time_zone: &str) -> Result<Self, ScheduleError> {
        let expr = expr.split_whitespace().collect::<Vec<_>>().join(" ");
        let fields = expr.split(' ').filter(|f| !f.is_empty()).count();
        if fields != 5 {
            return Err(ScheduleError::CronFields(fields));
        }
        let time_zone: Tz = time_zone.trim().parse().map_err(|_| ScheduleError::TimeZone(time_zone.to_owned()))?;
        let cron =
            Cron::from_str(&expr).map_err(|e| ScheduleError::Cron { expr: expr.clone(), reason: e.to_string() })?;
        let schedule = Self::Cron { expr: expr.clone(), cron: Box::new(cron), time_zone };
        // At most hourly: the smallest gap over the next days of occurrences (a gap shorter than an hour shows within a
        // week of matches, or never).
        let mut at = schedule.occurrence_after(Utc::now()).ok_or_else(|| ScheduleError::Never(expr.clone()))?;
        for _ in 0..200 {
            let Some(next) = schedule.occurrence_after(at) else { break };
            if next - at < Duration::hours(1) {
                return Err(ScheduleError::TooOften(expr));
            }
            at = next;
        }
        Ok(schedule)
    }

    /// The schedule a request or a stored row describes: exactly one of `every_hours` and `cron`; `time_zone`
    /// (default UTC) for a cron expression.
    pub fn from_parts(
        every_hours: Option<i64>,
        cron: Option<&str>,
        time_zone: Option<&str>,
    ) -> Result<Self, ScheduleError> {
        match (every_hours, cron) {
            (Some(hours), None) => Self::every_hours(hours),
            (None, Some(expr)) => Self::cron(expr, time_zone.unwrap_or("UTC")),
            _ => Err(ScheduleError::NotOneKind),
        }
    }

    /// The first due time after `now`, for a schedule whose last due time was `last` (or that starts at `last`).
    /// Every N hours: `last` plus as many periods as it takes to pass `now`; cron: its first match after `now`. `None`
    /// only for a cron expression that never matches again.
    pub fn next_after(&self, last: DateTime<Utc>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Self::EveryHours { hours } => {
                let period = Duration::hours(i64::from(*hours));
                if last > now {
                    return Some(last);
                }
                let periods = (now - last).num_seconds() / period.num_seconds() + 1;
                Some(last + period * i32::try_from(periods).unwrap_or(i32::MAX))
            }
            Self::Cron { .. } => self.occurrence_after(now),
        }
    }

    fn occurrence_after(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let Self::Cron { cron, time_zone, .. } = self else { return None };
        cron.find_next_occurrence(&at.with_timezone(time_zone), false).ok().map(|t| t.with_timezone(&Utc))
    }

    /// The time zone a cron expression is read in (UTC for every-N-hours).
    pub fn time_zone(&self) -> &str {
        match self {
            Self::EveryHours { .. } => "UTC",
            Self::Cron { time_zone, .. } => time_zone.name(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap_or_default()
    }

    #[test]
    fn every_n_hours_counts_from_its_last_due_time_and_a_missed_stretch_is_one_run() {
        let six = Schedule::every_hours(6).unwrap_or_else(|e| panic!("{e}"));
        let last = at(2026, 12, 7, 8, 0);
        assert_eq!(six.next_after(last, at(2026, 12, 7, 8, 0)), Some(at(2026, 12, 7, 14, 0)));
        assert_eq!(six.next_after(last, at(2026, 12, 7, 13, 59)), Some(at(2026, 12, 7, 14, 0)));
        // Down from 08:00 to 03:00 the next day: the next due time is after now, whatever was missed.
        assert_eq!(six.next_after(last, at(2026, 12, 8, 3, 0)), Some(at(2026, 12, 8, 8, 0)));
        // A first due time still ahead is kept.
        assert_eq!(six.next_after(at(2026, 12, 9, 0, 0), at(2026, 12, 8, 3, 0)), Some(at(2026, 12, 9, 0, 0)));
    }

    #[test]
    fn cron_is_read_in_its_time_zone_across_daylight_saving() {
        let weekdays = Schedule::cron("0 8 * * 1-5", "Europe/Berlin").unwrap_or_else(|e| panic!("{e}"));
        // Friday 27 March 2026, 10:00 UTC: the next is Monday 30 March, 08:00 summer time (06:00 UTC).
        assert_eq!(weekdays.next_after(at(2026, 3, 27, 7, 0), at(2026, 3, 27, 10, 0)), Some(at(2026, 3, 30, 6, 0)));
        // In winter 08:00 is 07:00 UTC.
        assert_eq!(weekdays.next_after(at(2026, 12, 7, 0, 0), at(2026, 12, 7, 0, 0)), Some(at(2026, 12, 7, 7, 0)));
        assert_eq!(weekdays.time_zone(), "Europe/Berlin");
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        let err = |e: Result<Schedule, ScheduleError>| e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(Schedule::every_hours(0)).contains("from 1 to 8760"));
        assert!(err(Schedule::every_hours(9_000)).contains("from 1 to 8760"));
        assert!(err(Schedule::cron("0 8 * *", "UTC")).contains("5 fields"));
        assert!(
            err(Schedule::cron("0 0 8 * * *", "UTC")).contains("5 fields")
                && err(Schedule::cron("0 0 8 * * *", "UTC")).ends_with("not 6")
        );
        assert!(err(Schedule::cron("61 8 * * *", "UTC")).contains("is not a cron expression"));
        assert!(err(Schedule::cron("*/30 * * * *", "UTC")).contains("less than an hour apart"));
        assert!(err(Schedule::cron("0 8 * * *", "Mars/Olympus")).contains("not an IANA time zone"));
        assert!(err(Schedule::from_parts(Some(2), Some("0 8 * * *"), None)).contains("not both"));
        assert!(err(Schedule::from_parts(None, None, None)).contains("not neither"));
        assert!(Schedule::cron("0 */2 * * *", "UTC").is_ok(), "every two hours");
        assert!(Schedule::cron("0 8,9 * * *", "UTC").is_ok(), "an hour apart is hourly");
    }
}
