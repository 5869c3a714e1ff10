"""The in-memory order book behind order matching; no database involved."""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trades.engine import BookOrder, MatchResult, OrderBook, Side

_seq = itertools.count(1)


def order(
    id: Hashable,
    side: Side,
    price: str | None,
    quantity: int,
    owner: Hashable | None = None,
    seq: int | None = None,
) -> BookOrder:
    return BookOrder(
        id=id,
        owner=owner,
        side=side,
        price=None if price is None else Decimal(price),
        quantity=quantity,
        seq=next(_seq) if seq is None else seq,
    )


def book_of(*orders: BookOrder) -> OrderBook:
    book = OrderBook()
    for o in orders:
        book.add(o)
    return book


def traded(result: MatchResult) -> list[tuple[Hashable, Decimal, int]]:
    return [(f.maker_id, f.price, f.quantity) for f in result.fills]


def test_same_price_fills_the_earlier_order_first() -> None:
    book = book_of(
        order("late", "SELL", "10.00", 5, seq=2), order("early", "SELL", "10.00", 5, seq=1)
    )

    result = book.match(order("buy", "BUY", "10.00", 7))

    assert traded(result) == [("early", Decimal("10.00"), 5), ("late", Decimal("10.00"), 2)]
    late = book.get("late")
    assert late is not None and late.quantity == 3
    assert book.get("early") is None


def test_better_price_fills_before_earlier_time() -> None:
    book = book_of(
        order("old-bid", "BUY", "9.98", 5, seq=1), order("new-bid", "BUY", "9.99", 5, seq=2)
    )

    result = book.match(order("sell", "SELL", "9.90", 6))

    assert traded(result) == [("new-bid", Decimal("9.99"), 5), ("old-bid", Decimal("9.98"), 1)]


def test_partial_fill_leaves_the_rest_resting_and_reports_the_remainder() -> None:
    maker = order("ask", "SELL", "10.00", 10)
    book = book_of(maker)
    incoming = order("buy", "BUY", "10.00", 4)

    result = book.match(incoming)

    assert (result.filled, result.remaining, incoming.quantity) == (4, 0, 0)
    assert book.orders("SELL") == [maker]
    assert maker.quantity == 6
    assert book.depth("SELL") == [(Decimal("10.00"), 6)]


def test_incoming_remainder_is_left_for_the_caller_to_rest() -> None:
    book = book_of(order("ask", "SELL", "10.00", 3))
    incoming = order("buy", "BUY", "10.00", 10)

    result = book.match(incoming)

    assert (result.filled, result.remaining, incoming.quantity) == (3, 7, 7)
    assert len(book) == 0, "match never rests the incoming order itself"
    book.add(incoming)
    assert book.best_bid() == Decimal("10.00")


def test_market_order_walks_several_levels_at_maker_prices() -> None:
    book = book_of(
        order("a1", "SELL", "10.00", 2),
        order("a2", "SELL", "10.05", 3),
        order("a3", "SELL", "10.10", 4),
    )

    result = book.match(order("mkt", "BUY", None, 6))

    assert traded(result) == [
        ("a1", Decimal("10.00"), 2),
        ("a2", Decimal("10.05"), 3),
        ("a3", Decimal("10.10"), 1),
    ]
    assert book.best_ask() == Decimal("10.10")


def test_limit_buy_executes_at_the_lower_resting_price_and_stops_at_its_limit() -> None:
    book = book_of(order("cheap", "SELL", "9.50", 2), order("dear", "SELL", "10.50", 2))

    result = book.match(order("buy", "BUY", "10.00", 5))

    assert traded(result) == [("cheap", Decimal("9.50"), 2)]
    assert result.remaining == 3
    assert book.best_ask() == Decimal("10.50")


def test_self_trade_cancels_the_older_resting_order_and_keeps_matching() -> None:
    own = order("own-ask", "SELL", "10.00", 5, owner="alice")
    book = book_of(own, order("other-ask", "SELL", "10.00", 5, owner="bob"))

    result = book.match(order("buy", "BUY", "10.00", 4, owner="alice"))

    assert result.self_trade_cancels == [own]
    assert traded(result) == [("other-ask", Decimal("10.00"), 4)]
    assert book.get("own-ask") is None
    assert [f.maker_owner for f in result.fills] == ["bob"]


