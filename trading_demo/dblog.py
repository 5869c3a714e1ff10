"""What our database backends (trading_demo/sqlite, trading_demo/postgresql) share: under
`DEBUG=1` (`make run`) Django wraps every statement in its debug cursor, which times it and
keeps its SQL in `connection.queries`; measured, that was a tenth of the CPU an order spends
(py-spy, `make bench-load`). Here statements are logged only when something asks for them:
Django's `CaptureQueriesContext`, and so `assertNumQueries`, sets `force_debug_cursor`."""

from __future__ import annotations


class QueriesLoggedOnRequest:
    force_debug_cursor: bool

    @property
    def queries_logged(self) -> bool:
        return bool(self.force_debug_cursor)
