"""The quota rule, in one place: when a month's usage is a warning, critical or exceeded, which
alert levels it has reached, and how its utilisation is shown.

Django-free on purpose: the app (quota service, alerts, pages, API) and the metering gRPC
server (`metering/server/`, its own process without Django) both import it, so a trader sees
the same figure and state on every screen and in every answer of the service.

The thresholds are configuration (`METERING_QUOTA_WARNING_PCT`, default 80, and
`METERING_QUOTA_CRITICAL_PCT`, default 95); 100 % is the quota itself and not configurable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum

EXCEEDED_PCT = 100
WARNING_ENV = "METERING_QUOTA_WARNING_PCT"
CRITICAL_ENV = "METERING_QUOTA_CRITICAL_PCT"
_PCT_STEP = Decimal("0.1")


class QuotaState(StrEnum):
    HEALTHY = "healthy"
    WARNING = "warning"
    CRITICAL = "critical"
    EXCEEDED = "exceeded"


# The alert severity of reaching each state (the values of trading_demo.models.Severity).
_SEVERITY = {
    QuotaState.WARNING: "medium",
    QuotaState.CRITICAL: "critical",
    QuotaState.EXCEEDED: "critical",
}


@dataclass(frozen=True)
class QuotaThresholds:
    warning_pct: int = 80
    critical_pct: int = 95

    def __post_init__(self) -> None:
        if not 0 < self.warning_pct < self.critical_pct < EXCEEDED_PCT:
            raise ValueError(
                "quota thresholds need 0 < warning < critical < 100, not "
                f"warning={self.warning_pct} critical={self.critical_pct}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> QuotaThresholds:
        """The thresholds configured in the environment (the defaults where unset)."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        for field, name in (("warning_pct", WARNING_ENV), ("critical_pct", CRITICAL_ENV)):
            raw = environ.get(name, "").strip()
            if not raw:
                continue
            if not (raw.isascii() and raw.isdigit()):
                raise ValueError(f"{name} must be a whole percentage, not {raw!r}")
            values[field] = int(raw)
        return cls(**values)

    @property
    def levels(self) -> tuple[int, int, int]:
        """The percentages that raise an alert the first time a month reaches them."""
        return (self.warning_pct, self.critical_pct, EXCEEDED_PCT)

    def state(self, *, used: int, limit: int) -> QuotaState:
        # Whole numbers only: 7,999 of 10,000 is healthy however it is rounded for display.
        if used * 100 >= limit * EXCEEDED_PCT:  # a limit of 0 refuses everything
            return QuotaState.EXCEEDED
        if used * 100 >= limit * self.critical_pct:
            return QuotaState.CRITICAL
        if used * 100 >= limit * self.warning_pct:
            return QuotaState.WARNING
        return QuotaState.HEALTHY

    def reached(self, *, used: int, limit: int) -> tuple[int, ...]:
        """The alert levels `used` has reached (none for a limit of 0: nothing to warn about
        before the first call, which is refused)."""
        if limit <= 0:
            return ()
        return tuple(level for level in self.levels if used * 100 >= limit * level)

    def starts_at(self, *, limit: int, pct: int) -> int:
        """The first count of operations at or above `pct` % of `limit` (the page's gauge)."""
        return -(-limit * pct // 100)

    def severity(self, level: int) -> str:
        """The alert severity of reaching the alert level `level`."""
        return _SEVERITY[self.state(used=level, limit=100)]


def utilization_pct(*, used: int, limit: int) -> Decimal:
    """Used as a percentage of the limit with one decimal, rounded down so the figure never
    shows a threshold the state has not reached (7,996 of 10,000 is 79.9 %, not 80.0 %)."""
    if limit <= 0:
        return Decimal("100.0")
    return (Decimal(used) * 100 / limit).quantize(_PCT_STEP, rounding=ROUND_DOWN)