def test_market_maker_quotes_never_self_trade() -> None:
    book = book_of(order("quote", "SELL", "10.00", 5, owner=None))

    result = book.match(order("mm-buy", "BUY", "10.00", 5, owner=None))

    assert result.self_trade_cancels == []
    assert traded(result) == [("quote", Decimal("10.00"), 5)]


def test_fill_or_kill_without_enough_liquidity_changes_nothing() -> None:
    own = order("own-ask", "SELL", "10.00", 50, owner="alice")
    other = order("other-ask", "SELL", "10.00", 5, owner="bob")
    beyond = order("beyond-limit", "SELL", "10.50", 50, owner="bob")
    book = book_of(own, other, beyond)
    incoming = order("fok", "BUY", "10.00", 6, owner="alice")

    result = book.match(incoming, all_or_none=True)

    assert result == MatchResult(fills=[], filled=0, remaining=6, self_trade_cancels=[])
    assert incoming.quantity == 6
    assert book.orders("SELL") == [own, other, beyond]
    assert (own.quantity, other.quantity, beyond.quantity) == (50, 5, 50)


def test_fill_or_kill_with_enough_liquidity_fills_completely() -> None:
    book = book_of(order("a1", "SELL", "10.00", 5), order("a2", "SELL", "10.01", 5))

    result = book.match(order("fok", "BUY", "10.01", 8), all_or_none=True)

    assert (result.filled, result.remaining) == (8, 0)
    assert book.depth("SELL") == [(Decimal("10.01"), 2)]


def test_add_rejects_duplicates_empty_orders_and_market_orders() -> None:
    book = book_of(order("x", "BUY", "10.00", 1))

    with pytest.raises(ValueError, match="already in the book"):
        book.add(order("x", "SELL", "11.00", 1))
    with pytest.raises(ValueError, match="non-positive quantity"):
        book.add(order("empty", "BUY", "10.00", 0))
    with pytest.raises(ValueError, match="market orders cannot rest"):
        book.add(order("mkt", "BUY", None, 1))
    assert len(book) == 1


def test_remove_and_get() -> None:
    first = order("first", "BUY", "10.00", 1)
    middle = order("middle", "BUY", "10.00", 2)
    last = order("last", "BUY", "10.00", 3)
    book = book_of(first, middle, last)

    assert book.get("middle") is middle
    assert book.remove("middle") is middle
    assert book.get("middle") is None
    assert book.remove("middle") is None
    assert book.orders("BUY") == [first, last]
    assert book.depth("BUY") == [(Decimal("10.00"), 4)]
    assert len(book) == 2


def test_a_removed_order_can_rest_again_at_the_back_of_its_level() -> None:
    a, b, c = (order(name, "SELL", "10.00", 1) for name in "abc")
    book = book_of(a, b, c)

    book.remove("b")
    b.seq = next(_seq)
    book.add(b)

    assert book.orders("SELL") == [a, c, b]
    assert traded(book.match(order("buy", "BUY", None, 3))) == [
        ("a", Decimal("10.00"), 1),
        ("c", Decimal("10.00"), 1),
        ("b", Decimal("10.00"), 1),
    ]
    assert len(book) == 0


def test_orders_added_out_of_time_order_still_match_by_seq() -> None:
    book = book_of(
        order("newer", "SELL", "10.00", 1, seq=20), order("older", "SELL", "10.00", 1, seq=10)
    )

    assert [o.id for o in book.orders("SELL")] == ["older", "newer"]


