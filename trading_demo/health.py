"""Health checks: the database, the channel layer and every registered service.

Apps that depend on a service register a check (`register("metering", check)`); `/healthz`
and the footer's status lights report them all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import connection


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    latency_ms: float


Check = Callable[[], Awaitable[str]]
_checks: dict[str, Check] = {}
CHECK_TIMEOUT_SECONDS = 2.0


def register(name: str, check: Check) -> None:
    _checks[name] = check


def _db_ping() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


async def database() -> str:
    return await sync_to_async(_db_ping, thread_sensitive=True)()


async def channel_layer() -> str:
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer configured")
    name = await layer.new_channel("healthz.")
    await layer.send(name, {"type": "health.ping"})
    message = await layer.receive(name)
    if message.get("type") != "health.ping":
        raise RuntimeError("channel layer returned a different message")
    return type(layer).__name__


register("database", database)
register("channel_layer", channel_layer)


async def _run(name: str, check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
        ok = True
    except Exception as exc:  # a health check reports every failure, whatever it is
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        ok = False
    return CheckResult(name, ok, detail, round((time.perf_counter() - started) * 1000, 1))


async def run_all() -> list[CheckResult]:
    return list(await asyncio.gather(*(_run(name, check) for name, check in _checks.items())))
