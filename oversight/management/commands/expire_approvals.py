"""The approvals worker: applies the decisions made on the oversight service itself (the
system of record) to their orders, and auto-rejects pending approval requests nobody decided
within APPROVAL_TIMEOUT, releasing their orders' reservations and telling the traders."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections

from oversight.client import OversightUnavailable
from oversight.services.decisions import approvals_expire, approvals_sync_decided
from trading_demo.realtime import use_database_relay_if_needed
from trading_demo.shutdown import StopSignal

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Apply the service's decisions and expire undecided requests (runs until stopped)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one pass, then exit")
        parser.add_argument("--interval", type=float, default=2.0, help="seconds between passes")

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        if once:
            self.stdout.write(f"applied {self._sync()}")
            self.stdout.write(f"expired {approvals_expire()}")
            return
        stopping = StopSignal()
        # The traders and managers told here are connected to the web processes.
        use_database_relay_if_needed()
        self.stdout.write(f"approvals expiry running (every {interval:g} s)")
        while not stopping:
            try:
                applied = self._sync()
                expired = approvals_expire()
            except DatabaseError:
                logger.exception("approvals pass failed; trying again")
                close_old_connections()
                applied = expired = 0
            if applied:
                self.stdout.write(f"applied {applied} decision(s) made on the oversight service")
            if expired:
                self.stdout.write(f"expired {expired} approval request(s)")
            time.sleep(interval)

    def _sync(self) -> int:
        try:
            return approvals_sync_decided()
        except OversightUnavailable as exc:
            # Decisions wait on the service; expiry below goes ahead without it.
            logger.warning("could not ask the oversight service for decisions: %s", exc.message)
            return 0
