"""Django's PostgreSQL backend, logging statements under DEBUG only on request
(trading_demo/dblog.py)."""

from __future__ import annotations

from django.db.backends.postgresql import base

from trading_demo.dblog import QueriesLoggedOnRequest


class DatabaseWrapper(QueriesLoggedOnRequest, base.DatabaseWrapper):
    pass
