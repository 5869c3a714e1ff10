"""The approvals expiry worker: auto-rejects pending approval requests nobody decided within
APPROVAL_TIMEOUT, releasing their orders' reservations and telling the traders."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from oversight.services.decisions import approvals_expire
from trading_demo.realtime import use_database_relay_if_needed
from trading_demo.shutdown import StopSignal

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Expire undecided approval requests (runs until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes")

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        if once:
            self.stdout.write(f"expired {approvals_expire()}")
            return
        stopping = StopSignal()
        # The traders and managers told here are connected to the web processes.
        use_database_relay_if_needed()
        self.stdout.write(f"approvals expiry running (every {interval:g} s)")
        while not stopping:
            try:
                expired = approvals_expire()
            except DatabaseError:
                logger.exception("expiry pass failed; trying again")
                close_old_connections()
                expired = 0
            if expired:
                self.stdout.write(f"expired {expired} approval request(s)")
            time.sleep(interval)
