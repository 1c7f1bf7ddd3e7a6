//! Human-readable output of each command (with `--json` the same values are printed as JSON instead).

use std::fmt::Write as _;

use bw_ops::peek::Peeked;
use bw_ops::tasks::Task;

use crate::consumers::Consumers;
use crate::queues::QueueRow;
use crate::redrive::{Method, Summary};

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// Seconds as `42s`, `7m12s`, `3h05m`, `2d04h`.
pub fn age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        s => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

pub fn queues(rows: &[QueueRow]) -> String {
    let mut out = format!(
        "{:<28} {:<5} {:>8} {:>9} {:>8} {:>8} {:>10} {}\n",
        "QUEUE", "ROLE", "VISIBLE", "IN-FLIGHT", "DELAYED", "OLDEST", "DLQ-DEPTH", "CONSUMERS"
    );
    for r in rows {
        let consumers = match r.consumers_paused {
            Some(true) => "paused",
            Some(false) => "running",
            None => "",
        };
        let _ = writeln!(
            out,
            "{:<28} {:<5} {:>8} {:>9} {:>8} {:>8} {:>10} {}",
            r.name,
            r.role,
            r.depth.visible,
            r.depth.in_flight,
            r.depth.delayed,
            r.oldest_age_secs.map_or_else(|| "-".to_owned(), age),
            or_dash(r.dlq_depth),
            consumers
        );
    }
    out.push_str("OLDEST: work queues from CloudWatch (- when it has no data, as on LocalStack); DLQs by peeking.\n");
    out
}

pub fn peeked(queue: &str, messages: &[Peeked]) -> String {
    if messages.is_empty() {
        return format!("{queue} is empty\n");
    }
    let mut out = format!("{} message(s) in {queue} (left in the queue):\n", messages.len());
    for m in messages {
        let _ = writeln!(out, "\n── {}", m.message_id);
        let _ = writeln!(
            out,
            "   sent {}   first received {}   receive count {}",
            or_dash(m.sent_at.map(|t| t.to_rfc3339())),
            or_dash(m.first_received_at.map(|t| t.to_rfc3339())),
            m.receive_count
        );
        for (name, value) in &m.attributes {
            let _ = writeln!(out, "   attr {name} = {value}");
        }
        let _ = writeln!(out, "   body {}", m.body);
        match &m.failure {
            Some(f) => {
                let _ = writeln!(
                    out,
                    "   reason ({} on delivery {}, {}): {}",
                    f.queue,
                    f.receive_count,
                    if f.retryable { "retryable" } else { "permanent" },
                    f.reason
                );
            }
            None => out.push_str("   reason: not recorded (see the consumer's logs for this message id)\n"),
        }
    }
    out
}

pub fn redrive(s: &Summary) -> String {
    let to = s.destination.clone().unwrap_or_else(|| "the queue each message came from".to_owned());
    let filters = if s.filters.is_empty() { String::new() } else { format!(" matching {}", s.filters.join(" and ")) };
    let mut out = match (s.dry_run, s.method) {
        (true, Method::MessageMoveTask) => format!(
            "dry run: would move all ~{} message(s) of {} to {to} with a message move task; add --yes to do it\n",
            s.matched, s.dlq
        ),
        (true, Method::ReceiveSendDelete) => format!(
            "dry run: would move {} of {} scanned message(s){filters} from {} to {to}; add --yes to do it\n",
            s.matched, s.scanned, s.dlq
        ),
        (false, Method::MessageMoveTask) if s.task_handle.is_none() => format!("{} is empty: nothing to move\n", s.dlq),
        (false, Method::MessageMoveTask) => format!(
            "moved {} message(s) from {} to {to} (message move task {}, {})\n",
            s.moved,
            s.dlq,
            or_dash(s.task_handle.as_deref()),
            or_dash(s.task_status.as_deref())
        ),
        (false, Method::ReceiveSendDelete) => format!(
            "moved {} of {} scanned message(s){filters} from {} to {to}; {} failed (left in the DLQ), {} duplicated\n",
            s.moved, s.scanned, s.dlq, s.failed, s.duplicated
        ),
    };
    if s.dry_run && !s.message_ids.is_empty() {
        let _ = writeln!(out, "messages: {}", s.message_ids.join(", "));
    }
    out
}

pub fn tasks(tasks: &[Task]) -> String {
    if tasks.is_empty() {
        return "no message move tasks in the last 14 days\n".to_owned();
    }
    let mut out = format!("{:<24} {:<11} {:>9} {:<24} {:<25} {}\n", "DLQ", "STATUS", "MOVED", "TO", "STARTED", "NOTE");
    for t in tasks {
        let moved = match t.to_move {
            Some(total) => format!("{}/{total}", t.moved),
            None => t.moved.to_string(),
        };
        let _ = writeln!(
            out,
            "{:<24} {:<11} {:>9} {:<24} {:<25} {}",
            t.dlq,
            t.status,
            moved,
            t.destination.as_deref().unwrap_or("(sources)"),
            or_dash(t.started_at.map(|s| s.to_rfc3339())),
            t.failure_reason.as_deref().unwrap_or("")
        );
    }
    out
}

pub fn consumers(all: &[Consumers]) -> String {
    let mut out = String::new();
    for c in all {
        let _ = writeln!(out, "{}: local runners {}", c.queue, if c.paused { "paused" } else { "running" });
        if c.mappings.is_empty() {
            out.push_str("  no event source mappings\n");
        }
        for m in &c.mappings {
            let _ = writeln!(
                out,
                "  mapping {} -> {}: {} (batch size {}, maximum concurrency {})",
                m.uuid,
                or_dash(m.function.as_deref()),
                or_dash(m.state.as_deref()),
                or_dash(m.batch_size),
                or_dash(m.maximum_concurrency)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_at_a_glance() {
        assert_eq!(super::age(42), "42s");
        assert_eq!(super::age(432), "7m12s");
        assert_eq!(super::age(3 * 3_600 + 300), "3h05m");
        assert_eq!(super::age(2 * 86_400 + 4 * 3_600), "2d04h");
    }
}
