"""Decisions made on the oversight service itself (the system of record) reach the order:
the approvals worker learns them on its round and applies them through the same decision
code, exactly once, with the same events (issue 12, item 11). A real oversight server."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from io import StringIO

import grpc
import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from django.db import connection

from alerts.models import Alert, AlertType
from conftest import jwt_for
from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState, DecisionChannel
from oversight.proto import oversight_pb2 as pb
from oversight.proto import oversight_pb2_grpc as pb_grpc
from oversight.services.decisions import approval_decide, approvals_sync_decided
from portfolio.models import Account, Position
from tests.oversight.flow import place_high
from tests.servers import freeze
from tests.trades.conftest import order_body, set_quotes
from trades.models import Execution, Order, OrderStatus
from trading_demo.asgi import application
from trading_demo.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


@pytest.fixture
def service(oversight_settings) -> Iterator[pb_grpc.OversightStub]:
    """The service's own API, as another oversight client (its console) would call it."""
    with grpc.insecure_channel(oversight_settings.target) as channel:
        yield pb_grpc.OversightStub(channel)


def worker_round() -> str:
    out = StringIO()
    call_command("expire_approvals", "--once", stdout=out)
    return out.getvalue()


def test_approved_on_the_service_fills_the_order_exactly_once_with_events(
    service, client_for, trader, manager, acme
):
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    set_quotes(acme, asks=[("99.50", 1000)])
    service.ApproveRequest(
        pb.ApproveRequestRequest(approval_id=str(approval.pk), manager_id=str(manager.pk)),
        timeout=5,
    )
    token = jwt_for(trader)

    async def scenario() -> list[str]:
        socket = WebsocketCommunicator(application, "/ws/")
        assert (await socket.connect())[0]
        await socket.send_json_to({"type": "auth", "token": token})
        await socket.receive_json_from(timeout=2)
        await socket.send_json_to({"type": "subscribe", "channel": "trades"})
        await socket.receive_json_from(timeout=2)
        assert "applied 1" in await sync_to_async(worker_round)()
        events = []
        while not await socket.receive_nothing(timeout=0.5):
            events.append((await socket.receive_json_from(timeout=1))["event"])
        await socket.disconnect()
        return events

    events = async_to_sync(scenario)()
    assert events[0] == "approval:decided"
    assert "trade:executed" in events

    filled = Order.objects.get(pk=order["id"])
    assert (filled.status, filled.filled_quantity) == (OrderStatus.FILLED, 150)
    approval.refresh_from_db()
    assert (approval.state, approval.decided_by, approval.decided_via) == (
        ApprovalState.APPROVED,
        manager,
        DecisionChannel.OVERSIGHT,
    )
    assert AuditEvent.objects.filter(action="approval.approved").count() == 1
    assert Alert.objects.filter(owner=trader, type=AlertType.APPROVAL).count() == 1

    # Another round, and a decision arriving late through the API: nothing happens twice.
    assert "applied 0" in worker_round()
    assert approvals_sync_decided(approval_ids=[approval.pk]) == 0
    again = client_for(manager).post(f"/api/approvals/{approval.pk}/approve", {}, format="json")
    assert again.status_code == 409
    assert Execution.objects.filter(buy_order_id=order["id"]).count() == 1
    account = Account.objects.get(user=trader)
    assert account.cash == D("100000.00") - D("14925.00") and account.reserved_cash == 0
    assert Position.objects.get(account=account, symbol=acme).quantity == 150


def test_rejected_on_the_service_refuses_the_order_and_frees_the_cash(
    service, client_for, trader, manager, acme
):
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    service.RejectRequest(
        pb.RejectRequestRequest(
            approval_id=str(approval.pk), manager_id=str(manager.pk), reason="Too big today"
        ),
        timeout=5,
    )
    assert "applied 1" in worker_round()
    refused = Order.objects.get(pk=order["id"])
    assert refused.status == OrderStatus.REJECTED
    approval.refresh_from_db()
    assert (approval.state, approval.decision_reason) == (ApprovalState.REJECTED, "Too big today")
    assert Account.objects.get(user=trader).reserved_cash == 0
    alert = Alert.objects.get(owner=trader, type=AlertType.APPROVAL)
    assert "Too big today" in alert.message


