"""The usage delivery worker: sends pending usage records to the metering service and
forwards quota changes, with backoff while the service is down."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from metering.services import quotas_sync, usage_deliver_pending
from trading_demo.shutdown import StopSignal

IDLE_SECONDS = 0.5


class Command(BaseCommand):
    help = "Deliver usage records to the metering service (runs until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        stopping = StopSignal()
        was_down = False
        while not stopping:
            report = usage_deliver_pending()
            quotas_sync()
            if report.error and not was_down:
                self.stdout.write(f"metering service unavailable ({report.error}); retrying")
            if was_down and not report.error and report.delivered:
                self.stdout.write("metering service is back; delivering")
            was_down = bool(report.error)
            if once:
                break
            if report.delivered == 0:
                time.sleep(IDLE_SECONDS)
