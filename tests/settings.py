"""Settings for the test run: the real settings, plus a key of our own and plain static files
(production's manifest storage needs collectstatic)."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789abcdef0123456789abcdef")

from trading_demo.settings import *  # noqa: F403
from trading_demo.settings import STATIC_ROOT, STORAGES

STATIC_ROOT.mkdir(parents=True, exist_ok=True)

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed: tests only

# One test database file per test run, so parallel runs on one machine never share it.
if DATABASES["default"]["ENGINE"] == "trading_demo.sqlite":  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(DATA_DIR / f"test_trading_demo_{os.getpid()}.sqlite3")  # noqa: F405
    }

# Tests open and close connections from many short threads and drop the database at the end:
# a pool's idle connections would keep it open. The pool is for the servers; the rest of the
# options (server-side binding, prepared statements) stay, so tests run the servers' SQL.
if DATABASES["default"]["ENGINE"] == "trading_demo.postgresql":  # noqa: F405
    DATABASES["default"]["OPTIONS"].pop("pool", None)  # noqa: F405
