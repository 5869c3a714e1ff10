"""HTTP entry point (Granian's WSGI workers in `make run`; any WSGI server elsewhere).

These processes hold no sockets: the socket server (`trading_demo.asgi`) does. With the
in-memory channel layer (no REDIS_URL) their events reach it through the database relay.

Each worker runs its requests in several threads, and a thread that comes back from the
database waits for the interpreter lock until the running thread gives it up: by default after
5 ms. Inside a write transaction that wait is paid per statement while every other writer
queues (SQLite's one writer queue, PostgreSQL's locked symbol row). A 0.2 ms switch interval
took orders at 32 connections from 84 to 114/s in alternating runs on SQLite, with less CPU per
order, not more (README "Performance"). `WEB_SWITCH_INTERVAL` (seconds) overrides it.
"""

from __future__ import annotations

import os
import sys

from django.core.wsgi import get_wsgi_application

SWITCH_INTERVAL_SECONDS = 0.0002

sys.setswitchinterval(float(os.environ.get("WEB_SWITCH_INTERVAL") or SWITCH_INTERVAL_SECONDS))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading_demo.settings")
application = get_wsgi_application()

from trading_demo.realtime import use_database_relay_if_needed  # noqa: E402

use_database_relay_if_needed()
