//! The hash chain that makes the event log tamper-evident: pure, no I/O.
//!
//! Each stored event has `hash = SHA-256(previous hash || canonical bytes of the event)`, the
//! previous hash of the first chained event being the genesis checkpoint's (32 zero bytes). The
//! canonical bytes are documented in the README ("Tamper evidence") so anyone holding an export
//! can recompute them: a compact JSON array of the stored fields in a fixed order, timestamps as
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`, absent values as `null`, object keys sorted bytewise at every
//! depth of `event_data`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use vigil_wire::StoredEvent;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The previous hash of the very first chained event.
pub const GENESIS_HASH: Hash = [0; 32];

/// The newest link: what `GET /api/v1/chain` reports and what the next event is chained to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainLink {
    pub seq: i64,
    pub hash: Hash,
}

impl ChainLink {
    /// Links `event` (which must carry seq `self.seq + 1`) after this one.
    pub fn next(&self, event: &StoredEvent) -> ChainLink {
        debug_assert_eq!(event.seq, self.seq + 1, "the chain has no gaps");
        ChainLink {
            seq: event.seq,
            hash: link_hash(&self.hash, event),
        }
    }
}

/// `SHA-256(previous || canonical_bytes(event))`.
pub fn link_hash(previous: &Hash, event: &StoredEvent) -> Hash {
    let mut digest = Sha256::new();
    digest.update(previous);
    digest.update(canonical_bytes(event));
    digest.finalize().into()
}

/// The bytes an event's hash covers. Changing this breaks every stored chain: it is a format.
pub fn canonical_bytes(e: &StoredEvent) -> Vec<u8> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    let flag = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    let time = |t: &DateTime<Utc>| Value::String(canonical_time(t));
    let fields = [
        Value::from(e.seq),
        Value::String(e.id.to_string()),
        Value::String(e.event_type.clone()),
        Value::String(e.category.as_str().to_owned()),
        Value::String(e.action.clone()),
        Value::String(e.action_result.as_str().to_owned()),
        Value::String(e.severity.as_str().to_owned()),
        text(&e.user_id),
        text(&e.username),
        e.ip_address
            .map_or(Value::Null, |ip| Value::String(ip.to_string())),
        text(&e.user_agent),
        text(&e.session_fingerprint),
        flag(e.mfa_used),
        text(&e.reason),
        text(&e.error_message),
        text(&e.token_type),
        e.expires_at.as_ref().map_or(Value::Null, time),
        text(&e.client_id),
        text(&e.scope),
        flag(e.forced),
        text(&e.api_key_id),
        text(&e.api_key_name),
        e.event_data.clone(),
        time(&e.occurred_at),
        time(&e.received_at),
        Value::String(e.source.clone()),
    ];
    let mut fields = Vec::from(fields);
    // Appended only when set, so every event stored before it existed hashes as it did.
    if let Some(claimed) = &e.occurred_at_claimed {
        fields.push(time(claimed));
    }
    let mut out = Vec::with_capacity(512);
    write_canonical(&mut out, &Value::Array(fields));
    out
}

/// Microseconds, UTC, always six digits: PostgreSQL keeps microseconds, so this is exactly what
/// a stored timestamp reads back as.
pub fn canonical_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Compact JSON with object keys sorted bytewise, whatever order the map keeps them in.
fn write_canonical(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
                out.push(b':');
                write_canonical(out, item);
            }
            out.push(b'}');
        }
        scalar => serde_json::to_writer(&mut *out, scalar).expect("writing to a Vec cannot fail"),
    }
}

/// Lowercase hex, as the API and the CLI show hashes.
pub fn to_hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use vigil_wire::{ActionResult, Category, Severity};

    fn event() -> StoredEvent {
        let at = Utc.with_ymd_and_hms(2026, 11, 28, 3, 4, 5).unwrap();
        StoredEvent {
            seq: 7,
            id: uuid::Uuid::nil(),
            event_type: "auth.login.failure".into(),
            category: Category::Authentication,
            action: "login".into(),
            action_result: ActionResult::Failure,
            severity: Severity::Warning,
            user_id: None,
            username: Some("alice".into()),
            ip_address: Some("2001:db8::1".parse().unwrap()),
            user_agent: None,
            session_fingerprint: None,
            mfa_used: Some(false),
            reason: Some("bad \"password\"".into()),
            error_message: None,
            token_type: None,
            expires_at: None,
            client_id: None,
            scope: None,
            forced: None,
            api_key_id: None,
            api_key_name: None,
            event_data: json!({"b": 1, "a": {"z": [1.5, null], "y": "é"}}),
            occurred_at: at,
            received_at: at + chrono::Duration::microseconds(123),
            occurred_at_claimed: None,
            source: "idp".into(),
        }
    }

    #[test]
    fn a_claimed_time_is_appended_only_when_there_is_one() {
        let plain = canonical_bytes(&event());
        let mut held = event();
        held.occurred_at_claimed = Some(Utc.with_ymd_and_hms(2036, 1, 1, 0, 0, 0).unwrap());
        let bytes = String::from_utf8(canonical_bytes(&held)).unwrap();
        let plain = String::from_utf8(plain).unwrap();
        assert_eq!(
            bytes,
            format!(
                "{},\"2036-01-01T00:00:00.000000Z\"]",
                plain.trim_end_matches(']')
            )
        );
    }

    #[test]
    fn canonical_bytes_are_the_documented_format() {
        let bytes = String::from_utf8(canonical_bytes(&event())).unwrap();
        assert_eq!(
            bytes,
            "[7,\"00000000-0000-0000-0000-000000000000\",\"auth.login.failure\",\
             \"authentication\",\"login\",\"failure\",\"warning\",null,\"alice\",\"2001:db8::1\",\
             null,null,false,\"bad \\\"password\\\"\",null,null,null,null,null,null,null,null,\
             {\"a\":{\"y\":\"é\",\"z\":[1.5,null]},\"b\":1},\"2026-11-28T03:04:05.000000Z\",\
             \"2026-11-28T03:04:05.000123Z\",\"idp\"]"
        );
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = link_hash(&GENESIS_HASH, &event());
        let mut other = event();
        other.username = Some("alicf".into());
        assert_ne!(base, link_hash(&GENESIS_HASH, &other));
        let mut other = event();
        other.event_data = json!({"b": 2, "a": {"z": [1.5, null], "y": "é"}});
        assert_ne!(base, link_hash(&GENESIS_HASH, &other));
        // The previous link is part of it too.
        assert_ne!(base, link_hash(&[1; 32], &event()));
        // Key order in event_data is not.
        let mut reordered = event();
        reordered.event_data = json!({"a": {"y": "é", "z": [1.5, null]}, "b": 1});
        assert_eq!(base, link_hash(&GENESIS_HASH, &reordered));
    }

    #[test]
    fn canonical_time_keeps_microseconds() {
        let t = Utc.timestamp_opt(1_700_000_000, 1_234_567).unwrap();
        assert_eq!(canonical_time(&t), "2023-11-14T22:13:20.001234Z");
    }
}
