"""HTTP entry point (Granian's WSGI workers in `make run`; any WSGI server elsewhere).

These processes hold no sockets: the socket server (`trading_demo.asgi`) does. With the
in-memory channel layer (no REDIS_URL) their events reach it through the database relay.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trading_demo.settings")
application = get_wsgi_application()

from trading_demo.realtime import use_database_relay_if_needed  # noqa: E402

use_database_relay_if_needed()
