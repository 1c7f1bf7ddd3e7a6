//! `infra/template.yaml` keeps the promises the system relies on in AWS: functions on `provided.al2023` / arm64,
//! partial batch failures and bounded concurrency on every SQS event, visibility timeouts six times the consumer's
//! timeout, DLQs after at least five receives, the alarms, one least-privilege role per function, no secret in plain
//! text, the outputs; and the local queue definitions (generated from the template) equal what it says.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, bail, ensure};
use bw_queue::definitions::{self, QueueDef};
use serde_json::{Value, json};

/// The template, its short tags (`!Ref`, `!GetAtt`, `!Sub`, …) turned into their long forms.
struct Template(Value);

/// A function with the template's `Globals.Function` applied, as SAM applies them.
struct Function<'a> {
    id: &'a str,
    props: serde_json::Map<String, Value>,
    env: BTreeMap<String, Value>,
    events: Vec<&'a Value>,
}

impl Function<'_> {
    fn timeout(&self) -> anyhow::Result<u64> {
        self.props.get("Timeout").and_then(Value::as_u64).with_context(|| format!("{} has no literal Timeout", self.id))
    }

    fn events_of_type(&self, kind: &str) -> impl Iterator<Item = &Value> {
        self.events.iter().copied().filter(move |e| e["Type"] == kind)
    }

    /// Queues this function consumes through SQS events.
    fn consumed_queues(&self) -> BTreeSet<String> {
        self.events_of_type("SQS").filter_map(|e| get_att_target(&e["Properties"]["Queue"])).collect()
    }
}

fn load() -> anyhow::Result<Template> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).context("infra/template.yaml is not YAML")?;
    Ok(Template(long_form(yaml)?))
}

/// YAML to JSON, `!Ref x` to `{"Ref": x}`, `!GetAtt a.b` to `{"Fn::GetAtt": [a, b]}`, `!Name x` to `{"Fn::Name": x}`.
fn long_form(yaml: serde_yaml_ng::Value) -> anyhow::Result<Value> {
    use serde_yaml_ng::Value as Y;
    Ok(match yaml {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n)?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(long_form).collect::<anyhow::Result<_>>()?),
        Y::Mapping(map) => {
            let mut object = serde_json::Map::new();
            for (key, value) in map {
                let key = key.as_str().with_context(|| format!("a mapping key is not a string: {key:?}"))?;
                object.insert(key.to_owned(), long_form(value)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = long_form(tagged.value)?;
            match (name, value) {
                ("Ref", value) => json!({ "Ref": value }),
                ("GetAtt", Value::String(s)) => {
                    let (resource, attribute) = s.split_once('.').with_context(|| format!("!GetAtt {s}"))?;
                    json!({ "Fn::GetAtt": [resource, attribute] })
                }
                (name, value) => json!({ format!("Fn::{name}"): value }),
            }
        }
    })
}

fn ref_target(value: &Value) -> Option<String> {
    value.get("Ref").and_then(Value::as_str).map(str::to_owned)
}

fn get_att_target(value: &Value) -> Option<String> {
    value.get("Fn::GetAtt").and_then(|v| v.get(0)).and_then(Value::as_str).map(str::to_owned)
}

/// Every resource or parameter `value` mentions: `Ref`, `Fn::GetAtt`, and `${…}` inside `Fn::Sub`.
fn mentions(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            found.extend(ref_target(value).into_iter().chain(get_att_target(value)));
            if let Some(Value::String(sub)) = object.get("Fn::Sub") {
                for part in sub.split("${").skip(1) {
                    let name = part.split(['}', '.']).next().unwrap_or_default();
                    found.insert(name.to_owned());
                }
            }
            object.values().for_each(|v| mentions(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| mentions(v, found)),
        _ => {}
    }
}

