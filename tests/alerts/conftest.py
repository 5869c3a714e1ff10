from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.models import Alert, AlertType
from alerts.services import alert_raise
from tests.browser.conftest import browser_context, chromium, screenshot_dir  # noqa: F401
from tests.servers import free_port
from trading_demo.models import Severity, User


@pytest.fixture(autouse=True)
def _alerts_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.alerts.urls"


class SlackStandIn:
    """A real HTTP server standing in for Slack's incoming webhook (and for the `response_url`s
    of button clicks, at other paths): it records every message it accepts, and with
    `received_at` the path it was posted to; `down = True` makes it answer 500 like an outage."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.received_at: list[tuple[str, dict[str, Any]]] = []
        self.down = False
        self.status_when_down = 500
        self.drop_next = 0  # connections to hang up on without an answer, like a reset
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if stand_in.drop_next:
                    stand_in.drop_next -= 1
                    self.close_connection = True
                    self.connection.close()
                    return
                if stand_in.down:
                    self.send_response(stand_in.status_when_down)
                    self.send_header("Retry-After", "120")
                    self.end_headers()
                    self.wfile.write(b"service_unavailable")
                    return
                message = json.loads(body)
                stand_in.received.append(message)
                stand_in.received_at.append((self.path, message))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/services/T000/B000/XXXX"
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slack(settings: Any) -> Iterator[SlackStandIn]:
    server = SlackStandIn()
    settings.SLACK_WEBHOOK_URL = server.url
    yield server
    server.stop()


def raise_for(user: User, **overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "type": AlertType.RISK,
        "severity": Severity.MEDIUM,
        "message": "Position in ACME is 45 % of equity",
        "owner": user,
        "symbol": "ACME",
    }
    values.update(overrides)
    return alert_raise(**values)


def raise_for_managers(**overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "type": AlertType.APPROVAL,
        "severity": Severity.HIGH,
        "message": "Order needs approval",
        "to_managers": True,
    }
    values.update(overrides)
    return alert_raise(**values)
