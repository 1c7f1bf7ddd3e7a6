//! [`NormalizedPosting`] and the small conversions every board parser shares (dates, amounts, workplace types).

use bw_vocab::PayInterval;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

/// A posting in one shape whatever board it came from. Every field but the title may be missing.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NormalizedPosting {
    /// The posting's title, trimmed.
    pub title: String,
    /// The public page of the posting.
    pub url: Option<String>,
    /// Where the job is, as the board words it; several locations are joined with ` | `.
    pub location: Option<String>,
    /// `Some(true)` for remote work, `Some(false)` for on-site or hybrid, `None` when the board does not say.
    pub remote: Option<bool>,
    /// Department (or team, where the board has no department).
    pub department: Option<String>,
    /// Employment type as the board words it, e.g. `Full-Time`, `FullTime`, `PART_TIME, INTERN`.
    pub employment_type: Option<String>,
    /// Human-readable pay: the board's own summary, or one built from its structured range, e.g.
    /// `USD 120,000 - 150,000 per year`.
    pub compensation: Option<String>,
    /// The same pay as numbers, where the board structures it (never read out of prose).
    #[serde(default)]
    pub pay: Option<Pay>,
    /// Plain text: entities decoded, tags removed, block elements as new lines, whitespace collapsed.
    pub description: Option<String>,
    /// When the posting was first published.
    pub posted_at: Option<DateTime<Utc>>,
    /// When the board last changed the posting.
    pub updated_at: Option<DateTime<Utc>>,
}

/// Pay as a board structures it: an amount or a range, its currency and the period it is paid per. Each part the
/// board leaves out is empty; a pay has at least one amount.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Pay {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// As the board writes it, upper-cased: ISO 4217 on every board seen (`USD`, `EUR`).
    pub currency: Option<String>,
    pub interval: Option<PayInterval>,
}

impl Pay {
    /// A pay from its parts: `None` without an amount. Amounts that are not finite or below zero are dropped, and a
    /// range given backwards is put the right way round.
    pub(crate) fn of(
        min: Option<f64>,
        max: Option<f64>,
        currency: Option<&str>,
        interval: Option<PayInterval>,
    ) -> Option<Self> {
        let amount = |v: Option<f64>| v.filter(|v| v.is_finite() && *v >= 0.0);
        let (min, max) = match (amount(min), amount(max)) {
            (Some(lo), Some(hi)) if lo > hi => (Some(hi), Some(lo)),
            other => other,
        };
        if min.is_none() && max.is_none() {
            return None;
        }
        let currency = currency.map(str::trim).filter(|c| !c.is_empty()).map(str::to_ascii_uppercase);
        Some(Self { min, max, currency, interval })
    }

    /// `USD 120,000 - 150,000 per year`.
    pub(crate) fn text(&self) -> Option<String> {
        format_range(self.currency.as_deref(), self.min, self.max, self.interval.map(per))
    }
}

/// `per year`, `per hour`, ...
fn per(interval: PayInterval) -> &'static str {
    match interval {
        PayInterval::Hour => "per hour",
        PayInterval::Day => "per day",
        PayInterval::Week => "per week",
        PayInterval::Month => "per month",
        PayInterval::Year => "per year",
    }
}

