//! The signed test vectors of OpenAI's SDKs and the Standard Webhooks libraries (`tests/fixtures/openai/webhooks`),
//! verified as their own tests verify them.

use bw_webhooks::{Headers, Secret, TOLERANCE_SECS, WebhookError, sign, verify, verify_within};
use serde_json::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn fixture(name: &str) -> Result<Value, Box<dyn std::error::Error>> {
    let path = format!("{}/../../tests/fixtures/openai/webhooks/{name}", env!("CARGO_MANIFEST_DIR"));
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or_default()
}

fn headers(value: &Value) -> Headers<'_> {
    let h = &value["headers"];
    Headers {
        id: h["webhook-id"].as_str(),
        timestamp: h["webhook-timestamp"].as_str(),
        signature: h["webhook-signature"].as_str(),
    }
}

#[test]
fn the_openai_sdk_vector_and_its_cases() -> TestResult {
    let vector = fixture("signed_response_completed.openai_sdk_test_vector.json")?;
    let body = text(&vector, "body").as_bytes();
    let now = vector["now"].as_i64().unwrap_or_default();
    let secret = Secret::parse(text(&vector, "secret"))?;
    assert_eq!(verify(&secret, headers(&vector), body, now)?.id, "wh_685c059ae39c8190af8c71ed1022a24d");
    // The body re-encoded (compact JSON) is other bytes: it does not verify.
    let compact = serde_json::to_string(&serde_json::from_slice::<Value>(body)?)?;
    assert!(matches!(verify(&secret, headers(&vector), compact.as_bytes(), now), Err(WebhookError::NoMatch(1))));
    // Against today's clock the delivery is long past its tolerance.
    assert!(matches!(verify(&secret, headers(&vector), body, now + 86_400), Err(WebhookError::TooOld(86_400, 300))));

    let cases = vector["cases"].as_array().cloned().unwrap_or_default();
    assert!(cases.len() >= 6, "{cases:?}");
    for case in &cases {
        let name = text(case, "name");
        let expected = text(case, "expected");
        let now = case["now"].as_i64().unwrap_or(now);
        let tolerance = case["tolerance_seconds"].as_i64().unwrap_or(TOLERANCE_SECS);
        let outcome =
            Secret::parse(text(case, "secret")).and_then(|s| verify_within(&s, headers(case), body, now, tolerance));
        match (expected, &outcome) {
            ("valid", Ok(_)) => {}
            (e, Err(WebhookError::TooOld(..))) if e.contains("too old") => {}
            (e, Err(WebhookError::TooNew(..))) if e.contains("too new") => {}
            (e, Err(WebhookError::NoMatch(_) | WebhookError::Secret(_))) if e.contains("does not match") => {}
            _ => panic!("{name}: expected {expected}, got {outcome:?}"),
        }
    }
    Ok(())
}

#[test]
fn the_standard_webhooks_vectors() -> TestResult {
    let all = fixture("standard_webhooks_test_vectors.json")?;
    let vectors = all["vectors"].as_array().cloned().unwrap_or_default();
    assert_eq!(vectors.len(), 2);
    for vector in &vectors {
        let secret = Secret::parse(text(vector, "secret"))?;
        let h = headers(vector);
        let body = text(vector, "body").as_bytes();
        let stamp: i64 = h.timestamp.unwrap_or_default().parse()?;
        // Verified at their own time, and signed again to the same header.
        verify(&secret, h, body, stamp)?;
        assert_eq!(sign(&secret, h.id.unwrap_or_default(), stamp, body), h.signature.unwrap_or_default());
        let early = verify(&secret, h, body, stamp - TOLERANCE_SECS - 1);
        assert_eq!(early, Err(WebhookError::TooNew(TOLERANCE_SECS + 1, TOLERANCE_SECS)));
        assert!(verify(&secret, h, body, stamp + TOLERANCE_SECS).is_ok(), "the edge of the tolerance is in");
    }

    // Invalid signatures, with the first vector's secret, id, timestamp and body (the second's for Rust's own).
    for (i, bad) in all["invalid_signatures"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        let vector = if text(bad, "found_in").contains("rust") { &vectors[1] } else { &vectors[0] };
        let secret = Secret::parse(text(vector, "secret"))?;
        let h = Headers { signature: bad["value"].as_str(), ..headers(vector) };
        let stamp: i64 = h.timestamp.unwrap_or_default().parse()?;
        let outcome = verify(&secret, h, text(vector, "body").as_bytes(), stamp);
        assert!(matches!(outcome, Err(WebhookError::NoMatch(_))), "invalid signature {i}: {outcome:?}");
    }

    // Several signatures: the valid one among others verifies, other versions are skipped, the others alone fail.
    for (case, vector) in all["multi_signature_cases"].as_array().cloned().unwrap_or_default().iter().zip(&vectors) {
        let secret = Secret::parse(text(vector, "secret"))?;
        let valid = headers(vector).signature.unwrap_or_default();
        let parts: Vec<&str> =
            case["header_parts_in_order"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let with: Vec<&str> = parts.iter().map(|p| if *p == "<valid v1 signature>" { valid } else { p }).collect();
        let without: Vec<&str> = parts.iter().copied().filter(|p| *p != "<valid v1 signature>").collect();
        let body = text(vector, "body").as_bytes();
        let h = headers(vector);
        let stamp: i64 = h.timestamp.unwrap_or_default().parse()?;
        let joined = with.join(" ");
        verify(&secret, Headers { signature: Some(&joined), ..h }, body, stamp)?;
        let joined = without.join(" ");
        assert!(matches!(
            verify(&secret, Headers { signature: Some(&joined), ..h }, body, stamp),
            Err(WebhookError::NoMatch(_))
        ));
    }

    // Secrets without their prefix or padding decode as the libraries decode them.
    let padded = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    assert_eq!(format!("{padded:?}"), format!("{:?}", Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?));
    Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS")?;
    Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwBr")?;
    Ok(())
}
