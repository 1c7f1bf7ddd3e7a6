//! Standard Webhooks signatures (<https://www.standardwebhooks.com>), the scheme OpenAI signs its webhooks with.
//!
//! A delivery carries three headers: `webhook-id` (the event's delivery id, the same on every retry of it),
//! `webhook-timestamp` (integer Unix seconds) and `webhook-signature` (space-separated `v1,<base64>` signatures:
//! several while a secret is rotated). A `v1` signature is the base64 of HMAC-SHA256 over
//! `{id}.{timestamp}.{body}`, keyed with the secret's bytes (the base64 after `whsec_`), over the body's bytes
//! exactly as received (re-encoded JSON does not verify). [`verify`] accepts a delivery when one `v1` signature
//! matches (compared in constant time; other versions are skipped) and its timestamp is within [`TOLERANCE_SECS`] of
//! now, either way; [`sign`] makes the header a sender sends.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

/// How far a delivery's timestamp may be from now, before or after: five minutes, as OpenAI's SDKs and the
/// Standard Webhooks libraries allow.
pub const TOLERANCE_SECS: i64 = 300;

/// Why a delivery was refused; the text says what was wrong, never the secret or the expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook secret is not usable: {0}")]
    Secret(String),
    #[error("the {0} header is missing or empty")]
    MissingHeader(&'static str),
    #[error("the webhook-id header {0:?} holds a '.', which the signed content uses as its separator")]
    BadId(String),
    #[error("the webhook-timestamp header {0:?} is not a Unix time in seconds")]
    BadTimestamp(String),
    #[error("the webhook timestamp is {0} s old, more than the {1} s allowed")]
    TooOld(i64, i64),
    #[error("the webhook timestamp is {0} s ahead of this server's clock, more than the {1} s allowed")]
    TooNew(i64, i64),
    #[error("no v1 signature of the webhook-signature header matches the body (checked {0})")]
    NoMatch(usize),
}

/// A webhook endpoint's signing secret: its key bytes.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Secret {
    /// A secret as OpenAI shows it (`whsec_` then base64; the prefix may be left out, padding too).
    pub fn parse(text: &str) -> Result<Self, WebhookError> {
        let encoded = text.trim();
        let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
        if encoded.is_empty() {
            return Err(WebhookError::Secret("it is empty".to_owned()));
        }
        // As the libraries decode it: padding optional, stray low bits in the last symbol ignored.
        let lenient = GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true);
        let key = GeneralPurpose::new(&alphabet::STANDARD, lenient)
            .decode(encoded)
            .map_err(|e| WebhookError::Secret(format!("it is not base64 after whsec_ ({e})")))?;
        if key.is_empty() {
            return Err(WebhookError::Secret("it decodes to no bytes".to_owned()));
        }
        Ok(Self(key))
    }

    /// A secret from its key bytes (a fake's own).
    pub fn from_bytes(key: &[u8]) -> Self {
        Self(key.to_vec())
    }

    /// The secret as OpenAI shows it: `whsec_` and its bytes in base64.
    pub fn to_whsec(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac = <Hmac<Sha256> as hmac::Mac>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

/// A delivery's three headers, as received.
#[derive(Clone, Copy, Debug)]
pub struct Headers<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// A delivery that verified: its id (to deduplicate on) and its timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub id: String,
    pub timestamp: i64,
}

/// Verifies a delivery of `body` with `headers` against `secret`, at `now` (Unix seconds), within
/// [`TOLERANCE_SECS`].
pub fn verify(secret: &Secret, headers: Headers<'_>, body: &[u8], now: i64) -> Result<Verified, WebhookError> {
    verify_within(secret, headers, body, now, TOLERANCE_SECS)
}

