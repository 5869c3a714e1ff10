"""Server-rendered SVG charts: candles, lines, bars and an allocation doughnut.

Pages are Django templates swapped by HTMX under a Content-Security-Policy without inline styles
or scripts, so every chart is one self-contained ``<svg>`` whose colours come from CSS classes
(static/css/charts.css, themed through the custom properties of app.css) and whose hover values
are native ``<title>`` tooltips. Geometry is computed in floats and rounded to two decimals;
every label is formatted from the ``Decimal`` it shows, so no money value goes through a float.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import TypedDict

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

__all__ = [
    "Candle",
    "LegendItem",
    "bars_svg",
    "candles_svg",
    "doughnut_svg",
    "legend_items",
    "line_svg",
    "nice_ticks",
]

SVG_NS = "http://www.w3.org/2000/svg"
EMPTY_TEXT = "No data yet"

# Text metrics for sizing margins and thinning labels. The labels are 11px (charts.css); digits
# and punctuation of common UI fonts average under 6.5px at that size, so this errs roomy.
_LABEL_CHAR_W = 6.5
_LABEL_GAP = 24.0
_SLICE_COLOURS = 10
_ONE_PLACE = Decimal("0.1")
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Candle:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int

    @property
    def is_up(self) -> bool:
        return self.close >= self.open


class LegendItem(TypedDict):
    label: str
    value: Decimal
    pct: Decimal
    css_class: str


# --- markup -------------------------------------------------------------------------------------

Attr = str | int | float | Decimal | None


def _num(x: float) -> str:
    """A coordinate rounded to 2 decimals without trailing zeros (keeps the SVG small)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attrs(attrs: Mapping[str, Attr]) -> SafeString:
    # Floats are coordinates; everything else is text and escaped by format_html_join.
    # None drops the attribute so callers can write optional ones inline.
    return format_html_join(
        "",
        ' {}="{}"',
        (
            (name, _num(value) if isinstance(value, float) else value)
            for name, value in attrs.items()
            if value is not None
        ),
    )


def _tag(name: str, attrs: Mapping[str, Attr], *children: str) -> SafeString:
    """One element; plain-str children are escaped, SafeString children (our tags) are not."""
    if not children:
        return format_html("<{}{}/>", name, _attrs(attrs))
    inner = format_html_join("", "{}", ((child,) for child in children))
    return format_html("<{}{}>{}</{}>", name, _attrs(attrs), inner, name)


