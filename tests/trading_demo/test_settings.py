from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from trading_demo.models import User

ROOT = Path(__file__).resolve().parents[2]


def django_setup(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "trading_demo.settings", **env},
    )


def test_production_refuses_default_secret_key():
    result = django_setup({"DEBUG": "0"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_starts_with_a_real_secret_key():
    assert django_setup({"DEBUG": "0", "SECRET_KEY": "k" * 50}).stdout.strip() == "started"


@pytest.mark.django_db
def test_sqlite_runs_wal_and_immediate_transactions():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-specific settings")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
    assert connection.transaction_mode == "IMMEDIATE"


@pytest.mark.django_db
def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    roles = dict(User.objects.values_list("email", "role"))
    assert roles == {
        "admin@example.com": "admin",
        "manager@example.com": "manager",
        "trader@example.com": "trader",
        "trader2@example.com": "trader",
        "viewer@example.com": "viewer",
    }
    manager = User.objects.get(email="manager@example.com")
    assert manager.is_staff and not manager.is_superuser
    assert manager.groups.get().name == "manager"
    assert manager.has_perm("trading_demo.view_user")


def test_production_refuses_debug():
    result = django_setup({"DEBUG": "1", "HTTPS": "1", "SECRET_KEY": "k" * 50})
    assert result.returncode != 0
    assert "DEBUG must be off" in result.stderr
