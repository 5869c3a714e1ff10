"""The notifications worker: posts the Slack outbox (retrying with backoff while Slack is down)
and turns the health checks' results into system alerts for the managers."""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from alerts.services import slack_messages_deliver, slack_messages_prune, system_health_report
from alerts.slack import slack_enabled
from trading_demo import health
from trading_demo.realtime import use_database_relay_if_needed
from trading_demo.shutdown import StopSignal

logger = logging.getLogger(__name__)
PRUNE_EVERY_SECONDS = 3600


def health_pass() -> None:
    for result in async_to_sync(health.run_all)():
        system_health_report(check=result.name, ok=result.ok, detail=result.detail)


class Command(BaseCommand):
    help = "Deliver pending Slack messages and report system health (runs until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="run one pass and exit")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between outbox passes"
        )
        parser.add_argument(
            "--health-interval",
            type=float,
            default=15.0,
            help="seconds between health checks (0: do not check)",
        )

    def handle(
        self, *args: Any, once: bool, interval: float, health_interval: float, **options: Any
    ) -> None:
        if once:
            run = slack_messages_deliver()
            self.stdout.write(f"delivered {run.delivered}, failed {run.failed}")
            return
        stopping = StopSignal()
        # System alerts raised here must reach the web process's sockets.
        use_database_relay_if_needed()
        self.stdout.write(
            "notifications worker running "
            f"(Slack {'on' if slack_enabled() else 'off: SLACK_WEBHOOK_URL is empty'}, "
            f"health every {health_interval:g} s)"
        )
        next_health = next_prune = time.monotonic()
        while not stopping:
            # A long-running process: drop connections the database closed meanwhile.
            close_old_connections()
            try:
                now = time.monotonic()
                if health_interval > 0 and now >= next_health:
                    health_pass()
                    next_health = now + health_interval
                while not stopping:
                    run = slack_messages_deliver()
                    if run.delivered == 0 or run.failed:
                        break
                if now >= next_prune:
                    slack_messages_prune()
                    next_prune = now + PRUNE_EVERY_SECONDS
            except Exception:  # the worker outlives a database or network hiccup
                logger.exception("notifications pass failed")
            time.sleep(interval)
