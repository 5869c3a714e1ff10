"""The series the charts draw, computed from plain values: candles resampled to a timeframe
and an equal-weight benchmark. Pure functions, no I/O. (The drawdown series is the
analytics' own rule: portfolio.selectors.max_drawdown.)"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from charts.svg import Candle

# Timeframes a trader picks on the Dashboard, in minutes per candle.
TIMEFRAMES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1D": 1440}
HUNDRED = Decimal(100)


def bucket_start(moment: datetime, minutes: int) -> datetime:
    """The start of the timeframe bucket a moment falls in, on round UTC times (5m candles
    start at :00, :05, ...; daily ones at UTC midnight)."""
    seconds = minutes * 60
    epoch = int(moment.astimezone(UTC).timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def resample(candles: Sequence[Candle], minutes: int) -> list[Candle]:
    """One-minute candles (oldest first) folded into candles of `minutes`: the first open, the
    highest high, the lowest low, the last close and the summed volume of each bucket."""
    if minutes <= 1:
        return list(candles)
    out: list[Candle] = []
    for candle in candles:
        start = bucket_start(candle.start, minutes)
        if out and out[-1].start == start:
            last = out[-1]
            out[-1] = Candle(
                start,
                last.open,
                max(last.high, candle.high),
                min(last.low, candle.low),
                candle.close,
                last.volume + candle.volume,
            )
        else:
            out.append(
                Candle(start, candle.open, candle.high, candle.low, candle.close, candle.volume)
            )
    return out


def equal_weight_index(
    closes: Mapping[str, Sequence[tuple[datetime, Decimal]]], *, base: Decimal = HUNDRED
) -> list[tuple[datetime, Decimal]]:
    """An equal-weight basket of the symbols, rebased to `base` at the first moment every
    symbol has a price: at each moment, the mean of each symbol's price relative to its own
    first price. Moments where a symbol has no price carry its last one forward."""
    series = {symbol: list(points) for symbol, points in closes.items() if points}
    if not series:
        return []
    start = max(points[0][0] for points in series.values())
    moments = sorted({t for points in series.values() for t, _ in points if t >= start})
    first: dict[str, Decimal] = {}
    last: dict[str, Decimal] = {}
    cursor = dict.fromkeys(series, 0)
    out: list[tuple[datetime, Decimal]] = []
    for moment in moments:
        for symbol, points in series.items():
            i = cursor[symbol]
            while i < len(points) and points[i][0] <= moment:
                last[symbol] = points[i][1]
                i += 1
            cursor[symbol] = i
            if symbol in last and symbol not in first and last[symbol] > 0:
                first[symbol] = last[symbol]
        if len(first) < len(series):
            continue
        mean = sum((last[s] / first[s] for s in series), Decimal(0)) / len(series)
        out.append((moment, (base * mean).quantize(Decimal("0.01"))))
    return out


def rebased(
    points: Sequence[tuple[datetime, Decimal]], *, base: Decimal = HUNDRED
) -> list[tuple[datetime, Decimal]]:
    """A series scaled so its first value is `base` (to draw it beside a benchmark)."""
    if not points or points[0][1] <= 0:
        return []
    first = points[0][1]
    return [(t, (base * v / first).quantize(Decimal("0.01"))) for t, v in points]
