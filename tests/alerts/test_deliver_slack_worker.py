"""The notifications worker as `make run` starts it: a real process that posts the outbox to the
Slack stand-in and turns failing health checks into system alerts, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from alerts.models import Alert
from tests.alerts.conftest import raise_for_managers
from tests.servers import child_env, free_port, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_delivers_and_reports_services_going_down(slack, manager, tmp_path):
    raise_for_managers(message="Order 42 needs approval")
    nowhere = f"127.0.0.1:{free_port()}"
    env = child_env(
        data_dir=tmp_path,
        SLACK_WEBHOOK_URL=slack.url,
        METERING_GRPC_URL=nowhere,
        OVERSIGHT_GRPC_URL=nowhere,
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "deliver_slack", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for(lambda: len(slack.received) >= 3), slack.received
        texts = sorted(m["text"].split("Alert: ", 1)[1] for m in slack.received)
        assert texts[0].startswith("Order 42 needs approval")
        assert texts[1].startswith("metering is down")
        assert texts[2].startswith("oversight is down")
        down = Alert.objects.filter(type="system", audience="managers")
        assert {a.data["check"] for a in down} == {"metering", "oversight"}
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert "notifications worker running (Slack on" in output