impl Template {
    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0["Resources"].as_object().into_iter().flatten().map(|(id, r)| (id.as_str(), r))
    }

    fn of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources().filter(move |(_, r)| r["Type"] == kind)
    }

    fn resource(&self, id: &str) -> anyhow::Result<&Value> {
        self.0["Resources"].get(id).with_context(|| format!("no resource {id}"))
    }

    fn functions(&self) -> Vec<Function<'_>> {
        let globals = self.0["Globals"]["Function"].as_object().cloned().unwrap_or_default();
        let global_env = globals.get("Environment").map(|e| &e["Variables"]).and_then(Value::as_object);
        self.of_type("AWS::Serverless::Function")
            .map(|(id, resource)| {
                let own = resource["Properties"].as_object().cloned().unwrap_or_default();
                let mut env: BTreeMap<String, Value> = global_env.cloned().unwrap_or_default().into_iter().collect();
                let own_env = own.get("Environment").map(|e| &e["Variables"]).and_then(Value::as_object);
                env.extend(own_env.cloned().unwrap_or_default());
                let events = resource["Properties"]["Events"].as_object().into_iter().flatten().map(|(_, e)| e);
                let mut props = globals.clone();
                props.extend(own);
                Function { id, props, env, events: events.collect() }
            })
            .collect()
    }

    fn function(&self, id: &str) -> anyhow::Result<Function<'_>> {
        self.functions().into_iter().find(|f| f.id == id).with_context(|| format!("no function {id}"))
    }

    /// Work queues (with a redrive policy) and their DLQs.
    fn work_queues(&self) -> anyhow::Result<Vec<(&str, String)>> {
        self.of_type("AWS::SQS::Queue")
            .filter(|(_, q)| q["Properties"].get("RedrivePolicy").is_some())
            .map(|(id, q)| {
                let dlq = get_att_target(&q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
                    .with_context(|| format!("{id}'s deadLetterTargetArn is not a GetAtt"))?;
                Ok((id, dlq))
            })
            .collect()
    }

    fn alarms(&self) -> Vec<(&str, &Value)> {
        self.of_type("AWS::CloudWatch::Alarm").map(|(id, a)| (id, &a["Properties"])).collect()
    }
}

/// Whether `alarm` watches `metric` of `namespace` with `dimension` naming `target`.
fn watches(alarm: &Value, namespace: &str, metric: &str, target: &str) -> bool {
    let names_target = |dimensions: &Value| {
        dimensions.as_array().into_iter().flatten().any(|d| {
            ref_target(&d["Value"]).as_deref() == Some(target) || get_att_target(&d["Value"]).as_deref() == Some(target)
        })
    };
    alarm["Namespace"] == namespace && alarm["MetricName"] == metric && names_target(&alarm["Dimensions"])
        || alarm["Metrics"].as_array().into_iter().flatten().any(|m| {
            let metric_def = &m["MetricStat"]["Metric"];
            metric_def["Namespace"] == namespace
                && metric_def["MetricName"] == metric
                && names_target(&metric_def["Dimensions"])
        })
}

