"""One quota rule (metering/quota_rules.py) for the app and the metering service: the same
figure, state and alerts at every boundary, and both follow the configured thresholds."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from alerts.models import Alert
from metering.models import Quota
from metering.proto import metering_pb2 as pb
from metering.proto import metering_pb2_grpc
from metering.quota_rules import QuotaThresholds
from metering.services import quota_status, usage_record
from tests.metering.conftest import MeteringServer
from tests.metering.test_metering_server import quota, track

LIMIT = 10_000
# used -> (figure shown, state, the alerts raised so far as (percentage, severity))
BOUNDARIES = [
    (7_999, "79.9", "healthy", []),
    (8_000, "80.0", "warning", [(80, "medium")]),
    (9_499, "94.9", "warning", [(80, "medium")]),
    (9_500, "95.0", "critical", [(80, "medium"), (95, "critical")]),
    (10_000, "100.0", "exceeded", [(80, "medium"), (95, "critical"), (100, "critical")]),
]
WALK = pytest.mark.parametrize(("used", "shown", "state", "alerts"), BOUNDARIES)


def quota_alerts(user) -> list[tuple[int, str]]:
    rows = Alert.objects.filter(owner=user, type="quota").values_list("data", "severity")
    return sorted((data["threshold"], severity) for data, severity in rows)


@pytest.mark.django_db
@WALK
def test_the_app_walks_the_boundaries(client, client_for, trader, used, shown, state, alerts):
    Quota.objects.create(user=trader, monthly_limit=LIMIT)
    usage_record(user_id=trader.pk, operation="api.call", quantity=used)

    status = quota_status(user_id=trader.pk)
    assert (str(status.utilization_pct), status.state) == (shown, state)
    api = client_for(trader).get("/api/metering/quota").json()
    assert (api["used"], api["utilization_pct"], api["state"]) == (used, shown, state)
    assert quota_alerts(trader) == alerts
    client.force_login(trader)
    page = client.get("/metering/").content.decode()
    assert f'used ({shown} %), <span class="quota-state quota-{state}">{state}</span>' in page
    assert f"Quota {shown}%" in page  # the header badge
    assert 'low="8000" high="9500"' in page  # the gauge's bands are the same thresholds


@WALK
def test_the_metering_service_walks_the_boundaries(stub, used, shown, state, alerts):
    stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=LIMIT), timeout=5)
    track(stub, "bulk", "api.call", quantity=used)

    status = quota(stub)
    assert (status.used, status.utilization_pct, status.state) == (used, shown, state)


@pytest.mark.django_db
def test_the_app_follows_the_configured_thresholds(settings, client, trader):
    settings.METERING_QUOTA_THRESHOLDS = QuotaThresholds(warning_pct=70, critical_pct=90)
    Quota.objects.create(user=trader, monthly_limit=LIMIT)
    usage_record(user_id=trader.pk, operation="api.call", quantity=6_999)
    assert quota_status(user_id=trader.pk).state == "healthy"
    usage_record(user_id=trader.pk, operation="api.call")
    assert quota_status(user_id=trader.pk).state == "warning"
    assert quota_alerts(trader) == [(70, "medium")]
    usage_record(user_id=trader.pk, operation="api.call", quantity=2_000)
    assert quota_status(user_id=trader.pk).state == "critical"
    assert quota_alerts(trader) == [(70, "medium"), (90, "critical")]
    client.force_login(trader)
    assert 'low="7000" high="9000"' in client.get("/metering/").content.decode()


def test_the_metering_service_follows_the_configured_thresholds(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("METERING_QUOTA_WARNING_PCT", "70")
    monkeypatch.setenv("METERING_QUOTA_CRITICAL_PCT", "90")
    server = MeteringServer(tmp_path / "metering")
    server.start()
    try:
        with grpc.insecure_channel(server.target) as channel:
            stub = metering_pb2_grpc.MeteringStub(channel)
            stub.SetQuota(pb.SetQuotaRequest(user_id="u1", limit=LIMIT), timeout=5)
            track(stub, "a", "api.call", quantity=6_999)
            assert quota(stub).state == "healthy"
            track(stub, "b", "api.call")
            assert (quota(stub).utilization_pct, quota(stub).state) == ("70.0", "warning")
            track(stub, "c", "api.call", quantity=2_000)
            assert quota(stub).state == "critical"
    finally:
        server.kill()


def test_the_metering_service_refuses_to_start_on_thresholds_out_of_order(
    monkeypatch, tmp_path: Path
):
    monkeypatch.setenv("METERING_QUOTA_WARNING_PCT", "96")
    server = MeteringServer(tmp_path / "metering")
    with pytest.raises(RuntimeError, match="exited early"):
        server.start()
    assert "0 < warning < critical < 100" in server.log_path.read_text()


@pytest.mark.parametrize(
    ("environ", "error"),
    [
        ({"METERING_QUOTA_WARNING_PCT": "eighty"}, "must be a whole percentage"),
        ({"METERING_QUOTA_WARNING_PCT": "\uff18\uff10"}, "must be a whole percentage"),
        ({"METERING_QUOTA_CRITICAL_PCT": "100"}, "0 < warning < critical < 100"),
        ({"METERING_QUOTA_WARNING_PCT": "0"}, "0 < warning < critical < 100"),
    ],
)
def test_thresholds_from_the_environment_are_checked(environ, error):
    with pytest.raises(ValueError, match=error):
        QuotaThresholds.from_env(environ)


def test_a_limit_of_zero_is_exceeded_and_raises_no_alert():
    rules = QuotaThresholds()
    assert rules.state(used=0, limit=0) == "exceeded"
    assert rules.reached(used=0, limit=0) == ()
    assert QuotaThresholds.from_env({}) == rules
