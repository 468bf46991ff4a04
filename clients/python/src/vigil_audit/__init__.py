"""Vigil's Python client: the seed's `AuditService` calls, sent to Vigil over HTTP.

- `VigilClient` sends each event before the call returns, retrying safely (every event carries
  a UUIDv7 `event_id`, stored once however often it is sent); a 4xx raises `RejectedError`.
- `BufferedVigilClient` queues events and sends them in batches from a background task.
- `SyncVigilClient` does the same from a thread, for WSGI code; it sends what is left at exit.
"""

from .answers import IngestReceipt
from .buffered import BufferedVigilClient
from .build import build_event
from .client import VigilClient
from .delivery import DeliveryStats, ErrorHook
from .endpoint import MAX_BATCH, MAX_BATCH_BYTES
from .errors import (
    ConfigError,
    FieldError,
    InvalidEventError,
    RejectedError,
    UnavailableError,
    UnexpectedResponseError,
    VigilError,
)
from .event import EventContext, EventFields, EventInput
from .event_id import new_event_id
from .retry import RetryPolicy
from .service import AuditService, AuditSink, SyncAuditService
from .sync_client import SyncVigilClient
from .vocabulary import SEED_EVENT_TYPES, ActionResult, AuthEventType, Severity

__all__ = [
    "MAX_BATCH",
    "MAX_BATCH_BYTES",
    "SEED_EVENT_TYPES",
    "ActionResult",
    "AuditService",
    "AuditSink",
    "AuthEventType",
    "BufferedVigilClient",
    "ConfigError",
    "DeliveryStats",
    "ErrorHook",
    "EventContext",
    "EventFields",
    "EventInput",
    "FieldError",
    "IngestReceipt",
    "InvalidEventError",
    "RejectedError",
    "RetryPolicy",
    "Severity",
    "SyncAuditService",
    "SyncVigilClient",
    "UnavailableError",
    "UnexpectedResponseError",
    "VigilClient",
    "VigilError",
    "build_event",
    "new_event_id",
]
