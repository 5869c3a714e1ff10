"""Prometheus metrics on `/metrics` (staff session, or `Authorization: Bearer $METRICS_TOKEN`).

Two kinds, so that several web processes never give wrong numbers:
- what happens in a process (requests by route and status, their latency, open sockets) is
  counted in that process; with `PROMETHEUS_MULTIPROC_DIR` set (the supervisor sets it under
  `DATA_DIR` for every child) each process writes its values to files there and a scrape
  served by any process sums them all;
- what the database already knows (orders by status, the outbox backlogs) is read at scrape
  time, so it is one number whatever process answers.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from django.conf import settings
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # no URL pattern matched: raw paths would make a label per scanner probe

REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route (the URL pattern's name), method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time from the request entering Django to its response, by route and method.",
    ["route", "method"],
)
OPEN_SOCKETS = Gauge(
    "websocket_connections",
    "WebSocket connections open on the socket servers (handshakes in progress included).",
    multiprocess_mode="livesum",
)


# Bounded by the URL conf: routes x methods x the status codes they answer.
_series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


class MetricsMiddleware:
    """Outermost, so the latency covers every other middleware. Two label lookups and two
    updates per request: nothing here touches the database."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = request.resolver_match
        route = (match.view_name or UNMATCHED) if match is not None else UNMATCHED
        method = request.method if request.method in _METHODS else "other"
        key = (route, method, response.status_code)
        series = _series.get(key)
        if series is None:  # labels() costs as much as the updates: look each pair up once
            series = _series[key] = (
                REQUESTS.labels(route, method, str(response.status_code)),
                LATENCY.labels(route, method),
            )
        series[0].inc()
        series[1].observe(elapsed)
        return response


def socket_event(kind: str) -> None:
    """The socket consumers' hook: called with every ASGI message type they dispatch."""
    if kind == "websocket.connect":
        OPEN_SOCKETS.inc()
    elif kind == "websocket.disconnect":
        OPEN_SOCKETS.dec()


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped: orders by status and the three outboxes."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from alerts.models import SlackMessage
        from metering.models import UsageRecord
        from trades.models import Order, OrderStatus
        from trading_demo.models import RelayEvent

        orders = GaugeMetricFamily("trading_orders", "Orders by status.", labels=["status"])
        counts = dict(
            Order.objects.order_by()
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        for status in OrderStatus.values:
            orders.add_metric([status], counts.get(status, 0))
        yield orders

        backlog = GaugeMetricFamily(
            "trading_outbox_pending",
            "Rows waiting in an outbox: usage records not yet delivered to the metering "
            "service, Slack messages not yet posted, events in the database relay (kept "
            "two minutes for the socket servers to read).",
            labels=["outbox"],
        )
        oldest = GaugeMetricFamily(
            "trading_outbox_oldest_pending_age_seconds",
            "Age of the oldest row waiting in each outbox (0 when it is empty).",
            labels=["outbox"],
        )
        now = timezone.now()
        outboxes = {
            "usage": UsageRecord.objects.filter(status=UsageRecord.Status.PENDING).aggregate(
                n=Count("id"), first=Min("occurred_at")
            ),
            "slack": SlackMessage.objects.filter(delivered_at__isnull=True).aggregate(
                n=Count("id"), first=Min("created_at")
            ),
            "relay": RelayEvent.objects.aggregate(n=Count("id"), first=Min("created_at")),
        }
        for name, row in outboxes.items():
            backlog.add_metric([name], row["n"])
            first: datetime | None = row["first"]
            oldest.add_metric([name], max(0.0, (now - first).total_seconds()) if first else 0.0)
        yield backlog
        yield oldest


def exposition() -> bytes:
    """Every metric in Prometheus' text format: all processes' counters, then the database's."""
    if os.environ.get(MULTIPROC_ENV):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        counted = generate_latest(processes)
    else:
        counted = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return counted + generate_latest(database)


def _allowed(request: HttpRequest) -> bool:
    token: str = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header[len("Bearer ") :].encode(), token.encode())
    user = request.user
    return bool(user.is_authenticated and user.is_staff)


@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Staff only; everyone else gets the same 404 as for a page that does not exist."""
    if not _allowed(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
