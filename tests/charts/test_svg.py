from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charts import (
    Candle,
    bars_svg,
    candles_svg,
    doughnut_svg,
    legend_items,
    line_svg,
    nice_ticks,
)

SVG = "http://www.w3.org/2000/svg"
NS = {"svg": SVG}
ET.register_namespace("", SVG)

D = Decimal
T0 = datetime(2025, 3, 14, 14, 0, tzinfo=UTC)


def parse(markup: str) -> ET.Element:
    # The markup is our own output under test, not untrusted input.
    root = ET.fromstring(markup)  # noqa: S314
    assert root.tag == f"{{{SVG}}}svg"
    return root


def classes(element: ET.Element) -> set[str]:
    return set((element.get("class") or "").split())


def with_class(root: ET.Element, name: str) -> list[ET.Element]:
    return [el for el in root.iter() if name in classes(el)]


def own_title(element: ET.Element) -> str:
    title = element.find("svg:title", NS)
    assert title is not None
    return title.text or ""


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter(f"{{{SVG}}}text")]


def height(element: ET.Element) -> float:
    return float(element.get("height", "0"))


def candle(minute: int, o: str, h: str, low: str, c: str, volume: int) -> Candle:
    return Candle(T0 + timedelta(minutes=minute), D(o), D(h), D(low), D(c), volume)


CANDLES = [
    candle(5, "187.20", "187.90", "186.95", "187.55", 1200),
    candle(6, "187.55", "189.91", "187.40", "189.10", 4800),
    candle(7, "189.10", "189.20", "187.13", "187.60", 600),
    candle(8, "187.60", "188.00", "187.50", "187.60", 2400),
]


def test_one_candle_body_per_candle_coloured_by_direction():
    root = parse(candles_svg(CANDLES, title="AAPL 1m"))

    groups = with_class(root, "candle")
    assert len(with_class(root, "candle-body")) == len(CANDLES) == len(groups)
    directions = [("candle-up" in classes(g), "candle-down" in classes(g)) for g in groups]
    # Up, up, down, and a doji (close == open) counts as up.
    assert directions == [(True, False), (True, False), (False, True), (True, False)]


def test_highest_high_is_drawn_above_lowest_low():
    root = parse(candles_svg(CANDLES, title="AAPL 1m"))
    wicks = with_class(root, "candle-wick")

    highest_top = float(wicks[1].get("y1", "nan"))  # 189.91
    lowest_bottom = float(wicks[0].get("y2", "nan"))  # 186.95
    assert highest_top < lowest_bottom
    for wick in wicks:
        assert float(wick.get("y1", "nan")) >= highest_top
        assert float(wick.get("y2", "nan")) <= lowest_bottom


def test_volume_bars_are_proportional_to_volume():
    root = parse(candles_svg(CANDLES, title="AAPL 1m"))
    bars = with_class(root, "volume")

    heights = [height(bar) for bar in bars]
    assert heights.index(max(heights)) == 1
    for bar, c in zip(bars, CANDLES, strict=True):
        assert height(bar) / heights[1] == pytest.approx(c.volume / 4800, abs=0.01)
    assert [("volume-up" in classes(b)) for b in bars] == [True, True, False, True]


def test_candle_hover_shows_exact_ohlcv():
    root = parse(candles_svg(CANDLES, title="AAPL 1m"))
    groups = with_class(root, "candle")

    assert own_title(groups[0]) == "14:05 O 187.20 H 187.90 L 186.95 C 187.55 V 1,200"
    assert own_title(groups[1]) == "14:06 O 187.55 H 189.91 L 187.40 C 189.10 V 4,800"
    assert own_title(with_class(root, "volume")[2]).endswith("V 600")