def test_a_decision_on_the_service_wins_over_a_later_one_in_the_app(
    service, client_for, trader, manager, admin_user, acme
):
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    service.RejectRequest(
        pb.RejectRequestRequest(
            approval_id=str(approval.pk), manager_id=str(manager.pk), reason="No"
        ),
        timeout=5,
    )
    # Before the worker's round, another manager approves in the app: the service's first
    # decision stands, is applied at once, and the caller is told.
    response = client_for(admin_user).post(
        f"/api/approvals/{approval.pk}/approve", {}, format="json"
    )
    assert response.status_code == 409, response.json()
    assert response.json()["error"] == "already_decided"
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.REJECTED
    assert ApprovalRequest.objects.get(pk=approval.pk).decided_by == manager
    assert "applied 0" in worker_round()


def test_a_decider_who_is_not_a_manager_here_is_not_applied(
    service, client_for, trader, trader2, acme
):
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    service.ApproveRequest(
        pb.ApproveRequestRequest(approval_id=str(approval.pk), manager_id=str(trader2.pk)),
        timeout=5,
    )
    assert "applied 0" in worker_round()
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.PENDING_APPROVAL
    assert not Execution.objects.filter(buy_order_id=order["id"]).exists()


def test_the_service_down_delays_decisions_but_not_expiry(
    oversight_settings, client_for, trader, acme
):
    place_high(client_for(trader))
    oversight_settings.kill()
    output = worker_round()
    assert "applied 0" in output and "expired 0" in output


def test_too_many_ids_are_refused_by_the_service(service):
    with pytest.raises(grpc.RpcError) as refused:
        service.ListApprovalStatuses(
            pb.ListApprovalStatusesRequest(approval_ids=[f"a{n}" for n in range(101)]), timeout=5
        )
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    known = service.ListApprovalStatuses(
        pb.ListApprovalStatusesRequest(approval_ids=["nope"]), timeout=5
    )
    assert list(known.approvals) == []


def test_a_decision_waiting_on_the_service_holds_no_lock(
    oversight_settings, client_for, trader, trader2, manager, acme
):
    """The service is asked before the symbol and the request are locked: while it hangs
    (frozen), other work on the same symbol goes on."""
    order = place_high(client_for(trader))
    approval = ApprovalRequest.objects.get(order_id=order["id"])
    resting = client_for(trader2).post(
        "/api/trades",
        order_body(quantity=5, order_type="LIMIT", price="95.00", time_in_force="GTC"),
        format="json",
    )
    assert resting.status_code == 201, resting.json()
    outcome: list[object] = []

    def decide() -> None:
        try:
            outcome.append(
                approval_decide(
                    approval_id=approval.pk, manager=manager, approve=False, reason="No"
                )
            )
        except Exception as exc:  # the frozen service: 503
            outcome.append(exc)
        finally:
            connection.close()

    process = oversight_settings.process
    assert process is not None
    freeze(process.pid)
    try:
        decider = threading.Thread(target=decide)
        decider.start()
        # Let the decision reach its call to the service (2 s deadline; it hangs there).
        time.sleep(0.5)
        cancelled = client_for(trader2).delete(f"/api/trades/{resting.json()['id']}")
        still_deciding = decider.is_alive()
    finally:
        os.kill(process.pid, signal.SIGCONT)
    decider.join(10)
    assert cancelled.status_code == 200, cancelled.json()
    assert still_deciding  # the cancel did not wait for the decision's service call
    assert outcome and isinstance(outcome[0], (oversight.OversightUnavailable, ApprovalRequest))
