"""Real-time: the trader hears `trade:pending_approval`, the managers `approval:requested`; the
decision reaches both as `approval:decided`, then the trader's fills arrive as usual."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from conftest import jwt_for
from oversight.models import ApprovalRequest
from tests.oversight.flow import high_order
from tests.trades.conftest import set_quotes
from tests.trades.test_events import events, socket_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_approval_events_reach_trader_and_managers_only(client_for, trader, trader2, manager, acme):
    set_quotes(acme, asks=[("100.00", 1000)])
    tokens = jwt_for(trader), jwt_for(manager), jwt_for(trader2)
    trader_api, manager_api = client_for(trader), client_for(manager)

    async def scenario():
        mine = await socket_for(tokens[0], "trades")
        managers = await socket_for(tokens[1], "approvals")
        other = await socket_for(tokens[2], "trades")
        await other.send_json_to({"type": "subscribe", "channel": "approvals"})
        refused = await other.receive_json_from(timeout=2)
        assert refused["type"] == "error"  # the approvals channel is for managers
        placed = await sync_to_async(trader_api.post)("/api/trades", high_order(), format="json")
        assert placed.status_code == 202
        [pending] = await events(mine, 1)
        assert pending["event"] == "trade:pending_approval"
        assert pending["data"]["status"] == "pending_approval"
        [requested] = await events(managers, 1)
        assert requested["event"] == "approval:requested"
        assert requested["data"]["order_id"] == placed.json()["id"]
        assert requested["data"]["notional"] == "15000.00"

        approval = await sync_to_async(ApprovalRequest.objects.get)()
        decided = await sync_to_async(manager_api.post)(
            f"/api/approvals/{approval.pk}/approve", format="json"
        )
        assert decided.status_code == 200
        received = [e["event"] for e in await events(mine, 3)]
        assert received == ["approval:decided", "trade:created", "trade:executed"]
        [to_managers] = await events(managers, 1)
        assert (to_managers["event"], to_managers["data"]["state"]) == (
            "approval:decided",
            "approved",
        )
        # Another trader hears nothing: neither the order nor the approvals channel.
        assert await other.receive_nothing(timeout=0.3)
        for socket in (mine, managers, other):
            await socket.disconnect()

    async_to_sync(scenario)()
