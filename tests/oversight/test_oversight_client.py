"""The Django-side client against a real oversight server: typed results, domain errors, and
failing fast (and closed) when the service is not there."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from oversight import client
from oversight.client import (
    AlreadyDecided,
    ApprovalExpired,
    ApprovalState,
    OversightUnavailable,
    RiskLevel,
    TradingState,
)
from tests.servers import free_port
from trading_demo.errors import Conflict, Forbidden, NotFound, ValidationFailed

D = Decimal


def evaluate(request_id: str = "order-1", **overrides: object) -> client.RiskAssessment:
    """12,000 USD of a 50,000 account: 35 points, HIGH because it is over 10,000 USD."""
    values: dict[str, object] = {
        "request_id": request_id,
        "user_id": "trader-1",
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "LIMIT",
        "quantity": 60,
        "price": D("200.00"),
        "reference_price": D("200.00"),
        "equity": D("50000.00"),
        "cash": D("50000.00"),
        "position_quantity": 0,
        "symbol_volatility": D("0.15"),
        "visible_depth": 100_000,
        "recent_order_count": 0,
    }
    values.update(overrides)
    return client.evaluate_risk(**values)  # type: ignore[arg-type]


def submit(approval_id: str = "approval-1", *, expires_in: timedelta = timedelta(minutes=15)):
    return client.submit_approval(
        approval_id=approval_id,
        order_id=f"order-of-{approval_id}",
        user_id="trader-1",
        symbol="AAPL",
        side="BUY",
        quantity=60,
        price=D("200.00"),
        notional=D("12000.00"),
        score=35,
        level="HIGH",
        reasons=["Order notional $12,000.00 is over $10,000.00: at least HIGH (needs approval)"],
        expires_at=datetime.now(UTC) + expires_in,
    )


@pytest.fixture
def nothing_listening(settings) -> Iterator[str]:
    target = f"127.0.0.1:{free_port()}"
    settings.OVERSIGHT_GRPC_URL = target
    client.reset_channels()
    yield target
    client.reset_channels()


def test_evaluate_risk_returns_a_typed_assessment(oversight_settings):
    assessment = evaluate()
    assert assessment.level is RiskLevel.HIGH
    assert assessment.score == 35
    assert assessment.trading_state is TradingState.ACTIVE
    assert isinstance(assessment.reasons, tuple)
    assert assessment.reasons[-1].startswith("Order notional $12,000.00 is over $10,000.00")
    assert evaluate(quantity=1) == assessment  # same request_id: the stored evaluation

    low = evaluate("order-2", quantity=1)
    assert (low.level, low.score) == (RiskLevel.LOW, 0)

    stored = client.get_evaluation(evaluation_id=assessment.evaluation_id)
    assert stored.assessment == assessment
    assert stored.inputs["price"] == "200.00"
    assert stored.evaluated_at is not None and stored.evaluated_at.tzinfo is not None


def test_malformed_order_is_validation_failed(oversight_settings):
    with pytest.raises(ValidationFailed, match="side"):
        evaluate(side="HOLD")


def test_approval_round_trip_as_dataclasses(oversight_settings):
    submitted = submit()
    assert submitted.state is ApprovalState.PENDING and submitted.is_pending
    assert (submitted.price, submitted.notional) == (D("200.00"), D("12000.00"))
    assert submitted.expires_at is not None and submitted.expires_at.tzinfo is UTC
    assert submitted.decided_at is None

    approved = client.approve(approval_id="approval-1", manager_id="manager-1", reason="Fine")
    assert (approved.state, approved.decided_by, approved.reason) == (
        ApprovalState.APPROVED,
        "manager-1",
        "Fine",
    )
    assert approved.decided_at is not None
    assert client.approval_status(approval_id="approval-1") == approved


def test_decision_errors_map_to_domain_errors(oversight_settings):
    submit()
    with pytest.raises(ValidationFailed, match="reason"):
        client.reject(approval_id="approval-1", manager_id="manager-1", reason="")
    with pytest.raises(Forbidden):
        client.approve(approval_id="approval-1", manager_id="trader-1")
    with pytest.raises(NotFound):
        client.approval_status(approval_id="no-such-request")

    client.reject(approval_id="approval-1", manager_id="manager-1", reason="Too concentrated")
    with pytest.raises(AlreadyDecided) as caught:
        client.approve(approval_id="approval-1", manager_id="manager-2")
    assert isinstance(caught.value, Conflict)
    assert (caught.value.code, caught.value.status_code) == ("already_decided", 409)


def test_expired_requests(oversight_settings):
    submit("due", expires_in=timedelta(seconds=-1))
    submit("later")
    assert client.expire_approvals(at=datetime.now(UTC)) == ["due"]
    assert client.approval_status(approval_id="due").state is ApprovalState.EXPIRED
    with pytest.raises(ApprovalExpired) as caught:
        client.approve(approval_id="due", manager_id="manager-1")
    assert isinstance(caught.value, Conflict)
    assert not isinstance(caught.value, AlreadyDecided)


def test_risk_settings_round_trip(oversight_settings):
    settings = client.get_risk_config()
    assert settings.config.approval_notional_above == D("10000")
    assert settings.config.notional_bands[0] == client.RiskBand(D("0.30"), 30)
    assert settings.config_updated_at is None

    raised = replace(settings.config, approval_notional_above=D("20000"))
    changed = client.set_risk_config(config=raised, actor="admin-1")
    assert changed.config == raised
    assert changed.config_updated_by == "admin-1"
    assert evaluate("under-new-floor").level is RiskLevel.MEDIUM

    with pytest.raises(ValidationFailed, match="medium_at"):
        client.set_risk_config(config=replace(raised, medium_at=90), actor="admin-1")

    halted = client.set_trading_state(state="HALTED", actor="admin-1")
    assert halted.trading_state is TradingState.HALTED
    assert evaluate("halted", quantity=1).level is RiskLevel.CRITICAL


def test_health_is_serving(oversight_settings):
    assert asyncio.run(client.health()) == "SERVING"


def test_client_recovers_after_a_server_restart(oversight_settings):
    assert evaluate("before").level is RiskLevel.HIGH
    oversight_settings.stop()
    with pytest.raises(OversightUnavailable):
        evaluate("while-down")
    oversight_settings.start()
    # The cached channel reconnects on its own, within its (capped) reconnect backoff; until
    # then the client fails closed rather than hanging.
    deadline = time.monotonic() + 5
    while True:
        try:
            assessment = evaluate("after")
            break
        except OversightUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert assessment.level is RiskLevel.HIGH


def test_nothing_listening_is_unavailable_quickly(nothing_listening):
    started = time.monotonic()
    with pytest.raises(OversightUnavailable) as caught:
        evaluate()
    assert time.monotonic() - started < 2
    assert (caught.value.code, caught.value.status_code) == ("service_unavailable", 503)
    with pytest.raises(OversightUnavailable):
        asyncio.run(client.health())


def test_a_server_that_never_answers_hits_the_deadline(settings):
    # A TCP listener that accepts and says nothing: the call waits for its own deadline
    # (1.5 s for EvaluateRisk) and no longer.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        settings.OVERSIGHT_GRPC_URL = f"127.0.0.1:{listener.getsockname()[1]}"
        client.reset_channels()
        started = time.monotonic()
        try:
            with pytest.raises(OversightUnavailable):
                evaluate()
        finally:
            client.reset_channels()
        assert 1 < time.monotonic() - started < 3
