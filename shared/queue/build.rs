//! Generates the queue definitions (`RUNS`, `LLM_JOBS`, `ALL`, `DLQ_RETENTION_SECS`) from `infra/template.yaml`, so the
//! queues `ctl queues create` makes locally have the settings the stack gives them in AWS.
//!
//! A work queue is an `AWS::SQS::Queue` with a `RedrivePolicy`; its name is the part of `QueueName:
//! !Sub "${QueuePrefix}…"` after the prefix, and its DLQ, named by `deadLetterTargetArn: !GetAtt <Dlq>.Arn`, must be
//! named like it with `-dlq` appended (the local names are `{prefix}{name}` and `{prefix}{name}-dlq`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

/// Work queues the services use: the build fails when the template lacks one.
const REQUIRED: [&str; 2] = ["runs", "llm-jobs"];

/// One work queue as the template defines it.
struct WorkQueue {
    resource: String,
    name: String,
    visibility_timeout_secs: u32,
    max_receive_count: u32,
    retention_secs: u32,
    dlq_resource: String,
    dlq_retention_secs: u32,
    /// The consuming function and its timeout.
    consumer: Option<(String, Option<u64>)>,
}

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let template = manifest_dir.join("../../infra/template.yaml");
    let template = template.canonicalize().unwrap_or(template);
    println!("cargo::rerun-if-changed={}", template.display());
    let generated = generate(&template).and_then(|code| {
        let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
        std::fs::write(out_dir.join("queue_definitions.rs"), code)
            .map_err(|e| format!("cannot write the generated definitions: {e}"))
    });
    if let Err(message) = generated {
        eprintln!("error: the queue definitions come from infra/template.yaml ({}): {message}", template.display());
        std::process::exit(1);
    }
}

fn generate(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    let doc: Value = serde_yaml_ng::from_str(&text).map_err(|e| format!("it is not valid YAML: {e}"))?;
    let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or("it has no Resources mapping")?;
    let default_timeout = doc.get("Globals").and_then(|g| g.get("Function")).and_then(|f| f.get("Timeout"));
    let queues = work_queues(resources, default_timeout.and_then(Value::as_u64))?;
    for name in REQUIRED {
        if !queues.iter().any(|q| q.name == name) {
            return Err(format!(
                "it defines no work queue `{name}`: an AWS::SQS::Queue with QueueName !Sub \"${{QueuePrefix}}{name}\" \
                 and a RedrivePolicy naming its DLQ"
            ));
        }
    }
    let dlq_retention = queues.first().map(|q| q.dlq_retention_secs).ok_or("it defines no work queue")?;
    if let Some(q) = queues.iter().find(|q| q.dlq_retention_secs != dlq_retention) {
        return Err(format!(
            "every DLQ must keep messages equally long (one DLQ_RETENTION_SECS), but {} keeps them {} s and {} {} s",
            q.dlq_resource, q.dlq_retention_secs, queues[0].dlq_resource, dlq_retention
        ));
    }
    Ok(render(&queues, dlq_retention))
}

fn work_queues(resources: &Mapping, default_timeout: Option<u64>) -> Result<Vec<WorkQueue>, String> {
    let mut queues = Vec::new();
    for (id, resource) in resources {
        let id = id.as_str().ok_or("a resource id is not a string")?;
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::SQS::Queue") {
            continue;
        }
        let props = resource.get("Properties").ok_or_else(|| format!("{id} has no Properties"))?;
        let Some(redrive) = props.get("RedrivePolicy") else { continue };
        let name = queue_name(id, props)?;
        let dlq_resource = redrive
            .get("deadLetterTargetArn")
            .and_then(get_att_arn)
            .ok_or_else(|| format!("{id}'s RedrivePolicy.deadLetterTargetArn is not !GetAtt <Queue>.Arn"))?;
        let dlq = resources
            .get(dlq_resource.as_str())
            .and_then(|r| r.get("Properties"))
            .ok_or_else(|| format!("{id}'s DLQ {dlq_resource} is not a resource with Properties"))?;
        let dlq_name = queue_name(&dlq_resource, dlq)?;
        if dlq_name != format!("{name}-dlq") {
            return Err(format!(
                "{id}'s DLQ {dlq_resource} must be named `{name}-dlq` after the prefix, not `{dlq_name}`"
            ));
        }
        queues.push(WorkQueue {
            resource: id.to_owned(),
            visibility_timeout_secs: number(props, "VisibilityTimeout", id)?,
            max_receive_count: number(redrive, "maxReceiveCount", &format!("{id}.RedrivePolicy"))?,
            retention_secs: number(props, "MessageRetentionPeriod", id)?,
            dlq_retention_secs: number(dlq, "MessageRetentionPeriod", &dlq_resource)?,
            consumer: consumer(resources, id, default_timeout),
            name,
            dlq_resource,
        });
    }
    Ok(queues)
}

