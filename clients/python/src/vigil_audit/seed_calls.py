"""The seed's `AuditService` calls, written once for the async and the sync service: the seed's
arguments by the seed's names, each call mapped onto Vigil's event as the Rust client maps it.

Every call also takes the context of `EventContext` (`user_agent`, `session_id`, `event_data`,
`severity`, `occurred_at`, `event_id`). `None` leaves a field out; the server then fills
`action` from the type (`login_failure`) and `severity` from the result (`warning` for
failures, else `info`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from .build import build_event
from .event import EventInput, Identifier, IpAddress
from .vocabulary import ActionResult, AuthEventType

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .event import EventContext, EventFields

R = TypeVar("R")


class SeedCalls(Generic[R]):
    """What each call returns (`R`) is the service's: an awaitable, or nothing."""

    def _deliver(self, build: Callable[[], EventInput]) -> R:
        raise NotImplementedError

    def _event(self, event_type: AuthEventType | str, fields: dict[str, object]) -> R:
        # Built by the client, which decides whether a bad event raises or is reported.
        return self._deliver(functools.partial(build_event, event_type, fields))

    def log_login_success(
        self,
        user_id: Identifier | None,
        username: str | None,
        ip_address: IpAddress | None,
        *,
        mfa_used: bool | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.login.success`, result `success`."""
        fields = {"user_id": user_id, "username": username, "ip_address": ip_address}
        return self._event(
            AuthEventType.LOGIN_SUCCESS,
            {"action_result": ActionResult.SUCCESS, **fields, "mfa_used": mfa_used, **context},
        )

    def log_login_failure(
        self,
        username: str | None,
        ip_address: IpAddress | None,
        reason: str | None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.login.failure`, result `failure` (so severity `warning`)."""
        fields = {"username": username, "ip_address": ip_address, "reason": reason}
        return self._event(
            AuthEventType.LOGIN_FAILURE,
            {"action_result": ActionResult.FAILURE, **fields, **context},
        )

    def log_token_issued(
        self,
        user_id: Identifier | None,
        username: str | None,
        token_type: str | None,
        ip_address: IpAddress | None,
        *,
        expires_at: datetime | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.token.issued`, result `success`; a naive `expires_at` is taken as UTC."""
        fields = {"user_id": user_id, "username": username, "token_type": token_type}
        return self._event(
            AuthEventType.TOKEN_ISSUED,
            {
                "action_result": ActionResult.SUCCESS,
                **fields,
                "ip_address": ip_address,
                "expires_at": expires_at,
                **context,
            },
        )

    def log_token_refresh(
        self,
        user_id: Identifier | None,
        username: str | None,
        ip_address: IpAddress | None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.token.refresh`, result `success`."""
        fields = {"user_id": user_id, "username": username, "ip_address": ip_address}
        return self._event(
            AuthEventType.TOKEN_REFRESH,
            {"action_result": ActionResult.SUCCESS, **fields, **context},
        )

    def log_token_validation_failed(
        self,
        ip_address: IpAddress | None,
        reason: str | None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.token.validation_failed`, result `failure`."""
        return self._event(
            AuthEventType.TOKEN_VALIDATION_FAILED,
            {
                "action_result": ActionResult.FAILURE,
                "ip_address": ip_address,
                "reason": reason,
                **context,
            },
        )

    def log_oauth_event(
        self,
        event_type: AuthEventType | str,
        action: str | None,
        action_result: ActionResult,
        *,
        client_id: Identifier | None = None,
        user_id: Identifier | None = None,
        username: str | None = None,
        ip_address: IpAddress | None = None,
        scope: str | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """Any OAuth type (`AuthEventType.OAUTH_TOKEN_EXCHANGE`), as given."""
        fields = {"client_id": client_id, "user_id": user_id, "username": username}
        return self._event(
            event_type,
            {
                "action": action,
                "action_result": action_result,
                **fields,
                "ip_address": ip_address,
                "scope": scope,
                **context,
            },
        )

    def log_password_changed(
        self,
        user_id: Identifier | None,
        username: str | None,
        forced: bool = False,
        *,
        ip_address: IpAddress | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """`auth.password.changed`, result `success`; `forced=True` for an admin reset."""
        fields = {"user_id": user_id, "username": username, "forced": forced}
        return self._event(
            AuthEventType.PASSWORD_CHANGED,
            {"action_result": ActionResult.SUCCESS, **fields, "ip_address": ip_address, **context},
        )

    def log_mfa_event(
        self,
        event_type: AuthEventType | str,
        user_id: Identifier | None,
        username: str | None,
        action_result: ActionResult,
        *,
        ip_address: IpAddress | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """Any MFA type (`AuthEventType.MFA_ENABLED`), as given."""
        fields = {"user_id": user_id, "username": username, "action_result": action_result}
        return self._event(event_type, {**fields, "ip_address": ip_address, **context})

    def log_api_key_event(
        self,
        event_type: AuthEventType | str,
        action: str | None,
        action_result: ActionResult,
        *,
        user_id: Identifier | None = None,
        username: str | None = None,
        api_key_id: Identifier | None = None,
        api_key_name: str | None = None,
        ip_address: IpAddress | None = None,
        **context: Unpack[EventContext],
    ) -> R:
        """Any API-key type (`AuthEventType.API_KEY_CREATED`), as given."""
        fields = {"user_id": user_id, "username": username, "api_key_id": api_key_id}
        return self._event(
            event_type,
            {
                "action": action,
                "action_result": action_result,
                **fields,
                "api_key_name": api_key_name,
                "ip_address": ip_address,
                **context,
            },
        )

    def log_auth_event(
        self,
        event_type: AuthEventType | str,
        action: str | None,
        action_result: ActionResult,
        **fields: Unpack[EventFields],
    ) -> R:
        """Any type, seed or custom (`"auth.custom.event"`), with any field."""
        return self._event(event_type, {"action": action, "action_result": action_result, **fields})
