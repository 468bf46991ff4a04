"""One event as posted to `POST /api/v1/events` (`EventInput`, the wire form), and the
arguments a seed call takes for its optional fields (`EventContext`, `EventFields`)."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Required, TypeAlias, TypedDict

from .vocabulary import Severity

#: Ids (`user_id`, `client_id`, `api_key_id`): Vigil stores them as text.
Identifier: TypeAlias = str | int | uuid.UUID
IpAddress: TypeAlias = str | IPv4Address | IPv6Address


class EventInput(TypedDict, total=False):
    """The wire form (`vigil_wire::EventInput`): absent keys are left to the server's defaults."""

    event_type: Required[str]
    event_id: str
    action: str
    action_result: str
    severity: str
    user_id: str
    username: str
    ip_address: str
    user_agent: str
    session_id: str
    mfa_used: bool
    reason: str
    error_message: str
    token_type: str
    expires_at: str
    client_id: str
    scope: str
    forced: bool
    api_key_id: str
    api_key_name: str
    event_data: dict[str, Any]
    occurred_at: str


class EventContext(TypedDict, total=False):
    """Context any seed call may add (the seed's "include context", "use event_data")."""

    user_agent: str | None
    session_id: str | None
    event_data: Mapping[str, Any] | None
    severity: Severity | None
    #: When it happened, if not now; a naive datetime is taken as UTC.
    occurred_at: datetime | None
    #: Overrides the generated UUIDv7, for callers that keep their own idempotency key.
    event_id: uuid.UUID | str | None


class EventFields(EventContext, total=False):
    """Every optional field, for `log_auth_event`."""

    user_id: Identifier | None
    username: str | None
    ip_address: IpAddress | None
    mfa_used: bool | None
    reason: str | None
    error_message: str | None
    token_type: str | None
    expires_at: datetime | None
    client_id: Identifier | None
    scope: str | None
    forced: bool | None
    api_key_id: Identifier | None
    api_key_name: str | None