def test_candle_axes_show_prices_with_two_decimals_and_times():
    labels = texts(parse(candles_svg(CANDLES, title="AAPL 1m")))

    prices = [t for t in labels if re.fullmatch(r"[\d,]+\.\d\d", t)]
    assert 4 <= len(prices) <= 7
    assert "14:05" in labels
    assert all(re.fullmatch(r"\d\d:\d\d", t) for t in labels if ":" in t)


def test_time_labels_fall_on_round_times():
    hour = [candle(m, "10", "11", "9", "10.5", 100) for m in range(60)]
    labels = [t for t in texts(parse(candles_svg(hour, title="1m"))) if ":" in t]

    assert labels[0] == "14:00"
    minutes = [int(t[3:]) for t in labels]
    steps = {b - a for a, b in itertools.pairwise(minutes)}
    assert len(steps) == 1 and steps.pop() in {2, 5, 10, 15}
    assert 4 <= len(labels) <= 12


def test_line_over_days_is_labelled_with_midnights():
    hourly = [(T0 + timedelta(hours=h), D(h)) for h in range(90)]
    labels = [t for t in texts(parse(line_svg(hourly, title="Equity", width=480))) if "-" in t]

    assert labels == ["2025-03-15", "2025-03-16", "2025-03-17", "2025-03-18"]


def test_daily_candles_are_labelled_with_dates():
    days = [
        Candle(datetime(2025, 3, d, tzinfo=UTC), D("10"), D("11"), D("9"), D("10.5"), 100)
        for d in range(3, 8)
    ]
    root = parse(candles_svg(days, title="Daily"))
    assert "2025-03-03" in texts(root)
    assert own_title(with_class(root, "candle")[0]).startswith("2025-03-03 O 10.00")


EQUITY = [
    (T0, D("10000.00")),
    (T0 + timedelta(minutes=30), D("10250.50")),
    (T0 + timedelta(minutes=60), D("9800.25")),
    (T0 + timedelta(minutes=120), D("10400.00")),
]


def test_line_follows_the_values_over_time():
    root = parse(line_svg(EQUITY, title="Equity"))
    (polyline,) = with_class(root, "line")

    points = [tuple(map(float, p.split(","))) for p in (polyline.get("points") or "").split()]
    assert len(points) == len(EQUITY)
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    assert xs == sorted(xs)
    # The 60-minute gap is twice as wide as each 30-minute one.
    assert xs[3] - xs[2] == pytest.approx(2 * (xs[1] - xs[0]), abs=0.02)
    assert ys.index(min(ys)) == 3  # highest value, highest on screen
    assert ys.index(max(ys)) == 2
    assert not with_class(root, "area")
    hovers = [own_title(c) for c in with_class(root, "line-point")]
    assert hovers[1] == "14:30 10,250.50"


def test_line_area_and_baseline():
    root = parse(line_svg(EQUITY, title="Equity", area=True, baseline=D("10000")))

    (baseline,) = with_class(root, "chart-baseline")
    (polyline,) = with_class(root, "line")
    first_y = float((polyline.get("points") or "").split()[0].split(",")[1])
    assert float(baseline.get("y1", "nan")) == pytest.approx(first_y)  # starts at the baseline
    (area,) = with_class(root, "area")
    area_points = (area.get("points") or "").split()
    assert float(area_points[0].split(",")[1]) == pytest.approx(first_y)
    assert "10,000.00" in own_title(baseline)


def test_drawdown_stays_below_its_zero_baseline():
    drawdown = [(T0 + timedelta(days=i), D(v)) for i, v in enumerate(["0", "-2.5", "-7.25", "-1"])]
    root = parse(line_svg(drawdown, title="Drawdown", baseline=D(0), value_format="{:.1f} %"))

    zero_y = float(with_class(root, "chart-baseline")[0].get("y1", "nan"))
    (polyline,) = with_class(root, "line")
    ys = [float(p.split(",")[1]) for p in (polyline.get("points") or "").split()]
    assert all(y >= zero_y - 0.01 for y in ys)
    assert "0.0 %" in texts(root)