def _join(parts: Iterable[str]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


def _svg(
    *,
    chart_id: str,
    kind: str,
    width: int,
    height: int,
    title: str,
    desc: str,
    body: Iterable[str],
    extra: Mapping[str, Attr] | None = None,
) -> SafeString:
    # Width/height give a sane size where charts.css is missing; the stylesheet makes the chart
    # fluid, and the viewBox with "meet" keeps its proportions at any width.
    return _tag(
        "svg",
        {
            **(extra or {}),
            "xmlns": SVG_NS,
            "id": chart_id,
            "class": f"chart {kind}",
            "viewBox": f"0 0 {width} {height}",
            "width": width,
            "height": height,
            "preserveAspectRatio": "xMidYMid meet",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title",
            "aria-describedby": f"{chart_id}-desc",
        },
        _tag("title", {"id": f"{chart_id}-title"}, title),
        _tag("desc", {"id": f"{chart_id}-desc"}, desc),
        *body,
    )


def _empty(*, chart_id: str, kind: str, width: int, height: int, title: str) -> SafeString:
    return _svg(
        chart_id=chart_id,
        kind=kind,
        width=width,
        height=height,
        title=title,
        desc=f"{EMPTY_TEXT}.",
        body=[
            _tag(
                "text",
                {
                    "class": "chart-label chart-empty",
                    "x": width / 2,
                    "y": height / 2,
                    "text-anchor": "middle",
                    "dominant-baseline": "middle",
                },
                EMPTY_TEXT,
            )
        ],
    )


def _label(x: float, y: float, text: str, *, anchor: str = "middle") -> SafeString:
    return _tag(
        "text",
        {"class": "chart-label", "x": x, "y": y, "text-anchor": anchor},
        text,
    )


def _text_width(text: str) -> float:
    return len(text) * _LABEL_CHAR_W


# --- scales -------------------------------------------------------------------------------------


def nice_ticks(lo: Decimal, hi: Decimal, count: int = 5) -> list[Decimal]:
    """Round axis values inside [lo, hi], a 1-2-5 step apart, as close to `count` of them as
    such a step allows (0..100 -> 0, 20, ..., 100; 187.13..189.91 -> 187.5, 188.0, ..., 189.5).

    Ticks stay inside the range so an axis keeps the data's own extent and padding.
    """
    lo, hi = min(lo, hi), max(lo, hi)
    if lo == hi:
        return [lo]
    raw = (hi - lo) / max(count, 1)
    exponent = raw.adjusted()
    best: tuple[tuple[int, int], list[Decimal]] | None = None
    for exp in (exponent - 1, exponent, exponent + 1):
        for mantissa in (1, 2, 5):
            step = Decimal(mantissa).scaleb(exp)
            first = int((lo / step).to_integral_value(rounding=ROUND_CEILING))
            last = int((hi / step).to_integral_value(rounding=ROUND_FLOOR))
            n = last - first + 1
            if n < 2:
                continue
            # Closest count wins; on a tie the sparser axis reads more calmly.
            rank = (abs(n - count), n)
            if best is None or rank < best[0]:
                quantum = Decimal(1).scaleb(min(exp, 0))
                ticks = [
                    Decimal(k * mantissa).scaleb(exp).quantize(quantum)
                    for k in range(first, last + 1)
                ]
                best = (rank, ticks)
    # A step a tenth of the raw one always fits several ticks, so best is set here.
    assert best is not None
    return best[1]


@dataclass(frozen=True)
class _Scale:
    """Maps a value range onto a pixel range, top to bottom for y (larger value, smaller y)."""

    lo: float
    hi: float
    top: float
    bottom: float

    def y(self, value: Decimal | float) -> float:
        return self.bottom - (float(value) - self.lo) / (self.hi - self.lo) * (
            self.bottom - self.top
        )


def _padded(
    lo: Decimal, hi: Decimal, *, fraction: Decimal = Decimal("0.06")
) -> tuple[Decimal, Decimal]:
    """The data range with some air above and below, never empty."""
    if lo == hi:
        pad = abs(lo) * Decimal("0.01") or Decimal(1)
        return lo - pad, hi + pad
    pad = (hi - lo) * fraction
    return lo - pad, hi + pad


def _fmt(value: Decimal, value_format: str) -> str:
    return value_format.format(value)


def _y_axis(
    scale: _Scale,
    ticks: Sequence[Decimal],
    labels: Sequence[str],
    *,
    left: float,
    right: float,
) -> list[SafeString]:
    parts: list[SafeString] = []
    for tick, text in zip(ticks, labels, strict=True):
        y = scale.y(tick)
        parts.append(
            _tag("line", {"class": "chart-grid", "x1": left, "x2": right, "y1": y, "y2": y})
        )
        parts.append(_label(left - 6, y + 4, text, anchor="end"))
    return parts


def _label_margin(labels: Iterable[str]) -> float:
    return max((_text_width(text) for text in labels), default=0.0) + 14


# --- time labels --------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    # Naive datetimes should not reach us, but if one does it is read as UTC, like the rest of
    # the project, rather than as the server's local time.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _hover_format(times: Sequence[datetime]) -> str:
    """strftime pattern for hover values: HH:MM within one day, dates for daily data."""
    if times[0].date() == times[-1].date():
        return "%H:%M"
    if all(t.hour == t.minute == t.second == 0 for t in times):
        return "%Y-%m-%d"
    return "%Y-%m-%d %H:%M"


# Spacings between time labels, in seconds: round clock and calendar steps.
_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_TIME_STEPS = (
    *(m * _MINUTE for m in (1, 2, 5, 10, 15, 30)),
    *(h * _HOUR for h in (1, 2, 3, 6, 12)),
    *(d * _DAY for d in (1, 2, 7, 14, 28, 91, 182, 364)),
)


def _time_ticks(first: datetime, last: datetime, *, room: float) -> tuple[list[datetime], str]:
    """Round moments to label between first and last (every 10 minutes, every midnight, ...)
    and their strftime pattern, as many as fit side by side in `room` pixels."""
    fmt = "%H:%M" if first.date() == last.date() else "%m-%d %H:%M"
    slots = max(2, int(room // (_text_width(f"{first:{fmt}}") + _LABEL_GAP)))
    span = (last - first).total_seconds()
    # A span holds at most span // step + 1 multiples of the step, so step * slots > span keeps
    # the labels within their slots.
    step = next((s for s in _TIME_STEPS if s * slots > span), None)
    if step is None:
        step = (math.floor(span / slots / _DAY) + 1) * _DAY
    if step >= _DAY:
        fmt = "%Y-%m-%d"
    start, end = first.timestamp(), last.timestamp()
    # Multiples of the step since the epoch fall on round UTC times and on UTC midnights.
    ticks = [
        datetime.fromtimestamp(k * step, tz=UTC)
        for k in range(math.ceil(start / step), math.floor(end / step) + 1)
    ]
    return ticks, fmt


def _span_text(times: Sequence[datetime]) -> str:
    fmt = "%Y-%m-%d %H:%M"
    return f"from {times[0]:{fmt}} to {times[-1]:{fmt}} UTC"


def _label_indices(count: int, *, room: float, label_width: float) -> list[int]:
    """Evenly spread indices of the items that get an axis label, first and last included."""
    slots = max(1, int(room // (label_width + _LABEL_GAP)))
    if count <= slots:
        return list(range(count))
    if slots == 1:
        return [0]
    return sorted({round(i * (count - 1) / (slots - 1)) for i in range(slots)})


def _clamp(x: float, half: float, lo: float, hi: float) -> float:
    return min(max(x, lo + half), hi - half)


# --- candles ------------------------------------------------------------------------------------


def _compact(volume: int) -> str:
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "K")):
        if volume >= size:
            return f"{volume / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(volume)


def candles_svg(
    candles: Sequence[Candle],
    *,
    title: str,
    width: int = 720,
    height: int = 320,
    chart_id: str = "price-chart",
) -> SafeString:
    """Candlesticks over volume bars, a price axis and time labels; hover shows OHLCV."""
    kind = "chart-candles"
    if not candles:
        return _empty(chart_id=chart_id, kind=kind, width=width, height=height, title=title)

    times = [_utc(c.start) for c in candles]
    hover_fmt = _hover_format(times)
    lo, hi = _padded(min(c.low for c in candles), max(c.high for c in candles))
    ticks = nice_ticks(lo, hi)
    tick_labels = [f"{t:,.2f}" for t in ticks]
    max_volume = max(c.volume for c in candles)
    volume_label = f"Vol {_compact(max_volume)}"

    left = max(_label_margin([*tick_labels, volume_label]), 40.0)
    right = width - 12.0
    top, bottom = 10.0, height - 24.0
    # Price takes the top three quarters, volume the rest, with a small gap between them.
    gap = 8.0
    split = top + (bottom - top) * 0.75
    price = _Scale(float(lo), float(hi), top, split - gap / 2)
    volume_top = split + gap / 2

    slot = (right - left) / len(candles)
    body_w = max(1.0, min(slot * 0.7, 24.0))

    parts: list[SafeString] = _y_axis(price, ticks, tick_labels, left=left, right=right)
    parts.append(
        _tag("line", {"class": "chart-axis", "x1": left, "x2": right, "y1": split, "y2": split})
    )
    parts.append(_label(left - 6, volume_top + 9, volume_label, anchor="end"))

    candle_marks: list[SafeString] = []
    volume_marks: list[SafeString] = []
    for i, (candle, start) in enumerate(zip(candles, times, strict=True)):
        direction = "up" if candle.is_up else "down"
        hover = (
            f"{start:{hover_fmt}} O {candle.open:,.2f} H {candle.high:,.2f} "
            f"L {candle.low:,.2f} C {candle.close:,.2f} V {candle.volume:,}"
        )
        x = left + (i + 0.5) * slot
        body_top = price.y(max(candle.open, candle.close))
        # A doji still gets a visible (and hoverable) body.
        body_h = max(price.y(min(candle.open, candle.close)) - body_top, 1.0)
        candle_marks.append(
            _tag(
                "g",
                {
                    "class": f"candle candle-{direction}",
                    "data-start": start.isoformat(),
                    "data-ohlcv": hover,
                },
                _tag("title", {}, hover),
                _tag(
                    "line",
                    {
                        "class": "candle-wick",
                        "x1": x,
                        "x2": x,
                        "y1": price.y(candle.high),
                        "y2": price.y(candle.low),
                        "stroke-width": 1,
                    },
                ),
                _tag(
                    "rect",
                    {
                        "class": "candle-body",
                        "x": x - body_w / 2,
                        "y": body_top,
                        "width": body_w,
                        "height": body_h,
                    },
                ),
            )
        )
        bar_h = (bottom - volume_top) * candle.volume / max_volume if max_volume else 0.0
        volume_marks.append(
            _tag(
                "rect",
                {
                    "class": f"volume volume-{direction}",
                    "x": x - body_w / 2,
                    "y": bottom - bar_h,
                    "width": body_w,
                    "height": bar_h,
                },
                _tag("title", {}, hover),
            )
        )
    parts.append(_tag("g", {"class": "volumes"}, *volume_marks))
    parts.append(_tag("g", {"class": "candles"}, *candle_marks))
    parts.append(
        _tag("line", {"class": "chart-axis", "x1": left, "x2": right, "y1": bottom, "y2": bottom})
    )

    ticks_at, axis_fmt = _time_ticks(times[0], times[-1], room=right - left)
    index_of = {t: i for i, t in enumerate(times)}
    labelled = [index_of[t] for t in ticks_at if t in index_of]
    if len(labelled) < 2:
        # Candles off the round times (or a single one): spread labels over the candles.
        width_hint = _text_width(f"{times[0]:{axis_fmt}}")
        labelled = _label_indices(len(candles), room=right - left, label_width=width_hint)
    previous_end = -math.inf
    for i in labelled:
        text = f"{times[i]:{axis_fmt}}"
        half = _text_width(text) / 2
        x = _clamp(left + (i + 0.5) * slot, half, left, width - 2.0)
        # Candles are spaced by index, so a gap in trading can crowd round times together.
        if x - half >= previous_end + _LABEL_GAP / 2:
            parts.append(_label(x, bottom + 16, text))
            previous_end = x + half

    last = candles[-1]
    # The last price as a dashed line across the plot, its value in a tag on the price axis.
    last_y = price.y(last.close)
    last_text = f"{last.close:,.2f}"
    tag_w = _text_width(last_text) + 8
    parts.append(
        _tag(
            "g",
            {"class": f"chart-last chart-last-{'up' if last.is_up else 'down'}"},
            _tag(
                "line",
                {"class": "chart-last-line", "x1": left, "x2": right, "y1": last_y, "y2": last_y},
            ),
            _tag(
                "rect",
                {
                    "class": "chart-last-tag",
                    "x": left - tag_w - 2,
                    "y": last_y - 8,
                    "width": tag_w,
                    "height": 16,
                    "rx": 3,
                },
            ),
            _tag(
                "text",
                {"class": "chart-last-text", "x": left - 6, "y": last_y + 4, "text-anchor": "end"},
                last_text,
            ),
        )
    )
    # Crosshair, drawn by static/js/charts.js under the pointer (hidden until then).
    parts.append(
        _tag(
            "g",
            {"class": "chart-crosshair", "aria-hidden": "true"},
            _tag("line", {"class": "crosshair-x", "x1": left, "x2": left, "y1": top, "y2": bottom}),
            _tag("line", {"class": "crosshair-y", "x1": left, "x2": right, "y1": top, "y2": top}),
            _tag(
                "rect",
                {
                    "class": "crosshair-tag",
                    "x": 0,
                    "y": 0,
                    "width": left - 2,
                    "height": 16,
                    "rx": 3,
                },
            ),
            _tag("text", {"class": "crosshair-price", "x": left - 6, "y": 0, "text-anchor": "end"}),
            _tag("text", {"class": "crosshair-values", "x": left + 4, "y": top + 10}),
            _tag(
                "rect",
                {"class": "zoom-band", "x": left, "y": top, "width": 0, "height": bottom - top},
            ),
        )
    )
    desc = (
        f"{len(candles)} candles {_span_text(times)}. "
        f"High {max(c.high for c in candles):,.2f}, low {min(c.low for c in candles):,.2f}, "
        f"last close {last.close:,.2f}. Total volume {sum(c.volume for c in candles):,}."
    )
    # What the pointer needs to read values back: the plot's bounds and the price scale.
    geometry = {
        "data-plot-left": _num(left),
        "data-plot-right": _num(right),
        "data-price-top": _num(price.top),
        "data-price-bottom": _num(price.bottom),
        "data-price-lo": _num(float(lo)),
        "data-price-hi": _num(float(hi)),
        "data-slot": _num(slot),
    }
    return _svg(
        chart_id=chart_id,
        kind=kind,
        width=width,
        height=height,
        title=title,
        desc=desc,
        body=parts,
        extra=geometry,
    )


# --- line ---------------------------------------------------------------------------------------


def line_svg(
    points: Sequence[tuple[datetime, Decimal]],
    *,
    title: str,
    area: bool = False,
    baseline: Decimal | None = None,
    width: int = 720,
    height: int = 240,
    chart_id: str = "line-chart",
    value_format: str = "{:,.2f}",
    compare: Sequence[tuple[datetime, Decimal]] = (),
    compare_label: str = "",
) -> SafeString:
    """A value over time (equity, drawdown); x is proportional to time, not to the index. A
    `compare` series (a benchmark) is drawn dashed on the same axes, within the same span."""
    kind = "chart-line"
    if not points:
        return _empty(chart_id=chart_id, kind=kind, width=width, height=height, title=title)

    times = [_utc(t) for t, _ in points]
    values = [v for _, v in points]
    hover_fmt = _hover_format(times)
    compare = [(_utc(t), v) for t, v in compare if times[0] <= _utc(t) <= times[-1]]
    extremes = [
        *values,
        *(v for _, v in compare),
        *([baseline] if baseline is not None else []),
    ]
    lo, hi = _padded(min(extremes), max(extremes))
    ticks = nice_ticks(lo, hi)
    tick_labels = [_fmt(t, value_format) for t in ticks]

    left = max(_label_margin(tick_labels), 40.0)
    right = width - 16.0
    top, bottom = 10.0, height - 24.0
    scale = _Scale(float(lo), float(hi), top, bottom)

    first_ts, last_ts = times[0].timestamp(), times[-1].timestamp()
    duration = last_ts - first_ts

    def x_of(moment: datetime) -> float:
        if duration <= 0:
            return (left + right) / 2
        return left + (moment.timestamp() - first_ts) / duration * (right - left)

    xy = [(x_of(t), scale.y(v)) for t, v in zip(times, values, strict=True)]
    coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in xy)

    parts: list[SafeString] = _y_axis(scale, ticks, tick_labels, left=left, right=right)
    parts.append(
        _tag("line", {"class": "chart-axis", "x1": left, "x2": right, "y1": bottom, "y2": bottom})
    )
    if area and len(xy) > 1:
        floor_y = scale.y(baseline) if baseline is not None else bottom
        outline = f"{_num(xy[0][0])},{_num(floor_y)} {coords} {_num(xy[-1][0])},{_num(floor_y)}"
        parts.append(_tag("polygon", {"class": "area", "points": outline, "stroke": "none"}))
    if baseline is not None:
        y = scale.y(baseline)
        parts.append(
            _tag(
                "line",
                {"class": "chart-baseline", "x1": left, "x2": right, "y1": y, "y2": y},
                _tag("title", {}, f"Baseline {_fmt(baseline, value_format)}"),
            )
        )
    if len(compare) > 1:
        other = " ".join(f"{_num(x_of(t))},{_num(scale.y(v))}" for t, v in compare)
        parts.append(
            _tag(
                "polyline",
                {"class": "line line-compare", "points": other, "fill": "none", "stroke-width": 2},
                _tag("title", {}, compare_label),
            )
        )
    if len(xy) > 1:
        parts.append(
            _tag("polyline", {"class": "line", "points": coords, "fill": "none", "stroke-width": 2})
        )
    # Point markers exist for their hover titles; charts.css shows them only under the pointer,
    # except a lone point, which has no line to show it otherwise.
    point_class = "line-point" if len(xy) > 1 else "line-point line-point-solo"
    markers = [
        _tag(
            "circle",
            {"class": point_class, "cx": x, "cy": y, "r": 4},
            _tag("title", {}, f"{t:{hover_fmt}} {_fmt(v, value_format)}"),
        )
        for (x, y), t, v in zip(xy, times, values, strict=True)
    ]
    parts.append(_tag("g", {"class": "line-points"}, *markers))

    ticks_at, axis_fmt = _time_ticks(times[0], times[-1], room=right - left)
    if not ticks_at:
        # Too short a span to hold a round time: name its ends instead.
        ticks_at = sorted({times[0], times[-1]})
    for moment in ticks_at:
        text = f"{moment:{axis_fmt}}"
        x = _clamp(x_of(moment), _text_width(text) / 2, left, width - 2.0)
        parts.append(_label(x, bottom + 16, text))

    desc = (
        f"{len(points)} points {_span_text(times)}. First {_fmt(values[0], value_format)}, "
        f"last {_fmt(values[-1], value_format)}, low {_fmt(min(values), value_format)}, "
        f"high {_fmt(max(values), value_format)}."
    )
    if baseline is not None:
        desc += f" Baseline {_fmt(baseline, value_format)}."
    if compare:
        desc += (
            f" {compare_label or 'Comparison'}: first {_fmt(compare[0][1], value_format)}, "
            f"last {_fmt(compare[-1][1], value_format)}."
        )
    return _svg(
        chart_id=chart_id, kind=kind, width=width, height=height, title=title, desc=desc, body=parts
    )


# --- bars ---------------------------------------------------------------------------------------


def _shorten(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bars_svg(
    bars: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    width: int = 720,
    height: int = 220,
    chart_id: str = "bar-chart",
    value_format: str = "{:,.2f}",
) -> SafeString:
    """Gains above and losses below a zero line, one labelled bar per category."""
    kind = "chart-bars"
    if not bars:
        return _empty(chart_id=chart_id, kind=kind, width=width, height=height, title=title)

    values = [v for _, v in bars]
    # Zero is always in range so every bar starts at the zero line.
    lo, hi = min(min(values), Decimal(0)), max(max(values), Decimal(0))
    if lo == hi:
        lo, hi = Decimal(-1), Decimal(1)
    pad = (hi - lo) * Decimal("0.06")
    lo, hi = (lo - pad if lo < 0 else lo), (hi + pad if hi > 0 else hi)
    ticks = nice_ticks(lo, hi)
    tick_labels = [_fmt(t, value_format) for t in ticks]

    left = max(_label_margin(tick_labels), 40.0)
    right = width - 12.0
    top, bottom = 10.0, height - 24.0
    scale = _Scale(float(lo), float(hi), top, bottom)
    zero_y = scale.y(0)

    slot = (right - left) / len(bars)
    bar_w = max(1.0, min(slot * 0.7, 56.0))

    parts: list[SafeString] = _y_axis(scale, ticks, tick_labels, left=left, right=right)
    marks: list[SafeString] = []
    for i, (label, value) in enumerate(bars):
        x = left + (i + 0.5) * slot
        value_y = scale.y(value)
        marks.append(
            _tag(
                "rect",
                {
                    "class": "bar-pos" if value >= 0 else "bar-neg",
                    "x": x - bar_w / 2,
                    "y": min(value_y, zero_y),
                    "width": bar_w,
                    "height": abs(zero_y - value_y),
                },
                _tag("title", {}, f"{label} {_fmt(value, value_format)}"),
            )
        )
    parts.append(_tag("g", {"class": "bars"}, *marks))
    parts.append(
        _tag("line", {"class": "chart-axis", "x1": left, "x2": right, "y1": zero_y, "y2": zero_y})
    )

    names = [_shorten(label) for label, _ in bars]
    widest = max(_text_width(name) for name in names)
    for i in _label_indices(len(bars), room=right - left, label_width=widest):
        x = _clamp(left + (i + 0.5) * slot, _text_width(names[i]) / 2, left, width - 2.0)
        parts.append(_label(x, bottom + 16, names[i]))

    listing = "; ".join(f"{label} {_fmt(value, value_format)}" for label, value in bars)
    desc = f"{len(bars)} bars: {listing}."
    return _svg(
        chart_id=chart_id, kind=kind, width=width, height=height, title=title, desc=desc, body=parts
    )


# --- doughnut -----------------------------------------------------------------------------------


def legend_items(
    slices: Sequence[tuple[str, Decimal]], *, cash_label: str = "Cash"
) -> list[LegendItem]:
    """The doughnut's slices with percentages and colour classes, for an HTML legend.

    Only positive values are drawn (an allocation has no negative or empty share), so only
    those are listed; colours count the non-cash slices so cash never shifts the palette.
    """
    shown = [(label, value) for label, value in slices if value > 0]
    total = sum((value for _, value in shown), Decimal(0))
    items: list[LegendItem] = []
    colour = 0
    for label, value in shown:
        if label == cash_label:
            css_class = "slice-cash"
        else:
            css_class = f"slice-{colour % _SLICE_COLOURS}"
            colour += 1
        pct = (value / total * _HUNDRED).quantize(_ONE_PLACE, rounding=ROUND_HALF_UP)
        items.append({"label": label, "value": value, "pct": pct, "css_class": css_class})
    return items


def _point(cx: float, cy: float, radius: float, angle: float) -> str:
    # Angles are clockwise from twelve o'clock, in radians.
    return f"{_num(cx + radius * math.sin(angle))},{_num(cy - radius * math.cos(angle))}"


def _ring_segment(
    cx: float, cy: float, outer: float, inner: float, start: float, end: float
) -> str:
    large = 1 if end - start > math.pi else 0
    return (
        f"M{_point(cx, cy, outer, start)}"
        f"A{_num(outer)},{_num(outer)} 0 {large} 1 {_point(cx, cy, outer, end)}"
        f"L{_point(cx, cy, inner, end)}"
        f"A{_num(inner)},{_num(inner)} 0 {large} 0 {_point(cx, cy, inner, start)}Z"
    )


def _ring(cx: float, cy: float, outer: float, inner: float) -> str:
    # One arc cannot start and end at the same point, so a full ring is two half circles per
    # edge; the even-odd fill rule punches out the hole.
    paths = []
    for radius, sweep in ((outer, 1), (inner, 0)):
        r = _num(radius)
        paths.append(
            f"M{_point(cx, cy, radius, 0)}"
            f"A{r},{r} 0 1 {sweep} {_point(cx, cy, radius, math.pi)}"
            f"A{r},{r} 0 1 {sweep} {_point(cx, cy, radius, 0)}Z"
        )
    return "".join(paths)


def doughnut_svg(
    slices: Sequence[tuple[str, Decimal]],
    *,
    title: str,
    size: int = 220,
    chart_id: str = "allocation-chart",
    cash_label: str = "Cash",
) -> SafeString:
    """Shares of a whole (portfolio allocation) as ring segments, the total in the middle."""
    kind = "chart-doughnut"
    items = legend_items(slices, cash_label=cash_label)
    if not items:
        return _empty(chart_id=chart_id, kind=kind, width=size, height=size, title=title)

    total = sum((item["value"] for item in items), Decimal(0))
    cx = cy = size / 2
    outer = size / 2 - 4
    inner = outer * 0.62
    parts: list[SafeString] = []
    start = 0.0
    for item in items:
        sweep = float(item["value"] / total) * 2 * math.pi
        if len(items) == 1:
            outline, fill_rule = _ring(cx, cy, outer, inner), "evenodd"
        else:
            outline, fill_rule = _ring_segment(cx, cy, outer, inner, start, start + sweep), None
        parts.append(
            _tag(
                "path",
                {"class": f"chart-slice {item['css_class']}", "d": outline, "fill-rule": fill_rule},
                _tag("title", {}, f"{item['label']} {item['pct']} %"),
            )
        )
        start += sweep

    total_text = f"{total:,.2f}"
    # Long totals shrink to stay inside the hole (0.6em is roughly one digit's width).
    font_size = min(18.0, inner * 1.7 / (len(total_text) * 0.6))
    parts.append(_label(cx, cy - font_size * 0.6, "Total"))
    parts.append(
        _tag(
            "text",
            {
                "class": "chart-total",
                "x": cx,
                "y": cy + font_size * 0.75,
                "text-anchor": "middle",
                "font-size": font_size,
            },
            total_text,
        )
    )

    listing = "; ".join(f"{item['label']} {item['pct']} %" for item in items)
    desc = f"Total {total_text}: {listing}."
    return _svg(
        chart_id=chart_id, kind=kind, width=size, height=size, title=title, desc=desc, body=parts
    )
