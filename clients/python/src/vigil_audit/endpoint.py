"""Where events go and with which key: arguments first, then `VIGIL_URL` / `VIGIL_KEY`."""

import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:3000"
#: Most events one request may carry; the server refuses more with a 413.
MAX_BATCH = 1000
#: Largest request body the queued clients make: below the server's default body limit of 1 MiB
#: (`--max-body-bytes`), which also answers 413.
MAX_BATCH_BYTES = 900 * 1024


def _user_agent() -> str:
    try:
        return f"vigil-audit/{version('vigil-audit')}"
    except PackageNotFoundError:
        return "vigil-audit"


@dataclass(frozen=True)
class IngestEndpoint:
    """`<base>/api/v1/events` and the headers every attempt carries."""

    url: str
    # Kept out of repr so the key never lands in a log line.
    headers: dict[str, str] = field(repr=False)

    @classmethod
    def resolve(cls, base_url: str | None, key: str | None) -> "IngestEndpoint":
        base = (base_url or os.environ.get("VIGIL_URL") or DEFAULT_URL).strip()
        key = (key if key is not None else os.environ.get("VIGIL_KEY", "")).strip()
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"the base URL must start with http:// or https://, not {base!r}")
        if not key or any(c.isspace() for c in key):
            raise ConfigError(
                "an ingest key is needed: pass key= or set VIGIL_KEY "
                "(vigil keys create --name my-service prints one)"
            )
        return cls(
            url=base.rstrip("/") + "/api/v1/events",
            headers={
                "authorization": f"Bearer {key}",
                "content-type": "application/json",
                "user-agent": _user_agent(),
            },
        )
