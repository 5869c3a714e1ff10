"""The one module that talks to Slack: an incoming webhook (`SLACK_WEBHOOK_URL`; empty = Slack
is off). Callers never post directly from a request: they enqueue (`alerts.services.
slack_enqueue`) and the `deliver_slack` worker posts with `slack_post`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from trading_demo.models import Severity

TIMEOUT_SECONDS = 5


class SlackError(Exception):
    """Slack did not take the message. `retry_after` is Slack's own hint (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def slack_enabled() -> bool:
    return bool(settings.SLACK_WEBHOOK_URL)


def slack_post(payload: dict[str, Any], *, url: str = "") -> None:
    """Post one message to `url` (default: the webhook); raises SlackError unless Slack
    answered 2xx."""
    url = url or settings.SLACK_WEBHOOK_URL
    if not url:
        raise SlackError("Slack is not configured (SLACK_WEBHOOK_URL is empty).")
    try:
        response = requests.post(url, json=payload, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise SlackError(f"{type(exc).__name__}: {exc}") from exc
    if 200 <= response.status_code < 300:
        return
    retry_after = None
    if response.status_code == 429:
        try:
            retry_after = float(response.headers.get("Retry-After", ""))
        except ValueError:
            retry_after = None
    raise SlackError(
        f"Slack answered {response.status_code}: {response.text[:200]}", retry_after=retry_after
    )


def escape(text: str) -> str:
    """Slack's own escaping: without it a message containing `<!channel>` (a trader's note)
    would notify the whole channel."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def alert_payload(*, message: str, severity: str, type: str) -> dict[str, Any]:
    """The seed's alert message: colour `danger` for high and critical, `warning` otherwise;
    fields Severity and Type."""
    danger = severity in (Severity.HIGH, Severity.CRITICAL)
    return {
        "text": f"\N{WARNING SIGN}\N{VARIATION SELECTOR-16} Alert: {escape(message)}",
        "attachments": [
            {
                "color": "danger" if danger else "warning",
                "fields": [
                    {"title": "Severity", "value": severity, "short": True},
                    {"title": "Type", "value": type, "short": True},
                ],
            }
        ],
    }


def trade_executed_payload(
    *, side: str, quantity: int, symbol: str, price: Decimal, trader: str
) -> dict[str, Any]:
    """The seed's trade message: a headline and the Symbol, Type, Quantity and Price fields."""
    return {
        "text": f"Trade executed: {side} {quantity} {symbol} @ ${price}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Trade Executed*"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*Symbol:*\n{symbol}"},
                    {"type": "mrkdwn", "text": f"*Type:*\n{side}"},
                    {"type": "mrkdwn", "text": f"*Quantity:*\n{quantity}"},
                    {"type": "mrkdwn", "text": f"*Price:*\n${price}"},
                ],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Trader: {escape(trader)}"}],
            },
        ],
    }
