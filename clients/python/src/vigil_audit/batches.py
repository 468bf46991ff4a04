"""Batches of events: encoding one request body, and what to do with a batch the server refused
in part. Shared by the buffered and the threaded clients."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from .endpoint import MAX_BATCH
from .errors import FieldError, InvalidEventError, RejectedError, VigilError
from .event import EventInput
from .event_id import new_event_id


def encode_batch(events: Sequence[EventInput]) -> tuple[list[EventInput], bytes]:
    """The events (each with an `event_id`: one is added where missing) and the request body,
    serialized once so that every attempt is byte for byte the same request."""
    if not 1 <= len(events) <= MAX_BATCH:
        raise InvalidEventError("events", f"a request carries 1 to {MAX_BATCH}, not {len(events)}")
    ready: list[EventInput] = [
        event if "event_id" in event else {**event, "event_id": new_event_id()} for event in events
    ]
    return ready, json.dumps(ready, separators=(",", ":")).encode()


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


def after_failure(events: list[EventInput], error: VigilError) -> Outcome:
    """Ingest is all or nothing, so one bad event would sink the whole batch: a batch refused for
    some of its events is sent again without them, and one too large (413) is halved."""
    if not isinstance(error, RejectedError) or len(events) < 2:
        return Outcome(failed=[FailedPart(events, error)])
    if error.status == 413:
        half = len(events) // 2
        return Outcome(resend=[events[:half], events[half:]])
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
