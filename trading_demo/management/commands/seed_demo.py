"""Create the demo users (idempotent: existing users keep their data, their password and role
are reset to the demo values)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from portfolio.ledger import account_ensure
from trades.market import SYMBOLS
from trades.services.market import symbols_seed
from trading_demo.models import Role, User
from trading_demo.services import roles_sync, user_create, user_set_role

DEMO_USERS = (
    ("admin@example.com", Role.ADMIN, "Ada Admin"),
    ("manager@example.com", Role.MANAGER, "Max Manager"),
    ("trader@example.com", Role.TRADER, "Tess Trader"),
    ("trader2@example.com", Role.TRADER, "Theo Trader"),
    ("viewer@example.com", Role.VIEWER, "Vera Viewer"),
)


class Command(BaseCommand):
    help = "Create the demo users (with their accounts), the role groups and the symbols."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        roles_sync()
        created = symbols_seed(rows=[(code, *values) for code, values in SYMBOLS.items()])
        self.stdout.write(f"{len(SYMBOLS)} symbols ready ({created} new).")
        password = settings.DEMO_PASSWORD
        for email, role, name in DEMO_USERS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user_create(email=email, password=password, role=role, display_name=name)
                self.stdout.write(f"created {email} ({role})")
            else:
                user.set_password(password)
                user.save(update_fields=["password"])
                user_set_role(user=user, role=role)
            account_ensure(user=User.objects.get(email=email))
        self.stdout.write(self.style.SUCCESS(f"{len(DEMO_USERS)} demo users ready."))