fn number(value: &Value) -> Option<f64> {
    value.as_f64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

#[test]
fn every_function_is_a_cargo_lambda_binary_on_al2023_arm64() -> anyhow::Result<()> {
    let template = load()?;
    let expected = [
        ("ApiFunction", "api", None),
        ("IngestionFunction", "ingestion", None),
        ("PollerDispatchFunction", "poller", Some("dispatch")),
        ("PollerWorkerFunction", "poller", Some("worker")),
    ];
    let functions = template.functions();
    let ids: BTreeSet<_> = functions.iter().map(|f| f.id).collect();
    ensure!(ids == expected.iter().map(|(id, ..)| *id).collect(), "functions {ids:?}");
    for f in &functions {
        ensure!(f.props.get("Runtime") == Some(&json!("provided.al2023")), "{}: Runtime", f.id);
        ensure!(f.props.get("Architectures") == Some(&json!(["arm64"])), "{}: Architectures", f.id);
        ensure!(f.props.get("Handler") == Some(&json!("bootstrap")), "{}: Handler", f.id);
    }
    for (id, binary, role) in expected {
        let f = template.function(id)?;
        let code = format!("../target/lambda/{binary}/");
        ensure!(f.props.get("CodeUri") == Some(&json!(code)), "{id}: CodeUri must be {code}");
        ensure!(f.env.get("POLLER_ROLE").and_then(Value::as_str) == role, "{id}: POLLER_ROLE must be {role:?}");
    }
    let api = template.function("ApiFunction")?;
    ensure!(api.events_of_type("HttpApi").count() == 1, "ApiFunction needs one HttpApi event");
    let dispatch = template.function("PollerDispatchFunction")?;
    let schedules: Vec<_> = dispatch.events_of_type("Schedule").map(|e| &e["Properties"]["Schedule"]).collect();
    ensure!(schedules == [&json!("rate(1 minute)")], "PollerDispatchFunction's schedule: {schedules:?}");
    Ok(())
}

#[test]
fn every_sqs_event_reports_batch_item_failures_with_bounded_concurrency() -> anyhow::Result<()> {
    let template = load()?;
    let mut seen = 0;
    for f in template.functions() {
        for event in f.events_of_type("SQS") {
            let props = &event["Properties"];
            let types = props["FunctionResponseTypes"].as_array().cloned().unwrap_or_default();
            ensure!(types.contains(&json!("ReportBatchItemFailures")), "{}: no ReportBatchItemFailures", f.id);
            let max = props["ScalingConfig"]["MaximumConcurrency"].as_u64().unwrap_or_default();
            ensure!(max >= 2, "{}: ScalingConfig.MaximumConcurrency must be at least 2, is {max}", f.id);
            ensure!(props["BatchSize"].as_u64().is_some_and(|n| n >= 1), "{}: no BatchSize", f.id);
            seen += 1;
        }
    }
    ensure!(seen == 2, "expected the runs and llm-jobs consumers, found {seen} SQS events");
    Ok(())
}

#[test]
fn visibility_timeout_is_six_times_the_consumers_timeout() -> anyhow::Result<()> {
    let template = load()?;
    for f in template.functions() {
        for queue in f.consumed_queues() {
            let visibility = template.resource(&queue)?["Properties"]["VisibilityTimeout"].as_u64().unwrap_or(0);
            let timeout = f.timeout()?;
            ensure!(visibility >= 6 * timeout, "{queue}: VisibilityTimeout {visibility} < 6 x {}'s {timeout}", f.id);
        }
    }
    Ok(())
}

#[test]
fn work_queues_go_to_a_dlq_after_five_receives_and_dlqs_keep_14_days() -> anyhow::Result<()> {
    let template = load()?;
    let work = template.work_queues()?;
    ensure!(work.len() == 2, "expected runs and llm-jobs, found {work:?}");
    for (id, dlq) in &work {
        let props = &template.resource(id)?["Properties"];
        let receives = number(&props["RedrivePolicy"]["maxReceiveCount"]).unwrap_or(0.0);
        ensure!(receives >= 5.0, "{id}: maxReceiveCount {receives} < 5");
        let retention = template.resource(dlq)?["Properties"]["MessageRetentionPeriod"].as_u64();
        ensure!(retention == Some(1_209_600), "{dlq}: retention {retention:?}, not 14 days");
    }
    let dlqs: BTreeSet<_> = work.iter().map(|(_, dlq)| dlq.as_str()).collect();
    ensure!(dlqs.len() == work.len(), "two work queues share a DLQ");
    for (id, _) in template.of_type("AWS::SQS::Queue") {
        ensure!(work.iter().any(|(w, _)| *w == id) || dlqs.contains(id), "{id} is neither a work queue nor a DLQ");
    }
    // The ingestion marks a run failed on the last delivery: it must know the runs queue's maxReceiveCount.
    let ingestion = template.function("IngestionFunction")?;
    let runs = &template.resource("RunsQueue")?["Properties"]["RedrivePolicy"]["maxReceiveCount"];
    let told = ingestion.env.get("RUNS_MAX_RECEIVE_COUNT").and_then(number);
    ensure!(told == number(runs), "RUNS_MAX_RECEIVE_COUNT {told:?} differs from RunsQueue's maxReceiveCount {runs}");
    Ok(())
}

#[test]
fn every_dlq_and_work_queue_has_its_alarm() -> anyhow::Result<()> {
    let template = load()?;
    let alarms = template.alarms();
    for (queue, dlq) in template.work_queues()? {
        let not_empty = alarms.iter().any(|(_, a)| {
            watches(a, "AWS/SQS", "ApproximateNumberOfMessagesVisible", &dlq)
                && a["ComparisonOperator"] == "GreaterThanThreshold"
                && number(&a["Threshold"]) == Some(0.0)
        });
        ensure!(not_empty, "{dlq} has no not-empty alarm (messages visible > 0)");
        let aged = alarms.iter().any(|(_, a)| watches(a, "AWS/SQS", "ApproximateAgeOfOldestMessage", queue));
        ensure!(aged, "{queue} has no ApproximateAgeOfOldestMessage alarm");
    }
    Ok(())
}

#[test]
fn every_function_has_error_rate_and_duration_alarms() -> anyhow::Result<()> {
    let template = load()?;
    let alarms = template.alarms();
    for f in template.functions() {
        let error_rate = alarms.iter().any(|(_, a)| {
            let expression = a["Metrics"].as_array().into_iter().flatten().find_map(|m| m["Expression"].as_str());
            watches(a, "AWS/Lambda", "Errors", f.id)
                && watches(a, "AWS/Lambda", "Invocations", f.id)
                && expression.is_some_and(|e| e.contains("errors / invocations"))
                && a["ComparisonOperator"] == "GreaterThanThreshold"
                && number(&a["Threshold"]).is_some_and(|t| t <= 5.0)
        });
        ensure!(error_rate, "{} has no error-rate alarm (errors / invocations > 5%)", f.id);
        let limit = 1000.0 * f.timeout()? as f64;
        let duration = alarms.iter().any(|(_, a)| {
            watches(a, "AWS/Lambda", "Duration", f.id)
                && a["Statistic"] == "Maximum"
                && number(&a["Threshold"]).is_some_and(|t| t >= 0.8 * limit && t < limit)
        });
        ensure!(duration, "{} has no duration alarm (Maximum between 80% and 100% of its timeout)", f.id);
    }
    Ok(())
}

#[test]
fn a_dispatch_not_invoked_for_five_minutes_alarms() -> anyhow::Result<()> {
    let template = load()?;
    let ok = template.alarms().iter().any(|(_, a)| {
        let window = number(&a["Period"]).unwrap_or(0.0) * number(&a["EvaluationPeriods"]).unwrap_or(0.0);
        watches(a, "AWS/Lambda", "Invocations", "PollerDispatchFunction")
            && a["Statistic"] == "Sum"
            && a["ComparisonOperator"] == "LessThanThreshold"
            && number(&a["Threshold"]) == Some(1.0)
            && a["TreatMissingData"] == "breaching"
            && window > 0.0
            && window <= 300.0
    });
    ensure!(ok, "no alarm for PollerDispatchFunction not invoked in 5 minutes (missing data breaching)");
    Ok(())
}

#[test]
fn every_alarm_notifies_the_topic() -> anyhow::Result<()> {
    let template = load()?;
    let topics: BTreeSet<_> = template.of_type("AWS::SNS::Topic").map(|(id, _)| id.to_owned()).collect();
    ensure!(!topics.is_empty(), "no SNS topic for the alarms");
    let subscribed = template.of_type("AWS::SNS::Subscription").any(|(_, s)| {
        s["Condition"].is_string()
            && s["Properties"]["Protocol"] == "email"
            && ref_target(&s["Properties"]["Endpoint"]).is_some()
    });
    ensure!(subscribed, "no optional e-mail subscription driven by a parameter");
    for (id, alarm) in template.alarms() {
        let actions = alarm["AlarmActions"].as_array().cloned().unwrap_or_default();
        ensure!(actions.iter().any(|a| ref_target(a).is_some_and(|t| topics.contains(&t))), "{id} notifies no topic");
    }
    Ok(())
}

/// IAM actions without resource-level permissions: a statement allowing them must name `*`.
const UNSCOPED_ACTIONS: [&str; 1] = ["cloudwatch:GetMetricStatistics"];

/// The logical id of the DLQ in the redrive policy of the queue `id`.
fn dlq_of(template: &Template, id: &str) -> Option<String> {
    let queue = template.resource(id).ok()?;
    get_att_target(&queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
}

#[test]
fn each_functions_role_names_only_its_own_queues_and_only_the_worker_reads_the_openai_key() -> anyhow::Result<()> {
    let template = load()?;
    let queues: BTreeSet<_> = template.of_type("AWS::SQS::Queue").map(|(id, _)| id.to_owned()).collect();
    let mut roles = BTreeSet::new();
    for f in template.functions() {
        // Without its own role, SAM would attach AWSLambdaSQSQueueExecutionRole, which reads every queue.
        ensure!(!f.props.contains_key("Policies"), "{}: use its own role, not SAM Policies", f.id);
        let role_id = f.props.get("Role").and_then(get_att_target).with_context(|| format!("{}: no Role", f.id))?;
        ensure!(roles.insert(role_id.clone()), "{}: role {role_id} is shared", f.id);
        let role = template.resource(&role_id)?;
        let mut named = BTreeSet::new();
        mentions(&role["Properties"]["Policies"], &mut named);
        let named_queues: BTreeSet<_> = named.intersection(&queues).cloned().collect();
        let mut own = f.consumed_queues();
        let mut sent_to = BTreeSet::new();
        f.env.iter().filter(|(k, _)| k.ends_with("_QUEUE_URL")).for_each(|(_, v)| mentions(v, &mut sent_to));
        own.extend(sent_to);
        if f.id == "ApiFunction" {
            // The operators' panel peeks into and redrives the DLQs of the queues the API sends to.
            let dlqs: Vec<String> = own.iter().filter_map(|q| dlq_of(&template, q)).collect();
            own.extend(dlqs);
        }
        ensure!(named_queues == own, "{}'s role names queues {named_queues:?}, it uses {own:?}", f.id);
        for statement in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default())
        {
            let actions = match &statement["Action"] {
                Value::String(a) => vec![a.clone()],
                other => other.as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_owned)).collect(),
            };
            // Only actions that have no resource-level permissions may name every resource.
            let unscoped = actions.iter().all(|a| UNSCOPED_ACTIONS.contains(&a.as_str()));
            ensure!(statement["Resource"] != "*" || unscoped, "{}: a statement on every resource: {statement}", f.id);
            ensure!(!actions.iter().any(|a| a.contains('*')), "{}: wildcard action in {statement}", f.id);
            let reads_secrets = actions.iter().any(|a| a.starts_with("secretsmanager:"));
            ensure!(!reads_secrets || f.id == "PollerWorkerFunction", "{} may read secrets: {statement}", f.id);
            if reads_secrets {
                let mut secret = BTreeSet::new();
                mentions(&statement["Resource"], &mut secret);
                let mut told = BTreeSet::new();
                mentions(f.env.get("OPENAI_API_KEY_SECRET_ID").unwrap_or(&Value::Null), &mut told);
                ensure!(secret.is_superset(&told) && !told.is_empty(), "the worker may read {secret:?}, not {told:?}");
            }
        }
    }
    Ok(())
}

