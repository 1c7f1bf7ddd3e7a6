//! Object ids in the shapes the real API uses, drawn from the fake's seeded RNG.

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `count` lowercase hex characters.
pub(crate) fn hex(rng: &mut impl Rng, count: usize) -> String {
    (0..count).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

fn base62(rng: &mut impl Rng, count: usize) -> String {
    (0..count).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect()
}

/// `resp_` + 50 hex, like `resp_06a562f31ab7703300698b9df109c481979ebf760b2ff5fc75`.
pub(crate) fn response(rng: &mut impl Rng) -> String {
    format!("resp_{}", hex(rng, 50))
}

/// `msg_` + 50 hex.
pub(crate) fn message(rng: &mut impl Rng) -> String {
    format!("msg_{}", hex(rng, 50))
}

/// `rs_` + 50 hex (a reasoning item).
pub(crate) fn reasoning(rng: &mut impl Rng) -> String {
    format!("rs_{}", hex(rng, 50))
}

/// `batch_` + 32 hex, like `batch_67199315c20081909074e442115938a2`.
pub(crate) fn batch(rng: &mut impl Rng) -> String {
    format!("batch_{}", hex(rng, 32))
}

/// `batch_req_` + 32 hex.
pub(crate) fn batch_request(rng: &mut impl Rng) -> String {
    format!("batch_req_{}", hex(rng, 32))
}

/// `file-` + 22 base62, like `file-WSWT79PMeoPcEJ3trFKmpQ`.
pub(crate) fn file(rng: &mut impl Rng) -> String {
    format!("file-{}", base62(rng, 22))
}

/// `chatcmpl-` + 29 base62.
pub(crate) fn chat_completion(rng: &mut impl Rng) -> String {
    format!("chatcmpl-{}", base62(rng, 29))
}

/// `x-request-id` header value: `req_` + 32 hex.
pub(crate) fn request_id(rng: &mut impl Rng) -> String {
    format!("req_{}", hex(rng, 32))
}

/// A batch line's `response.request_id`, in one of the three formats real files carry:
/// `req_…`, 32 bare hex characters, or a UUID.
pub(crate) fn batch_line_request_id(rng: &mut impl Rng) -> String {
    match rng.random_range(0..3) {
        0 => request_id(rng),
        1 => hex(rng, 32),
        _ => uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string(),
    }
}

/// `fp_` + 10 hex (a chat completion's `system_fingerprint`).
pub(crate) fn fingerprint(rng: &mut impl Rng) -> String {
    format!("fp_{}", hex(rng, 10))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shapes_match_the_real_ids() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        assert_eq!(response(&mut rng).len(), "resp_".len() + 50);
        assert_eq!(batch(&mut rng).len(), "batch_".len() + 32);
        assert_eq!(file(&mut rng).len(), "file-".len() + 22);
        assert!(request_id(&mut rng).starts_with("req_"));
        let ids: Vec<String> = (0..30).map(|_| batch_line_request_id(&mut rng)).collect();
        assert!(ids.iter().any(|id| id.starts_with("req_") && id.len() == 36));
        assert!(ids.iter().any(|id| id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())));
        assert!(ids.iter().any(|id| uuid::Uuid::parse_str(id).is_ok()));
    }
}
