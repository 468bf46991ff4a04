"""The seed calls that take their type (OAuth, MFA, API keys, custom events), written as the seed
writes them, store it with the fields and defaults the seed implies; every seed type and
spelling is stored by its canonical name."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest
from stored_events import IP, kind, stored
from vigil_server import VigilServer

from vigil_audit import (
    SEED_EVENT_TYPES,
    ActionResult,
    AuditService,
    AuthEventType,
    IngestReceipt,
    Severity,
)


async def test_oauth_event(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, request_: Any
) -> None:
    request, client = request_, SimpleNamespace(id="client-9")
    receipt = await audit.log_oauth_event(
        event_type=AuthEventType.OAUTH_TOKEN_EXCHANGE,
        action="token_exchange",
        action_result=ActionResult.SUCCESS,
        client_id=client.id,
        user_id=user.id,
        username=user.username,
        ip_address=request.client.host,
        scope="read write",
    )
    stored(
        vigil,
        receipt,
        **kind("auth.oauth.token_exchange", "token_exchange", "success", "info"),
        category="oauth",
        client_id="client-9",
        user_id="42",
        username=user.username,
        ip_address=IP,
        scope="read write",
    )


@pytest.mark.parametrize(
    ("event_type", "result", "stored_as"),
    [
        (AuthEventType.MFA_ENABLED, ActionResult.SUCCESS, ("mfa_enabled", "success", "info")),
        (
            AuthEventType.MFA_CHALLENGE_SUCCESS,
            ActionResult.SUCCESS,
            ("mfa_challenge_success", "success", "info"),
        ),
        (
            AuthEventType.MFA_CHALLENGE_FAILURE,
            ActionResult.FAILURE,
            ("mfa_challenge_failure", "failure", "warning"),
        ),
    ],
)
async def test_mfa_event(
    audit: AuditService[IngestReceipt],
    vigil: VigilServer,
    user: Any,
    request_: Any,
    event_type: AuthEventType,
    result: ActionResult,
    stored_as: tuple[str, str, str],
) -> None:
    request = request_
    receipt = await audit.log_mfa_event(
        event_type=event_type,
        user_id=user.id,
        username=user.username,
        action_result=result,
        ip_address=request.client.host,
    )
    stored(
        vigil,
        receipt,
        **kind(event_type.value, *stored_as),
        category="mfa",
        user_id="42",
        username=user.username,
        ip_address=IP,
    )


async def test_api_key_event(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, request_: Any
) -> None:
    request, api_key = request_, SimpleNamespace(id=uuid.uuid4(), name="ci-deploy")
    receipt = await audit.log_api_key_event(
        event_type=AuthEventType.API_KEY_CREATED,
        action="api_key_create",
        action_result=ActionResult.SUCCESS,
        user_id=user.id,
        username=user.username,
        api_key_id=api_key.id,
        api_key_name=api_key.name,
        ip_address=request.client.host,
    )
    stored(
        vigil,
        receipt,
        **kind("auth.api_key.created", "api_key_create", "success", "info"),
        category="api_key",
        user_id="42",
        username=user.username,
        api_key_id=str(api_key.id),
        api_key_name="ci-deploy",
        ip_address=IP,
    )


async def test_custom_event(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, request_: Any
) -> None:
    request = request_
    receipt = await audit.log_auth_event(
        event_type="auth.custom.event",
        action="custom_action",
        action_result=ActionResult.SUCCESS,
        user_id=user.id,
        username=user.username,
        ip_address=request.client.host,
        event_data={"custom_field": "value"},
        severity=Severity.INFO,
    )
    stored(
        vigil,
        receipt,
        **kind("auth.custom.event", "custom_action", "success", "info"),
        category="custom",
        user_id="42",
        username=user.username,
        ip_address=IP,
        event_data={"custom_field": "value"},
    )


async def test_error_handling_example(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any
) -> None:
    async def perform_sensitive_operation() -> None:
        raise OSError("disk full")

    receipts = []

    async def seed_example() -> None:
        try:
            await perform_sensitive_operation()
            receipts.append(
                await audit.log_auth_event(
                    event_type=AuthEventType.OPERATION,
                    action="operation",
                    action_result=ActionResult.SUCCESS,
                    user_id=user.id,
                )
            )
        except Exception as e:
            receipts.append(
                await audit.log_auth_event(
                    event_type=AuthEventType.OPERATION,
                    action="operation",
                    action_result=ActionResult.FAILURE,
                    user_id=user.id,
                    error_message=str(e),
                    severity=Severity.ERROR,
                )
            )
            raise

    with pytest.raises(OSError, match="disk full"):
        await seed_example()
    (receipt,) = receipts
    stored(
        vigil,
        receipt,
        **kind("auth.operation", "operation", "failure", "error"),
        category="custom",
        user_id="42",
        error_message="disk full",
    )


@pytest.mark.parametrize("spelling", ["MFA_DISABLED", "AuthEventType.MFA_DISABLED"])
async def test_seed_names_as_strings(
    audit: AuditService[IngestReceipt], vigil: VigilServer, user: Any, spelling: str
) -> None:
    receipt = await audit.log_mfa_event(spelling, user.id, user.username, ActionResult.SUCCESS)
    assert vigil.event(receipt.id)["event_type"] == "auth.mfa.disabled"


async def test_every_seed_type_is_stored_as_its_canonical_name(
    audit: AuditService[IngestReceipt], vigil: VigilServer, tag: str
) -> None:
    for event_type in SEED_EVENT_TYPES:
        receipt = await audit.log_auth_event(
            event_type, None, ActionResult.SUCCESS, username=f"all-{tag}"
        )
        event = vigil.event(receipt.id)
        assert event["event_type"] == event_type.value
        # The server's default action: the type without `auth.`, dots as underscores.
        assert event["action"] == event_type.value.removeprefix("auth.").replace(".", "_")
        assert event["category"] != "custom"
    assert len(vigil.events(user=f"all-{tag}")) == 21
