"""How a seed call's arguments become an `EventInput`: converted and checked here, once, so
every client sends the same JSON and a bad value fails before anything is sent."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from typing import Any, cast

from .batches import why_unencodable
from .errors import InvalidEventError
from .event import EventInput
from .event_id import new_event_id
from .vocabulary import ActionResult, AuthEventType, Severity

#: Longest custom type name the server accepts.
MAX_EVENT_TYPE_LEN = 128
_CUSTOM_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_SEED_NAMES = {member.name: member.value for member in AuthEventType}


def event_type_name(value: AuthEventType | str) -> str:
    """The canonical wire name: a member, a seed name (`MFA_ENABLED`, `AuthEventType.MFA_ENABLED`),
    a canonical name, or a custom lowercase dotted name (`billing.export.run`), as the server
    accepts them; anything else fails here rather than as a 422."""
    if isinstance(value, AuthEventType):
        return value.value
    if not isinstance(value, str):
        raise InvalidEventError("event_type", f"must be an AuthEventType or a str, not {value!r}")
    raw = value.strip()
    seed = _SEED_NAMES.get(raw.removeprefix("AuthEventType."))
    if seed is not None:
        return seed
    if len(raw) > MAX_EVENT_TYPE_LEN:
        raise InvalidEventError("event_type", f"must be at most {MAX_EVENT_TYPE_LEN} characters")
    if not _CUSTOM_TYPE.fullmatch(raw):
        raise InvalidEventError(
            "event_type",
            "must be a seed type (AuthEventType.LOGIN_FAILURE, auth.login.failure) or a lowercase "
            f"dotted name such as billing.export.run, not {value!r}",
        )
    return raw


def _unicode(field: str, value: str) -> str:
    """`value`, if UTF-8 can carry it: a lone surrogate (from `surrogateescape` decoding, say)
    would make the whole request malformed JSON to the server."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidEventError(field, why_unencodable(error)) from error
    return value


def _text(field: str, value: object) -> str:
    if isinstance(value, str):
        return _unicode(field, value)
    raise InvalidEventError(field, f"must be a string, not {type(value).__name__}")


def _identifier(field: str, value: object) -> str:
    # bool is an int; an id of True is a bug, not an id.
    if isinstance(value, (str, int, uuid.UUID)) and not isinstance(value, bool):
        return _unicode(field, str(value))
    raise InvalidEventError(field, f"must be a string, int or UUID, not {type(value).__name__}")


def _ip(field: str, value: object) -> str:
    # The server validates the address itself (and answers 422 with the field).
    if isinstance(value, (str, IPv4Address, IPv6Address)):
        return _unicode(field, str(value))
    raise InvalidEventError(field, f"must be an IP address string, not {type(value).__name__}")


def _flag(field: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidEventError(field, f"must be a bool, not {type(value).__name__}")


def _timestamp(field: str, value: object) -> str:
    if not isinstance(value, datetime):
        raise InvalidEventError(field, f"must be a datetime, not {type(value).__name__}")
    # `datetime.utcnow()`-style naive values are common in auth code: they mean UTC.
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        utc = aware.astimezone(UTC)
    except OverflowError as error:  # datetime.min at +05:00 is before year 1 in UTC
        raise InvalidEventError(field, f"is out of range in UTC: {value!r}") from error
    return utc.isoformat().replace("+00:00", "Z")


def _json_default(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _timestamp("event_data", value)
    if isinstance(value, (date, uuid.UUID, IPv4Address, IPv6Address)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json_object(field: str, value: object) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidEventError(field, f"must be a mapping, not {type(value).__name__}")
    try:
        # A copy taken now: a buffered event must not change if the caller mutates its dict.
        # Checked as it will be sent: no NaN or Infinity, every string UTF-8.
        text = json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=False)
        text.encode("utf-8")
        return cast(dict[str, Any], json.loads(text))
    except InvalidEventError:
        raise
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError: a ValueError
        raise InvalidEventError(field, why_unencodable(error)) from error


def _result(field: str, value: object) -> str:
    return _member(field, value, ActionResult, "ActionResult.")


def _severity(field: str, value: object) -> str:
    return _member(field, value, Severity, "Severity.")


def _member(field: str, value: object, kind: type[Enum], prefix: str) -> str:
    if isinstance(value, kind):
        return str(value.value)
    if isinstance(value, str):
        bare = value.strip().removeprefix(prefix).lower()
        if bare in {m.value for m in kind}:
            return bare
    allowed = ", ".join(str(m.value) for m in kind)
    raise InvalidEventError(field, f"must be one of {allowed}, not {value!r}")


def _event_id(field: str, value: object) -> str:
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(_text(field, value)))
    except ValueError as error:
        raise InvalidEventError(field, f"must be a UUID: {error}") from error


#: Every optional field and how its value is sent; the keys are `EventInput`'s.
_CONVERTERS: dict[str, Callable[[str, object], object]] = {
    "event_id": _event_id,
    "action": _text,
    "action_result": _result,
    "severity": _severity,
    "user_id": _identifier,
    "username": _text,
    "ip_address": _ip,
    "user_agent": _text,
    "session_id": _text,
    "mfa_used": _flag,
    "reason": _text,
    "error_message": _text,
    "token_type": _text,
    "expires_at": _timestamp,
    "client_id": _identifier,
    "scope": _text,
    "forced": _flag,
    "api_key_id": _identifier,
    "api_key_name": _text,
    "event_data": _json_object,
    "occurred_at": _timestamp,
}


def build_event(event_type: AuthEventType | str, fields: Mapping[str, object]) -> EventInput:
    """The event for a seed call: `None` values are left out (the seed's `None` defaults), and
    every event gets a fresh UUIDv7 `event_id` unless one is given, so its retries are the same
    event."""
    event: dict[str, object] = {"event_type": event_type_name(event_type)}
    for field, value in fields.items():
        convert = _CONVERTERS.get(field)
        if convert is None:
            raise InvalidEventError(field, "is not an event field; put extra context in event_data")
        if value is None:
            continue
        try:
            event[field] = convert(field, value)
        except InvalidEventError:
            raise
        except (ArithmeticError, ValueError, TypeError, RecursionError) as error:
            # What a conversion itself may raise (an int too long for str(), say): the field's.
            raise InvalidEventError(field, f"cannot be sent: {error}") from error
    event.setdefault("event_id", new_event_id())
    return cast(EventInput, event)
