//! Events as AWS delivers them to a function: SQS batches from an event source mapping, EventBridge scheduled
//! events, and API Gateway HTTP API requests (payload format 2.0).

use serde_json::{Value, json};

const ACCOUNT: &str = "000000000000";
const API_ID: &str = "a1b2c3d4e5";

/// One SQS record as the event source mapping delivers it, from the queue called `queue`.
pub fn sqs_record(queue: &str, id: &str, body: &str) -> Value {
    json!({
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": "1700000000001"
        },
        "messageAttributes": {},
        "md5OfBody": "00000000000000000000000000000000",
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:us-east-1:{ACCOUNT}:{queue}"),
        "awsRegion": "us-east-1"
    })
}

/// An `SqsEvent` of `records`.
pub fn sqs_event(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// The event an EventBridge schedule rule called `rule` sends its target.
pub fn scheduled_event(rule: &str) -> Value {
    json!({
        "version": "0",
        "id": uuid::Uuid::new_v4().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-east-1",
        "resources": [format!("arn:aws:events:us-east-1:{ACCOUNT}:rule/{rule}")],
        "detail": {}
    })
}

/// An HTTP API request on the `$default` route and stage, with `Authorization: Bearer {token}` when given and
/// `body` as JSON when given.
pub fn http_event(method: &str, path_and_query: &str, token: Option<&str>, body: Option<&Value>) -> Value {
    let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let domain = format!("{API_ID}.execute-api.us-east-1.amazonaws.com");
    let mut headers = json!({
        "accept": "application/json",
        "host": domain,
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-00000000-000000000000000000000000",
        "x-forwarded-for": "203.0.113.7",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https"
    });
    if let Some(token) = token {
        headers["authorization"] = json!(format!("Bearer {token}"));
    }
    let body = body.map(Value::to_string);
    if let Some(body) = &body {
        headers["content-type"] = json!("application/json");
        headers["content-length"] = json!(body.len().to_string());
    }
    let now = chrono::Utc::now();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "curl/8.5.0"
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis()
        },
        "isBase64Encoded": false
    });
    // A request without a body comes without the field.
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}

/// The status code and the body (as JSON, or `Null` when empty or not JSON) of an HTTP API response.
pub fn http_response(response: &Value) -> (u64, Value) {
    let status = response["statusCode"].as_u64().unwrap_or_default();
    let body = response["body"].as_str().and_then(|b| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    (status, body)
}
