"""What the oversight service scores an order on (EvaluateRiskRequest's fields), read without
any lock: the order path scores first and re-verifies under the lock what could have moved.

When the account figures did move (the trader's other orders filled meanwhile), the order's
inputs are scored again on the spot with the service's own rules (`oversight/server/risk.py`,
the Django-free module the service scores with) and its current configuration: if that gives
the service's score and level both for the inputs it scored and for the ones the order meets
now, its verdict stands; otherwise the order asks the service again.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.db.models import DecimalField, F, IntegerField, QuerySet, Subquery, Sum
from django.utils import timezone

from oversight import client as oversight
from oversight.server import risk as rules
from portfolio.models import Account, Position
from portfolio.selectors import positions_value, positions_value_query
from trades.models import Candle, Order, Quote, Side, Symbol, resting_filter
from trading_demo.prepared import PreparedQuery

RECENT_ORDERS_WINDOW = timedelta(minutes=1)
TYPICAL_VOLUME_CANDLES = 60  # the last hour of one-minute candles that traded
TYPICAL_VOLUME_MIN_CANDLES = 10  # fewer: the typical volume is unknown, the rule is skipped
# An hour's mean of one-minute volumes barely moves in a few seconds: read it at most this often.
TYPICAL_VOLUME_TTL_SECONDS = 5.0
# How long this process trusts the service's rules it read: the check below only decides
# whether to ask the service again, it never replaces the service's score.
RULES_TTL_SECONDS = 2.0
_INPUT_FIELDS = frozenset(field.name for field in fields(rules.RiskInputs))


def _total(rows: QuerySet[Any], total: Any, *, by: str = "symbol_id") -> QuerySet[Any, Any]:
    """One row, one column: `total` over `rows` (which share one `by`; no row when none)."""
    return rows.values(by).annotate(total=total).values_list("total").order_by()


class CountOf(Subquery):
    """The number of rows a (sliced) queryset gives, as one column."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def _facts_query(side: str) -> PreparedQuery:
    """What the order book and the trader's account add to an order's facts, in one statement
    (four before: a statement costs more to run through the driver than these sums do):
    the quoted and resting depth on `side`, the trader's orders since `since` (up to
    RECENT_ORDERS_COUNTED_UP_TO) and what the account's positions are worth."""

    def build(
        symbol_id: str, user_id: UUID, account_id: UUID, since: datetime
    ) -> QuerySet[Any, Any]:
        quoted = _total(Quote.objects.filter(symbol_id=symbol_id, side=side), Sum("quantity"))
        resting = _total(
            Order.objects.filter(resting_filter(), symbol_id=symbol_id, side=side),
            Sum(F("quantity") - F("filled_quantity")),
        )
        recent = Order.objects.filter(user_id=user_id, created_at__gte=since).order_by()
        recent_ids = recent.values("id")[: rules.RECENT_ORDERS_COUNTED_UP_TO]
        positions = positions_value_query(account_id)
        return (
            Symbol.objects.filter(pk=symbol_id)
            .annotate(
                quoted_depth=Subquery(quoted, output_field=IntegerField()),
                resting_depth=Subquery(resting, output_field=IntegerField()),
                recent_orders=CountOf(recent_ids),
                positions_worth=Subquery(positions, output_field=DecimalField()),
            )
            .values_list("quoted_depth", "resting_depth", "recent_orders", "positions_worth")
            .order_by()
        )

    return PreparedQuery(build, symbol_id=str, user_id=UUID, account_id=UUID, since=datetime)


# Read for every order (trading_demo/prepared.py says why it is compiled once).
_FACTS = {side: _facts_query(side) for side in (Side.BUY, Side.SELL)}


@dataclass(frozen=True)
class Holdings:
    """The account figures a score depends on; the order is placed only while they hold."""

    cash: Decimal
    reserved_cash: Decimal
    position_quantity: int
    position_reserved: int

    @classmethod
    def of(cls, account: Account, position: Position | None) -> Holdings:
        return cls(
            cash=account.cash,
            reserved_cash=account.reserved_cash,
            position_quantity=position.quantity if position else 0,
            position_reserved=position.reserved_quantity if position else 0,
        )


