"""A price-time-priority order book for one symbol, held in memory.

The order service loads the resting orders that could cross into an `OrderBook` inside its
per-symbol transaction, calls `match` and persists the outcome. The book knows nothing about
Django or the database so that it can be tested exhaustively and benchmarked on its own.

Each side keeps a dict from price to a level (a FIFO queue of orders plus running totals) and a
sorted list of the prices that have a level, kept in order with `bisect`. Finding the best
price is an index into that list, so no call sorts the book.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Literal

Side = Literal["BUY", "SELL"]


@dataclass(slots=True)
class BookOrder:
    """An order as the book sees it.

    Once added, a resting order belongs to the book: `match` lowers its `quantity` as it fills,
    and the book's level totals rely on nobody else changing it.
    """

    id: Hashable  # order id (UUID) or market-maker quote id
    owner: Hashable | None  # account id; None for the market maker, which never self-trades
    side: Side
    price: Decimal | None  # limit price; None for a market order, which takes any price
    quantity: int  # remaining quantity, > 0
    seq: int  # time priority: lower is earlier


@dataclass(slots=True, frozen=True)
class Fill:
    maker_id: Hashable  # the resting order
    taker_id: Hashable  # the incoming order
    maker_owner: Hashable | None
    taker_owner: Hashable | None
    taker_side: Side
    price: Decimal  # always the maker's (resting) price
    quantity: int


@dataclass(slots=True)
class MatchResult:
    fills: list[Fill]
    filled: int  # total quantity filled for the incoming order
    remaining: int  # incoming quantity left unfilled
    self_trade_cancels: list[BookOrder]  # resting orders of the same owner taken off the book


class _Level:
    """The resting orders at one price on one side, oldest first."""

    __slots__ = ("book_side", "count", "price", "quantity", "queue")

    def __init__(self, book_side: _BookSide, price: Decimal) -> None:
        self.book_side = book_side
        self.price = price
        self.queue: deque[_Resting] = deque()
        # Totals over live entries only; the queue may also hold stale ones (see _Resting).
        self.count = 0
        self.quantity = 0


class _Resting:
    """One resting order's place in its level's queue.

    `remove` usually leaves the entry where it is, because taking it out of the middle of a
    deque costs O(n); an entry is live only while the book's index maps its order id to this
    very object. A fresh wrapper per `add` keeps that test right even when the same
    `BookOrder` is removed and added again.
    """

    __slots__ = ("level", "order", "price")

    def __init__(self, order: BookOrder, price: Decimal, level: _Level) -> None:
        self.order = order
        self.price = price  # the order's own price, kept typed as not-None for fills
        self.level = level


class _BookSide:
    """One side of the book: levels by price plus their prices in ascending order."""

    __slots__ = ("is_bid", "levels", "prices")

    def __init__(self, *, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[Decimal, _Level] = {}
        self.prices: list[Decimal] = []

    def best_price(self) -> Decimal | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def levels_best_first(self) -> Iterator[_Level]:
        prices = reversed(self.prices) if self.is_bid else iter(self.prices)
        levels = self.levels
        return (levels[price] for price in prices)

    def drop_level(self, level: _Level) -> None:
        del self.levels[level.price]
        del self.prices[bisect_left(self.prices, level.price)]


class OrderBook:
    """Resting limit orders for one symbol, matched in price-time priority."""

    __slots__ = ("_asks", "_bids", "_index")

    def __init__(self) -> None:
        self._bids = _BookSide(is_bid=True)
        self._asks = _BookSide(is_bid=False)
        self._index: dict[Hashable, _Resting] = {}

    def __len__(self) -> int:
        return len(self._index)

    def add(self, order: BookOrder) -> None:
        """Rest `order` without matching it; the book keeps (and later mutates) the object."""
        if order.id in self._index:
            raise ValueError(f"order {order.id!r} is already in the book")
        if order.quantity <= 0:
            raise ValueError(f"order {order.id!r} has non-positive quantity {order.quantity}")
        price = order.price
        if price is None:
            raise ValueError(f"order {order.id!r} has no price; market orders cannot rest")
        if not price.is_finite():
            # NaN compares false with everything and would corrupt the sorted price list.
            raise ValueError(f"order {order.id!r} has non-finite price {price}")
        book_side = self._book_side(order.side)
        level = book_side.levels.get(price)
        if level is None:
            level = _Level(book_side, price)
            book_side.levels[price] = level
            insort(book_side.prices, price)
        entry = _Resting(order, price, level)
        queue = level.queue
        if queue and queue[-1].order.seq > order.seq:
            self._insert_by_seq(level, entry)
        else:
            queue.append(entry)
        level.count += 1
        level.quantity += order.quantity
        self._index[order.id] = entry

    def remove(self, order_id: Hashable) -> BookOrder | None:
        """Take a resting order off the book; None if it is not there."""
        entry = self._index.pop(order_id, None)
        if entry is None:
            return None
        level = entry.level
        level.count -= 1
        level.quantity -= entry.order.quantity
        if level.count == 0:
            level.book_side.drop_level(level)
            return entry.order
        queue = level.queue
        # Cancels of the oldest or newest order are common and cheap to apply at once; others
        # stay behind as stale entries until the queue is mostly stale.
        if queue[0] is entry:
            queue.popleft()
        elif queue[-1] is entry:
            queue.pop()
        elif len(queue) > 2 * level.count + 8:
            self._compact(level)
        return entry.order

    def get(self, order_id: Hashable) -> BookOrder | None:
        entry = self._index.get(order_id)
        return None if entry is None else entry.order

    def match(self, incoming: BookOrder, *, all_or_none: bool = False) -> MatchResult:
        """Fill `incoming` against the opposite side; never rests it.

        On return `incoming.quantity` is the unfilled remainder (`result.remaining`), so the
        caller can rest the same object for GTC/DAY orders or cancel the rest for IOC.
        With `all_or_none` (FOK) nothing happens, not even self-trade cancels, unless the
        crossing liquidity of other owners covers the whole quantity.
        """
        quantity = incoming.quantity
        if quantity <= 0:
            raise ValueError(f"order {incoming.id!r} has non-positive quantity {quantity}")
        if incoming.id in self._index:
            raise ValueError(f"order {incoming.id!r} is already resting in the book")
        limit = incoming.price
        if limit is not None and not limit.is_finite():
            raise ValueError(f"order {incoming.id!r} has non-finite price {limit}")
        taker_side = incoming.side
        is_buy = taker_side == "BUY"
        if not is_buy and taker_side != "SELL":
            raise ValueError(f"order {incoming.id!r} has unknown side {taker_side!r}")
        book_side = self._asks if is_buy else self._bids
        owner = incoming.owner

        if all_or_none and not self._covers(book_side, limit, owner, quantity):
            return MatchResult(fills=[], filled=0, remaining=quantity, self_trade_cancels=[])

        fills: list[Fill] = []
        cancels: list[BookOrder] = []
        remaining = quantity
        index = self._index
        levels = book_side.levels
        prices = book_side.prices
        taker_id = incoming.id
        # The loop below is the hot path of the order service, so it reads locals and
        # inlines what would otherwise be helper calls.
        while remaining and prices:
            if is_buy:
                price = prices[0]
                if limit is not None and price > limit:
                    break
            else:
                price = prices[-1]
                if limit is not None and price < limit:
                    break
            level = levels[price]
            queue = level.queue
            while remaining and level.count:
                entry = queue[0]
                maker = entry.order
                if index.get(maker.id) is not entry:
                    queue.popleft()
                    continue
                if owner is not None and maker.owner == owner:
                    queue.popleft()
                    del index[maker.id]
                    level.count -= 1
                    level.quantity -= maker.quantity
                    cancels.append(maker)
                    continue
                traded = remaining if remaining < maker.quantity else maker.quantity
                fills.append(
                    Fill(maker.id, taker_id, maker.owner, owner, taker_side, entry.price, traded)
                )
                remaining -= traded
                level.quantity -= traded
                maker.quantity -= traded
                if not maker.quantity:
                    queue.popleft()
                    del index[maker.id]
                    level.count -= 1
            if level.count:
                break  # the incoming order is done and this level still has makers
            del levels[price]
            if is_buy:
                del prices[0]
            else:
                prices.pop()

        incoming.quantity = remaining
        return MatchResult(
            fills=fills,
            filled=quantity - remaining,
            remaining=remaining,
            self_trade_cancels=cancels,
        )

    def best_bid(self) -> Decimal | None:
        return self._bids.best_price()

    def best_ask(self) -> Decimal | None:
        return self._asks.best_price()

    def depth(self, side: Side, levels: int = 10) -> list[tuple[Decimal, int]]:
        """Aggregated (price, total quantity) per level, best price first."""
        book_side = self._book_side(side)
        return [
            (level.price, level.quantity)
            for level in islice(book_side.levels_best_first(), max(levels, 0))
        ]

    def orders(self, side: Side) -> list[BookOrder]:
        """Every resting order on `side`, in the order `match` would reach them."""
        index = self._index
        return [
            entry.order
            for level in self._book_side(side).levels_best_first()
            for entry in level.queue
            if index.get(entry.order.id) is entry
        ]

    def _book_side(self, side: Side) -> _BookSide:
        if side == "BUY":
            return self._bids
        if side == "SELL":
            return self._asks
        raise ValueError(f"unknown side {side!r}")

    def _covers(
        self, book_side: _BookSide, limit: Decimal | None, owner: Hashable | None, needed: int
    ) -> bool:
        """Whether crossing orders of other owners add up to `needed` (the FOK pre-check)."""
        index = self._index
        available = 0
        for level in book_side.levels_best_first():
            price = level.price
            if limit is not None and (price < limit if book_side.is_bid else price > limit):
                break
            if owner is None:
                available += level.quantity
            else:
                for entry in level.queue:
                    order = entry.order
                    if index.get(order.id) is entry and order.owner != owner:
                        available += order.quantity
            if available >= needed:
                return True
        return False

    def _insert_by_seq(self, level: _Level, entry: _Resting) -> None:
        # Only reached when orders are added out of time order, which the order service
        # avoids by loading them sorted by seq; a rebuild of the one level is fine then.
        live = self._live_entries(level)
        live.insert(bisect_right(live, entry.order.seq, key=lambda e: e.order.seq), entry)
        level.queue = deque(live)

    def _compact(self, level: _Level) -> None:
        level.queue = deque(self._live_entries(level))

    def _live_entries(self, level: _Level) -> list[_Resting]:
        index = self._index
        return [entry for entry in level.queue if index.get(entry.order.id) is entry]
