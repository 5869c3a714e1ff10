"""Our own server-rendered SVG charts (candles, lines, bars, doughnuts) and the series they
draw (timeframes, an equal-weight benchmark). Django-free apart from `django.utils.html`'s
escaping, so any app may use it; no app is imported from here."""

from __future__ import annotations

from charts.series import TIMEFRAMES, equal_weight_index, rebased, resample
from charts.svg import (
    Candle,
    LegendItem,
    bars_svg,
    candles_svg,
    doughnut_svg,
    legend_items,
    line_svg,
    nice_ticks,
)

__all__ = [
    "TIMEFRAMES",
    "Candle",
    "LegendItem",
    "bars_svg",
    "candles_svg",
    "doughnut_svg",
    "equal_weight_index",
    "legend_items",
    "line_svg",
    "nice_ticks",
    "rebased",
    "resample",
]
