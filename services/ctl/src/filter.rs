//! `--filter` expressions for a redrive: `KEY=VALUE`, `KEY!=VALUE` or `KEY~TEXT` (contains); several filters must
//! all hold. Keys: `id`, `body` (the whole body), `body.FIELD[.FIELD…]` (a field of a JSON body), `attr.NAME` (a
//! message attribute), `reason` (the failure reason the consumer recorded).

use std::fmt;

use bw_ops::peek::Peeked;

/// What a filter looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Key {
    Id,
    Body,
    BodyField(Vec<String>),
    Attribute(String),
    Reason,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    NotEquals,
    Contains,
}

/// One parsed filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub key: Key,
    pub op: Op,
    pub value: String,
}

/// A filter that could not be parsed, with what is wrong.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "bad filter {expr:?}: {problem}; write KEY=VALUE, KEY!=VALUE or KEY~TEXT, where KEY is id, body, body.FIELD, attr.NAME or reason"
)]
pub struct BadFilter {
    pub expr: String,
    pub problem: String,
}

impl Filter {
    pub fn parse(expr: &str) -> Result<Self, BadFilter> {
        let bad = |problem: &str| BadFilter { expr: expr.to_owned(), problem: problem.to_owned() };
        // The first operator wins, so a value may itself contain `=` or `~`.
        let at = expr.find(['=', '~', '!']).ok_or_else(|| bad("no operator"))?;
        let (key, rest) = expr.split_at(at);
        let (op, value) = if let Some(v) = rest.strip_prefix("!=") {
            (Op::NotEquals, v)
        } else if let Some(v) = rest.strip_prefix('=') {
            (Op::Equals, v)
        } else if let Some(v) = rest.strip_prefix('~') {
            (Op::Contains, v)
        } else {
            return Err(bad("`!` must be followed by `=`"));
        };
        let key = key.trim();
        let key = match key {
            "" => return Err(bad("no key before the operator")),
            "id" => Key::Id,
            "body" => Key::Body,
            "reason" => Key::Reason,
            _ => {
                if let Some(path) = key.strip_prefix("body.") {
                    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
                    if parts.iter().any(String::is_empty) {
                        return Err(bad("empty field name in body.FIELD"));
                    }
                    Key::BodyField(parts)
                } else if let Some(name) = key.strip_prefix("attr.") {
                    if name.is_empty() {
                        return Err(bad("empty attribute name in attr.NAME"));
                    }
                    Key::Attribute(name.to_owned())
                } else {
                    return Err(bad(&format!("unknown key {key:?}")));
                }
            }
        };
        if op == Op::Contains && value.is_empty() {
            return Err(bad("`~` needs some text to look for"));
        }
        Ok(Self { key, op, value: value.to_owned() })
    }

    /// Whether `message` passes. A key the message lacks (no such field, attribute or recorded reason) compares as
    /// absent: `=` and `~` fail, `!=` holds.
    pub fn matches(&self, message: &Peeked) -> bool {
        let actual = match &self.key {
            Key::Id => Some(message.message_id.clone()),
            Key::Body => Some(message.body.clone()),
            Key::BodyField(path) => body_field(&message.body, path),
            Key::Attribute(name) => message.attributes.get(name).cloned(),
            Key::Reason => message.failure.as_ref().map(|f| f.reason.clone()),
        };
        match (self.op, actual) {
            (Op::Equals, Some(actual)) => actual == self.value,
            (Op::NotEquals, Some(actual)) => actual != self.value,
            (Op::Contains, Some(actual)) => actual.contains(&self.value),
            (Op::NotEquals, None) => true,
            (Op::Equals | Op::Contains, None) => false,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match &self.key {
            Key::Id => "id".to_owned(),
            Key::Body => "body".to_owned(),
            Key::BodyField(path) => format!("body.{}", path.join(".")),
            Key::Attribute(name) => format!("attr.{name}"),
            Key::Reason => "reason".to_owned(),
        };
        let op = match self.op {
            Op::Equals => "=",
            Op::NotEquals => "!=",
            Op::Contains => "~",
        };
        write!(f, "{key}{op}{}", self.value)
    }
}

/// Every filter holds (no filters: everything matches).
pub fn all_match(filters: &[Filter], message: &Peeked) -> bool {
    filters.iter().all(|f| f.matches(message))
}

/// A field of a JSON body as text: a string as it is, any other value as JSON; `None` when the body is not JSON or
/// has no such field.
fn body_field(body: &str, path: &[String]) -> Option<String> {
    let mut value = serde_json::from_str::<serde_json::Value>(body).ok()?;
    for part in path {
        value = value.get_mut(part.as_str())?.take();
    }
    Some(match value {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Peeked {
        Peeked {
            message_id: "m-1".to_owned(),
            body: body.to_owned(),
            attributes: [("run_id".to_owned(), "r-9".to_owned())].into(),
            ..Peeked::default()
        }
    }

    #[test]
    fn filters_parse_and_match_body_fields_attributes_and_ids() {
        let m = message(r#"{"v":1,"run_id":"abc","database":"test","nested":{"n":3}}"#);
        for (expr, expected) in [
            ("body.database=test", true),
            ("body.database!=test", false),
            ("body.v=1", true),
            ("body.nested.n=3", true),
            ("body.missing=x", false),
            ("body.missing!=x", true),
            ("body~run_id", true),
            ("attr.run_id=r-9", true),
            ("attr.job_id=r-9", false),
            ("id=m-1", true),
            ("reason~timeout", false),
            ("body.run_id=a=b", false),
        ] {
            let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(filter.matches(&m), expected, "{expr}");
            assert_eq!(filter.to_string(), expr, "a filter prints as it was written");
        }
        assert!(!Filter::parse("body.v=1").is_ok_and(|f| f.matches(&message("{not json"))));
    }

    #[test]
    fn bad_filters_name_what_is_wrong() {
        for (expr, problem) in [
            ("runid", "no operator"),
            ("=x", "no key"),
            ("color=red", "unknown key \"color\""),
            ("body.=x", "empty field name"),
            ("attr.=x", "empty attribute name"),
            ("body~", "needs some text"),
            ("body!x", "`!` must be followed by `=`"),
        ] {
            let error = Filter::parse(expr).err().unwrap_or_else(|| panic!("{expr} parsed"));
            let text = error.to_string();
            assert!(text.contains(problem), "{expr}: {text}");
            assert!(text.contains(expr), "{expr}: the message names the filter: {text}");
        }
    }
}
