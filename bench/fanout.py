"""WebSocket fan-out: how far apart in time one price tick reaches many subscribed sockets.

Every socket signs in with a first `auth` message, subscribes to `prices:AAPL` and records
when each `price:tick` arrives. Ticks are told apart by their `timestamp` (one per publish);
a tick's spread is its last arrival minus its first, across all sockets that received it.
The receiver runs on the same machine, in one asyncio loop, so its own time to read 1,000
messages is part of the figure (it parses nothing but the JSON of each message).
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime

from websockets.asyncio.client import ClientConnection, connect

CHANNEL = "prices:AAPL"
OPEN_CONCURRENCY = 50
OPEN_TIMEOUT = 30.0
SETTLE_SECONDS = 2.0


def raise_open_files(needed: int) -> int:
    """Raise this process's soft open-file limit towards `needed` (at most the hard limit).
    Called before the stack starts, so its processes inherit the limit too: the server
    needs one descriptor per socket just as the client does."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


@dataclass
class Arrivals:
    """Arrival times (epoch seconds) of each tick, keyed by the tick's timestamp."""

    by_tick: dict[str, list[float]] = field(default_factory=dict)

    def add(self, timestamp: str, at: float) -> None:
        self.by_tick.setdefault(timestamp, []).append(at)


@dataclass(frozen=True)
class FanoutResult:
    sockets: int
    connected: int
    failures: int
    first_error: str
    ticks: int
    median_spread_ms: float | None
    max_spread_ms: float | None
    min_coverage: float | None  # share of connected sockets that received the least-seen tick
    # Delays from the event's own timestamp (set when the market process published it): to the
    # first socket (median over ticks) and to the last one (worst tick).
    median_first_delay_ms: float | None
    max_last_delay_ms: float | None


async def _open(url: str, token: str) -> ClientConnection:
    # No compression and no keep-alive pings: they cost the receiver CPU that would show up as
    # spread, and the server sends nothing compressed to the browser either way.
    socket = await connect(
        url, compression=None, ping_interval=None, open_timeout=OPEN_TIMEOUT, close_timeout=2
    )
    try:
        await socket.send(json.dumps({"type": "auth", "token": token}))
        await _expect(socket, "connected")
        await socket.send(json.dumps({"type": "subscribe", "channel": CHANNEL}))
        await _expect(socket, "subscribed")
    except BaseException:
        await socket.close()
        raise
    return socket


async def _expect(socket: ClientConnection, kind: str) -> None:
    async with asyncio.timeout(OPEN_TIMEOUT):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == kind:
                return
            if message.get("type") == "error":
                raise RuntimeError(f"server answered {message}")


async def _listen(socket: ClientConnection, arrivals: Arrivals) -> None:
    try:
        async for raw in socket:
            at = time.time()
            message = json.loads(raw)
            if message.get("event") == "price:tick":
                arrivals.add(message["timestamp"], at)
    except Exception:  # noqa: S110 - a socket the server closes simply stops counting
        pass


class Fanout:
    """Sockets opened so far; `grow_to(n)` opens more and measures the spread at n."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url = url
        self.tokens = tokens
        self.sockets: list[ClientConnection] = []
        # The loop holds tasks only weakly: keep the listeners alive here.
        self.listeners: list[asyncio.Task[None]] = []
        self.arrivals = Arrivals()
        self.failures = 0
        self.first_error = ""

    async def grow_to(self, count: int, ticks: int) -> FanoutResult:
        limit = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one(index: int) -> None:
            async with limit:
                try:
                    token = self.tokens[index % len(self.tokens)]
                    socket = await _open(self.url, token)
                except Exception as exc:
                    self.failures += 1
                    self.first_error = self.first_error or f"{type(exc).__name__}: {exc}"
                    return
                self.sockets.append(socket)
                self.listeners.append(asyncio.create_task(_listen(socket, self.arrivals)))

        wanted = count - len(self.sockets)
        await asyncio.gather(*(one(len(self.sockets) + i) for i in range(wanted)))
        return await self._measure(count, ticks)

    async def _measure(self, count: int, ticks: int) -> FanoutResult:
        ready = time.time()
        deadline = time.monotonic() + ticks * 3 + 15

        def fresh() -> list[str]:
            return [ts for ts, times in self.arrivals.by_tick.items() if min(times) >= ready]

        # One tick more than measured: the last one may still be arriving.
        while len(fresh()) <= ticks and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await asyncio.sleep(SETTLE_SECONDS)
        measured = sorted(fresh(), key=lambda ts: min(self.arrivals.by_tick[ts]))[:ticks]
        connected = len(self.sockets)
        spreads, coverage, first_delays, last_delays = [], [], [], []
        for ts in measured:
            times = self.arrivals.by_tick[ts]
            published = datetime.fromisoformat(ts).timestamp()
            spreads.append((max(times) - min(times)) * 1000)
            coverage.append(len(times) / connected if connected else 0.0)
            first_delays.append((min(times) - published) * 1000)
            last_delays.append((max(times) - published) * 1000)
        return FanoutResult(
            sockets=count,
            connected=connected,
            failures=self.failures,
            first_error=self.first_error,
            ticks=len(measured),
            median_spread_ms=statistics.median(spreads) if spreads else None,
            max_spread_ms=max(spreads) if spreads else None,
            min_coverage=min(coverage) if coverage else None,
            median_first_delay_ms=statistics.median(first_delays) if first_delays else None,
            max_last_delay_ms=max(last_delays) if last_delays else None,
        )

    async def close(self) -> None:
        async def one(socket: ClientConnection) -> None:
            try:
                async with asyncio.timeout(5):
                    await socket.close()
            except Exception:  # noqa: S110 - closing at the end of the run; nothing to save
                pass

        await asyncio.gather(*(one(socket) for socket in self.sockets))
        for listener in self.listeners:
            listener.cancel()  # a socket whose close timed out would keep its listener waiting
        await asyncio.gather(*self.listeners, return_exceptions=True)
        self.sockets.clear()
        self.listeners.clear()


async def run_fanout(
    url: str, tokens: list[str], counts: list[int], ticks: int
) -> list[FanoutResult]:
    fanout = Fanout(url, tokens)
    try:
        return [await fanout.grow_to(count, ticks) for count in counts]
    finally:
        await fanout.close()
