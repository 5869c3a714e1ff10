"""The risk rules on their own: each threshold at and just past its boundary, the levels, the
large-order floor, the trading states and configuration overrides."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from oversight.server.risk import (
    RECENT_ORDERS_COUNTED_UP_TO,
    Band,
    InvalidRiskConfig,
    InvalidRiskInput,
    Level,
    RiskConfig,
    RiskInputs,
    evaluate,
    level_for,
)

D = Decimal
DEFAULTS = RiskConfig()


def order(**overrides: object) -> RiskInputs:
    """An order no rule scores: 1 % of a 100,000 account, calm symbol, deep book."""
    values: dict[str, object] = {
        "symbol": "ACME",
        "side": "BUY",
        "quantity": 10,
        "price": D("100.00"),
        "reference_price": D("100.00"),
        "equity": D("100000.00"),
        "cash": D("100000.00"),
        "position_quantity": 0,
        "symbol_volatility": D("0.10"),
        "visible_depth": 1_000_000,
        "typical_volume": 0,
        "recent_order_count": 0,
    }
    values.update(overrides)
    return RiskInputs(**values)  # type: ignore[arg-type]


def score(inputs: RiskInputs, config: RiskConfig = DEFAULTS) -> int:
    return evaluate(inputs, config, "ACTIVE").score


def closing_sell(*, notional: str, equity: str = "10000") -> RiskInputs:
    """A sell of the whole position: the projected position is empty, so only the notional
    rule can score."""
    return order(
        side="SELL",
        quantity=1,
        position_quantity=1,
        price=D(notional),
        reference_price=D(notional),
        equity=D(equity),
    )


def test_a_small_calm_order_scores_nothing():
    result = evaluate(order(), DEFAULTS, "ACTIVE")
    assert (result.score, result.level, result.reasons) == (0, Level.LOW, ())


@pytest.mark.parametrize(
    ("notional", "points"),
    [
        ("500.00", 0),  # exactly 5 %
        ("500.01", 5),
        ("1000.00", 5),  # exactly 10 %
        ("1001.00", 15),  # 10.01 %
        ("2000.00", 15),
        ("2001.00", 25),
        ("3000.00", 25),
        ("3001.00", 30),
        ("9000.00", 30),
    ],
)
def test_notional_share_of_equity(notional, points):
    assert score(closing_sell(notional=notional)) == points


def test_notional_reason_reads_like_the_rule():
    result = evaluate(closing_sell(notional="12000.00", equity="50000"), DEFAULTS, "ACTIVE")
    assert result.reasons[0] == "Order notional $12,000.00 is 24.0 % of equity (> 20 %): +25"


def test_notional_with_no_equity_scores_the_top_band():
    assert score(closing_sell(notional="10.00", equity="0")) == 30


@pytest.mark.parametrize(
    ("equity", "held", "points"),
    [
        ("100000", 199, 0),  # 200 shares after the buy: exactly 20 %
        ("99950", 199, 10),  # 20.01 %
        ("100000", 299, 10),  # exactly 30 %
        ("100000", 300, 20),
        ("100000", 399, 20),  # exactly 40 %
        ("100000", 400, 25),
    ],
)
def test_projected_position_share_of_equity(equity, held, points):
    inputs = order(quantity=1, position_quantity=held, equity=D(equity))
    assert score(inputs) == points


def test_a_sell_shrinks_the_projected_position():
    # 500 held, 200 sold: 300 shares at 100 are 30 % of equity after the order (> 20 %: +10),
    # where a buy of the same size would project 70 % (+25). Either's notional is 20 % (+15).
    sell = evaluate(order(side="SELL", quantity=200, position_quantity=500), DEFAULTS, "ACTIVE")
    assert sell.score == 15 + 10
    assert any("Projected ACME position $30,000.00 would be 30.0 %" in r for r in sell.reasons)
    buy = evaluate(order(side="BUY", quantity=200, position_quantity=500), DEFAULTS, "ACTIVE")
    assert buy.score == 15 + 25


@pytest.mark.parametrize(
    ("volatility", "points"),
    [
        ("0.20", 0),
        ("0.2001", 5),
        ("0.30", 5),
        ("0.3001", 10),
        ("0.50", 10),
        ("0.5001", 15),
        ("1.20", 15),
    ],
)
def test_volatility(volatility, points):
    assert score(order(symbol_volatility=D(volatility))) == points


@pytest.mark.parametrize(
    ("quantity", "depth", "points"),
    [
        (4, 100, 0),  # 0.4 rounds down
        (5, 100, 1),  # 0.5 rounds half up
        (50, 100, 5),
        (100, 100, 10),
        (300, 100, 10),  # capped
        (1, 0, 10),  # nothing visible on the other side
    ],
)
def test_quantity_against_visible_depth(quantity, depth, points):
    inputs = order(
        side="SELL",
        quantity=quantity,
        position_quantity=quantity,
        price=D("1.00"),
        reference_price=D("1.00"),
        visible_depth=depth,
    )
    assert score(inputs) == points


@pytest.mark.parametrize(("count", "points"), [(0, 0), (20, 0), (21, 10), (500, 10)])
def test_recent_orders(count, points):
    assert score(order(recent_order_count=count)) == points


def test_recent_orders_at_the_counting_limit_say_or_more():
    result = evaluate(order(recent_order_count=RECENT_ORDERS_COUNTED_UP_TO), DEFAULTS, "ACTIVE")
    assert "1,000 or more orders in the last minute (> 20): +10" in result.reasons
    result = evaluate(order(recent_order_count=999), DEFAULTS, "ACTIVE")
    assert "999 orders in the last minute (> 20): +10" in result.reasons


@pytest.mark.parametrize(
    ("quantity", "typical", "points"),
    [(500, 100, 0), (501, 100, 10), (10_000, 0, 0)],  # typical volume 0: unknown, not scored
)
def test_fat_finger_against_typical_volume(quantity, typical, points):
    inputs = order(
        side="SELL",
        quantity=quantity,
        position_quantity=quantity,
        price=D("0.01"),
        reference_price=D("0.01"),
        typical_volume=typical,
    )
    assert score(inputs) == points


@pytest.mark.parametrize(
    ("price", "points"),
    [("105.00", 0), ("105.01", 10), ("95.00", 0), ("94.99", 10)],
)
def test_price_far_from_reference(price, points):
    inputs = order(quantity=1, price=D(price), reference_price=D("100.00"))
    assert score(inputs) == points


def test_price_deviation_reason():
    result = evaluate(order(quantity=1, price=D("110.00")), DEFAULTS, "ACTIVE")
    assert result.reasons == ("Price $110.00 is 10.0 % from the reference $100.00 (> 5 %): +10",)


@pytest.mark.parametrize(
    ("total", "level"),
    [
        (0, Level.LOW),
        (29, Level.LOW),
        (30, Level.MEDIUM),
        (49, Level.MEDIUM),
        (50, Level.HIGH),
        (79, Level.HIGH),
        (80, Level.CRITICAL),
        (100, Level.CRITICAL),
    ],
)
def test_level_boundaries(total, level):
    assert level_for(total, DEFAULTS) is level


def test_scores_add_up_and_pick_the_level():
    # Volatility 55 % (+15) and 21 recent orders (+10) and a price 6 % off (+10): 35, MEDIUM.
    inputs = order(quantity=1, symbol_volatility=D("0.55"), recent_order_count=21, price=D("106"))
    result = evaluate(inputs, DEFAULTS, "ACTIVE")
    assert (result.score, result.level, len(result.reasons)) == (35, Level.MEDIUM, 3)


def test_score_is_clamped_to_100():
    inputs = order(
        quantity=10_000,
        price=D("80.00"),  # 800,000 notional: +30; projected +25; 20 % from reference: +10
        symbol_volatility=D("0.9"),  # +15
        visible_depth=0,  # +10
        recent_order_count=50,  # +10
        typical_volume=10,  # +10
    )
    result = evaluate(inputs, DEFAULTS, "ACTIVE")
    assert (result.score, result.level) == (100, Level.CRITICAL)
    assert len(result.reasons) == 8  # seven rules and the large-order floor


def test_notional_over_10000_is_at_least_high():
    # 1 % of a 1,000,000 account scores nothing, but over 10,000 USD it needs approval.
    at_limit = order(quantity=100, equity=D("1000000"))  # exactly 10,000.00
    assert evaluate(at_limit, DEFAULTS, "ACTIVE").level is Level.LOW
    over = evaluate(order(quantity=100, price=D("100.01"), equity=D("1000000")), DEFAULTS, "ACTIVE")
    assert (over.score, over.level) == (0, Level.HIGH)
    assert over.reasons == (
        "Order notional $10,001.00 is over $10,000.00: at least HIGH (needs approval)",
    )


def test_the_large_order_floor_never_lowers_a_critical_level():
    # 50 % of equity (+30), projected 90 % (+25), volatility 90 % (+15), 21 orders (+10).
    inputs = order(
        quantity=500, position_quantity=400, symbol_volatility=D("0.9"), recent_order_count=21
    )
    result = evaluate(inputs, DEFAULTS, "ACTIVE")
    assert result.score == 80
    assert result.level is Level.CRITICAL


def test_halted_rejects_everything_even_a_reducing_sell():
    sell = order(side="SELL", quantity=5, position_quantity=10)
    result = evaluate(sell, DEFAULTS, "HALTED")
    assert result.level is Level.CRITICAL
    assert result.reasons[0] == "Trading is halted"
    assert result.score == 0  # the score stays the rules' sum; the state sets the level


def test_a_kill_switch_refusal_gives_its_own_reason_alone():
    # 50 % of equity, volatile, many recent orders: several score lines, none of them the cause.
    busy = order(quantity=500, symbol_volatility=D("0.9"), recent_order_count=21)
    assert len(evaluate(busy, DEFAULTS, "ACTIVE").reasons) > 1
    halted = evaluate(busy, DEFAULTS, "HALTED")
    assert halted.reasons == ("Trading is halted",)
    assert halted.score == evaluate(busy, DEFAULTS, "ACTIVE").score
    reducing = evaluate(busy, DEFAULTS, "REDUCING")
    assert reducing.reasons == (
        "Trading is reduce-only: only sells of shares already held are accepted",
    )


def test_reducing_lets_risk_reducing_sells_through_with_normal_scoring():
    sell = order(side="SELL", quantity=10, position_quantity=10)
    assert evaluate(sell, DEFAULTS, "REDUCING").level is Level.LOW


@pytest.mark.parametrize(
    "inputs",
    [
        order(side="BUY", quantity=1, position_quantity=10),
        order(side="SELL", quantity=11, position_quantity=10),  # would go short
    ],
    ids=["buy", "sell-more-than-held"],
)
def test_reducing_rejects_anything_that_adds_exposure(inputs):
    result = evaluate(inputs, DEFAULTS, "REDUCING")
    assert result.level is Level.CRITICAL
    assert "reduce-only" in result.reasons[0]


def test_unknown_trading_state_is_refused():
    with pytest.raises(ValueError, match="OPEN"):
        evaluate(order(), DEFAULTS, "OPEN")


def test_config_overrides_thresholds_points_and_levels():
    config = replace(
        DEFAULTS,
        volatility_bands=(Band(D("0.05"), 40),),
        high_at=40,
        critical_at=90,
        approval_notional_above=D("50000"),
    )
    result = evaluate(order(symbol_volatility=D("0.10")), config, "ACTIVE")
    assert (result.score, result.level) == (40, Level.HIGH)
    # 20,000 notional is under the raised approval floor: no forced HIGH.
    big = order(quantity=200, equity=D("1000000"), symbol_volatility=D("0.01"))
    assert evaluate(big, config, "ACTIVE").level is Level.LOW
    assert evaluate(big, DEFAULTS, "ACTIVE").level is Level.HIGH


def test_a_rule_can_be_switched_off():
    config = replace(DEFAULTS, depth_max_points=0, recent_orders_points=0)
    assert score(order(visible_depth=0, recent_order_count=99), config) == 0


def test_config_round_trips_through_json():
    config = replace(DEFAULTS, fat_finger_multiple=D("7.5"), medium_at=25)
    assert RiskConfig.from_json(config.to_json()) == config
    assert RiskConfig.from_dict({}) == DEFAULTS


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"medium_at": 50}, "medium_at < high_at"),
        ({"critical_at": 101}, "critical_at <= 100"),
        ({"notional_bands": [{"above": "0.1", "points": -1}]}, "between 0 and 100"),
        ({"notional_bands": [{"above": "-0.1", "points": 5}]}, "ratio of 0 or more"),
        ({"volatility_bands": [{"above": "abc", "points": 5}]}, "not a decimal"),
        (
            {"position_bands": [{"above": "0.2", "points": 5}, {"above": "0.20", "points": 9}]},
            "two bands",
        ),
        ({"fat_finger_multiple": "0"}, "more than 0"),
        ({"approval_notional_above": "NaN"}, "finite"),
        ({"recent_orders_above": 2.5}, "whole number"),
        ({"recent_orders_above": RECENT_ORDERS_COUNTED_UP_TO}, "below 1000"),
        ({"recent_orders_above": -1}, "0 or more"),
        ({"max_loss": 3}, "unknown risk settings: max_loss"),
    ],
)
def test_invalid_config_is_refused(change, message):
    with pytest.raises(InvalidRiskConfig, match=message):
        RiskConfig.from_dict({**DEFAULTS.to_dict(), **change})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"side": "HOLD"}, "side"),
        ({"quantity": 0}, "quantity"),
        ({"price": D("0")}, "price"),
        ({"order_type": "ICEBERG"}, "order_type"),
        ({"visible_depth": -1}, "visible_depth"),
    ],
)
def test_invalid_inputs_are_refused(change, message):
    with pytest.raises(InvalidRiskInput, match=message):
        order(**change)
