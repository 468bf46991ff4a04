"""The seed calls of a fixed type (logins, tokens, password changes), written as the seed writes
them, store the type, fields and defaults the seed implies (read back through the read API)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from stored_events import IP, UA, kind, stored
from vigil_server import VigilServer

from vigil_audit import AuditService, IngestReceipt


async def test_login_success(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, request_: Any, tag: str
) -> None:
    request, session_id = request_, f"sess-{tag}"
    receipt = await audit.log_login_success(
        user_id=user.id,
        username=user.username,
        ip_address=request.client.host,
        user_agent=request.headers.get("user-agent"),
        session_id=session_id,
        mfa_used=True,
    )
    event = stored(
        vigil,
        receipt,
        ("session_fingerprint",),
        **kind("auth.login.success", "login_success", "success", "info"),
        category="authentication",
        user_id="42",
        username=user.username,
        ip_address=IP,
        user_agent=UA,
        mfa_used=True,
    )
    # Stored only as a fingerprint, which the raw id still finds.
    assert event["session_fingerprint"] not in (None, session_id)
    assert [e["id"] for e in vigil.events(session=session_id)] == [receipt.id]


async def test_login_failure(
    audit: AuditService[IngestReceipt], vigil: VigilServer, request_: Any, tag: str
) -> None:
    request, username = request_, f"mallory-{tag}"
    receipt = await audit.log_login_failure(
        username=username, ip_address=request.client.host, reason="Invalid credentials"
    )
    stored(
        vigil,
        receipt,
        **kind("auth.login.failure", "login_failure", "failure", "warning"),
        username=username,
        ip_address=IP,
        reason="Invalid credentials",
    )


async def test_token_issued_refresh_and_validation_failed(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, request_: Any
) -> None:
    request = request_
    expires_at = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
    receipt = await audit.log_token_issued(
        user_id=user.id,
        username=user.username,
        token_type="access",
        ip_address=request.client.host,
        expires_at=expires_at,
    )
    event = stored(
        vigil,
        receipt,
        ("expires_at",),
        **kind("auth.token.issued", "token_issued", "success", "info"),
        category="token",
        user_id="42",
        username=user.username,
        ip_address=IP,
        token_type="access",
    )
    assert datetime.fromisoformat(event["expires_at"]) == expires_at

    receipt = await audit.log_token_refresh(
        user_id=user.id, username=user.username, ip_address=request.client.host
    )
    stored(
        vigil,
        receipt,
        **kind("auth.token.refresh", "token_refresh", "success", "info"),
        user_id="42",
        username=user.username,
        ip_address=IP,
    )

    receipt = await audit.log_token_validation_failed(
        ip_address=request.client.host, reason="Token expired"
    )
    stored(
        vigil,
        receipt,
        **kind("auth.token.validation_failed", "token_validation_failed", "failure", "warning"),
        ip_address=IP,
        reason="Token expired",
    )


@pytest.mark.parametrize("forced", [False, True, None])
async def test_password_changed(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, forced: bool | None
) -> None:
    if forced is None:  # left out: the seed's comment makes False the default
        receipt = await audit.log_password_changed(user_id=user.id, username=user.username)
    else:
        receipt = await audit.log_password_changed(
            user_id=user.id,
            username=user.username,
            forced=forced,  # True if admin reset
        )
    stored(
        vigil,
        receipt,
        **kind("auth.password.changed", "password_changed", "success", "info"),
        category="password",
        user_id="42",
        username=user.username,
        forced=bool(forced),
    )
