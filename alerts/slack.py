"""The one module that posts to Slack: an incoming webhook (`SLACK_WEBHOOK_URL`; empty = Slack
is off) or a button click's `response_url`, through slack-sdk's `WebhookClient`. Callers never
post directly from a request: they enqueue (`alerts.services.slack_enqueue`) and the
`deliver_slack` worker posts with `slack_post`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from trading_demo.models import Severity

TIMEOUT_SECONDS = 5


class SlackError(Exception):
    """Slack did not take the message. `retry_after` is Slack's own hint (HTTP 429)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def slack_enabled() -> bool:
    return bool(settings.SLACK_WEBHOOK_URL)


def _retry_after(headers: dict[str, Any]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return float(value[0] if isinstance(value, list) else value)
            except (TypeError, ValueError):
                return None
    return None


def slack_post(payload: dict[str, Any], *, url: str = "") -> None:
    """Post one message to `url` (default: the webhook); raises SlackError unless Slack
    answered 2xx.

    Of slack-sdk's retry handlers only the connection-reset one runs here (one quick retry of
    a dropped connection): 5xx and 429 go back to the outbox, which retries with its own
    backoff and honours Retry-After without holding the worker in a sleep."""
    url = url or settings.SLACK_WEBHOOK_URL
    if not url:
        raise SlackError("Slack is not configured (SLACK_WEBHOOK_URL is empty).")
    client = WebhookClient(
        url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
    )
    try:
        response = client.send_dict(payload)
    except Exception as exc:  # urllib's URLError, timeouts, refused connections
        raise SlackError(f"{type(exc).__name__}: {exc}") from exc
    if 200 <= response.status_code < 300:
        return
    retry_after = _retry_after(response.headers) if response.status_code == 429 else None
    raise SlackError(
        f"Slack answered {response.status_code}: {str(response.body)[:200]}",
        retry_after=retry_after,
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
