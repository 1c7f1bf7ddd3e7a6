//! Retries, timeouts, the deadline and rate-limit pacing, measured against the scripted server.

use std::time::{Duration, Instant};

use bw_openai::{OpenAi, OpenAiError};

use crate::support::{Answer, Fake, TestResult, client, config, fixture};

const RATE_LIMITED: &str = r#"{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#;
const QUOTA: &str = r#"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;

fn queued() -> Result<String, std::io::Error> {
    fixture("responses/response_background_queued.pydantic_ai_vcr_real.json")
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() -> TestResult {
    let fake =
        Fake::start(vec![Answer::new(429, RATE_LIMITED).header("retry-after", "1"), Answer::new(200, queued()?)])
            .await?;
    let ai = client(&fake)?;
    let started = Instant::now();
    ai.retrieve_response("resp_1").await?;
    let received = fake.received();
    assert_eq!(received.len(), 2);
    // Backoff alone would wait at most 1 ms; Retry-After: 1 makes it a second.
    let gap = received[1].at.duration_since(received[0].at);
    assert!(gap >= Duration::from_millis(990), "retried after {gap:?}");
    assert!(started.elapsed() < Duration::from_millis(1900), "took {:?}", started.elapsed());
    assert_eq!((ai.requests_sent(), ai.rate_limited_responses()), (2, 1));
    Ok(())
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_exhausted_budget() -> TestResult {
    let fake = Fake::start(vec![
        Answer::new(429, RATE_LIMITED)
            .header("x-ratelimit-remaining-tokens", "0")
            .header("x-ratelimit-reset-tokens", "0.4s"),
        Answer::new(200, queued()?),
    ])
    .await?;
    client(&fake)?.retrieve_response("resp_1").await?;
    let received = fake.received();
    let gap = received[1].at.duration_since(received[0].at);
    assert!(gap >= Duration::from_millis(390), "retried after {gap:?}");
    Ok(())
}

#[tokio::test]
async fn a_400_is_not_retried() -> TestResult {
    let body = fixture("errors/openai_400_invalid_request_error.box_mojito_real.json")?;
    let fake = Fake::start(vec![Answer::new(400, body), Answer::new(200, queued()?)]).await?;
    let ai = client(&fake)?;
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(matches!(&err, OpenAiError::Api { status: 400, code: Some(c), .. } if c == "invalid_value"), "{err:?}");
    assert_eq!(ai.requests_sent(), 1);
    Ok(())
}

#[tokio::test]
async fn insufficient_quota_is_not_retried() -> TestResult {
    let fake = Fake::start(vec![Answer::new(429, QUOTA), Answer::new(200, queued()?)]).await?;
    let ai = client(&fake)?;
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(matches!(err, OpenAiError::QuotaExhausted { .. }), "{err:?}");
    assert_eq!((ai.requests_sent(), ai.rate_limited_responses()), (1, 1));
    Ok(())
}

#[tokio::test]
async fn server_errors_are_retried_until_success() -> TestResult {
    let fake = Fake::start(vec![
        Answer::new(
            500,
            r#"{"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}"#,
        ),
        Answer::new(502, "<html>502 Bad Gateway</html>"),
        Answer::new(503, ""),
        Answer::new(200, queued()?),
    ])
    .await?;
    let ai = client(&fake)?;
    ai.retrieve_response("resp_1").await?;
    assert_eq!(ai.requests_sent(), 4);
    Ok(())
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() -> TestResult {
    let fake = Fake::start(vec![Answer::new(504, ""); 6]).await?;
    let ai = client(&fake)?;
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(matches!(err, OpenAiError::Api { status: 504, .. }), "{err:?}");
    assert_eq!(ai.requests_sent(), 4, "1 attempt + max_retries 3");
    Ok(())
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() -> TestResult {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    drop(listener);
    let ai = OpenAi::new(config(&format!("http://{address}/v1")))?;
    let err = ai.retrieve_batch("batch_1").await.err().ok_or("expected an error")?;
    match &err {
        OpenAiError::Transport { what, reason } => {
            assert_eq!(what, "GET /v1/batches/batch_1");
            assert!(reason.to_lowercase().contains("connect"), "{reason}");
        }
        other => return Err(format!("expected Transport, got {other:?}").into()),
    }
    assert_eq!(ai.requests_sent(), 4);
    Ok(())
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() -> TestResult {
    let slow = Answer::new(200, queued()?).delay(Duration::from_secs(2));
    let fake = Fake::start(vec![slow.clone(), slow]).await?;
    let ai = OpenAi::new(bw_openai::OpenAiConfig {
        request_timeout: Duration::from_millis(150),
        max_retries: 1,
        ..config(&fake.base_url)
    })?;
    let started = Instant::now();
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(matches!(err, OpenAiError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(ai.requests_sent(), 2);
    Ok(())
}

#[tokio::test]
async fn the_deadline_cuts_a_call_short() -> TestResult {
    let fake = Fake::start(vec![Answer::new(200, queued()?).delay(Duration::from_secs(3))]).await?;
    let ai = client(&fake)?.with_budget(Duration::from_millis(300));
    let started = Instant::now();
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(280) && elapsed < Duration::from_millis(800), "took {elapsed:?}");
    match err {
        OpenAiError::DeadlineExceeded { attempts: 1, last_error: Some(last) } => {
            assert!(matches!(*last, OpenAiError::Timeout { .. }), "{last:?}");
        }
        other => return Err(format!("expected DeadlineExceeded, got {other:?}").into()),
    }
    Ok(())
}

#[tokio::test]
async fn a_retry_after_past_the_deadline_returns_at_once() -> TestResult {
    let fake = Fake::start(vec![Answer::new(429, RATE_LIMITED).header("retry-after", "2")]).await?;
    let ai = client(&fake)?.with_budget(Duration::from_millis(500));
    let started = Instant::now();
    let err = ai.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(started.elapsed() < Duration::from_millis(300), "took {:?}", started.elapsed());
    assert!(matches!(err, OpenAiError::DeadlineExceeded { .. }), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)), "the caller learns how long to wait");
    Ok(())
}

#[tokio::test]
async fn a_used_up_request_budget_holds_the_next_request() -> TestResult {
    let exhausted = Answer::new(200, queued()?)
        .header("x-ratelimit-remaining-requests", "0")
        .header("x-ratelimit-reset-requests", "0.5s");
    let fake = Fake::start(vec![exhausted, Answer::new(200, queued()?)]).await?;
    let ai = client(&fake)?;
    ai.retrieve_response("resp_1").await?;
    assert_eq!(ai.last_rate_limits().and_then(|l| l.remaining_requests), Some(0));

    // A caller whose deadline comes before the reset is told at once, and nothing is sent.
    let hurried = ai.with_budget(Duration::from_millis(200));
    let err = hurried.retrieve_response("resp_1").await.err().ok_or("expected an error")?;
    assert!(matches!(err, OpenAiError::DeadlineExceeded { attempts: 0, .. }), "{err:?}");
    assert!(err.retry_after().is_some_and(|d| d > Duration::from_millis(300)), "{err:?}");
    assert_eq!(fake.received().len(), 1);

    // A caller with time waits for the reset.
    ai.retrieve_response("resp_1").await?;
    let received = fake.received();
    let gap = received[1].at.duration_since(received[0].at);
    assert!(gap >= Duration::from_millis(480), "second request after {gap:?}");
    assert_eq!(ai.requests_sent(), 2);
    Ok(())
}
