"""What needs no server: the vocabulary, event building, backoff, configuration, batch splits."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from vigil_audit import (
    SEED_EVENT_TYPES,
    AuthEventType,
    ConfigError,
    EventInput,
    FieldError,
    IngestReceipt,
    InvalidEventError,
    RejectedError,
    RetryPolicy,
    Severity,
    UnavailableError,
    UnexpectedResponseError,
    VigilClient,
    build_event,
    new_event_id,
)
from vigil_audit.answers import read_answer
from vigil_audit.batches import after_failure, encode_batch, encode_event
from vigil_audit.build import event_type_name
from vigil_audit.pending import PendingEvents
from vigil_audit.retry import is_retryable_status, parse_retry_after

#: The seed reference's "Event Types Reference", in its order.
SEED_NAMES = [
    *("LOGIN_SUCCESS", "LOGIN_FAILURE", "LOGOUT"),
    *("TOKEN_ISSUED", "TOKEN_REFRESH", "TOKEN_REVOKED", "TOKEN_VALIDATION_FAILED"),
    *("OAUTH_AUTHORIZE", "OAUTH_TOKEN_EXCHANGE", "OAUTH_CODE_GENERATED", "OAUTH_CLIENT_REGISTERED"),
    *("MFA_ENABLED", "MFA_DISABLED", "MFA_CHALLENGE_SUCCESS", "MFA_CHALLENGE_FAILURE"),
    *("PASSWORD_CHANGED", "PASSWORD_RESET_REQUESTED", "PASSWORD_RESET_COMPLETED"),
    *("API_KEY_CREATED", "API_KEY_USED", "API_KEY_REVOKED"),
]


def test_the_seed_types_by_name() -> None:
    assert [t.name for t in SEED_EVENT_TYPES] == SEED_NAMES
    for t in SEED_EVENT_TYPES:
        assert t.value.startswith("auth.")
        assert event_type_name(t.name) == event_type_name(f"AuthEventType.{t.name}") == t.value
    assert event_type_name(AuthEventType.OPERATION) == "auth.operation"


@pytest.mark.parametrize("custom", ["billing.export.run", "auth.custom.event", "a.b_2"])
def test_custom_types_pass(custom: str) -> None:
    assert event_type_name(custom) == custom


@pytest.mark.parametrize("bad", ["", "nodots", "Billing.Export", "a..b", "a." + "b" * 128])
def test_malformed_types_fail_before_sending(bad: str) -> None:
    with pytest.raises(InvalidEventError) as error:
        event_type_name(bad)
    assert error.value.field == "event_type"


def test_event_ids_are_uuid7_and_time_ordered() -> None:
    first = uuid.UUID(new_event_id())
    assert (first.version, first.variant) == (7, uuid.RFC_4122)
    millis = first.int >> 80
    assert abs(millis / 1000 - datetime.now(UTC).timestamp()) < 5
    assert len({new_event_id() for _ in range(1000)}) == 1000


def test_build_event_converts_and_leaves_out_none() -> None:
    event_id = uuid.uuid4()
    data = {"when": datetime(2030, 1, 1, tzinfo=UTC), "tags": ["a"]}
    event = build_event(
        "LOGIN_FAILURE",
        {
            "user_id": 42,
            "api_key_id": event_id,
            "username": None,
            "expires_at": datetime(2030, 1, 31, 12, 0),  # naive: UTC
            "severity": Severity.CRITICAL,
            "action_result": "ActionResult.FAILURE",
            "event_data": data,
            "event_id": event_id,
        },
    )
    assert event == {
        "event_type": "auth.login.failure",
        "user_id": "42",
        "api_key_id": str(event_id),
        "expires_at": "2030-01-31T12:00:00Z",
        "severity": "critical",
        "action_result": "failure",
        "event_data": {"when": "2030-01-01T00:00:00Z", "tags": ["a"]},
        "event_id": str(event_id),
    }
    data["tags"].append("later")  # type: ignore[attr-defined]
    assert event["event_data"]["tags"] == ["a"], "a copy, taken when the call was made"
    assert "event_id" in build_event("auth.logout", {})


def nested_lists(depth: int) -> list[Any]:
    data: list[Any] = []
    for _ in range(depth):
        data = [data]
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_data", ["not", "a", "mapping"]),
        ("event_data", {"x": object()}),
        ("user_id", True),
        ("mfa_used", "yes"),
        ("expires_at", "2030-01-01"),
        ("severity", "fatal"),
        ("event_id", "not-a-uuid"),
        ("custom_field", "goes in event_data"),
        # Values JSON or UTF-8 cannot carry, which the server would refuse as malformed JSON
        # for the whole batch.
        ("event_data", {"score": float("nan")}),
        ("event_data", {"score": float("-inf")}),
        ("event_data", {"text": "lone \udc80"}),
        ("event_data", {"\ud83d": "a lone key"}),
        ("event_data", {"deep": nested_lists(100_000)}),
        ("reason", "half a pair: \ud83d"),
        ("username", "\udcff"),
        ("user_id", "\ud800"),
        ("ip_address", "\ud800"),
        # Conversions that fail in Python itself.
        ("occurred_at", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))),
        ("expires_at", datetime(9999, 12, 31, 23, tzinfo=timezone(-timedelta(hours=5)))),
        pytest.param("user_id", 10**5000, id="user_id-too-many-digits-for-str"),
    ],
)
def test_build_event_refuses_bad_values(field: str, value: object) -> None:
    with pytest.raises(InvalidEventError) as error:
        build_event("auth.logout", {field: value})
    assert error.value.field == field


def test_backoff_doubles_to_its_cap_with_jitter_and_obeys_retry_after() -> None:
    policy = RetryPolicy(initial_backoff=0.1, max_backoff=0.4, max_retry_after=5)
    for attempt, base in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.4), (60, 0.4)]:
        for _ in range(50):
            assert base / 2 <= policy.delay(attempt) <= base
    # Retry-After is a floor with jitter on top (a tenth of it here, more than the backoff's).
    waits = [policy.delay(1, retry_after=2) for _ in range(50)]
    assert all(2 <= wait <= 2.2 for wait in waits)
    assert len(set(waits)) > 1, "clients told to wait alike must not come back alike"
    assert all(5 <= policy.delay(1, retry_after=3600) <= 5.5 for _ in range(50))
    assert all(0.05 <= policy.delay(1, retry_after=0) <= 0.1 for _ in range(50))
    assert RetryPolicy.none().max_attempts == 1


def test_which_answers_are_retried() -> None:
    assert all(is_retryable_status(s) for s in (408, 429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (400, 401, 403, 404, 413, 415, 422))
    assert parse_retry_after(" 3 ") == 3
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (parse_retry_after(later) or 0) <= 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    # Digits to str.isdigit() that float() refuses, or that are not HTTP's.
    assert parse_retry_after("\N{SUPERSCRIPT TWO}") is None
    assert parse_retry_after("\N{ARABIC-INDIC DIGIT THREE}") is None


def test_configuration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_URL", "http://vigil.internal:3000/prefix/")
    monkeypatch.setenv("VIGIL_KEY", "vigil_secret")
    client = VigilClient()
    assert client.endpoint == "http://vigil.internal:3000/prefix/api/v1/events"
    assert "vigil_secret" not in repr(client) + repr(client._endpoint)
    monkeypatch.delenv("VIGIL_KEY")
    with pytest.raises(ConfigError):
        VigilClient()
    with pytest.raises(ConfigError):
        VigilClient("ftp://vigil", "k")


def events(n: int) -> list[EventInput]:
    return [{"event_type": "auth.logout", "username": str(i)} for i in range(n)]


def test_a_refused_batch_is_split_around_its_bad_events() -> None:
    details = (FieldError(1, "ip_address", "bad"), FieldError(3, "user_id", "too long"))
    outcome = after_failure(events(4), RejectedError(422, "invalid_events", "no", details))
    assert outcome.resend == [[events(4)[0], events(4)[2]]]
    (failed,) = outcome.failed
    assert [e["username"] for e in failed.events] == ["1", "3"]
    assert isinstance(failed.error, RejectedError)
    assert [d.index for d in failed.error.details] == [0, 1]

    too_big = after_failure(events(5), RejectedError(413, "payload_too_large", "big"))
    assert [len(part) for part in too_big.resend] == [2, 3]
    assert not too_big.failed

    down = after_failure(events(2), UnavailableError(5, 503, "busy"))
    assert (down.resend, [len(p.events) for p in down.failed]) == ([], [2])


def test_a_batch_refused_whole_is_halved() -> None:
    unreadable = RejectedError(400, "malformed_json", "recursion limit exceeded")
    assert [len(part) for part in after_failure(events(5), unreadable).resend] == [2, 3]
    unencodable = InvalidEventError("event_data", "cannot be sent")
    assert [len(part) for part in after_failure(events(2), unencodable).resend] == [1, 1]
    (alone,) = after_failure(events(1), unreadable).failed
    assert alone.error is unreadable


def test_hand_made_events_are_checked_as_they_are_encoded() -> None:
    event, body = encode_event(
        {"event_type": "auth.logout", "reason": "caf\N{LATIN SMALL LETTER E WITH ACUTE}"}
    )
    assert uuid.UUID(event["event_id"]).version == 7
    assert body == json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
    assert "\N{LATIN SMALL LETTER E WITH ACUTE}".encode() in body, "UTF-8, not \\u escapes"
    bad: list[tuple[str, Any]] = [
        ("event_data", {"event_type": "auth.logout", "event_data": {"x": float("nan")}}),
        ("reason", {"event_type": "auth.logout", "reason": "\ud800"}),
        ("expires_at", {"event_type": "auth.logout", "expires_at": datetime.now(UTC)}),
        ("event", ["not", "a", "mapping"]),
    ]
    for field, hand_made in bad:
        with pytest.raises(InvalidEventError) as error:
            encode_event(hand_made)
        assert error.value.field == field
    with pytest.raises(InvalidEventError) as error:
        encode_batch([{"event_type": "auth.logout"}, bad[0][1]])
    assert error.value.field == "event_data"


def test_batches_are_capped_by_encoded_size() -> None:
    pending = PendingEvents(max_batch=100, max_bytes=100)
    for n in range(7):  # bodies: "[" + 30 bytes and "," per event + "]"
        pending.push(float(n), {"event_type": "auth.logout", "username": str(n)}, 30)
    assert pending.full()
    # 3 events make a body of 1 + 3 * 31 = 94 bytes; a fourth would make 125.
    assert [len(pending.take()) for _ in range(3)] == [3, 3, 1]
    assert not pending.full()
    pending.push(0.0, {"event_type": "auth.logout"}, 500)  # too large alone: goes alone
    pending.push(1.0, {"event_type": "auth.logout"}, 10)
    assert [len(pending.take()) for _ in range(2)] == [1, 1]


def receipts(body: object) -> list[IngestReceipt]:
    request = httpx.Request("POST", "http://vigil.test/api/v1/events")
    read = read_answer(httpx.Response(201, json=body, request=request), 1)
    assert isinstance(read, list)
    return read


def test_receipts_carry_the_chain_hash_when_the_server_sends_it() -> None:
    receipt = {"id": str(uuid.uuid4()), "seq": 7, "duplicate": False}
    (old,) = receipts({"events": [receipt]})  # a server from before the chain hash
    assert old.hash is None
    chain_hash = "ab" * 32
    (new,) = receipts({"events": [{**receipt, "hash": chain_hash}]})
    assert (new.seq, new.hash) == (7, chain_hash)
    with pytest.raises(UnexpectedResponseError):
        receipts({"events": [{**receipt, "hash": 12}]})
