"""Deciding approval requests through the API: first decision wins, nobody decides their own
order, only managers decide, a rejection needs a reason, the pre-trade checks run again, and
every decision reaches the oversight service and the audit log."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from alerts.models import Alert, AlertType, Audience
from oversight import client as oversight
from oversight.models import ApprovalRequest, ApprovalState
from oversight.services.decisions import approvals_expire
from portfolio.models import Account, Position
from tests.oversight.flow import place_high
from tests.trades.conftest import set_quotes, set_reference
from trades.models import Order
from trading_demo.models import AuditEvent
from trading_demo.services import roles_sync

D = Decimal


def approval_of(order: dict) -> ApprovalRequest:
    return ApprovalRequest.objects.get(order_id=order["id"])


def approve_url(approval: ApprovalRequest, verb: str = "approve") -> str:
    return f"/api/approvals/{approval.pk}/{verb}"


def test_manager_approves_and_the_order_fills(client_for, trader, manager, acme):
    order = place_high(client_for(trader))
    set_quotes(acme, asks=[("99.50", 1000)])
    approval = approval_of(order)
    response = client_for(manager).post(approve_url(approval), {"reason": "ok"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["decided_by"], body["order_status"]) == (
        "approved",
        "max@example.com",
        "filled",
    )
    filled = Order.objects.get(pk=order["id"])
    assert (filled.filled_quantity, filled.average_fill_price) == (150, D("99.5000"))
    account = Account.objects.get(user=trader)
    assert account.reserved_cash == 0
    assert account.cash == D("100000.00") - D("14925.00")
    assert Position.objects.get(account=account, symbol=acme).quantity == 150
    # Forwarded to the service and audited with the risk snapshot.
    remote = oversight.approval_status(approval_id=approval.pk)
    assert remote.state is oversight.ApprovalState.APPROVED
    assert remote.decided_by == str(manager.pk)
    audit = AuditEvent.objects.get(action="approval.approved", target_id=str(approval.pk))
    assert audit.actor == manager
    assert audit.data["risk_score"] == approval.risk_score
    assert audit.data["pre_trade_check"] == "passed"
    # The trader is told.
    told = Alert.objects.get(owner=trader, type=AlertType.APPROVAL)
    assert "approved" in told.message


def test_rejection_releases_the_reserved_cash_and_tells_the_trader(
    client_for, trader, manager, acme
):
    order = place_high(client_for(trader))
    approval = approval_of(order)
    response = client_for(manager).post(
        approve_url(approval, "reject"), {"reason": "Too concentrated"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["state"], response.json()["order_status"]) == (
        "rejected",
        "rejected",
    )
    assert Account.objects.get(user=trader).reserved_cash == 0
    rejected = Order.objects.get(pk=order["id"])
    assert "Too concentrated" in rejected.status_reason
    seen = client_for(trader).get(f"/api/trades/{order['id']}").json()
    assert (seen["status"], seen["approval"]["state"]) == ("rejected", "rejected")
    assert seen["approval"]["reason"] == "Too concentrated"
    assert oversight.approval_status(approval_id=approval.pk).reason == "Too concentrated"
    told = Alert.objects.get(owner=trader, type=AlertType.APPROVAL)
    assert "Too concentrated" in told.message


def test_reject_without_a_reason_is_400_and_changes_nothing(client_for, trader, manager, acme):
    approval = approval_of(place_high(client_for(trader)))
    response = client_for(manager).post(
        approve_url(approval, "reject"), {"reason": "  "}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "validation_failed"
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING
    assert Account.objects.get(user=trader).reserved_cash == D("15000.00")


def test_nobody_decides_their_own_order(client_for, manager, acme):
    approval = approval_of(place_high(client_for(manager)))
    response = client_for(manager).post(approve_url(approval), format="json")
    assert response.status_code == 403
    assert "own order" in response.json()["message"]
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING


def test_traders_and_viewers_cannot_decide(client_for, trader, trader2, viewer, acme):
    approval = approval_of(place_high(client_for(trader)))
    for user in (trader2, viewer, trader):
        response = client_for(user).post(approve_url(approval), format="json")
        assert response.status_code == 403, user
    approval.refresh_from_db()
    assert approval.state == ApprovalState.PENDING


def test_a_second_decision_is_409_already_decided(client_for, trader, manager, admin_user, acme):
    approval = approval_of(place_high(client_for(trader)))
    first = client_for(manager).post(
        approve_url(approval, "reject"), {"reason": "no"}, format="json"
    )
    assert first.status_code == 200
    second = client_for(admin_user).post(approve_url(approval), format="json")
    assert second.status_code == 409
    assert second.json()["error"] == "already_decided"
    approval.refresh_from_db()
    assert (approval.state, approval.decided_by) == (ApprovalState.REJECTED, manager)


def test_failed_pre_trade_check_turns_an_approval_into_a_rejection(
    client_for, trader, manager, acme
):
    approval = approval_of(place_high(client_for(trader)))
    acme.halted = True
    acme.save()
    response = client_for(manager).post(approve_url(approval), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "rejected"
    assert (
        "Pre-trade check failed" in body["decision_reason"] and "halted" in body["decision_reason"]
    )
    assert Account.objects.get(user=trader).reserved_cash == 0
    assert oversight.approval_status(approval_id=approval.pk).state is (
        oversight.ApprovalState.REJECTED
    )


def test_limit_outside_the_collar_at_current_prices_is_rejected(client_for, trader, manager, acme):
    approval = approval_of(place_high(client_for(trader)))
    set_reference(acme, "150.00")  # the 100.00 limit is now far outside the collar
    response = client_for(manager).post(approve_url(approval), format="json")
    assert response.json()["state"] == "rejected"
    assert (
        "must be within 10 % of the reference price 150.00" in (response.json()["decision_reason"])
    )


def test_approved_market_order_reserves_at_the_current_collar(client_for, trader, manager, acme):
    api = client_for(trader)
    response = api.post(
        "/api/trades",
        {"symbol": "ACME", "type": "BUY", "quantity": 120, "order_type": "MARKET"},
        format="json",
    )
    assert response.status_code == 202
    held = Account.objects.get(user=trader).reserved_cash
    set_reference(acme, "101.00")
    set_quotes(acme, asks=[("101.05", 1000)])
    approval = approval_of(response.json())
    decided = client_for(manager).post(approve_url(approval), format="json")
    assert decided.json()["order_status"] == "filled"
    account = Account.objects.get(user=trader)
    assert account.reserved_cash == 0 and held > 0
    assert account.cash == D("100000.00") - D("101.05") * 120


def test_expired_request_cannot_be_approved(client_for, trader, manager, acme):
    approval = approval_of(place_high(client_for(trader)))
    ApprovalRequest.objects.filter(pk=approval.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = client_for(manager).post(approve_url(approval), format="json")
    assert response.status_code == 409
    approval.refresh_from_db()
    assert approval.state == ApprovalState.EXPIRED
    assert Account.objects.get(user=trader).reserved_cash == 0


def test_expiry_auto_rejects_and_releases(client_for, trader, trader2, settings, acme):
    settings.APPROVAL_TIMEOUT = 60
    due = approval_of(place_high(client_for(trader)))
    later = approval_of(place_high(client_for(trader2)))
    ApprovalRequest.objects.filter(pk=due.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert approvals_expire() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == (ApprovalState.EXPIRED, ApprovalState.PENDING)
    order = Order.objects.get(pk=due.order_id)
    assert order.status == "rejected" and "expired" in order.status_reason.lower()
    assert Account.objects.get(user=trader).reserved_cash == 0
    assert Account.objects.get(user=trader2).reserved_cash == D("15000.00")
    assert Alert.objects.filter(owner=trader, type=AlertType.APPROVAL).exists()
    assert AuditEvent.objects.filter(action="approval.expired", target_id=str(due.pk)).exists()
    # The default timeout is what the request got.
    assert later.expires_at - later.created_at == timedelta(seconds=60)


def test_trader_cancelling_a_pending_order_withdraws_the_request(client_for, trader, manager, acme):
    api = client_for(trader)
    order = place_high(api)
    assert api.delete(f"/api/trades/{order['id']}").status_code == 200
    approval = approval_of(order)
    assert approval.state == ApprovalState.WITHDRAWN
    assert Account.objects.get(user=trader).reserved_cash == 0
    response = client_for(manager).post(approve_url(approval), format="json")
    assert response.status_code == 409


def test_listing_is_paged_and_traders_see_only_their_own(
    client_for, trader, trader2, manager, acme
):
    place_high(client_for(trader))
    place_high(client_for(trader2))
    everyone = client_for(manager).get("/api/approvals?state=pending")
    assert everyone.status_code == 200
    assert len(everyone.json()["results"]) == 2
    mine = client_for(trader).get("/api/approvals").json()["results"]
    assert [row["trader"] for row in mine] == ["tess@example.com"]
    other = ApprovalRequest.objects.get(trader=trader2)
    assert client_for(trader).get(f"/api/approvals/{other.pk}").status_code == 404
    assert client_for(manager).get("/api/approvals?state=bogus").status_code == 400
    page = client_for(manager).get("/api/approvals?limit=1").json()
    assert len(page["results"]) == 1 and page["next"]


def test_managers_queue_alert_and_service_share_one_request(client_for, trader, manager, acme):
    approval = approval_of(place_high(client_for(trader)))
    alert = Alert.objects.get(type=AlertType.APPROVAL, audience=Audience.MANAGERS)
    assert alert.data["approval_id"] == str(approval.pk)


def test_managers_read_the_decision_in_the_audit_log(client, client_for, trader, manager, acme):
    roles_sync()
    approval = approval_of(place_high(client_for(trader)))
    client_for(manager).post(approve_url(approval, "reject"), {"reason": "No"}, format="json")
    client.force_login(manager)
    listing = client.get("/admin/trading_demo/auditevent/?action=approval.rejected")
    assert listing.status_code == 200
    assert str(approval.pk) in listing.content.decode()
    event = AuditEvent.objects.get(action="approval.rejected")
    detail = client.get(f"/admin/trading_demo/auditevent/{event.pk}/change/")
    assert detail.status_code == 200 and "Save" not in detail.content.decode()
