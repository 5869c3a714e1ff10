from __future__ import annotations

import signal
from types import FrameType


class StopSignal:
    """Set by SIGTERM or SIGINT, so a long-running worker finishes its current pass and exits
    cleanly (the supervisor and docker stop send SIGTERM, Ctrl-C sends SIGINT)."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGTERM, self._request)
        signal.signal(signal.SIGINT, self._request)

    def _request(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested
