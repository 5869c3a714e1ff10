"""The expiry worker as `make run` starts it: a real process that auto-rejects a request nobody
decided within APPROVAL_TIMEOUT, releases the reserved cash, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState
from portfolio.models import Account
from tests.oversight.flow import place_high
from tests.servers import child_env, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_expires_undecided_requests(client_for, trader, settings, acme, tmp_path):
    settings.APPROVAL_TIMEOUT = 1
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    env = child_env(
        data_dir=tmp_path, APPROVAL_TIMEOUT="1", OVERSIGHT_GRPC_URL=settings.OVERSIGHT_GRPC_URL
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "expire_approvals", "--interval", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_for(
            lambda: ApprovalRequest.objects.get(pk=approval.pk).state == ApprovalState.EXPIRED
        )
        assert Account.objects.get(user=trader).reserved_cash == 0
        assert oversight.approval_status(approval_id=approval.pk).state is (
            oversight.ApprovalState.EXPIRED
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
    assert worker.returncode == 0, output
    assert "expired 1 approval request(s)" in output