def test_single_point_line_renders_a_visible_point():
    root = parse(line_svg(EQUITY[:1], title="Equity"))
    (point,) = with_class(root, "line-point")
    assert "line-point-solo" in classes(point)


def test_bars_go_up_and_down_from_the_zero_line():
    pnl = [("AAPL", D("120.50")), ("MSFT", D("-80.25")), ("TSLA", D("40"))]
    root = parse(bars_svg(pnl, title="P&L by symbol"))

    zero_lines = [el for el in with_class(root, "chart-axis") if el.get("y1") == el.get("y2")]
    zero_y = float(zero_lines[-1].get("y1", "nan"))
    positive = with_class(root, "bar-pos")
    (negative,) = with_class(root, "bar-neg")
    assert len(positive) == 2
    for bar in positive:
        assert float(bar.get("y", "nan")) + height(bar) == pytest.approx(zero_y, abs=0.02)
    assert float(negative.get("y", "nan")) == pytest.approx(zero_y, abs=0.02)
    assert height(negative) > 0
    assert height(positive[0]) / height(negative) == pytest.approx(120.50 / 80.25, rel=0.01)
    assert own_title(negative) == "MSFT -80.25"
    assert {"AAPL", "MSFT", "TSLA"} <= set(texts(root))


def test_many_bar_labels_are_thinned_out():
    days = [(f"2025-03-{d:02d}", D(d % 7 - 3)) for d in range(1, 31)]
    root = parse(bars_svg(days, title="Daily P&L"))

    shown = [t for t in texts(root) if t.startswith("2025-")]
    assert 2 <= len(shown) < len(days)
    assert shown[0] == "2025-03-01"
    assert len(with_class(root, "bar-pos")) + len(with_class(root, "bar-neg")) == len(days)


ARC = re.compile(r"([MALZ])([^MALZ]*)")


def outer_arc_degrees(path: ET.Element, centre: float) -> tuple[float, list[int]]:
    """Sum of the outer-edge arcs of a segment, and their large-arc flags."""
    commands = ARC.findall(path.get("d") or "")
    radii = [float(args.split(",")[0]) for cmd, args in commands if cmd == "A"]
    outer = max(radii)
    total, flags = 0.0, []
    current = (0.0, 0.0)
    for cmd, args in commands:
        numbers = [float(n) for n in re.split(r"[ ,]+", args.strip()) if n]
        if cmd in "ML":
            current = (numbers[0], numbers[1])
        elif cmd == "A":
            end = (numbers[5], numbers[6])
            if numbers[0] == outer:
                start_angle = math.atan2(current[0] - centre, centre - current[1])
                end_angle = math.atan2(end[0] - centre, centre - end[1])
                total += math.degrees((end_angle - start_angle) % (2 * math.pi))
                flags.append(int(numbers[3]))
            current = end
    return total, flags


def test_doughnut_angles_are_proportional():
    root = parse(doughnut_svg([("AAPL", D("750")), ("Cash", D("250"))], title="Allocation"))
    stock, cash = with_class(root, "chart-slice")

    stock_degrees, stock_flags = outer_arc_degrees(stock, 110)
    cash_degrees, cash_flags = outer_arc_degrees(cash, 110)
    assert stock_degrees + cash_degrees == pytest.approx(360, abs=0.1)
    assert stock_degrees == pytest.approx(270, abs=0.1)
    assert stock_flags == [1]
    assert cash_flags == [0]
    assert "slice-0" in classes(stock)
    assert "slice-cash" in classes(cash)
    assert own_title(stock) == "AAPL 75.0 %"
    assert own_title(cash) == "Cash 25.0 %"
    assert "1,000.00" in texts(root)