def test_depth_aggregates_each_price_best_first() -> None:
    book = book_of(
        order("b1", "BUY", "9.99", 3),
        order("b2", "BUY", "9.99", 4),
        order("b3", "BUY", "9.97", 5),
        order("b4", "BUY", "9.98", 1),
        order("a1", "SELL", "10.02", 2),
        order("a2", "SELL", "10.01", 6),
    )

    assert book.depth("BUY") == [
        (Decimal("9.99"), 7),
        (Decimal("9.98"), 1),
        (Decimal("9.97"), 5),
    ]
    assert book.depth("BUY", levels=2) == [(Decimal("9.99"), 7), (Decimal("9.98"), 1)]
    assert book.depth("SELL") == [(Decimal("10.01"), 6), (Decimal("10.02"), 2)]
    assert (book.best_bid(), book.best_ask()) == (Decimal("9.99"), Decimal("10.01"))


# --- Property test: random order flow against the book -------------------------------------

OWNERS: list[Hashable | None] = [None, "alice", "bob", "carol"]


@dataclass(frozen=True)
class Submit:
    owner: Hashable | None
    side: Side
    ticks: int | None  # price in cents; None for a market order
    quantity: int
    tif: str  # GTC rests the remainder, IOC drops it, FOK is all-or-none


@dataclass(frozen=True)
class Cancel:
    pick: int  # which previously submitted order, modulo how many there are


@st.composite
def operations(draw: st.DrawFn) -> Submit | Cancel:
    # Mostly limit orders so the book fills up and random prices in the narrow band cross
    # often; market orders and cancels are rarer, as in real order flow.
    kind = draw(st.sampled_from(["limit"] * 6 + ["market", "cancel", "cancel"]))
    if kind == "cancel":
        return Cancel(pick=draw(st.integers(0, 10_000)))
    return Submit(
        owner=draw(st.sampled_from(OWNERS)),
        side=draw(st.sampled_from(["BUY", "SELL"])),
        # 99.90 .. 100.10 on the 0.01 grid
        ticks=draw(st.integers(9_990, 10_010)) if kind == "limit" else None,
        quantity=draw(st.integers(1, 500)),
        tif=draw(
            st.sampled_from(["GTC", "GTC", "IOC", "FOK"] if kind == "limit" else ["IOC", "FOK"])
        ),
    )


def crosses(incoming: BookOrder, price: Decimal | None) -> bool:
    assert price is not None, "only resting orders are checked against a limit"
    if incoming.price is None:
        return True
    return price <= incoming.price if incoming.side == "BUY" else price >= incoming.price


def priority(taker_side: Side, maker: BookOrder) -> tuple[Decimal, int]:
    assert maker.price is not None
    return (maker.price if taker_side == "BUY" else -maker.price, maker.seq)


def expected_match(
    resting: list[BookOrder], incoming: BookOrder, all_or_none: bool
) -> tuple[list[tuple[Hashable, Decimal, int]], list[Hashable]]:
    """A deliberately naive matcher over a sorted copy of the opposite side."""
    makers = sorted(
        (o for o in resting if o.price is not None and crosses(incoming, o.price)),
        key=lambda o: priority(incoming.side, o),
    )

    def self_trade(o: BookOrder) -> bool:
        return incoming.owner is not None and o.owner == incoming.owner

    if all_or_none and sum(o.quantity for o in makers if not self_trade(o)) < incoming.quantity:
        return [], []
    fills: list[tuple[Hashable, Decimal, int]] = []
    cancels: list[Hashable] = []
    left = incoming.quantity
    for o in makers:
        if not left:
            break
        if self_trade(o):
            cancels.append(o.id)
            continue
        assert o.price is not None
        qty = min(left, o.quantity)
        fills.append((o.id, o.price, qty))
        left -= qty
    return fills, cancels


def resting_quantity(book: OrderBook) -> int:
    return sum(o.quantity for side in ("BUY", "SELL") for o in book.orders(side))


def snapshot(book: OrderBook) -> list[BookOrder]:
    return [replace(o) for side in ("BUY", "SELL") for o in book.orders(side)]


