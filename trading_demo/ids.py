"""Time-ordered primary keys.

Random UUIDv4 keys scatter inserts across the index (measured 2.7x slower inserts,
ARCHITECTURE.md); UUIDv7 keeps them ordered by creation time. Python 3.12 has no uuid7 yet.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last = 0


def uuid7() -> uuid.UUID:
    """RFC 9562 UUIDv7: 48-bit Unix milliseconds, then random bits; monotonic within a process."""
    global _last
    with _lock:
        millis = time.time_ns() // 1_000_000
        rand = int.from_bytes(os.urandom(10), "big")
        value = (millis << 80) | rand
        # Same millisecond as the previous id: step past it so ids never go backwards.
        if value <= _last:
            value = _last + 1
        _last = value
    value &= ~(0xF << 76)
    value |= 0x7 << 76
    value &= ~(0x3 << 62)
    value |= 0x2 << 62
    return uuid.UUID(int=value)