/// The name after `${QueuePrefix}` in `QueueName: !Sub "${QueuePrefix}name"`.
fn queue_name(id: &str, props: &Value) -> Result<String, String> {
    let name = props
        .get("QueueName")
        .and_then(|v| intrinsic(v, "Sub"))
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("${QueuePrefix}"))
        .ok_or_else(|| format!("{id}'s QueueName must be !Sub \"${{QueuePrefix}}<name>\""))?;
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(format!("{id}'s queue name `{name}` must be lower-case letters, digits and dashes"));
    }
    Ok(name.to_owned())
}

/// The function consuming queue `id` through an SQS event, with its timeout (its own or the template's Globals').
fn consumer(resources: &Mapping, id: &str, default_timeout: Option<u64>) -> Option<(String, Option<u64>)> {
    resources.iter().find_map(|(fn_id, resource)| {
        let props = resource.get("Properties")?;
        let events = props.get("Events")?.as_mapping()?;
        let consumes = events.values().any(|event| {
            event.get("Type").and_then(Value::as_str) == Some("SQS")
                && event.get("Properties").and_then(|p| p.get("Queue")).and_then(get_att_arn).as_deref() == Some(id)
        });
        let timeout = props.get("Timeout").and_then(Value::as_u64).or(default_timeout);
        consumes.then(|| (fn_id.as_str().unwrap_or_default().to_owned(), timeout))
    })
}

/// The inner value of `!Name x` or `{"Fn::Name": x}`.
fn intrinsic<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == name => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => map.get(format!("Fn::{name}").as_str()),
        _ => None,
    }
}

/// `X` of `!GetAtt X.Arn` or `{"Fn::GetAtt": [X, Arn]}`.
fn get_att_arn(value: &Value) -> Option<String> {
    match intrinsic(value, "GetAtt")? {
        Value::String(s) => s.strip_suffix(".Arn").map(str::to_owned),
        Value::Sequence(parts) if parts.len() == 2 && parts[1].as_str() == Some("Arn") => {
            parts[0].as_str().map(str::to_owned)
        }
        _ => None,
    }
}

/// A whole number of `owner`'s property `key`, written as a number or a string of one.
fn number(props: &Value, key: &str, owner: &str) -> Result<u32, String> {
    let value = props.get(key).ok_or_else(|| format!("{owner} has no {key}"))?;
    let parsed = match value {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let shown = serde_yaml_ng::to_string(value).unwrap_or_default();
    parsed.ok_or_else(|| format!("{owner}'s {key} must be a literal whole number, not `{}`", shown.trim()))
}

fn render(queues: &[WorkQueue], dlq_retention: u32) -> String {
    let mut code = String::from("// Generated by shared/queue/build.rs from infra/template.yaml: edit the template.\n");
    let mut idents = Vec::new();
    for q in queues {
        let ident = q.name.to_ascii_uppercase().replace('-', "_");
        let consumer = match &q.consumer {
            Some((function, Some(timeout))) => format!("consumed by `{function}` (timeout {timeout} s)"),
            Some((function, None)) => format!("consumed by `{function}`"),
            None => "with no consumer in the template".to_owned(),
        };
        let _ = write!(
            code,
            "\n/// The `{name}` queue and its DLQ (`{resource}` and `{dlq}` in infra/template.yaml), {consumer}.\n\
             pub const {ident}: QueueDef = QueueDef {{ name: {name:?}, visibility_timeout_secs: {visibility}, \
             max_receive_count: {receives}, retention_secs: {retention} }};\n",
            name = q.name,
            resource = q.resource,
            dlq = q.dlq_resource,
            visibility = q.visibility_timeout_secs,
            receives = q.max_receive_count,
            retention = q.retention_secs,
        );
        idents.push(ident);
    }
    let _ = write!(
        code,
        "\n/// Every work queue of infra/template.yaml.\npub const ALL: [QueueDef; {}] = [{}];\n\
         \n/// How long a DLQ keeps messages.\npub const DLQ_RETENTION_SECS: u32 = {dlq_retention};\n",
        idents.len(),
        idents.join(", "),
    );
    code
}