def check_book_consistent(book: OrderBook) -> None:
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is None or ask is None or bid < ask, f"crossed book: {bid} >= {ask}"
    for side in ("BUY", "SELL"):
        resting = book.orders(side)
        by_price: dict[Decimal, int] = {}
        for o in resting:
            assert o.price is not None and o.quantity > 0
            by_price[o.price] = by_price.get(o.price, 0) + o.quantity
        assert book.depth(side, levels=1000) == list(by_price.items())
    assert len(book) == len(book.orders("BUY")) + len(book.orders("SELL"))


def check_submit(book: OrderBook, incoming: BookOrder, all_or_none: bool) -> None:
    submitted = incoming.quantity
    opposite: Side = "SELL" if incoming.side == "BUY" else "BUY"
    before = {o.id: o for o in snapshot(book)}
    resting_before = resting_quantity(book)
    want_fills, want_cancels = expected_match(
        [o for o in before.values() if o.side == opposite], incoming, all_or_none
    )

    result = book.match(incoming, all_or_none=all_or_none)

    # (1) Quantity is conserved: what the taker got is exactly what left the book by filling.
    assert sum(f.quantity for f in result.fills) == result.filled
    assert result.filled + result.remaining == submitted
    assert incoming.quantity == result.remaining
    cancelled = sum(o.quantity for o in result.self_trade_cancels)
    assert resting_before - resting_quantity(book) == result.filled + cancelled
    if all_or_none:
        assert result.filled in (0, submitted)
        if not result.filled:
            assert not result.self_trade_cancels
            assert snapshot(book) == list(before.values())

    # (2) Every fill is at the maker's price and within the taker's limit.
    for f in result.fills:
        assert f.price == before[f.maker_id].price
        assert crosses(incoming, f.price)
        assert (f.taker_id, f.taker_side, f.taker_owner) == (
            incoming.id,
            incoming.side,
            incoming.owner,
        )

    # (4) Makers were consumed in priority order, and nothing better was passed over
    # except the taker's own orders, which were cancelled instead.
    keys = [priority(incoming.side, before[f.maker_id]) for f in result.fills]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    touched = {f.maker_id for f in result.fills} | {o.id for o in result.self_trade_cancels}
    for o in before.values():
        if o.side != opposite or o.id in touched or not crosses(incoming, o.price):
            continue
        assert book.get(o.id) is not None
        if result.fills:
            assert priority(incoming.side, o) > keys[-1], f"{o.id} was skipped"
        if result.remaining and not all_or_none:
            pytest.fail(f"{o.id} could have filled the remainder")
    for o in result.self_trade_cancels:
        assert o.owner is not None and o.owner == incoming.owner
        assert book.get(o.id) is None

    # (5) Nobody trades with themselves; the market maker (owner None) may.
    for f in result.fills:
        assert f.maker_owner is None or f.maker_owner != f.taker_owner

    # And the whole outcome agrees with a naive matcher.
    assert [(f.maker_id, f.price, f.quantity) for f in result.fills] == want_fills
    assert [o.id for o in result.self_trade_cancels] == want_cancels


@settings(max_examples=200, deadline=None)
@given(st.lists(operations(), min_size=10, max_size=100))
def test_random_order_flow_keeps_the_book_sound(ops: list[Submit | Cancel]) -> None:
    book = OrderBook()
    submitted: list[Hashable] = []
    for seq, op in enumerate(ops):
        if isinstance(op, Cancel):
            if not submitted:
                continue
            target = submitted[op.pick % len(submitted)]
            size = len(book)
            was = book.get(target)
            assert book.remove(target) is was
            assert book.get(target) is None
            assert len(book) == size - (was is not None)
        else:
            incoming = BookOrder(
                id=f"o{seq}",
                owner=op.owner,
                side=op.side,
                price=None if op.ticks is None else Decimal(op.ticks).scaleb(-2),
                quantity=op.quantity,
                seq=seq,
            )
            submitted.append(incoming.id)
            check_submit(book, incoming, all_or_none=op.tif == "FOK")
            if op.tif == "GTC" and incoming.quantity and incoming.price is not None:
                book.add(incoming)
        # (3) The book is never left crossed, and its totals match its orders.
        check_book_consistent(book)
