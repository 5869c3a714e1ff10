"""Settings of the reference app. REFERENCE_DATA_DIR holds its SQLite file (a temp dir)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

DATA_DIR = Path(
    os.environ.get("REFERENCE_DATA_DIR", str(Path(tempfile.gettempdir()) / "bench-reference"))
)

DEBUG = False
SECRET_KEY = "bench-reference-only"  # noqa: S105 - serves 127.0.0.1 for the length of a run
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework", "bench.reference"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.reference.urls"
USE_TZ = True

# The same SQLite set-up as the project (WAL, IMMEDIATE, busy timeout), so the floor is fair.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(DATA_DIR / "reference.sqlite3"),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
