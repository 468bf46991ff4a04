//! The `Vigil-Signature` header: HMAC-SHA256 over `"{timestamp}.{body}"` with the webhook's
//! secret (its text, as `vigil webhooks add` printed it), so a receiver can tell Vigil's requests
//! from anybody's and refuse old ones replayed.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::events::chain::to_hex;

type HmacSha256 = Hmac<Sha256>;

/// The header carrying `t=<unix seconds>,v1=<hex HMAC>`.
pub const SIGNATURE_HEADER: &str = "Vigil-Signature";
/// How far a verified timestamp may be from now, in seconds, by default (five minutes).
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 300;

/// Why a signature was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the header is not `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    #[error("the timestamp is more than {0} seconds from now")]
    Stale(i64),
    #[error("no v1 signature matches the body")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The header's value for `body` sent at `timestamp` (Unix seconds).
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", to_hex(&digest))
}

/// Checks a header's value against `body`, as a receiver would: the timestamp within
/// `tolerance_seconds` of `now`, and some `v1=` matching (compared in constant time).
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => {
                signatures.push(from_hex(value).ok_or(SignatureError::Malformed)?)
            }
            // Other schemes may be added beside v1; they are not ours to judge.
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now.checked_sub(timestamp).map(i64::unsigned_abs);
    if skew.is_none_or(|skew| skew > tolerance_seconds.unsigned_abs()) {
        return Err(SignatureError::Stale(tolerance_seconds));
    }
    let expected = mac(secret, timestamp, body);
    signatures
        .iter()
        .any(|signature| expected.clone().verify_slice(signature).is_ok())
        .then_some(())
        .ok_or(SignatureError::Mismatch)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_nothing_else_does() {
        let header = sign("secret", 1_800_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1800000000,v1="));
        assert_eq!(header.len(), "t=1800000000,v1=".len() + 64);
        let now = 1_800_000_100;
        assert_eq!(verify("secret", &header, b"{\"a\":1}", now, 300), Ok(()));
        let mismatch = Err(SignatureError::Mismatch);
        assert_eq!(verify("other", &header, b"{\"a\":1}", now, 300), mismatch);
        assert_eq!(verify("secret", &header, b"{\"a\":2}", now, 300), mismatch);
        let stale = Err(SignatureError::Stale(60));
        assert_eq!(verify("secret", &header, b"{\"a\":1}", now, 60), stale);
        // A second signature (a rotated secret) is accepted beside a wrong one.
        let rotated = format!("{},v1={}", header.replace("v1=", "v1=00"), &header[16..]);
        assert_eq!(verify("secret", &rotated, b"{\"a\":1}", now, 300), Ok(()));
    }

    #[test]
    fn malformed_headers_are_refused_before_any_hashing() {
        for bad in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=1,v1=0",
            "garbage",
        ] {
            assert_eq!(
                verify("s", bad, b"", 1, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            verify("s", "t=-9223372036854775808,v1=00", b"", i64::MAX, 300),
            Err(SignatureError::Stale(300))
        );
    }

    /// The same vector docs/webhooks.md's Python and openssl snippets reproduce.
    #[test]
    fn matches_the_documented_example() {
        assert_eq!(
            sign(
                "example-secret",
                1700000000,
                b"{\"event\":\"alert.opened\"}"
            ),
            format!("t=1700000000,v1={}", EXAMPLE_V1)
        );
    }

    const EXAMPLE_V1: &str = "47c140352fea21709e8c3632413dfb7bb9d95b275213130a92738dfee6f20459";
}
