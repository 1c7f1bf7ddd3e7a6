//! What the fake "model" answers: a decision `{"flag", "label", "reason"}` chosen by a pluggable rule, and the
//! broken variants used to exercise a client's error paths.

use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::DecisionRule;

/// What a decider sees of one request.
#[derive(Clone, Debug)]
pub struct DecisionInput<'a> {
    /// The user-side text: every string in `input` (Responses) or in the non-system `messages` (Chat
    /// Completions), joined by newlines. `instructions` and system messages are left out, since they usually hold
    /// the question rather than the entity.
    pub text: &'a str,
    /// `instructions` (Responses) or the system/developer messages (Chat Completions), joined.
    pub instructions: &'a str,
    pub model: &'a str,
    /// The batch line's `custom_id`, for batch requests.
    pub custom_id: Option<&'a str>,
}

/// The answer the fake model gives, serialised compactly as the output text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub flag: bool,
    pub label: String,
    pub reason: String,
}

/// A custom rule: set with [`crate::FakeOpenAi::set_decider`].
pub type Decider = Arc<dyn Fn(&DecisionInput<'_>) -> Decision + Send + Sync>;

/// The default rule (see [`DecisionRule`]).
pub(crate) fn default_decision(rule: &DecisionRule, input: &DecisionInput<'_>) -> Decision {
    let lower = input.text.to_lowercase();
    if let Some(keyword) = rule.keywords.iter().find(|k| !k.is_empty() && lower.contains(&k.to_lowercase())) {
        return Decision { flag: true, label: keyword.clone(), reason: format!("The input mentions '{keyword}'.") };
    }
    let bucket = hash_fraction(input.text);
    if bucket < rule.hash_flag_rate {
        Decision {
            flag: true,
            label: rule.hash_flag_label.clone(),
            reason: format!("The input falls in hash bucket {bucket:.3}, below {}.", rule.hash_flag_rate),
        }
    } else {
        Decision {
            flag: false,
            label: rule.clear_label.clone(),
            reason: "Nothing in the input meets the criteria.".to_owned(),
        }
    }
}

/// SHA-256 of the text mapped onto [0, 1).
fn hash_fraction(text: &str) -> f64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64
}

/// The decision as the model's output text.
pub(crate) fn decision_text(decision: &Decision) -> String {
    serde_json::to_string(decision).unwrap_or_else(|_| String::from("{}"))
}

/// Output text that a strict client must reject: prose, a fenced block, missing fields or wrong types.
pub(crate) fn malformed_text(decision: &Decision, rng: &mut impl Rng) -> String {
    match rng.random_range(0..4) {
        0 => format!("I think the answer is {}: {}", if decision.flag { "yes" } else { "no" }, decision.reason),
        1 => format!("```json\n{}\n```", decision_text(decision)),
        2 => serde_json::json!({"flag": decision.flag}).to_string(),
        _ => serde_json::json!({"flag": if decision.flag { "yes" } else { "no" }, "label": 7, "reason": null})
            .to_string(),
    }
}

/// The first part of a text, as a response cut short by `max_output_tokens` would hold.
pub(crate) fn truncated(text: &str) -> String {
    text.chars().take(text.chars().count() / 2).collect()
}

/// A rough token count (about four characters per token, at least one).
pub(crate) fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4).max(1)
}

/// Every string under `value` that holds text: bare strings and `text`/`content` fields, skipping items whose role
/// is in `skip_roles` (and, when `only_roles` is given, keeping only those).
fn collect_text(value: &Value, skip_roles: &[&str], out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|item| collect_text(item, skip_roles, out)),
        Value::Object(map) => {
            if map.get("role").and_then(Value::as_str).is_some_and(|role| skip_roles.contains(&role)) {
                return;
            }
            for key in ["content", "text", "output"] {
                if let Some(inner) = map.get(key) {
                    collect_text(inner, skip_roles, out);
                }
            }
        }
        _ => {}
    }
}

/// The entity text of a Responses request body (`input`).
pub(crate) fn responses_input_text(body: &Value) -> String {
    let mut out = Vec::new();
    if let Some(input) = body.get("input") {
        collect_text(input, &["system", "developer"], &mut out);
    }
    out.join("\n")
}

/// The instructions of a Responses request: `instructions` plus any system/developer items in `input`.
pub(crate) fn responses_instructions(body: &Value) -> String {
    let mut out = Vec::new();
    if let Some(Value::String(instructions)) = body.get("instructions") {
        out.push(instructions.clone());
    }
    if let Some(Value::Array(items)) = body.get("input") {
        for item in items {
            if item.get("role").and_then(Value::as_str).is_some_and(|r| r == "system" || r == "developer") {
                collect_text(item.get("content").unwrap_or(&Value::Null), &[], &mut out);
            }
        }
    }
    out.join("\n")
}

/// `(entity text, instructions)` of a Chat Completions request body (`messages`).
pub(crate) fn chat_texts(body: &Value) -> (String, String) {
    let (mut user, mut system) = (Vec::new(), Vec::new());
    if let Some(Value::Array(messages)) = body.get("messages") {
        for message in messages {
            let role = message.get("role").and_then(Value::as_str).unwrap_or("user");
            let target = if role == "system" || role == "developer" { &mut system } else { &mut user };
            collect_text(message.get("content").unwrap_or(&Value::Null), &[], target);
        }
    }
    (user.join("\n"), system.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(text: &str) -> DecisionInput<'_> {
        DecisionInput { text, instructions: "", model: "gpt-4o-mini", custom_id: None }
    }

    #[test]
    fn keywords_flag_and_label() {
        let rule = DecisionRule { keywords: vec!["Crypto".into()], hash_flag_rate: 0.0, ..DecisionRule::default() };
        let decision = default_decision(&rule, &input("Senior CRYPTO trader"));
        assert!(decision.flag);
        assert_eq!(decision.label, "Crypto");
        assert!(!default_decision(&rule, &input("Nurse")).flag);
    }

    #[test]
    fn hash_rule_is_deterministic_and_roughly_honours_the_rate() {
        let rule = DecisionRule { hash_flag_rate: 0.3, ..DecisionRule::default() };
        let texts: Vec<String> = (0..1000).map(|i| format!("posting {i}")).collect();
        let flagged = texts.iter().filter(|t| default_decision(&rule, &input(t)).flag).count();
        assert!((230..=370).contains(&flagged), "{flagged} of 1000 flagged");
        assert_eq!(default_decision(&rule, &input("x")), default_decision(&rule, &input("x")));
    }

    #[test]
    fn extracts_user_text_but_not_instructions() {
        let body = json!({"instructions": "Is it spam?", "input": [
            {"role": "developer", "content": "Answer in JSON"},
            {"role": "user", "content": [{"type": "input_text", "text": "Buy now"}]},
            {"role": "user", "content": "Cheap"}
        ]});
        assert_eq!(responses_input_text(&body), "Buy now\nCheap");
        assert_eq!(responses_instructions(&body), "Is it spam?\nAnswer in JSON");
        let chat = json!({"messages": [{"role": "system", "content": "Q"}, {"role": "user", "content": "A"}]});
        assert_eq!(chat_texts(&chat), ("A".to_owned(), "Q".to_owned()));
    }
}
