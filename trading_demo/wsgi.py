"""HTTP entry point (Granian's WSGI workers in `make run`; any WSGI server elsewhere).

These processes hold no sockets: the socket server (`trading_demo.asgi`) does. With the
in-memory channel layer (no REDIS_URL) their events reach it through the database relay.
Cookie-less API calls take a shorter middleware chain (trading_demo/lanes.py).
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading_demo.settings")
django.setup(set_prefix=False)

from trading_demo.lanes import LanedWSGIHandler  # noqa: E402
from trading_demo.realtime import use_database_relay_if_needed  # noqa: E402

application = LanedWSGIHandler()

use_database_relay_if_needed()