#[test]
fn each_consumer_may_set_the_visibility_of_what_it_consumes_and_knows_its_queues_url() -> anyhow::Result<()> {
    let template = load()?;
    let consumers: Vec<_> = template.functions().into_iter().filter(|f| !f.consumed_queues().is_empty()).collect();
    ensure!(consumers.len() == 2, "the ingestion and the worker consume queues: {}", consumers.len());
    for f in consumers {
        let role_id = f.props.get("Role").and_then(get_att_target).with_context(|| format!("{}: no Role", f.id))?;
        let role = template.resource(&role_id)?;
        let mut allowed = BTreeSet::new();
        for statement in role["Properties"]["Policies"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().cloned().unwrap_or_default())
        {
            let actions = statement["Action"].as_array().cloned().unwrap_or_else(|| vec![statement["Action"].clone()]);
            if actions.iter().any(|a| a == "sqs:ChangeMessageVisibility") {
                mentions(&statement["Resource"], &mut allowed);
            }
        }
        // The function backs failed records off itself (ChangeMessageVisibility on the queue's URL).
        ensure!(
            allowed == f.consumed_queues(),
            "{} may change visibility on {allowed:?}, consumes {:?}",
            f.id,
            f.consumed_queues()
        );
        let mut urls = BTreeSet::new();
        f.env.iter().filter(|(k, _)| k.ends_with("_QUEUE_URL")).for_each(|(_, v)| mentions(v, &mut urls));
        ensure!(urls.is_superset(&f.consumed_queues()), "{} is not told its queue's URL: {urls:?}", f.id);
    }
    Ok(())
}