def risk_facts(
    *,
    order_id: UUID | str,
    user_id: UUID,
    symbol: Symbol,
    side: str,
    order_type: str,
    quantity: int,
    price: Decimal | None,
    stop_price: Decimal | None,
    account: Account,
    holdings: Holdings,
) -> dict[str, Any]:
    """The EvaluateRiskRequest fields for an order (keyword arguments of `evaluate_risk`)."""
    opposite = Side.SELL if side == Side.BUY else Side.BUY
    quoted, resting, recent, positions = _FACTS[opposite].rows(
        symbol_id=symbol.pk,
        user_id=user_id,
        account_id=account.pk,
        since=timezone.now() - RECENT_ORDERS_WINDOW,
    )[0]
    return {
        "request_id": order_id,
        "user_id": user_id,
        "symbol": symbol.pk,
        "side": side,
        "order_type": order_type,
        "quantity": quantity,
        "price": price or stop_price or symbol.reference_price,
        "reference_price": symbol.reference_price,
        "equity": holdings.cash + positions_value(positions),
        "cash": holdings.cash,
        "position_quantity": holdings.position_quantity,
        "symbol_volatility": symbol.volatility,
        "visible_depth": (quoted or 0) + (resting or 0),
        "typical_volume": typical_volume(symbol=symbol),
        "recent_order_count": recent or 0,
    }


_volume_cache: dict[str, tuple[float, int]] = {}
_volume_lock = threading.Lock()


def typical_volume(*, symbol: Symbol) -> int:
    """The mean volume of the symbol's last hour of one-minute candles that traded; 0 (unknown)
    until there are enough of them. Read at most every TYPICAL_VOLUME_TTL_SECONDS per process."""
    now = time.monotonic()
    with _volume_lock:
        cached = _volume_cache.get(symbol.pk)
    if cached is not None and now - cached[0] < TYPICAL_VOLUME_TTL_SECONDS:
        return cached[1]
    volumes = list(
        Candle.objects.filter(symbol=symbol, volume__gt=0)
        .order_by("-start")
        .values_list("volume", flat=True)[:TYPICAL_VOLUME_CANDLES]
    )
    value = 0 if len(volumes) < TYPICAL_VOLUME_MIN_CANDLES else sum(volumes) // len(volumes)
    with _volume_lock:
        _volume_cache[symbol.pk] = (now, value)
    return value


@dataclass(frozen=True)
class Rules:
    config: rules.RiskConfig
    trading_state: str


_rules_cache: tuple[float, Rules] | None = None
_rules_lock = threading.Lock()


def risk_rules() -> Rules:
    """The oversight service's current rules and trading state, read at most every
    RULES_TTL_SECONDS per process (a remote call: never under a lock)."""
    global _rules_cache
    now = time.monotonic()
    with _rules_lock:
        cached = _rules_cache
    if cached is not None and now - cached[0] < RULES_TTL_SECONDS:
        return cached[1]
    current = oversight.get_risk_config()
    config = rules.RiskConfig.from_dict(json.loads(json.dumps(asdict(current.config), default=str)))
    fresh = Rules(config=config, trading_state=current.trading_state)
    with _rules_lock:
        _rules_cache = (now, fresh)
    return fresh


def score_here(facts: dict[str, Any], known_rules: Rules) -> rules.RiskResult:
    """The service's rules on these facts (`risk_facts`' keys), computed in this process with
    the module the service scores with: to check a verdict or to preview one, never to replace
    the service's score of an order."""
    inputs = rules.RiskInputs(**{k: v for k, v in facts.items() if k in _INPUT_FIELDS})
    return rules.evaluate(inputs, known_rules.config, known_rules.trading_state)


def verdict_holds(
    *,
    facts: dict[str, Any],
    assessment: oversight.RiskAssessment,
    current: Holdings,
    equity: Decimal,
    known_rules: Rules,
) -> bool:
    """Would the service's rules give its score and level on the figures the order meets now?
    Only if they also reproduce them on the inputs it scored (else the rules read here are not
    the ones it used)."""
    now_facts = {
        **facts,
        "cash": current.cash,
        "equity": equity,
        "position_quantity": current.position_quantity,
    }
    for inputs in (facts, now_facts):
        result = score_here(inputs, known_rules)
        if (result.score, result.level.value) != (assessment.score, assessment.level.value):
            return False
    return True
