"""Real-time plumbing: one `publish()` for every event, sent only after the transaction commits.

Destinations are Channels groups:
- `user.<id>`: one user's private events (channels trades, portfolio, alerts, metering, approvals);
- `role.managers`: events every manager sees (channel approvals);
- `public.<name>.<SYMBOL>`: market data (`prices:AAPL` -> `public.prices.AAPL`).
Sockets keep their own subscription list and forward only what the client asked for.
Events carry ids and small payloads; whoever needs more re-reads it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

if TYPE_CHECKING:
    from trading_demo.models import User

PRIVATE_CHANNELS = frozenset({"trades", "portfolio", "alerts", "metering"})
MANAGER_CHANNELS = frozenset({"approvals"})
PUBLIC_PREFIXES = frozenset({"prices", "book"})
INTERNAL_CHANNEL = "ui"  # events only the page socket renders (no JSON channel)
MANAGERS_GROUP = "role.managers"
SYMBOL_RE = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")


def user_group(user_id: object) -> str:
    return f"user.{user_id}"


def public_group(channel: str) -> str:
    prefix, _, symbol = channel.partition(":")
    return f"public.{prefix}.{symbol}"


@dataclass(frozen=True)
class ChannelCheck:
    ok: bool
    reason: str = ""


def channel_check(channel: str, *, is_manager: bool) -> ChannelCheck:
    """May a socket of this user subscribe to `channel`?"""
    if channel in PRIVATE_CHANNELS:
        return ChannelCheck(True)
    if channel in MANAGER_CHANNELS:
        if is_manager:
            return ChannelCheck(True)
        return ChannelCheck(False, "forbidden")
    prefix, sep, symbol = channel.partition(":")
    if sep and prefix in PUBLIC_PREFIXES:
        if SYMBOL_RE.match(symbol):
            return ChannelCheck(True)
        return ChannelCheck(False, "unknown_channel")
    return ChannelCheck(False, "unknown_channel")


def publish(
    event: str,
    data: dict[str, Any],
    *,
    channel: str = INTERNAL_CHANNEL,
    user_ids: Iterable[object] = (),
    to_managers: bool = False,
) -> None:
    """Send `event` once the current transaction commits (at once outside a transaction).

    `channel` is the client channel it belongs to (`trades`, `prices:AAPL`, ...). Private
    events go to `user_ids`; `to_managers` adds every manager; public channels go to their
    subscribers. A rolled-back transaction (or savepoint) sends nothing. The events of one
    transaction are handed to the channel layer together, in one hop, after commit; each is
    serialised once here (`text`), whatever the number of sockets it reaches.
    """
    timestamp = timezone.now().isoformat()
    message = {
        "type": "event.message",
        "event": event,
        "channel": channel,
        "data": data,
        "timestamp": timestamp,
        "text": json.dumps(
            {"event": event, "data": data, "timestamp": timestamp}, separators=(",", ":")
        ),
    }
    groups = [user_group(user_id) for user_id in user_ids]
    if to_managers:
        groups.append(MANAGERS_GROUP)
    if channel.partition(":")[0] in PUBLIC_PREFIXES:
        groups.append(public_group(channel))
    if groups:
        _batch_for_transaction().append((groups, message))


Outgoing = list[tuple[list[str], dict[str, Any]]]


class _Batch(list[tuple[list[str], dict[str, Any]]]):
    """The events one transaction (or one of its savepoints) has published so far."""

    def __init__(self) -> None:
        super().__init__()
        self.callback = self.flush  # the very object on_commit holds, to find it again

    def flush(self) -> None:
        if self:  # empty when relay_before_commit already wrote them
            _send(list(self))
            self.clear()


class _SendNow(list[tuple[list[str], dict[str, Any]]]):
    def append(self, item: tuple[list[str], dict[str, Any]]) -> None:
        _send([item])


def _batch_for_transaction() -> list[tuple[list[str], dict[str, Any]]]:
    """The batch that goes out when the current transaction commits: one per savepoint level,
    so a rolled-back savepoint drops its own events and nobody else's."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return _SendNow()
    batches: dict[tuple[str, ...], _Batch] = connection.__dict__.setdefault("_event_batches", {})
    key = tuple(connection.savepoint_ids)
    batch = batches.get(key)
    pending = batch is not None and any(
        func is batch.callback for _, func, _ in connection.run_on_commit
    )
    if not pending:
        if not connection.run_on_commit:
            batches.clear()  # a new transaction: forget the last one's batches
        batch = batches[key] = _Batch()
        transaction.on_commit(batch.callback, robust=True)
    assert batch is not None
    return batch


