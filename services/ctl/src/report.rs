//! Human-readable output of the commands that talk to the API (with `--json`, the API's own JSON is printed).

use std::fmt::Write as _;

use bw_db::counts::Tally;
use serde_json::Value;

use crate::api::{DryRun, Job, LogLine, Posting, Run, Schedule};

/// A log line: `[12:00:01.234] info  extract  Acme (greenhouse acme): found 30, …`.
pub fn log_line(line: &Value) -> String {
    let Ok(line) = serde_json::from_value::<LogLine>(line.clone()) else { return format!("   {line}") };
    let at = chrono::DateTime::from_timestamp_millis(line.timestamp)
        .map_or_else(|| line.timestamp.to_string(), |t| t.format("%H:%M:%S%.3f").to_string());
    let stage = line.stage.map_or("-", |s| s.as_str());
    format!("   [{at}] {:<5} {stage:<8} {}", line.level, line.message)
}

fn clip(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}

/// A run as it ended: its status, then each company's counts and the totals.
pub fn run_summary(run: &Run) -> String {
    let mut out = format!("Run {}: {}", run.id, run.status.as_str().to_uppercase());
    if let Some(error) = &run.error {
        let _ = write!(out, " ({error})");
    }
    out.push('\n');
    let header: String = Tally::COLUMNS.iter().map(|c| format!("{c:>10}")).collect();
    // The board column fits the longest kind's name (`smartrecruiters`) and a space.
    let _ = writeln!(out, "{:<12}{:<16}{header}  note", "company", "board");
    for company in &run.counts.companies {
        let figures: String = company.tally.figures().iter().map(|n| format!("{n:>10}")).collect();
        let note = match company.extract_status.as_str() {
            "ok" => company.expiry_held_reason.as_deref().map(|r| format!("expiry held: {}", clip(r, 60))),
            _ => Some(format!("board failed: {}", clip(company.error.as_deref().unwrap_or(""), 60))),
        };
        let name = clip(&company.name, 11);
        let _ = writeln!(out, "{name:<12}{:<16}{figures}  {}", company.board_kind.as_str(), note.unwrap_or_default());
    }
    let totals: String = run.counts.total.figures().iter().map(|n| format!("{n:>10}")).collect();
    let _ = writeln!(out, "{:<28}{totals}", "total");
    let _ = writeln!(
        out,
        "boards failed: {}   postings of removed companies expired: {}",
        run.counts.boards_failed, run.counts.removed_company_postings_expired
    );
    for job in &run.jobs {
        let _ = writeln!(
            out,
            "its end started job {} ({}) over {} new or changed postings",
            job.id, job.name, job.items_total
        );
    }
    out
}

/// A dry run: each company's board and what it lists now.
pub fn dry_run(dry: &DryRun) -> String {
    let mut out = String::new();
    for c in &dry.companies {
        let note = match (&c.error, c.warnings.is_empty()) {
            (Some(error), _) => format!("  ERROR {error}"),
            (None, false) => format!("  warning: {}", c.warnings.join("; ")),
            (None, true) => String::new(),
        };
        let _ = writeln!(out, "{:<12} {:<15} {:>5} postings{note}", clip(&c.name, 12), c.board_kind.as_str(), c.found);
    }
    let _ = writeln!(out, "{:<12} {:<15} {:>5} postings", "total", "", dry.total_found);
    out
}

/// A job's state in one line, with how its items' ends were learnt once any were.
pub fn job_line(job: &Job) -> String {
    let learnt = match job.ends_pushed + job.ends_polled {
        0 => String::new(),
        _ => format!("; learnt by push (webhook) {}, by poll {}", job.ends_pushed, job.ends_polled),
    };
    format!(
        "{} {} {}/{} done ({:.0} %): completed {}, failed {}, cancelled {}, expired {}; flags {}{learnt}",
        job.id,
        job.status.as_str(),
        job.done(),
        job.items_total,
        job.progress * 100.0,
        job.items_completed,
        job.items_failed,
        job.items_cancelled,
        job.items_expired,
        job.flags_applied
    )
}

/// Postings, one a line: id, company, title, status, location, and the flag with its reason when there is one.
pub fn postings(postings: &[Posting]) -> String {
    let mut out = String::new();
    for p in postings {
        let flag = match (&p.label, &p.reason) {
            (Some(label), Some(reason)) => format!("  [{label}] {}", clip(reason, 60)),
            _ => String::new(),
        };
        let location = clip(p.location.as_deref().unwrap_or("-"), 20);
        let _ = writeln!(
            out,
            "{:>7} {:<12} {:<48} {:<8} {location:<20}{flag}",
            p.id,
            clip(&p.company, 12),
            clip(&p.title, 48),
            p.status.as_str()
        );
    }
    out
}

/// A schedule and its next due time.
pub fn schedule(schedule: &Schedule) -> String {
    let what = match (&schedule.every_hours, &schedule.cron) {
        (Some(hours), _) => format!("every {hours} hour(s)"),
        (None, Some(cron)) => format!("on {cron:?} ({})", schedule.time_zone),
        (None, None) => "never".to_owned(),
    };
    format!("runs start {what}; next at {}\n", schedule.next_due_at.to_rfc3339())
}

/// Runs, one a line: id, status, what started it, when it was created.
pub fn runs(runs: &[Run]) -> String {
    let mut out = String::new();
    for run in runs {
        let started_by = run.started_by.map_or("-", |s| s.as_str());
        let _ =
            writeln!(out, "{} {:<12} {:<9} {}", run.id, run.status.as_str(), started_by, run.created_at.to_rfc3339());
    }
    out
}
