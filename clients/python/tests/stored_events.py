"""Checks on what the server stored for one call: the given fields exactly, the rest null."""

from __future__ import annotations

import uuid
from typing import Any

from vigil_server import KEY_NAME, VigilServer

from vigil_audit import IngestReceipt

IP = "203.0.113.7"
UA = "Mozilla/5.0 (X11; Linux x86_64)"
#: Fields the server fills itself; every other field absent from a call must be stored as null.
ALWAYS_SET = {"seq", "id", "event_type", "category", "action", "action_result", "severity"}
ALWAYS_SET |= {"event_data", "occurred_at", "received_at", "source"}


def stored(
    vigil: VigilServer,
    receipt: IngestReceipt,
    also_set: tuple[str, ...] = (),
    /,
    **expected: object,
) -> dict[str, Any]:
    """The stored event: `expected` fields as given, `also_set` ones not null, every other
    optional field null."""
    assert not receipt.duplicate
    assert uuid.UUID(receipt.id).version == 7
    event = vigil.event(receipt.id)
    assert event["id"] == receipt.id
    assert event["source"] == KEY_NAME
    assert {k: event[k] for k in expected} == expected
    assert all(event[k] is not None for k in also_set)
    unset = {k: v for k, v in event.items() if k not in ALWAYS_SET | {*expected, *also_set}}
    assert unset == dict.fromkeys(unset), f"unexpected fields: {unset}"
    return event


def kind(event_type: str, action: str, result: str, severity: str) -> dict[str, str]:
    return {
        "event_type": event_type,
        "action": action,
        "action_result": result,
        "severity": severity,
    }
