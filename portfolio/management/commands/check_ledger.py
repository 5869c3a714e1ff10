"""`manage.py check_ledger`: recompute every account (cash, reserved cash, positions, reserved
shares) from its fills and open orders and print what disagrees; exit 1 when anything does.

The check is `portfolio.selectors.ledger_check`, the same one the tests and `bench.ledger` run.
Run it on a quiet system (or accept that an order in flight may show as a difference once):
it reads the tables one after another, not in one snapshot.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from portfolio.selectors import ledger_check

DEFAULT_SHOWN = 100


class Command(BaseCommand):
    help = "Recompute every account from its fills; print the differences, exit 1 on any."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--show",
            type=int,
            default=DEFAULT_SHOWN,
            help=f"print at most this many differences (default {DEFAULT_SHOWN})",
        )

    def handle(self, *args: Any, show: int, **options: Any) -> None:
        if show < 0:
            raise CommandError("--show must be 0 or more.")
        check = ledger_check()
        for line in check.differences[:show]:
            self.stdout.write(f"  {line}")
        hidden = len(check.differences) - show
        if hidden > 0:
            self.stdout.write(f"  ... and {hidden} more")
        summary = f"ledger: {check.accounts} accounts, {len(check.differences)} differences"
        if check.differences:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
