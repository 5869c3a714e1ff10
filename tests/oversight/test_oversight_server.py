"""The oversight service over the wire: a real `python -m oversight.server` process per test,
spoken to through the generated stubs as any client would."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from oversight.proto import oversight_pb2 as pb
from oversight.proto import oversight_pb2_grpc

TIMEOUT = 5


def stamp(moment: datetime) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromDatetime(moment)
    return value


def risk_request(request_id: str = "order-1", **overrides: object) -> pb.EvaluateRiskRequest:
    """12,000 USD of a 50,000 account: 24 % of equity (+25) and a 24 % position (+10)."""
    values: dict[str, object] = {
        "request_id": request_id,
        "user_id": "trader-1",
        "symbol": "AAPL",
        "side": "BUY",
        "order_type": "MARKET",
        "quantity": 60,
        "price": "200.00",
        "reference_price": "200.00",
        "equity": "50000.00",
        "cash": "50000.00",
        "position_quantity": 0,
        "symbol_volatility": "0.15",
        "visible_depth": 100_000,
        "typical_volume": 0,
        "recent_order_count": 1,
    }
    values.update(overrides)
    return pb.EvaluateRiskRequest(**values)  # type: ignore[arg-type]


def approval_request(
    approval_id: str = "approval-1", *, expires_in: timedelta = timedelta(minutes=15)
) -> pb.SubmitApprovalRequest:
    return pb.SubmitApprovalRequest(
        approval_id=approval_id,
        order_id=f"order-of-{approval_id}",
        user_id="trader-1",
        symbol="AAPL",
        side="BUY",
        quantity=60,
        price="200.00",
        notional="12000.00",
        score=35,
        level="HIGH",
        reasons=["Order notional $12,000.00 is over $10,000.00: at least HIGH (needs approval)"],
        expires_at=stamp(datetime.now(UTC) + expires_in),
    )


def status_code(call, request) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call(request, timeout=TIMEOUT)
    return caught.value.code()


def test_health_is_serving(oversight_server):
    with grpc.insecure_channel(oversight_server.target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "oversight.v1.Oversight"):
            response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_evaluate_risk_scores_the_order(stub):
    evaluation = stub.EvaluateRisk(risk_request(), timeout=TIMEOUT)
    assert evaluation.evaluation_id
    assert evaluation.score == 35
    assert evaluation.level == "HIGH"  # MEDIUM by score, HIGH because it is over 10,000 USD
    assert list(evaluation.reasons) == [
        "Order notional $12,000.00 is 24.0 % of equity (> 20 %): +25",
        "Projected AAPL position $12,000.00 would be 24.0 % of equity (> 20 %): +10",
        "Order notional $12,000.00 is over $10,000.00: at least HIGH (needs approval)",
    ]
    assert evaluation.trading_state == "ACTIVE"


def test_evaluate_risk_is_idempotent_on_request_id(stub):
    first = stub.EvaluateRisk(risk_request("order-7"), timeout=TIMEOUT)
    # A retry with the same id gets the stored evaluation, whatever the market did meanwhile.
    again = stub.EvaluateRisk(risk_request("order-7", quantity=1), timeout=TIMEOUT)
    assert again == first
    other = stub.EvaluateRisk(risk_request("order-8", quantity=1), timeout=TIMEOUT)
    assert other.evaluation_id != first.evaluation_id
    assert other.level == "LOW"


def test_every_evaluation_is_stored_for_audit(stub, oversight_server):
    evaluation = stub.EvaluateRisk(risk_request("order-audit"), timeout=TIMEOUT)
    record = stub.GetEvaluation(
        pb.GetEvaluationRequest(evaluation_id=evaluation.evaluation_id), timeout=TIMEOUT
    )
    assert record.evaluation == evaluation
    assert record.inputs == risk_request("order-audit")

    store = oversight_server.data_dir / "oversight.sqlite3"
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT request_id, score, level, reasons, config FROM evaluations"
        ).fetchall()
    assert len(rows) == 1
    request_id, score, level, reasons, config = rows[0]
    assert (request_id, score, level) == ("order-audit", 35, "HIGH")
    assert "24.0 % of equity" in reasons
    assert '"high_at": 50' in config  # the configuration it was scored with


@pytest.mark.parametrize(
    "overrides",
    [
        {"side": "HOLD"},
        {"quantity": 0},
        {"price": "twelve"},
        {"equity": ""},
        {"order_type": "ICEBERG"},
        {"request_id": ""},
        {"user_id": ""},
    ],
)
def test_evaluate_risk_refuses_malformed_orders(stub, overrides):
    request = risk_request(**{"request_id": "bad", **overrides})
    assert status_code(stub.EvaluateRisk, request) is grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_evaluation_is_not_found(stub):
    request = pb.GetEvaluationRequest(evaluation_id="nope")
    assert status_code(stub.GetEvaluation, request) is grpc.StatusCode.NOT_FOUND


def test_approval_lifecycle_submit_then_approve(stub):
    submitted = stub.SubmitApproval(approval_request(), timeout=TIMEOUT)
    assert (submitted.state, submitted.decided_by, submitted.HasField("decided_at")) == (
        "PENDING",
        "",
        False,
    )
    assert (submitted.score, submitted.level, submitted.notional) == (35, "HIGH", "12000.00")

    approved = stub.ApproveRequest(
        pb.ApproveRequestRequest(approval_id="approval-1", manager_id="manager-1"),
        timeout=TIMEOUT,
    )
    assert approved.state == "APPROVED"
    assert approved.decided_by == "manager-1"
    assert approved.HasField("decided_at")

    status = stub.GetApprovalStatus(
        pb.GetApprovalStatusRequest(approval_id="approval-1"), timeout=TIMEOUT
    )
    assert status == approved


def test_submit_is_idempotent_on_approval_id(stub):
    first = stub.SubmitApproval(approval_request("approval-2"), timeout=TIMEOUT)
    again = stub.SubmitApproval(approval_request("approval-2"), timeout=TIMEOUT)
    assert again == first


def test_reject_needs_a_reason(stub):
    stub.SubmitApproval(approval_request(), timeout=TIMEOUT)
    without = pb.RejectRequestRequest(approval_id="approval-1", manager_id="m1", reason="  ")
    assert status_code(stub.RejectRequest, without) is grpc.StatusCode.INVALID_ARGUMENT

    rejected = stub.RejectRequest(
        pb.RejectRequestRequest(approval_id="approval-1", manager_id="m1", reason="Too big"),
        timeout=TIMEOUT,
    )
    assert (rejected.state, rejected.decided_by, rejected.reason) == ("REJECTED", "m1", "Too big")


def test_nobody_decides_on_their_own_order(stub):
    stub.SubmitApproval(approval_request(), timeout=TIMEOUT)
    own = pb.ApproveRequestRequest(approval_id="approval-1", manager_id="trader-1")
    assert status_code(stub.ApproveRequest, own) is grpc.StatusCode.PERMISSION_DENIED
    status = stub.GetApprovalStatus(
        pb.GetApprovalStatusRequest(approval_id="approval-1"), timeout=TIMEOUT
    )
    assert status.state == "PENDING"


def test_first_decision_wins(stub):
    stub.SubmitApproval(approval_request(), timeout=TIMEOUT)
    stub.ApproveRequest(
        pb.ApproveRequestRequest(approval_id="approval-1", manager_id="m1"), timeout=TIMEOUT
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.RejectRequest(
            pb.RejectRequestRequest(approval_id="approval-1", manager_id="m2", reason="No"),
            timeout=TIMEOUT,
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "already decided" in caught.value.details()
    other_manager = pb.ApproveRequestRequest(approval_id="approval-1", manager_id="m2")
    assert status_code(stub.ApproveRequest, other_manager) is grpc.StatusCode.FAILED_PRECONDITION

    # The same manager repeating the same decision (a retried call) gets the stored status.
    again = stub.ApproveRequest(
        pb.ApproveRequestRequest(approval_id="approval-1", manager_id="m1"), timeout=TIMEOUT
    )
    assert (again.state, again.decided_by) == ("APPROVED", "m1")


def test_simultaneous_approvals_have_exactly_one_winner(oversight_server, stub):
    stub.SubmitApproval(approval_request(), timeout=TIMEOUT)
    managers = [f"manager-{n}" for n in range(8)]
    barrier = threading.Barrier(len(managers))
    winners: list[str] = []
    refusals: list[str] = []
    lock = threading.Lock()

    def decide(manager: str) -> None:
        # A channel each: the calls really travel side by side.
        with grpc.insecure_channel(oversight_server.target) as channel:
            own_stub = oversight_pb2_grpc.OversightStub(channel)
            own_stub.GetRiskConfig(pb.GetRiskConfigRequest(), timeout=TIMEOUT)  # connected
            barrier.wait()
            try:
                own_stub.ApproveRequest(
                    pb.ApproveRequestRequest(approval_id="approval-1", manager_id=manager),
                    timeout=TIMEOUT,
                )
                with lock:
                    winners.append(manager)
            except grpc.RpcError as exc:
                with lock:
                    refusals.append(f"{exc.code().name}: {exc.details()}")

    threads = [threading.Thread(target=decide, args=(manager,)) for manager in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(winners) == 1, (winners, refusals)
    assert len(refusals) == len(managers) - 1
    assert all(r.startswith("FAILED_PRECONDITION") and "already decided" in r for r in refusals)
    status = stub.GetApprovalStatus(
        pb.GetApprovalStatusRequest(approval_id="approval-1"), timeout=TIMEOUT
    )
    assert status.decided_by == winners[0]


def test_expire_approvals_expires_only_what_is_due(stub):
    stub.SubmitApproval(approval_request("due", expires_in=timedelta(seconds=-1)), timeout=5)
    stub.SubmitApproval(approval_request("later", expires_in=timedelta(minutes=15)), timeout=5)
    stub.SubmitApproval(approval_request("decided", expires_in=timedelta(minutes=1)), timeout=5)
    stub.ApproveRequest(
        pb.ApproveRequestRequest(approval_id="decided", manager_id="m1"), timeout=TIMEOUT
    )

    now = datetime.now(UTC)
    expired = stub.ExpireApprovals(pb.ExpireApprovalsRequest(at=stamp(now)), timeout=TIMEOUT)
    assert list(expired.approval_ids) == ["due"]
    status = stub.GetApprovalStatus(pb.GetApprovalStatusRequest(approval_id="due"), timeout=5)
    assert (status.state, status.reason) == ("EXPIRED", "expired")
    assert (
        stub.ExpireApprovals(pb.ExpireApprovalsRequest(at=stamp(now)), timeout=5).approval_ids == []
    )

    # An hour on, the other pending request is due too; the decided one never expires.
    later = stub.ExpireApprovals(
        pb.ExpireApprovalsRequest(at=stamp(now + timedelta(hours=1))), timeout=TIMEOUT
    )
    assert list(later.approval_ids) == ["later"]

    with pytest.raises(grpc.RpcError) as caught:
        stub.ApproveRequest(
            pb.ApproveRequestRequest(approval_id="due", manager_id="m1"), timeout=TIMEOUT
        )
    assert caught.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "expired" in caught.value.details()


def test_a_request_past_its_expiry_cannot_be_approved_even_before_the_sweep(stub):
    stub.SubmitApproval(approval_request("stale", expires_in=timedelta(seconds=-1)), timeout=5)
    late = pb.ApproveRequestRequest(approval_id="stale", manager_id="m1")
    assert status_code(stub.ApproveRequest, late) is grpc.StatusCode.FAILED_PRECONDITION
    status = stub.GetApprovalStatus(pb.GetApprovalStatusRequest(approval_id="stale"), timeout=5)
    assert status.state == "EXPIRED"


def test_unknown_approval_is_not_found(stub):
    for call, request in [
        (stub.GetApprovalStatus, pb.GetApprovalStatusRequest(approval_id="nope")),
        (stub.ApproveRequest, pb.ApproveRequestRequest(approval_id="nope", manager_id="m1")),
    ]:
        assert status_code(call, request) is grpc.StatusCode.NOT_FOUND


def test_risk_config_can_be_read_changed_and_is_used(stub):
    settings = stub.GetRiskConfig(pb.GetRiskConfigRequest(), timeout=TIMEOUT)
    assert settings.config.high_at == 50
    assert [(b.above, b.points) for b in settings.config.notional_bands] == [
        ("0.30", 30),
        ("0.20", 25),
        ("0.10", 15),
        ("0.05", 5),
    ]
    config = settings.config
    config.approval_notional_above = "50000"
    changed = stub.SetRiskConfig(
        pb.SetRiskConfigRequest(config=config, actor="admin-1"), timeout=TIMEOUT
    )
    assert (changed.config.approval_notional_above, changed.config_updated_by) == (
        "50000",
        "admin-1",
    )
    # 12,000 USD is no longer over the approval floor: the score's own level, MEDIUM.
    assert stub.EvaluateRisk(risk_request("after"), timeout=TIMEOUT).level == "MEDIUM"


def test_invalid_risk_config_is_refused(stub):
    config = stub.GetRiskConfig(pb.GetRiskConfigRequest(), timeout=TIMEOUT).config
    config.medium_at = 60  # above high_at
    bad = pb.SetRiskConfigRequest(config=config, actor="admin-1")
    assert status_code(stub.SetRiskConfig, bad) is grpc.StatusCode.INVALID_ARGUMENT
    empty = pb.SetRiskConfigRequest(config=pb.RiskConfig(), actor="admin-1")
    assert status_code(stub.SetRiskConfig, empty) is grpc.StatusCode.INVALID_ARGUMENT
    assert stub.GetRiskConfig(pb.GetRiskConfigRequest(), timeout=TIMEOUT).config.medium_at == 30


def test_trading_state_halts_and_reduces(stub):
    halted = stub.SetTradingState(
        pb.SetTradingStateRequest(state="HALTED", actor="admin-1"), timeout=TIMEOUT
    )
    assert (halted.trading_state, halted.trading_state_changed_by) == ("HALTED", "admin-1")
    small = risk_request("while-halted", quantity=1)
    evaluation = stub.EvaluateRisk(small, timeout=TIMEOUT)
    assert (evaluation.level, evaluation.trading_state) == ("CRITICAL", "HALTED")
    assert evaluation.reasons[0] == "Trading is halted"

    stub.SetTradingState(pb.SetTradingStateRequest(state="REDUCING", actor="admin-1"), timeout=5)
    buy = stub.EvaluateRisk(risk_request("reducing-buy", quantity=1), timeout=TIMEOUT)
    assert buy.level == "CRITICAL"
    sell = risk_request("reducing-sell", side="SELL", quantity=1, position_quantity=5)
    assert stub.EvaluateRisk(sell, timeout=TIMEOUT).level == "LOW"

    unknown = pb.SetTradingStateRequest(state="PAUSED", actor="admin-1")
    assert status_code(stub.SetTradingState, unknown) is grpc.StatusCode.INVALID_ARGUMENT


def test_data_survives_a_restart(oversight_server):
    with grpc.insecure_channel(oversight_server.target) as channel:
        stub = oversight_pb2_grpc.OversightStub(channel)
        evaluation = stub.EvaluateRisk(risk_request("durable"), timeout=TIMEOUT)
        stub.SubmitApproval(approval_request("durable"), timeout=TIMEOUT)
        stub.RejectRequest(
            pb.RejectRequestRequest(approval_id="durable", manager_id="m1", reason="Too big"),
            timeout=TIMEOUT,
        )
        stub.SetTradingState(pb.SetTradingStateRequest(state="REDUCING", actor="a1"), timeout=5)

    oversight_server.stop()
    assert "oversight stopped" in oversight_server.log()  # SIGTERM: a graceful stop
    oversight_server.start()

    with grpc.insecure_channel(oversight_server.target) as channel:
        stub = oversight_pb2_grpc.OversightStub(channel)
        again = stub.EvaluateRisk(risk_request("durable", quantity=1), timeout=TIMEOUT)
        assert again == evaluation
        status = stub.GetApprovalStatus(
            pb.GetApprovalStatusRequest(approval_id="durable"), timeout=TIMEOUT
        )
        assert (status.state, status.decided_by, status.reason) == ("REJECTED", "m1", "Too big")
        settings = stub.GetRiskConfig(pb.GetRiskConfigRequest(), timeout=TIMEOUT)
        assert (settings.trading_state, settings.trading_state_changed_by) == ("REDUCING", "a1")