#[test]
fn no_secret_is_in_plain_text() -> anyhow::Result<()> {
    let template = load()?;
    let secret_vars = ["DATABASE_URL", "TEST_DATABASE_URL", "JWT_SECRET", "OPENAI_WEBHOOK_SECRET"];
    for f in template.functions() {
        ensure!(!f.env.contains_key("OPENAI_API_KEY"), "{}: OPENAI_API_KEY in plain text", f.id);
        let reads_key = f.env.contains_key("OPENAI_API_KEY_SECRET_ID");
        ensure!(reads_key == (f.id == "PollerWorkerFunction"), "{}: only the worker reads the OpenAI key", f.id);
        for (name, value) in &f.env {
            let resolved_at_deploy = |v: &Value| {
                v["Fn::Sub"].as_str().is_some_and(|s| s.starts_with("{{resolve:secretsmanager:"))
                    || ref_target(v).as_deref() == Some("AWS::NoValue")
            };
            // A conditional value: both branches must be secret.
            let branches = match value.get("Fn::If").and_then(Value::as_array) {
                Some(branches) => branches.get(1..).unwrap_or_default().to_vec(),
                None => vec![value.clone()],
            };
            if secret_vars.contains(&name.as_str()) {
                ensure!(branches.iter().all(resolved_at_deploy), "{}: {name} is not a Secrets Manager reference", f.id);
            }
            let text = value.to_string();
            ensure!(!text.contains("postgres://") && !text.contains("sk-"), "{}: {name} looks like a secret", f.id);
        }
    }
    let worker = template.function("PollerWorkerFunction")?;
    let secret = worker.env.get("OPENAI_API_KEY_SECRET_ID").and_then(ref_target);
    let parameter = secret.as_deref().map(|p| &template.0["Parameters"][p]);
    ensure!(
        parameter.is_some_and(|p| p["Type"] == "String"),
        "OPENAI_API_KEY_SECRET_ID must name a secret (a parameter)"
    );
    Ok(())
}