def test_doughnut_of_several_slices_closes_the_circle():
    slices = [("AAPL", D("10")), ("MSFT", D("0")), ("TSLA", D("30")), ("Cash", D("20"))]
    root = parse(doughnut_svg(slices, title="Allocation"))
    segments = with_class(root, "chart-slice")

    assert len(segments) == 3  # the empty MSFT slice is skipped
    degrees = [outer_arc_degrees(s, 110)[0] for s in segments]
    assert sum(degrees) == pytest.approx(360, abs=0.1)
    assert degrees == pytest.approx([60, 180, 120], abs=0.1)
    assert [sorted(classes(s) - {"chart-slice"}) for s in segments] == [
        ["slice-0"],
        ["slice-1"],
        ["slice-cash"],
    ]


def test_single_slice_doughnut_is_a_full_ring():
    root = parse(doughnut_svg([("AAPL", D("5000"))], title="Allocation"))
    (ring,) = with_class(root, "chart-slice")

    assert own_title(ring) == "AAPL 100.0 %"
    assert ring.get("fill-rule") == "evenodd"
    assert outer_arc_degrees(ring, 110)[0] == pytest.approx(360, abs=0.1)


def test_legend_items_match_the_doughnut():
    slices = [("Cash", D("100")), ("AAPL", D("200")), ("MSFT", D("0")), ("TSLA", D("1"))]
    items = legend_items(slices)

    assert items == [
        {"label": "Cash", "value": D("100"), "pct": D("33.2"), "css_class": "slice-cash"},
        {"label": "AAPL", "value": D("200"), "pct": D("66.4"), "css_class": "slice-0"},
        {"label": "TSLA", "value": D("1"), "pct": D("0.3"), "css_class": "slice-1"},
    ]
    segments = with_class(parse(doughnut_svg(slices, title="Allocation")), "chart-slice")
    assert [sorted(classes(s) - {"chart-slice"})[0] for s in segments] == [
        i["css_class"] for i in items
    ]


def test_palette_wraps_after_ten_colours():
    slices = [(f"S{i}", D(1)) for i in range(12)]
    assert [i["css_class"] for i in legend_items(slices)][9:] == ["slice-9", "slice-0", "slice-1"]


CHARTS: dict[str, Callable[..., str]] = {
    "candles": candles_svg,
    "line": line_svg,
    "bars": bars_svg,
    "doughnut": doughnut_svg,
}


@pytest.mark.parametrize("chart", list(CHARTS))
def test_empty_input_says_no_data_yet(chart):
    root = parse(CHARTS[chart]([], title="Nothing here", chart_id="empty"))

    assert "No data yet" in texts(root)
    assert root.findtext("svg:title", namespaces=NS) == "Nothing here"
    assert root.get("aria-labelledby") == "empty-title"


HOSTILE = '<script>alert(1)</script>" onload="x'


def every_chart(text: str) -> list[str]:
    return [
        candles_svg(CANDLES, title=text),
        line_svg(EQUITY, title=text, area=True, baseline=D("10000")),
        bars_svg([(text, D("1")), ("B", D("-2"))], title=text),
        doughnut_svg([(text, D("1")), ("Cash", D("3"))], title=text),
        candles_svg([], title=text),
    ]


@pytest.mark.parametrize("markup", every_chart(HOSTILE))
def test_text_is_escaped_and_markup_stays_inline_style_free(markup):
    root = parse(markup)

    assert not list(root.iter(f"{{{SVG}}}script"))
    assert not list(root.iter(f"{{{SVG}}}style"))
    assert root.get("onload") is None
    assert root.findtext("svg:title", namespaces=NS) == HOSTILE
    assert "<script" not in markup
    assert "style=" not in markup


@pytest.mark.parametrize("markup", every_chart("Chart"))
def test_charts_are_accessible_responsive_and_compact(markup):
    root = parse(markup)

    assert root.get("role") == "img"
    title_id = root.get("aria-labelledby")
    title = root.find("svg:title", NS)
    desc = root.find("svg:desc", NS)
    assert title is not None and title.get("id") == title_id
    assert desc is not None and desc.get("id") == root.get("aria-describedby")
    assert desc.text
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox") or "")
    assert root.get("preserveAspectRatio") == "xMidYMid meet"
    assert "chart" in classes(root)
    assert not re.search(r"\d\.\d{3}", re.sub(r"<(title|desc)[^>]*>[^<]*</\1>", "", markup))