/// `raw` with the non-null top-level fields of `detail` laid over it (a detail response is fuller than a list item).
pub(crate) fn merged(raw: &Value, detail: Option<&Value>) -> Value {
    let mut out = raw.clone();
    if let (Value::Object(target), Some(Value::Object(extra))) = (&mut out, detail) {
        for (key, value) in extra {
            if !value.is_null() {
                target.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// Parses the date and time forms boards use: RFC 3339 with any offset, RFC 2822 (RSS), a date-time without an
/// offset (taken as UTC) or with a ` UTC` suffix, or a bare date (midnight UTC).
pub(crate) fn parse_date(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let s = value?.as_str()?.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    // RSS feeds' dates (Teamtailor's `pubDate`).
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(dt.with_timezone(&Utc));
    }
    // Recruitee writes `2026-08-05 09:41:37 UTC`.
    if let Some(utc) = s.strip_suffix(" UTC") {
        return NaiveDateTime::parse_from_str(utc.trim(), "%Y-%m-%d %H:%M:%S%.f").ok().map(|n| n.and_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z"] {
        if let Ok(dt) = DateTime::parse_from_str(s, format) {
            return Some(dt.with_timezone(&Utc));
        }
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|n| n.and_utc())
}

/// Epoch milliseconds (a number, or a string of digits) as a UTC time.
pub(crate) fn parse_epoch_ms(value: Option<&Value>) -> Option<DateTime<Utc>> {
    let ms = match value? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Utc.timestamp_millis_opt(ms).single()
}

/// A number, or a string holding one (`"100000"`, `"1,500.50"`).
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace(',', "").parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

/// An amount with thousands separators: `120000` -> `120,000`, `30.5` -> `30.50`.
pub(crate) fn format_amount(amount: f64) -> String {
    let negative = amount < 0.0;
    let cents = (amount.abs() * 100.0).round();
    let whole = (cents / 100.0).trunc();
    let frac = cents - whole * 100.0;
    let digits = format!("{whole:.0}");
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let sign = if negative { "-" } else { "" };
    if frac > 0.0 { format!("{sign}{grouped}.{frac:02.0}") } else { format!("{sign}{grouped}") }
}

/// `USD 120,000 - 150,000 per year`, from whichever parts are known; `None` without any amount.
pub(crate) fn format_range(
    currency: Option<&str>,
    min: Option<f64>,
    max: Option<f64>,
    per: Option<&str>,
) -> Option<String> {
    let amounts = match (min, max) {
        (Some(lo), Some(hi)) if lo == hi => format_amount(lo),
        (Some(lo), Some(hi)) => format!("{} - {}", format_amount(lo), format_amount(hi)),
        (Some(lo), None) => format!("from {}", format_amount(lo)),
        (None, Some(hi)) => format!("up to {}", format_amount(hi)),
        (None, None) => return None,
    };
    let mut out = String::new();
    if let Some(currency) = currency.map(str::trim).filter(|c| !c.is_empty()) {
        out.push_str(currency);
        out.push(' ');
    }
    out.push_str(&amounts);
    if let Some(per) = per.map(str::trim).filter(|p| !p.is_empty()) {
        out.push(' ');
        out.push_str(per);
    }
    Some(out)
}

/// The period of a pay interval written any of the boards' ways: Lever `per-year-salary`, Ashby `1 YEAR`,
/// schema.org `YEAR`/`HOUR`, Recruitee `year`, `annual`. `None` for unknown or `NONE` intervals.
pub(crate) fn pay_interval(interval: &str) -> Option<PayInterval> {
    let lower = interval.to_ascii_lowercase();
    [
        ("hour", PayInterval::Hour),
        ("day", PayInterval::Day),
        ("week", PayInterval::Week),
        ("month", PayInterval::Month),
        ("year", PayInterval::Year),
        ("annual", PayInterval::Year),
    ]
    .into_iter()
    .find(|(unit, _)| lower.contains(unit))
    .map(|(_, interval)| interval)
}

/// Remote or not from a workplace type (`remote`, `onsite`, `on-site`, `OnSite`, `hybrid`, any case):
/// `Some(true)` for remote, `Some(false)` for on-site and hybrid, `None` otherwise.
pub(crate) fn remote_from_workplace(workplace: Option<&str>) -> Option<bool> {
    let key: String = workplace?.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_ascii_lowercase();
    match key.as_str() {
        "remote" => Some(true),
        "onsite" | "hybrid" | "inoffice" | "office" => Some(false),
        _ => None,
    }
}

/// Joins the non-empty parts with `sep`, `None` when there are none.
pub(crate) fn join_nonempty<I: IntoIterator<Item = String>>(parts: I, sep: &str) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().filter(|p| !p.trim().is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(sep))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn date(s: &str) -> Option<String> {
        parse_date(Some(&json!(s))).map(|d| d.to_rfc3339())
    }

    #[test]
    fn dates_in_all_board_forms() {
        assert_eq!(date("2016-01-14T10:55:28-05:00").as_deref(), Some("2016-01-14T15:55:28+00:00"));
        assert_eq!(date("2026-01-22T21:44:44.930+00:00").as_deref(), Some("2026-01-22T21:44:44.930+00:00"));
        assert_eq!(date("2013-07-02T19:39:23Z").as_deref(), Some("2013-07-02T19:39:23+00:00"));
        assert_eq!(date("2019-04-18").as_deref(), Some("2019-04-18T00:00:00+00:00"));
        assert_eq!(date("2019-08-31T00:00").as_deref(), Some("2019-08-31T00:00:00+00:00"));
        assert_eq!(date("2019-08-31T10:00:00").as_deref(), Some("2019-08-31T10:00:00+00:00"));
        assert_eq!(date("2019-08-31T10:00:00+0200").as_deref(), Some("2019-08-31T08:00:00+00:00"));
        assert_eq!(date("Tue, 08 Sep 2026 19:07:00 +0200").as_deref(), Some("2026-09-08T17:07:00+00:00"));
        assert_eq!(date("2026-08-05 09:41:37 UTC").as_deref(), Some("2026-08-05T09:41:37+00:00"));
        assert_eq!(date("yesterday"), None);
        assert_eq!(parse_date(Some(&json!(12))), None);
        assert_eq!(parse_date(None), None);
    }

    #[test]
    fn epoch_millis() {
        let at = parse_epoch_ms(Some(&json!(1782753306506_i64))).map(|d| d.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2026-06-29T17:15:06.506+00:00"));
        assert!(parse_epoch_ms(Some(&json!("1782753306506"))).is_some());
        assert_eq!(parse_epoch_ms(Some(&json!(i64::MAX))), None);
        assert_eq!(parse_epoch_ms(Some(&Value::Null)), None);
    }

    #[test]
    fn amounts_and_ranges() {
        assert_eq!(format_amount(120000.0), "120,000");
        assert_eq!(format_amount(1234567.5), "1,234,567.50");
        assert_eq!(format_amount(900.0), "900");
        assert_eq!(format_amount(0.0), "0");
        assert_eq!(format_amount(-1000.0), "-1,000");
        let range = format_range(Some("USD"), Some(120000.0), Some(150000.0), Some("per year"));
        assert_eq!(range.as_deref(), Some("USD 120,000 - 150,000 per year"));
        assert_eq!(format_range(None, Some(5.0), Some(5.0), None).as_deref(), Some("5"));
        assert_eq!(format_range(Some(""), None, Some(5.0), None).as_deref(), Some("up to 5"));
        assert_eq!(format_range(Some("USD"), None, None, Some("per year")), None);
        assert_eq!(number(Some(&json!("100,000"))), Some(100000.0));
    }

    #[test]
    fn a_pay_needs_an_amount_and_keeps_its_range_the_right_way_round() {
        assert_eq!(Pay::of(None, None, Some("USD"), Some(PayInterval::Year)), None);
        assert_eq!(Pay::of(Some(f64::NAN), Some(-5.0), Some("USD"), None), None);
        let pay = Pay::of(Some(150000.0), Some(120000.0), Some(" usd "), Some(PayInterval::Year));
        let expected = Pay {
            min: Some(120000.0),
            max: Some(150000.0),
            currency: Some("USD".into()),
            interval: Some(PayInterval::Year),
        };
        assert_eq!(pay.as_ref(), Some(&expected));
        assert_eq!(expected.text().as_deref(), Some("USD 120,000 - 150,000 per year"));
        let open = Pay::of(Some(30.0), None, Some(""), Some(PayInterval::Hour));
        assert_eq!(open.as_ref().and_then(Pay::text).as_deref(), Some("from 30 per hour"));
        assert_eq!(open.and_then(|p| p.currency), None);
    }

    #[test]
    fn intervals_and_workplaces() {
        assert_eq!(pay_interval("per-year-salary"), Some(PayInterval::Year));
        assert_eq!(pay_interval("per-hour-wage"), Some(PayInterval::Hour));
        assert_eq!(pay_interval("1 YEAR"), Some(PayInterval::Year));
        assert_eq!(pay_interval("HOUR"), Some(PayInterval::Hour));
        assert_eq!(pay_interval("Annually"), Some(PayInterval::Year));
        assert_eq!(pay_interval("NONE"), None);
        for (w, r) in [
            ("remote", Some(true)),
            ("Remote", Some(true)),
            ("onsite", Some(false)),
            ("on-site", Some(false)),
            ("OnSite", Some(false)),
            ("hybrid", Some(false)),
            ("Hybrid", Some(false)),
            ("unspecified", None),
        ] {
            assert_eq!(remote_from_workplace(Some(w)), r, "{w}");
        }
        assert_eq!(remote_from_workplace(None), None);
    }

    #[test]
    fn detail_overlays_raw() {
        let raw = json!({"id": 1, "title": "a", "content": null, "x": 1});
        let detail = json!({"content": "c", "x": null});
        assert_eq!(merged(&raw, Some(&detail)), json!({"id": 1, "title": "a", "content": "c", "x": 1}));
        assert_eq!(merged(&raw, None), raw);
    }
}