#[test]
fn outputs_give_the_api_url_every_queue_and_every_function() -> anyhow::Result<()> {
    let template = load()?;
    let outputs: Vec<&Value> =
        template.0["Outputs"].as_object().into_iter().flatten().map(|(_, o)| &o["Value"]).collect();
    let api_url = template.0["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"].as_str().unwrap_or_default();
    ensure!(api_url.starts_with("https://${HttpApi}.execute-api."), "ApiUrl: {api_url:?}");
    let has = |wanted: &Value| outputs.contains(&wanted);
    for (id, _) in template.of_type("AWS::SQS::Queue") {
        ensure!(has(&json!({ "Ref": id })), "no output of {id}'s URL");
        ensure!(has(&json!({ "Fn::GetAtt": [id, "Arn"] })), "no output of {id}'s ARN");
    }
    for f in template.functions() {
        ensure!(has(&json!({ "Ref": f.id })), "no output of {}'s name", f.id);
    }
    Ok(())
}

#[test]
fn local_queue_definitions_are_the_templates() -> anyhow::Result<()> {
    let template = load()?;
    let mut from_template = Vec::new();
    for (id, dlq) in template.work_queues()? {
        let props = &template.resource(id)?["Properties"];
        let name = props["QueueName"]["Fn::Sub"].as_str().and_then(|s| s.strip_prefix("${QueuePrefix}"));
        let Some(name) = name else { bail!("{id}'s QueueName is not ${{QueuePrefix}}<name>") };
        let dlq_name = template.resource(&dlq)?["Properties"]["QueueName"]["Fn::Sub"].as_str();
        ensure!(dlq_name == Some(&format!("${{QueuePrefix}}{name}-dlq")), "{dlq} is not named {name}-dlq");
        let secs = |v: &Value| number(v).map(|n| n as u32).with_context(|| format!("{id}: {v}"));
        from_template.push((
            name.to_owned(),
            secs(&props["VisibilityTimeout"])?,
            secs(&props["RedrivePolicy"]["maxReceiveCount"])?,
            secs(&props["MessageRetentionPeriod"])?,
            secs(&template.resource(&dlq)?["Properties"]["MessageRetentionPeriod"])?,
        ));
    }
    let local: Vec<_> = definitions::ALL
        .iter()
        .map(|d: &QueueDef| {
            let QueueDef { name, visibility_timeout_secs, max_receive_count, retention_secs } = *d;
            (
                name.to_owned(),
                visibility_timeout_secs,
                max_receive_count,
                retention_secs,
                definitions::DLQ_RETENTION_SECS,
            )
        })
        .collect();
    // Order is not part of the definition (and JSON objects here do not keep it).
    let (mut local, mut from_template) = (local, from_template);
    local.sort();
    from_template.sort();
    ensure!(local == from_template, "bw_queue::definitions::ALL {local:?} differs from the template {from_template:?}");
    Ok(())
}

#[test]
fn the_lambda_tests_run_each_function_as_the_template_defines_it() -> anyhow::Result<()> {
    let template = load()?;
    for f in bw_tests::lambda_runtime::Function::ALL {
        let defined = template.function(f.resource)?;
        ensure!(defined.timeout()? == f.timeout.as_secs(), "{}: Timeout {} s", f.resource, defined.timeout()?);
        let memory = defined.props.get("MemorySize").and_then(Value::as_u64);
        ensure!(memory == Some(u64::from(f.memory_mb)), "{}: MemorySize {memory:?}", f.resource);
        let batch_sizes: Vec<Option<u64>> =
            defined.events_of_type("SQS").map(|e| e["Properties"]["BatchSize"].as_u64()).collect();
        let expected: Vec<Option<u64>> = f.batch_size.map(|b| Some(b as u64)).into_iter().collect();
        ensure!(batch_sizes == expected, "{}: SQS batch sizes {batch_sizes:?}", f.resource);
    }
    Ok(())
}