_last_sent: dict[str, float] = {}


def publish_throttled(channel: str, event: str, data: dict[str, Any]) -> None:
    """`publish` a public market event at most once per BOOK_EVENT_INTERVAL_SECONDS per channel
    and event in this process. The market process re-publishes every tick, so a skipped
    update is superseded within a second."""
    key = f"{channel}|{event}"
    now = time.monotonic()
    if now - _last_sent.get(key, 0.0) < settings.BOOK_EVENT_INTERVAL_SECONDS:
        return
    _last_sent[key] = now
    publish(event, data, channel=channel)


# --- relay through the database ----------------------------------------------------------
# Without Redis each process has its own in-memory channel layer, so the HTTP workers and the
# market process cannot reach the socket server's sockets directly. They store their events
# instead, and every process with sockets open polls for new ones.
_relay_through_database = False
RELAY_POLL_SECONDS = 0.05
RELAY_KEEP_SECONDS = 120
logger = logging.getLogger(__name__)


def use_database_relay_if_needed() -> bool:
    """For processes without sockets (HTTP workers, the market, the workers): relay events
    through the database when the channel layer is in-memory (no REDIS_URL). Returns whether
    it does."""
    global _relay_through_database
    _relay_through_database = isinstance(get_channel_layer(), InMemoryChannelLayer)
    return _relay_through_database


def relay_prune(*, older_than_seconds: int = RELAY_KEEP_SECONDS) -> int:
    from trading_demo.models import RelayEvent

    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    deleted, _ = RelayEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


_relay_task: asyncio.Task[None] | None = None


def relay_start() -> None:
    """Start this web process's relay poller (idempotent; called when a socket connects)."""
    global _relay_task
    if not isinstance(get_channel_layer(), InMemoryChannelLayer):
        return
    if _relay_task is None or _relay_task.done():
        _relay_task = asyncio.get_running_loop().create_task(_relay_loop())


def _relay_latest_id() -> int:
    from trading_demo.models import RelayEvent

    latest = RelayEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return latest or 0


def _relay_fetch(after: int) -> list[tuple[int, list[str], dict[str, Any]]]:
    from trading_demo.models import RelayEvent

    rows = RelayEvent.objects.filter(id__gt=after).order_by("id")[:500]
    return [(row.id, row.groups, row.message) for row in rows]


def _relay_guarded[T](func: Callable[..., T], *args: Any) -> T:
    """Run a relay read on the relay's own thread; a failed read drops that thread's database
    connection, so the next poll opens a fresh one."""
    from django.db import connection

    try:
        return func(*args)
    except Exception:
        connection.close()
        raise


async def _relay_loop() -> None:
    layer = get_channel_layer()
    assert layer is not None
    # Its own thread, not Channels' one database thread: that one also runs every socket's
    # sign-in and access checks, and a thousand sockets re-checking at once held ticks back by
    # seconds (`make bench-load`'s fan-out delay at 1,000 sockets).
    loop = asyncio.get_running_loop()
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-relay")
    last = await loop.run_in_executor(reader, _relay_guarded, _relay_latest_id)
    while True:
        try:
            rows = await loop.run_in_executor(reader, _relay_guarded, _relay_fetch, last)
            if rows:
                await _send_all(layer, [(groups, message) for _, groups, message in rows])
                last = rows[-1][0]
        except Exception:  # the relay must outlive a database hiccup
            logger.exception("relay poll failed")
        await asyncio.sleep(RELAY_POLL_SECONDS)


