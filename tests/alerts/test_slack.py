"""Slack: alerts at or above the configured severity go out through the outbox to a real local
HTTP server standing in for the webhook, in the seed's format; Slack being down never blocks
anyone, and the message is delivered once Slack is back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from alerts.models import Alert, SlackMessage
from alerts.services import (
    HEALTH_CACHE_PREFIX,
    price_alert_create,
    price_alerts_evaluate,
    slack_enqueue,
    slack_messages_deliver,
    slack_messages_retry_now,
    system_health_report,
)
from tests.alerts.conftest import raise_for, raise_for_managers

pytestmark = pytest.mark.django_db


def fields(message: dict) -> dict[str, str]:
    return {f["title"]: f["value"] for f in message["attachments"][0]["fields"]}


def test_a_fired_price_alert_reaches_slack_in_the_seed_format(
    slack, settings, trader, acme, client_for
):
    settings.ALERTS_SLACK_MIN_SEVERITY = "medium"
    trader.slack_min_severity = "medium"
    trader.save()
    price_alert_create(user=trader, symbol="ACME", condition="above", threshold=Decimal("100.25"))
    assert price_alerts_evaluate(symbol_id="ACME", price=Decimal("100.30")) == 1
    assert slack.received == []  # nothing is posted from the caller

    call_command("deliver_slack", "--once")

    assert len(slack.received) == 1
    message = slack.received[0]
    assert message["text"] == "\u26a0\ufe0f Alert: ACME rose to 100.30 (above 100.25)"
    assert message["attachments"][0]["color"] == "warning"
    assert fields(message) == {"Severity": "medium", "Type": "price"}
    assert all(f["short"] is True for f in message["attachments"][0]["fields"])
    assert SlackMessage.objects.get().delivered_at is not None
    call_command("deliver_slack", "--once")
    assert len(slack.received) == 1


@pytest.mark.parametrize(("severity", "colour"), [("high", "danger"), ("critical", "danger")])
def test_high_and_critical_are_danger(slack, manager, severity, colour):
    raise_for_managers(severity=severity, type="risk", message="Book is one-sided")
    slack_messages_deliver()
    assert slack.received[0]["attachments"][0]["color"] == colour
    assert fields(slack.received[0]) == {"Severity": severity, "Type": "risk"}


def test_below_the_configured_severity_stays_in_app(slack, manager, trader):
    raise_for_managers(severity="medium")
    raise_for(trader, severity="low")
    assert not SlackMessage.objects.exists()
    assert Alert.objects.count() == 2


def test_the_owners_preference_decides_for_their_own_alerts(slack, settings, trader, trader2):
    settings.ALERTS_SLACK_MIN_SEVERITY = "low"
    trader.slack_min_severity = "critical"
    trader.save()
    trader2.slack_min_severity = "low"
    trader2.save()
    raise_for(trader, severity="high", message="for tess")
    raise_for(trader2, severity="low", message="for theo")
    slack_messages_deliver()
    assert [m["text"] for m in slack.received] == ["\u26a0\ufe0f Alert: for theo"]


def test_slack_down_keeps_the_alert_in_app_and_delivers_after_it_is_back(
    slack, manager, client_for
):
    slack.down = True
    alert = raise_for_managers(message="Oversight unreachable")
    # In the app at once, whatever Slack is doing.
    listed = client_for(manager).get("/api/alerts").json()["results"]
    assert [row["id"] for row in listed] == [str(alert.pk)]

    now = timezone.now()
    run = slack_messages_deliver(now=now)
    assert (run.delivered, run.failed) == (0, 1)
    pending = SlackMessage.objects.get()
    assert pending.delivered_at is None and pending.attempts == 1
    assert "500" in pending.last_error
    assert pending.next_attempt_at == now + timedelta(seconds=5)
    # Not due yet: nothing is tried before the backoff is over.
    assert slack_messages_deliver(now=now + timedelta(seconds=4)).failed == 0

    run = slack_messages_deliver(now=now + timedelta(seconds=6))
    assert run.failed == 1
    pending.refresh_from_db()
    assert pending.attempts == 2
    assert pending.next_attempt_at == now + timedelta(seconds=6 + 15)

    slack.down = False
    run = slack_messages_deliver(now=now + timedelta(seconds=30))
    assert (run.delivered, run.failed) == (1, 0)
    assert slack.received[0]["text"].endswith("Oversight unreachable")
    pending.refresh_from_db()
    assert pending.delivered_at is not None and pending.attempts == 3
    assert pending.last_error == ""


def test_slack_unreachable_is_retried_like_an_error(settings, manager):
    from tests.servers import free_port

    settings.SLACK_WEBHOOK_URL = f"http://127.0.0.1:{free_port()}/hook"
    raise_for_managers()
    run = slack_messages_deliver()
    assert run.failed == 1
    message = SlackMessage.objects.get()
    assert message.delivered_at is None
    assert "Connection refused" in message.last_error


def test_backoff_grows_and_is_capped(slack, manager):
    slack.down = True
    raise_for_managers()
    now = timezone.now()
    waits = []
    for _ in range(6):
        message = SlackMessage.objects.get()
        now = message.next_attempt_at
        slack_messages_deliver(now=now)
        message.refresh_from_db()
        waits.append((message.next_attempt_at - now).total_seconds())
    assert waits == [5, 15, 60, 300, 300, 300]


def test_slacks_rate_limit_hint_is_respected(slack, manager):
    slack.down = True
    slack.status_when_down = 429
    raise_for_managers()
    now = timezone.now()
    slack_messages_deliver(now=now)
    message = SlackMessage.objects.get()
    assert message.next_attempt_at == now + timedelta(seconds=120)


def test_messages_go_out_oldest_first_and_a_failure_ends_the_pass(slack, manager):
    for n in range(3):
        raise_for_managers(message=f"alert {n}")
    slack_messages_deliver()
    assert [m["text"][-7:] for m in slack.received] == ["alert 0", "alert 1", "alert 2"]
    slack.down = True
    raise_for_managers(message="alert 3")
    raise_for_managers(message="alert 4")
    run = slack_messages_deliver()
    assert (run.delivered, run.failed) == (0, 1)
    assert SlackMessage.objects.filter(attempts=0, delivered_at__isnull=True).count() == 1


def test_no_webhook_means_no_messages(settings, manager):
    settings.SLACK_WEBHOOK_URL = ""
    raise_for_managers(severity="critical")
    assert slack_enqueue({"text": "hello"}) is None
    assert not SlackMessage.objects.exists()


def test_other_apps_reuse_the_outbox_for_their_own_payloads(slack):
    blocks = {
        "text": "Approval needed",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Order*"}}],
    }
    slack_enqueue(blocks)
    slack_messages_deliver()
    assert slack.received == [blocks]


def test_message_text_is_escaped_so_a_note_cannot_ping_the_channel(slack, settings, trader):
    settings.ALERTS_SLACK_MIN_SEVERITY = "low"
    trader.slack_min_severity = "low"
    trader.save()
    raise_for(trader, message="<!channel> R&D")
    slack_messages_deliver()
    assert slack.received[0]["text"].endswith("&lt;!channel&gt; R&amp;D")


def test_retry_now(slack, manager):
    slack.down = True
    raise_for_managers()
    slack_messages_deliver()
    slack.down = False
    message = SlackMessage.objects.get()
    assert slack_messages_deliver().delivered == 0  # still backing off
    assert slack_messages_retry_now(message_ids=[message.pk]) == 1
    assert slack_messages_deliver().delivered == 1


def test_system_alerts_go_to_slack_down_and_back_up(slack, manager):
    system_health_report(check="metering", ok=True)
    system_health_report(check="metering", ok=False, detail="UNAVAILABLE")
    system_health_report(check="metering", ok=True)
    slack_messages_deliver()
    assert [(m["attachments"][0]["color"], fields(m)["Severity"]) for m in slack.received] == [
        ("danger", "high"),
        ("warning", "low"),
    ]
    assert slack.received[1]["text"].endswith("metering is back up")


def test_a_reply_whose_response_url_expired_is_dropped_not_retried(slack):
    slack.down = True
    reply = slack_enqueue({"text": "approved"}, url=f"http://127.0.0.1:{slack.port}/actions/1")
    fresh = slack_enqueue({"text": "approved"}, url=f"http://127.0.0.1:{slack.port}/actions/2")
    assert reply is not None and fresh is not None
    SlackMessage.objects.filter(pk=reply.pk).update(
        created_at=timezone.now() - timedelta(minutes=31)
    )
    run = slack_messages_deliver()
    assert run.failed == 2 and run.delivered == 0
    assert not SlackMessage.objects.filter(pk=reply.pk).exists()
    kept = SlackMessage.objects.get(pk=fresh.pk)
    assert kept.attempts == 1 and kept.delivered_at is None  # still within 30 min: retried


def back_up_notices(slack) -> list[str]:
    return [m["text"] for m in slack.received if m["text"].endswith("metering is back up")]


def test_every_outage_gets_its_back_up_notice_on_slack(slack, manager):
    """The first outage's "back up" alert is still unread when the second outage ends: the
    second recovery is news all the same."""
    for _ in range(2):
        system_health_report(check="metering", ok=False, detail="UNAVAILABLE")
        system_health_report(check="metering", ok=True, detail="SERVING")
        call_command("deliver_slack", "--once")

    down = [m for m in slack.received if "metering is down" in m["text"]]
    assert len(down) == 2
    assert len(back_up_notices(slack)) == 2
    recovered = Alert.objects.filter(message="metering is back up")
    assert recovered.count() == 2 and recovered.filter(acknowledged_at__isnull=True).count() == 2


def test_one_recovery_seen_by_two_processes_is_one_notice(slack, manager):
    system_health_report(check="metering", ok=False, detail="UNAVAILABLE")
    system_health_report(check="metering", ok=True, detail="SERVING")
    # Another process that last saw it down reports the same recovery.
    cache.set(HEALTH_CACHE_PREFIX + "metering", False)
    system_health_report(check="metering", ok=True, detail="SERVING")
    call_command("deliver_slack", "--once")

    assert len(back_up_notices(slack)) == 1
    assert Alert.objects.filter(message="metering is back up").count() == 1


def test_a_dropped_connection_is_retried_at_once_and_delivered(slack, manager):
    slack.drop_next = 1
    raise_for_managers(message="Book is one-sided")
    run = slack_messages_deliver()
    assert (run.delivered, run.failed) == (1, 0)
    assert [m["text"] for m in slack.received] == ["\u26a0\ufe0f Alert: Book is one-sided"]
    assert SlackMessage.objects.get().attempts == 1
