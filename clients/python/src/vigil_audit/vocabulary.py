"""The seed's vocabulary (`AuthEventType`, `ActionResult`, `Severity`), valued as Vigil's wire
names."""

from enum import StrEnum


class AuthEventType(StrEnum):
    """The seed's event types; each value is the canonical name Vigil stores."""

    LOGIN_SUCCESS = "auth.login.success"
    LOGIN_FAILURE = "auth.login.failure"
    LOGOUT = "auth.logout"
    TOKEN_ISSUED = "auth.token.issued"
    TOKEN_REFRESH = "auth.token.refresh"
    TOKEN_REVOKED = "auth.token.revoked"
    TOKEN_VALIDATION_FAILED = "auth.token.validation_failed"
    OAUTH_AUTHORIZE = "auth.oauth.authorize"
    OAUTH_TOKEN_EXCHANGE = "auth.oauth.token_exchange"
    OAUTH_CODE_GENERATED = "auth.oauth.code_generated"
    OAUTH_CLIENT_REGISTERED = "auth.oauth.client_registered"
    MFA_ENABLED = "auth.mfa.enabled"
    MFA_DISABLED = "auth.mfa.disabled"
    MFA_CHALLENGE_SUCCESS = "auth.mfa.challenge_success"
    MFA_CHALLENGE_FAILURE = "auth.mfa.challenge_failure"
    PASSWORD_CHANGED = "auth.password.changed"
    PASSWORD_RESET_REQUESTED = "auth.password.reset_requested"
    PASSWORD_RESET_COMPLETED = "auth.password.reset_completed"
    API_KEY_CREATED = "auth.api_key.created"
    API_KEY_USED = "auth.api_key.used"
    API_KEY_REVOKED = "auth.api_key.revoked"
    # The seed's "Error Handling" example logs `AuthEventType.OPERATION`, a stand-in for the
    # caller's own operation and not one of its 21 types: Vigil stores it as a custom type.
    OPERATION = "auth.operation"


#: The 21 types of the seed's reference (everything but the `OPERATION` stand-in), in its order.
SEED_EVENT_TYPES: tuple[AuthEventType, ...] = tuple(
    t for t in AuthEventType if t is not AuthEventType.OPERATION
)


class ActionResult(StrEnum):
    """How the action ended."""

    SUCCESS = "success"
    FAILURE = "failure"
    PARTIAL = "partial"


class Severity(StrEnum):
    """How much attention the event deserves; unset, Vigil picks `warning` for failures, else
    `info`."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"
