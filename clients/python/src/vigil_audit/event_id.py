"""Client-made event ids: UUIDv7, so a retried event is the same event and ids sort by time."""

import os
import time
import uuid


def new_event_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so ids sort by time."""
    millis = time.time_ns() // 1_000_000 & (1 << 48) - 1
    rand = int.from_bytes(os.urandom(10), "big")
    version, variant = 0x7, 0b10
    rand_a, rand_b = rand >> 68 & 0xFFF, rand & (1 << 62) - 1
    value = millis << 80 | version << 76 | rand_a << 64 | variant << 62 | rand_b
    return str(uuid.UUID(int=value))