def relay_before_commit(connection: Any) -> None:
    """Relay mode, called by our SQLite backend just before it commits: write the committing
    transaction's events into that transaction, so they commit with its work and take no write
    transaction of their own (SQLite lets one writer in at a time; an order used to take the
    write lock twice). What a rolled-back savepoint published is no longer in `run_on_commit`,
    so it is not written."""
    if not _relay_through_database:
        return
    outgoing: Outgoing = []
    for _, func, _ in connection.run_on_commit:
        batch = getattr(func, "__self__", None)
        if isinstance(batch, _Batch) and batch:
            outgoing.extend(batch)
            batch.clear()
    if outgoing:
        _relay_store(outgoing)


def _relay_store(outgoing: Outgoing) -> None:
    from trading_demo.models import RelayEvent
    from trading_demo.prepared import rows_insert

    rows_insert(RelayEvent(groups=groups, message=message) for groups, message in outgoing)


def _send(outgoing: Outgoing) -> None:
    if _relay_through_database:
        _relay_store(outgoing)
        return
    layer = get_channel_layer()
    if layer is None:
        return
    if not isinstance(layer, InMemoryChannelLayer):
        _publisher.submit(layer, outgoing)
        return
    # One event-loop hop for all of them: each async_to_sync call from sync code costs about
    # 5 ms (ARCHITECTURE.md).
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(_send_all)(layer, outgoing)
        return
    # Sync code running inside an event loop's thread (a script or test driving an async
    # library) cannot use async_to_sync there: send from a short-lived thread instead.
    sender = threading.Thread(target=async_to_sync(_send_all), args=(layer, outgoing))
    sender.start()
    sender.join()


class _Publisher:
    """A shared (Redis) layer is fed from one long-lived event loop per process, in order: a
    sync caller neither waits for Redis nor pays for a new loop and connection per send (about
    5 ms each, ARCHITECTURE.md)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[tuple[Any, Outgoing]] | None = None
        self._pid = 0

    def submit(self, layer: Any, outgoing: Outgoing) -> None:
        loop, queue = self._running()
        loop.call_soon_threadsafe(queue.put_nowait, (layer, outgoing))

    def _running(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Queue[tuple[Any, Outgoing]]]:
        with self._lock:
            # A forked worker inherits the object but not the thread: start its own.
            if self._loop is None or self._pid != os.getpid():
                ready = threading.Event()
                threading.Thread(
                    target=self._run, args=(ready,), name="event-publisher", daemon=True
                ).start()
                ready.wait()
                self._pid = os.getpid()
            assert self._loop is not None and self._queue is not None
            return self._loop, self._queue

    def _run(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop, self._queue = loop, asyncio.Queue()
        ready.set()
        loop.run_until_complete(self._drain(self._queue))

    async def _drain(self, queue: asyncio.Queue[tuple[Any, Outgoing]]) -> None:
        while True:
            layer, outgoing = await queue.get()
            try:
                await _send_all(layer, outgoing)
            except Exception:  # a Redis hiccup loses these events, never the publisher
                logger.exception("publishing %d events failed", len(outgoing))


_publisher = _Publisher()


async def _send_all(layer: Any, outgoing: Outgoing) -> None:
    for groups, message in outgoing:
        for group in groups:
            await layer.group_send(group, message)


# Page-socket renderers: event name -> function(user, data) -> HTML with hx-swap-oob elements.
# Each app registers the partials its pages show, so the socket pushes the same fragments the
# page rendered in the first place.
# `pages` limits a renderer to the pages that show its fragments (the page socket says which
# page it serves), so no fragment is rendered for a page that has nowhere to put it.
UiRenderer = Callable[["User", dict[str, Any]], str]
_ui_renderers: dict[str, list[tuple[UiRenderer, frozenset[str] | None]]] = {}


def ui_renderer(
    event: str, *, pages: Iterable[str] | None = None
) -> Callable[[UiRenderer], UiRenderer]:
    def register(func: UiRenderer) -> UiRenderer:
        allowed = frozenset(pages) if pages is not None else None
        _ui_renderers.setdefault(event, []).append((func, allowed))
        return func

    return register


def ui_render(event: str, user: User, data: dict[str, Any], page: str = "") -> str:
    return "".join(
        render(user, data)
        for render, pages in _ui_renderers.get(event, ())
        if pages is None or page in pages
    )
