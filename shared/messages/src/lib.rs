//! Message contracts between the services. Every body is JSON with `"v": 1`; unknown fields are ignored so a newer
//! producer does not break an older consumer, but an unknown version is refused.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The only message version this code reads and writes.
pub const VERSION: u8 = 1;

/// Message attribute names carrying trace context across services.
pub mod attributes {
    pub const RUN_ID: &str = "run_id";
    pub const TRACE_ID: &str = "trace_id";
    pub const JOB_ID: &str = "job_id";
}

/// Which database a message's work belongs to: `primary` (`DATABASE_URL`) or `test` (`TEST_DATABASE_URL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Database {
    #[default]
    Primary,
    Test,
}

impl Database {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Test => "test",
        }
    }
}

/// Body of a message on the `runs` queue: run `run_id` of `user_id` in `database`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMessage {
    pub v: u8,
    pub run_id: Uuid,
    pub user_id: String,
    pub database: Database,
}

impl RunMessage {
    pub fn new(run_id: Uuid, user_id: impl Into<String>, database: Database) -> Self {
        Self { v: VERSION, run_id, user_id: user_id.into(), database }
    }
}

/// Why a body could not be read; the text names the problem.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The serde error is part of the message, not a `source`, so error chains do not print it twice.
    #[error("message body is not a valid run message: {0}")]
    Invalid(serde_json::Error),
    #[error("message version {found} is not supported (this consumer reads version {VERSION})")]
    Version { found: u8 },
    #[error("message field user_id is empty")]
    EmptyUser,
    #[error("message body is not a valid llm-jobs message: {0}")]
    InvalidJob(serde_json::Error),
}

impl From<serde_json::Error> for MessageError {
    fn from(e: serde_json::Error) -> Self {
        Self::Invalid(e)
    }
}

/// Parses and checks a `runs` message body.
pub fn parse_run_message(body: &str) -> Result<RunMessage, MessageError> {
    let message: RunMessage = serde_json::from_str(body)?;
    if message.v != VERSION {
        return Err(MessageError::Version { found: message.v });
    }
    if message.user_id.trim().is_empty() {
        return Err(MessageError::EmptyUser);
    }
    Ok(message)
}

/// Serialises a message; a `RunMessage` always serialises, so this cannot fail in practice.
pub fn to_body(message: &RunMessage) -> String {
    serde_json::to_string(message).unwrap_or_default()
}

/// Body of a message on the `llm-jobs` queue: poll job `job_id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmJobMessage {
    pub v: u8,
    pub job_id: Uuid,
    /// The job's loop token when this is its loop message (the worker's own re-enqueue, or dispatch's); absent on
    /// a wake (a new job, a cancel, a webhook event), which polls the job once without starting another loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loop_token: Option<Uuid>,
}

impl LlmJobMessage {
    /// A wake: poll the job now.
    pub fn new(job_id: Uuid) -> Self {
        Self { v: VERSION, job_id, loop_token: None }
    }

    /// The job's loop message, carrying `token`.
    pub fn looping(job_id: Uuid, token: Uuid) -> Self {
        Self { v: VERSION, job_id, loop_token: Some(token) }
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parses and checks an `llm-jobs` message body.
pub fn parse_llm_job_message(body: &str) -> Result<LlmJobMessage, MessageError> {
    let message: LlmJobMessage = serde_json::from_str(body).map_err(MessageError::InvalidJob)?;
    if message.v != VERSION {
        return Err(MessageError::Version { found: message.v });
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = include_str!("../fixtures/run_message_v1.json");

    #[test]
    fn fixture_round_trips() -> Result<(), MessageError> {
        let parsed = parse_run_message(FIXTURE)?;
        assert_eq!(parsed.user_id, "alice");
        assert_eq!(parsed.database, Database::Test);
        assert_eq!(parse_run_message(&to_body(&parsed))?, parsed);
        Ok(())
    }

    #[test]
    fn llm_job_messages_round_trip_and_bad_ones_are_named() -> Result<(), MessageError> {
        let message = LlmJobMessage::new(Uuid::nil());
        assert_eq!(parse_llm_job_message(&message.body())?, message);
        let bad = parse_llm_job_message(r#"{"v":1}"#).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(bad.contains("missing field `job_id`"), "{bad}");
        Ok(())
    }

    #[test]
    fn unknown_fields_are_ignored() -> Result<(), MessageError> {
        let body =
            r#"{"v":1,"run_id":"6f1c1a9e-8d2b-4c61-9a53-0d7f3f1b2c4d","user_id":"u","database":"primary","x":1}"#;
        assert_eq!(parse_run_message(body)?.database, Database::Primary);
        Ok(())
    }

    #[test]
    fn bad_bodies_name_the_problem() {
        let cases = [
            ("not json", "not a valid run message"),
            (r#"{"v":1,"user_id":"u","database":"primary"}"#, "missing field `run_id`"),
            (
                r#"{"v":2,"run_id":"6f1c1a9e-8d2b-4c61-9a53-0d7f3f1b2c4d","user_id":"u","database":"primary"}"#,
                "version 2",
            ),
            (r#"{"v":1,"run_id":"nope","user_id":"u","database":"primary"}"#, "UUID"),
            (
                r#"{"v":1,"run_id":"6f1c1a9e-8d2b-4c61-9a53-0d7f3f1b2c4d","user_id":"u","database":"prod"}"#,
                "unknown variant `prod`",
            ),
            (
                r#"{"v":1,"run_id":"6f1c1a9e-8d2b-4c61-9a53-0d7f3f1b2c4d","user_id":" ","database":"test"}"#,
                "user_id is empty",
            ),
        ];
        for (body, expected) in cases {
            let text = parse_run_message(body).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(text.contains(expected), "{body}: {text}");
        }
    }
}
