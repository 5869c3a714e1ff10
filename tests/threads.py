"""Races for tests: real threads, each with its own database connection, released together."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from django.db import connection

from trading_demo.errors import DomainError


def at_once[T](calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all starting at the same moment; their results in the
    order they finished."""
    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        try:
            barrier.wait()
            result = call()
            with lock:
                results.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def outcome(call: Callable[[], object], success: str = "ok") -> Callable[[], str]:
    """`call` as a race entrant: `success` when it returns, the error code when it is refused."""

    def run() -> str:
        try:
            call()
        except DomainError as exc:
            return exc.code
        return success

    return run
