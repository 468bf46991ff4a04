"""Batches of events: encoding one request body, and what to do with a batch the server refused
in part. Shared by the buffered and the threaded clients."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from .endpoint import MAX_BATCH
from .errors import FieldError, InvalidEventError, RejectedError, VigilError
from .event import EventInput
from .event_id import new_event_id


def _dumps(value: object) -> bytes:
    # UTF-8 rather than \\u escapes: smaller bodies, and a string Python holds but UTF-8 cannot
    # (a lone surrogate, which the server would refuse as malformed JSON) fails here. No NaN or
    # Infinity either: they are not JSON.
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def why_unencodable(error: Exception) -> str:
    """What is wrong with a value `json.dumps` or UTF-8 refused, in words."""
    if isinstance(error, UnicodeEncodeError):
        return "must be valid Unicode: a lone surrogate cannot be sent (it has no UTF-8 form)"
    if isinstance(error, RecursionError):
        return "is nested too deeply to be sent"
    return f"cannot be sent as JSON: {error}"


def _printable(name: object) -> str:
    return str(name).encode("utf-8", "backslashreplace").decode("utf-8")


def encode_event(event: EventInput) -> tuple[EventInput, bytes]:
    """The event as sent (a copy, with an `event_id` if it had none) and its JSON; raises
    `InvalidEventError`, naming the field, for one that cannot be sent."""
    if not isinstance(event, Mapping):
        raise InvalidEventError("event", f"must be a mapping, not {type(event).__name__}")
    ready = cast(EventInput, {**event})
    ready.setdefault("event_id", new_event_id())
    try:
        return ready, _dumps(ready)
    except (TypeError, ValueError, RecursionError) as error:  # UnicodeEncodeError: a ValueError
        culprit = "event"
        for key, value in ready.items():
            try:
                _dumps({key: value})
            except (TypeError, ValueError, RecursionError):
                culprit = _printable(key)
                break
        raise InvalidEventError(culprit, why_unencodable(error)) from error


def encode_batch(events: Sequence[EventInput]) -> tuple[list[EventInput], bytes]:
    """The events (each with an `event_id`: one is added where missing) and the request body,
    serialized once so that every attempt is byte for byte the same request."""
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidEventError("events", f"a request carries 1 to {MAX_BATCH}, not {len(events)}")
    ready: list[EventInput] = []
    pieces: list[bytes] = []
    for event in events:
        one, piece = encode_event(event)
        ready.append(one)
        pieces.append(piece)
    return ready, b"[" + b",".join(pieces) + b"]"


@dataclass(frozen=True)
class FailedPart:
    """Events the server will not store, and why."""

    events: list[EventInput]
    error: VigilError


@dataclass
class Outcome:
    """What became of a refused batch: parts that failed for good, parts worth sending again."""

    failed: list[FailedPart] = field(default_factory=list)
    resend: list[list[EventInput]] = field(default_factory=list)


#: Refusals of a whole request that do not say which event is at fault: too large (413), or not
#: readable (400: malformed JSON, say a value nested deeper than the server parses).
_HALVED = (400, 413)


def after_failure(events: list[EventInput], error: VigilError) -> Outcome:
    """Ingest is all or nothing, so one bad event would sink the whole batch: a batch refused for
    some of its events is sent again without them, and one refused as a whole (413 too large,
    400 unreadable, or an event that could not even be encoded) is halved until the culprit is
    alone."""
    halve = isinstance(error, InvalidEventError) or (
        isinstance(error, RejectedError) and error.status in _HALVED
    )
    if len(events) >= 2 and halve:
        half = len(events) // 2
        return Outcome(resend=[events[:half], events[half:]])
    if not isinstance(error, RejectedError) or len(events) < 2:
        return Outcome(failed=[FailedPart(events, error)])
    bad = sorted({d.index for d in error.details if 0 <= d.index < len(events)})
    if not bad:
        return Outcome(failed=[FailedPart(events, error)])
    # Each detail renumbered to its event's position among the refused ones.
    position = {index: n for n, index in enumerate(bad)}
    details = tuple(
        FieldError(position[d.index], d.field, d.reason)
        for d in error.details
        if d.index in position
    )
    refused = RejectedError(error.status, error.code, error.message, details)
    valid = [event for n, event in enumerate(events) if n not in position]
    return Outcome(
        failed=[FailedPart([events[n] for n in bad], refused)],
        resend=[valid] if valid else [],
    )