def test_output_is_deterministic():
    assert candles_svg(CANDLES, title="A") == candles_svg(list(CANDLES), title="A")
    slices = [("AAPL", D("1")), ("Cash", D("2"))]
    assert doughnut_svg(slices, title="A") == doughnut_svg(slices, title="A")


def test_nice_ticks_examples():
    assert nice_ticks(D(0), D(100)) == [D(v) for v in range(0, 101, 20)]
    assert nice_ticks(D("187.13"), D("189.91")) == [
        D("187.5"),
        D("188.0"),
        D("188.5"),
        D("189.0"),
        D("189.5"),
    ]
    assert nice_ticks(D("-7.25"), D("0")) == [D(-6), D(-4), D(-2), D(0)]
    assert nice_ticks(D(5), D(5)) == [D(5)]


@given(
    lo=st.decimals(min_value=-1_000_000, max_value=1_000_000, places=2),
    span=st.decimals(min_value="0.01", max_value=1_000_000, places=2),
)
def test_nice_ticks_are_round_steps_inside_the_range(lo, span):
    hi = lo + span
    ticks = nice_ticks(lo, hi)

    assert 2 <= len(ticks) <= 11
    assert lo <= ticks[0] and ticks[-1] <= hi
    steps = {b - a for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    (step,) = steps
    assert step.normalize().as_tuple().digits in {(1,), (2,), (5,)}
    # The range has no room for one more tick at either end.
    assert ticks[0] - step < lo and ticks[-1] + step > hi


def test_last_price_line_and_its_tag_on_the_price_axis():
    root = parse(candles_svg(CANDLES, title="Last"))
    (group,) = with_class(root, "chart-last")
    assert "chart-last-up" in classes(group)  # 187.60 closed level with its open: up
    line = group.find("svg:line", NS)
    text = group.find("svg:text", NS)
    assert text is not None and text.text == "187.60"
    assert line is not None and line.get("y1") == line.get("y2")
    # The tag sits on the axis (left of the plot) at the line's height.
    left = float(root.get("data-plot-left") or 0)
    assert float(text.get("x") or 0) < left
    assert abs(float(text.get("y") or 0) - 4 - float(line.get("y1") or 0)) < 0.01


def test_crosshair_can_read_prices_back_from_the_pointer():
    root = parse(candles_svg(CANDLES, title="Hair"))
    assert with_class(root, "chart-crosshair")
    top, bottom = float(root.get("data-price-top") or 0), float(root.get("data-price-bottom") or 0)
    lo, hi = float(root.get("data-price-lo") or 0), float(root.get("data-price-hi") or 0)
    # The last price's line, read back through the geometry the script uses, is the last close.
    line = with_class(root, "chart-last-line")[0]
    y = float(line.get("y1") or 0)
    assert round(hi - (y - top) / (bottom - top) * (hi - lo), 1) == 187.6
    starts = [g.get("data-start") for g in with_class(root, "candle")]
    assert starts == [c.start.isoformat() for c in CANDLES]


def test_a_benchmark_is_drawn_dashed_within_the_series_span():
    points = [(T0 + timedelta(days=i), D(v)) for i, v in enumerate(("100", "104", "101"))]
    basket = [(T0 + timedelta(days=i), D(v)) for i, v in enumerate(("100", "102", "103", "99"))]
    root = parse(line_svg(points, title="vs", compare=basket, compare_label="Basket"))
    (compare,) = with_class(root, "line-compare")
    assert len((compare.get("points") or "").split()) == 3  # the 4th day is outside the span
    assert own_title(compare) == "Basket"
