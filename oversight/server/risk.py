"""Pre-trade risk scoring: pure rules over Decimal inputs, no I/O.

The score is the sum of the rules below, clamped to 0-100 (defaults from ARCHITECTURE.md):
order notional / equity, projected position value / equity, the symbol's annualised volatility,
quantity against the visible book, the trader's order rate, a fat-finger check against the
typical volume and the price's distance from the reference. The level follows from the score,
is at least HIGH for a large order, and becomes CRITICAL when the service-wide trading state
forbids the order.

The score always stays the honest sum of the rules; overrides only raise the level, and each
override adds its own reason, so an auditor can tell the two apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

MAX_SCORE = 100
# The order path counts the trader's recent orders only this far (counting every one of a
# script's thousands a minute cost the web more CPU than the rest of the facts, growing with
# each order): the rule's threshold stays below it, so its verdict is exact.
RECENT_ORDERS_COUNTED_UP_TO = 1000


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Level(StrEnum):
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.LOW: 0, Level.MEDIUM: 1, Level.HIGH: 2, Level.CRITICAL: 3}


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"  # only orders that shrink an existing position
    HALTED = "HALTED"


ORDER_TYPES = frozenset({"MARKET", "LIMIT", "STOP", "STOP_LIMIT"})


class InvalidRiskInput(ValueError):
    """The order facts cannot be scored (negative quantity, unknown side, ...)."""


class InvalidRiskConfig(ValueError):
    """A risk configuration that would score nonsense (negative points, unordered levels)."""


@dataclass(frozen=True)
class Band:
    """`points` for a ratio strictly above `above` (0.30 is 30 %)."""

    above: Decimal
    points: int


def _bands(*pairs: tuple[str, int]) -> tuple[Band, ...]:
    return tuple(Band(Decimal(above), points) for above, points in pairs)


@dataclass(frozen=True)
class RiskConfig:
    notional_bands: tuple[Band, ...] = _bands(("0.30", 30), ("0.20", 25), ("0.10", 15), ("0.05", 5))
    position_bands: tuple[Band, ...] = _bands(("0.40", 25), ("0.30", 20), ("0.20", 10))
    volatility_bands: tuple[Band, ...] = _bands(("0.50", 15), ("0.30", 10), ("0.20", 5))
    depth_max_points: int = 10
    recent_orders_above: int = 20
    recent_orders_points: int = 10
    fat_finger_multiple: Decimal = Decimal(5)
    fat_finger_points: int = 10
    price_deviation_above: Decimal = Decimal("0.05")
    price_deviation_points: int = 10
    approval_notional_above: Decimal = Decimal(10_000)
    medium_at: int = 30
    high_at: int = 50
    critical_at: int = 80

    def validate(self) -> RiskConfig:
        """Return self, or raise InvalidRiskConfig naming the first bad field."""
        for name in ("notional_bands", "position_bands", "volatility_bands"):
            bands: tuple[Band, ...] = getattr(self, name)
            seen: set[Decimal] = set()
            for band in bands:
                _check_ratio(f"{name}.above", band.above)
                _check_points(f"{name}.points", band.points)
                if band.above in seen:
                    raise InvalidRiskConfig(f"{name}: two bands above {band.above}")
                seen.add(band.above)
        for name in (
            "depth_max_points",
            "recent_orders_points",
            "fat_finger_points",
            "price_deviation_points",
        ):
            _check_points(name, getattr(self, name))
        if not 0 <= self.recent_orders_above < RECENT_ORDERS_COUNTED_UP_TO:
            raise InvalidRiskConfig(
                f"recent_orders_above must be 0 or more and below {RECENT_ORDERS_COUNTED_UP_TO}"
            )
        if not self.fat_finger_multiple.is_finite() or self.fat_finger_multiple <= 0:
            raise InvalidRiskConfig("fat_finger_multiple must be more than 0")
        _check_ratio("price_deviation_above", self.price_deviation_above)
        if not self.approval_notional_above.is_finite() or self.approval_notional_above <= 0:
            raise InvalidRiskConfig("approval_notional_above must be more than 0")
        if not 0 < self.medium_at < self.high_at < self.critical_at <= MAX_SCORE:
            raise InvalidRiskConfig(
                "levels must satisfy 0 < medium_at < high_at < critical_at <= 100"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        def bands(values: tuple[Band, ...]) -> list[dict[str, Any]]:
            return [{"above": str(band.above), "points": band.points} for band in values]

        return {
            "notional_bands": bands(self.notional_bands),
            "position_bands": bands(self.position_bands),
            "volatility_bands": bands(self.volatility_bands),
            "depth_max_points": self.depth_max_points,
            "recent_orders_above": self.recent_orders_above,
            "recent_orders_points": self.recent_orders_points,
            "fat_finger_multiple": str(self.fat_finger_multiple),
            "fat_finger_points": self.fat_finger_points,
            "price_deviation_above": str(self.price_deviation_above),
            "price_deviation_points": self.price_deviation_points,
            "approval_notional_above": str(self.approval_notional_above),
            "medium_at": self.medium_at,
            "high_at": self.high_at,
            "critical_at": self.critical_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskConfig:
        """Build and validate a config; missing keys keep their defaults."""
        defaults = cls()
        unknown = set(data) - {item.name for item in fields(cls)}
        if unknown:
            raise InvalidRiskConfig(f"unknown risk settings: {', '.join(sorted(unknown))}")
        values = {
            item.name: _parse_field(item.name, data[item.name], getattr(defaults, item.name))
            for item in fields(cls)
            if item.name in data
        }
        return cls(**values).validate()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RiskConfig:
        return cls.from_dict(json.loads(text))


def _config_decimal(name: str, value: object) -> Decimal:
    """A finite Decimal from a decimal string (or int); anything else is InvalidRiskConfig."""
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidRiskConfig(f"{name}: {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise InvalidRiskConfig(f"{name}: {value!r} is not a finite number")
    return number


def _parse_field(name: str, value: object, default: object) -> Any:
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise InvalidRiskConfig(f"{name} must be a list of bands")
        bands = []
        for item in value:
            if not isinstance(item, dict) or set(item) != {"above", "points"}:
                raise InvalidRiskConfig(f"{name}: each band needs exactly 'above' and 'points'")
            bands.append(
                Band(
                    _config_decimal(f"{name}.above", item["above"]), _integer(name, item["points"])
                )
            )
        return tuple(bands)
    if isinstance(default, Decimal):
        return _config_decimal(name, value)
    return _integer(name, value)


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRiskConfig(f"{name} must be a whole number, got {value!r}")
    return value


def _check_ratio(name: str, value: Decimal) -> None:
    if not value.is_finite() or value < 0:
        raise InvalidRiskConfig(f"{name} must be a ratio of 0 or more, got {value}")


def _check_points(name: str, value: int) -> None:
    if not 0 <= value <= MAX_SCORE:
        raise InvalidRiskConfig(f"{name} must be between 0 and 100, got {value}")


@dataclass(frozen=True)
class RiskInputs:
    """What the trading side knows about an order when it asks for a score."""

    symbol: str
    side: Side
    quantity: int
    price: Decimal  # estimated execution price
    reference_price: Decimal
    equity: Decimal
    cash: Decimal
    position_quantity: int  # shares held before the order
    symbol_volatility: Decimal  # annualised: 0.25 is 25 %
    visible_depth: int  # opposite-side quantity visible in the book
    typical_volume: int = 0  # 0: unknown
    # The trader's orders in the last minute, counted up to RECENT_ORDERS_COUNTED_UP_TO.
    recent_order_count: int = 0
    order_type: str = "MARKET"

    def __post_init__(self) -> None:
        try:
            # Frozen: the only way to normalise "BUY" into Side.BUY after construction.
            object.__setattr__(self, "side", Side(self.side))
        except ValueError:
            raise InvalidRiskInput(f"side must be BUY or SELL, got {self.side!r}") from None
        if not self.symbol:
            raise InvalidRiskInput("symbol is required")
        if self.order_type not in ORDER_TYPES:
            raise InvalidRiskInput(f"order_type {self.order_type!r} is not one of {_names()}")
        if self.quantity <= 0:
            raise InvalidRiskInput("quantity must be more than 0")
        for name in ("price", "reference_price"):
            value: Decimal = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise InvalidRiskInput(f"{name} must be more than 0")
        for name in ("equity", "cash", "symbol_volatility"):
            if not getattr(self, name).is_finite():
                raise InvalidRiskInput(f"{name} must be a finite number")
        if self.symbol_volatility < 0:
            raise InvalidRiskInput("symbol_volatility must be 0 or more")
        for name in ("position_quantity", "visible_depth", "typical_volume", "recent_order_count"):
            if getattr(self, name) < 0:
                raise InvalidRiskInput(f"{name} must be 0 or more")

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    @property
    def reduces_exposure(self) -> bool:
        """A sell of shares already held: the only kind of order REDUCING lets through."""
        return self.side is Side.SELL and self.quantity <= self.position_quantity


def _names() -> str:
    return ", ".join(sorted(ORDER_TYPES))


@dataclass(frozen=True)
class RiskResult:
    score: int
    level: Level
    reasons: tuple[str, ...]


def evaluate(inputs: RiskInputs, config: RiskConfig, state: str) -> RiskResult:
    trading_state = TradingState(state)
    scored = [
        _notional_rule(inputs, config),
        _position_rule(inputs, config),
        _volatility_rule(inputs, config),
        _depth_rule(inputs, config),
        _recent_orders_rule(inputs, config),
        _fat_finger_rule(inputs, config),
        _price_deviation_rule(inputs, config),
    ]
    hits = [hit for hit in scored if hit is not None and hit[0] > 0]
    score = min(MAX_SCORE, sum(points for points, _ in hits))
    reasons = [reason for _, reason in hits]
    level = level_for(score, config)

    if inputs.notional > config.approval_notional_above:
        reasons.append(
            f"Order notional {_money(inputs.notional)} is over "
            f"{_money(config.approval_notional_above)}: at least HIGH (needs approval)"
        )
        level = _at_least(level, Level.HIGH)

    # A kill switch refuses the order whatever it scores: the refusal says why, alone (the
    # score lines would read as if a smaller order could pass).
    if trading_state is TradingState.HALTED:
        reasons = ["Trading is halted"]
        level = Level.CRITICAL
    elif trading_state is TradingState.REDUCING and not inputs.reduces_exposure:
        reasons = ["Trading is reduce-only: only sells of shares already held are accepted"]
        level = Level.CRITICAL
    return RiskResult(score=score, level=level, reasons=tuple(reasons))


def level_for(score: int, config: RiskConfig) -> Level:
    if score >= config.critical_at:
        return Level.CRITICAL
    if score >= config.high_at:
        return Level.HIGH
    if score >= config.medium_at:
        return Level.MEDIUM
    return Level.LOW


def _at_least(level: Level, floor: Level) -> Level:
    return level if level.rank >= floor.rank else floor


Hit = tuple[int, str] | None


def _band(value: Decimal, bands: tuple[Band, ...]) -> Band | None:
    """The band with the highest threshold that value is strictly above."""
    matching = [band for band in bands if value > band.above]
    return max(matching, key=lambda band: band.above) if matching else None


def _top_band(bands: tuple[Band, ...]) -> Band | None:
    return max(bands, key=lambda band: band.above) if bands else None


def _notional_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    notional = inputs.notional
    if inputs.equity <= 0:
        band = _top_band(config.notional_bands)
        if band is None:
            return None
        return band.points, (
            f"Order notional {_money(notional)} against no positive equity: +{band.points}"
        )
    ratio = notional / inputs.equity
    band = _band(ratio, config.notional_bands)
    if band is None:
        return None
    return band.points, (
        f"Order notional {_money(notional)} is {_percent(ratio)} of equity "
        f"(> {_threshold(band.above)}): +{band.points}"
    )


def _position_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    if inputs.side is Side.BUY:
        projected = inputs.position_quantity + inputs.quantity
    else:
        projected = max(inputs.position_quantity - inputs.quantity, 0)
    value = inputs.price * projected
    if value <= 0:
        return None
    if inputs.equity <= 0:
        band = _top_band(config.position_bands)
        if band is None:
            return None
        return band.points, (
            f"Projected {inputs.symbol} position {_money(value)} against no positive equity: "
            f"+{band.points}"
        )
    ratio = value / inputs.equity
    band = _band(ratio, config.position_bands)
    if band is None:
        return None
    return band.points, (
        f"Projected {inputs.symbol} position {_money(value)} would be {_percent(ratio)} of "
        f"equity (> {_threshold(band.above)}): +{band.points}"
    )


def _volatility_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    band = _band(inputs.symbol_volatility, config.volatility_bands)
    if band is None:
        return None
    return band.points, (
        f"{inputs.symbol} annualised volatility {_percent(inputs.symbol_volatility)} "
        f"(> {_threshold(band.above)}): +{band.points}"
    )


def _depth_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    maximum = config.depth_max_points
    if inputs.visible_depth == 0:
        return maximum, f"No visible depth on the other side of the book: +{maximum}"
    exact = Decimal(maximum) * inputs.quantity / inputs.visible_depth
    points = min(maximum, int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    ratio = Decimal(inputs.quantity) / inputs.visible_depth
    return points, (
        f"Quantity {inputs.quantity:,} against {inputs.visible_depth:,} visible on the book "
        f"({_percent(ratio)}): +{points}"
    )


def _recent_orders_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    if inputs.recent_order_count <= config.recent_orders_above:
        return None
    points = config.recent_orders_points
    count = inputs.recent_order_count
    more = " or more" if count >= RECENT_ORDERS_COUNTED_UP_TO else ""
    return points, (
        f"{count:,}{more} orders in the last minute (> {config.recent_orders_above}): +{points}"
    )


def _fat_finger_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    if inputs.typical_volume <= 0:
        return None
    if inputs.quantity <= config.fat_finger_multiple * inputs.typical_volume:
        return None
    points = config.fat_finger_points
    return points, (
        f"Quantity {inputs.quantity:,} is over {_plain(config.fat_finger_multiple)}x the "
        f"typical volume of {inputs.typical_volume:,} (fat finger?): +{points}"
    )


def _price_deviation_rule(inputs: RiskInputs, config: RiskConfig) -> Hit:
    deviation = abs(inputs.price - inputs.reference_price) / inputs.reference_price
    if deviation <= config.price_deviation_above:
        return None
    points = config.price_deviation_points
    return points, (
        f"Price {_money(inputs.price)} is {_percent(deviation)} from the reference "
        f"{_money(inputs.reference_price)} (> {_threshold(config.price_deviation_above)}): "
        f"+{points}"
    )


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def _percent(ratio: Decimal) -> str:
    return f"{ratio * 100:,.1f} %"


def _threshold(ratio: Decimal) -> str:
    return f"{_plain(ratio * 100)} %"


def _plain(value: Decimal) -> str:
    """20.00 -> "20", 5.50 -> "5.5" (normalize alone would write 2E+1)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