/// [`verify`] with a timestamp tolerance of `tolerance` seconds.
pub fn verify_within(
    secret: &Secret,
    headers: Headers<'_>,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<Verified, WebhookError> {
    let id = present(headers.id, "webhook-id")?;
    let stamp = present(headers.timestamp, "webhook-timestamp")?;
    let signatures = present(headers.signature, "webhook-signature")?;
    if id.contains('.') {
        return Err(WebhookError::BadId(id.to_owned()));
    }
    let timestamp: i64 = stamp.parse().map_err(|_| WebhookError::BadTimestamp(stamp.to_owned()))?;
    if now.saturating_sub(timestamp) > tolerance {
        return Err(WebhookError::TooOld(now.saturating_sub(timestamp), tolerance));
    }
    if timestamp.saturating_sub(now) > tolerance {
        return Err(WebhookError::TooNew(timestamp.saturating_sub(now), tolerance));
    }
    let mut checked = 0;
    for candidate in signatures.split(' ').filter(|s| !s.is_empty()) {
        let Some(("v1", encoded)) = candidate.split_once(',') else { continue };
        checked += 1;
        let Ok(given) = STANDARD.decode(encoded) else { continue };
        // `verify_slice` compares in constant time.
        if secret.mac(id, stamp, body).verify_slice(&given).is_ok() {
            return Ok(Verified { id: id.to_owned(), timestamp });
        }
    }
    Err(WebhookError::NoMatch(checked))
}

/// A header's value, trimmed, unless it is missing or empty.
fn present<'a>(value: Option<&'a str>, name: &'static str) -> Result<&'a str, WebhookError> {
    value.map(str::trim).filter(|v| !v.is_empty()).ok_or(WebhookError::MissingHeader(name))
}

/// The `webhook-signature` header for `body` sent as delivery `id` at `timestamp`: `v1,<base64>`.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let tag = secret.mac(id, &timestamp.to_string(), body).finalize().into_bytes();
    format!("v1,{}", STANDARD.encode(tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(id: &'a str, timestamp: &'a str, signature: &'a str) -> Headers<'a> {
        Headers { id: Some(id), timestamp: Some(timestamp), signature: Some(signature) }
    }

    #[test]
    fn what_it_signs_it_verifies_and_nothing_else() -> Result<(), WebhookError> {
        let secret = Secret::from_bytes(b"a key of thirty-two bytes or so!");
        let body = br#"{"type":"batch.completed","data":{"id":"batch_1"}}"#;
        let signature = sign(&secret, "wh_1", 1_000, body);
        assert_eq!(verify(&secret, headers("wh_1", "1000", &signature), body, 1_100)?.id, "wh_1");
        let tampered = br#"{"type":"batch.completed","data":{"id":"batch_2"}}"#;
        assert_eq!(
            verify(&secret, headers("wh_1", "1000", &signature), tampered, 1_100),
            Err(WebhookError::NoMatch(1))
        );
        assert_eq!(verify(&secret, headers("wh_2", "1000", &signature), body, 1_100), Err(WebhookError::NoMatch(1)));
        assert_eq!(verify(&secret, headers("wh_1", "1001", &signature), body, 1_100), Err(WebhookError::NoMatch(1)));
        assert_eq!(Secret::parse(&secret.to_whsec()).map(|s| s.0), Ok(secret.0));
        Ok(())
    }

    #[test]
    fn bad_headers_and_secrets_are_named() {
        let secret = Secret::from_bytes(b"k");
        let missing = Headers { id: Some("wh_1"), timestamp: None, signature: Some("v1,x") };
        assert_eq!(verify(&secret, missing, b"", 0), Err(WebhookError::MissingHeader("webhook-timestamp")));
        assert_eq!(verify(&secret, headers("a.b", "0", "v1,x"), b"", 0), Err(WebhookError::BadId("a.b".into())));
        assert_eq!(
            verify(&secret, headers("wh", "soon", "v1,x"), b"", 0),
            Err(WebhookError::BadTimestamp("soon".into()))
        );
        assert_eq!(verify(&secret, headers("wh", "0", "v2,x v1a,y"), b"", 0), Err(WebhookError::NoMatch(0)));
        for bad in ["", "whsec_", "whsec_***"] {
            assert!(matches!(Secret::parse(bad), Err(WebhookError::Secret(_))), "{bad:?}");
        }
    }
}
