"""The simulated market's arithmetic: the random walk and the market maker's quote ladder.

Pure functions of their inputs (and a seeded random generator), so the simulator is
reproducible and tests can drive it tick by tick.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
TRADING_SECONDS_PER_YEAR = 252 * 6.5 * 3600

# Reference data: name, starting reference price (USD), annualised volatility.
SYMBOLS: dict[str, tuple[str, str, str]] = {
    "AAPL": ("Apple Inc.", "229.87", "0.2500"),
    "GOOGL": ("Alphabet Inc. Class A", "176.42", "0.2800"),
    "MSFT": ("Microsoft Corporation", "418.35", "0.2200"),
    "AMZN": ("Amazon.com, Inc.", "197.12", "0.3000"),
    "TSLA": ("Tesla, Inc.", "251.44", "0.5500"),
    "NVDA": ("NVIDIA Corporation", "131.26", "0.5000"),
    "META": ("Meta Platforms, Inc.", "563.09", "0.3500"),
    "JNJ": ("Johnson & Johnson", "154.78", "0.1500"),
    "PG": ("The Procter & Gamble Company", "166.21", "0.1400"),
    "KO": ("The Coca-Cola Company", "62.47", "0.1300"),
}


def to_tick(
    value: Decimal | float, tick: Decimal = CENT, rounding: str = ROUND_HALF_EVEN
) -> Decimal:
    return (Decimal(str(value)) / tick).quantize(Decimal(1), rounding=rounding) * tick


def collar_bounds(reference: Decimal, pct: int) -> tuple[Decimal, Decimal]:
    """Lowest and highest price an order may name: `pct` % either side of the reference."""
    band = Decimal(pct) / 100
    low = to_tick(reference * (1 - band), rounding=ROUND_CEILING)
    high = to_tick(reference * (1 + band), rounding=ROUND_FLOOR)
    return low, high


def next_reference(
    price: Decimal, *, volatility: Decimal, dt_years: float, rng: random.Random
) -> Decimal:
    """One step of driftless geometric Brownian motion, on the cent grid, never below a cent."""
    sigma = float(volatility)
    shock = rng.gauss(0.0, 1.0)
    factor = math.exp(-0.5 * sigma * sigma * dt_years + sigma * math.sqrt(dt_years) * shock)
    return max(CENT, to_tick(float(price) * factor))


@dataclass(frozen=True)
class QuoteLevel:
    side: str
    level: int
    price: Decimal
    quantity: int


def quote_ladder(reference: Decimal, *, levels: int, rng: random.Random) -> list[QuoteLevel]:
    """Bids below and asks above the reference: half a basis point of spread per level
    (at least a cent), sizes in round lots of 100 to 1,000 shares."""
    step = max(CENT, to_tick(reference * Decimal("0.0005"), rounding=ROUND_CEILING))
    ladder: list[QuoteLevel] = []
    for level in range(levels):
        offset = step * (level + 1)
        for side, price in (("BUY", reference - offset), ("SELL", reference + offset)):
            if price < CENT:
                continue
            ladder.append(QuoteLevel(side, level, price, 100 * rng.randint(1, 10)))
    return ladder


@dataclass(frozen=True)
class Print:
    """One trade of the simulated crowd: it crosses the spread, so a buyer pays the ask."""

    side: str  # the aggressor's side
    price: Decimal
    quantity: int


# How many trades the crowd makes in one symbol per tick (weights), and their sizes: mostly
# small tickets with the occasional block, as on a lit exchange's tape.
CROWD_TRADES_PER_TICK = ((0, 4), (1, 3), (2, 2), (3, 1))
CROWD_SIZES = ((1, 8), (5, 10), (10, 14), (25, 12), (50, 10), (100, 16), (200, 8), (500, 4))


def crowd_prints(*, bid: Decimal | None, ask: Decimal | None, rng: random.Random) -> list[Print]:
    """The crowd's trades against the market maker's best quotes this tick: buyers lift the
    ask, sellers hit the bid. None when there is no two-sided market (a halt)."""
    if bid is None or ask is None:
        return []
    counts, weights = zip(*CROWD_TRADES_PER_TICK, strict=True)
    sizes, size_weights = zip(*CROWD_SIZES, strict=True)
    prints = []
    for _ in range(rng.choices(counts, weights)[0]):
        side = "BUY" if rng.random() < 0.5 else "SELL"
        quantity = rng.choices(sizes, size_weights)[0]
        prints.append(Print(side, ask if side == "BUY" else bid, quantity))
    return prints
