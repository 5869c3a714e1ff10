"""`manage.py check_ledger`, the operators' ledger check: silent success on an exact ledger,
every difference named and a non-zero exit when cash, a reservation or a position drifts."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from portfolio.models import Account, Position
from tests.servers import ROOT, child_env
from tests.trades.conftest import order_body, set_quotes
from trades.models import Order

D = Decimal


def _trade(client_for, trader, acme) -> None:
    """The trader holds 10 ACME (bought at 100.00) and rests a buy for 5 at 95.00."""
    set_quotes(acme, asks=[("100.00", 10)])
    api = client_for(trader)
    assert api.post("/api/trades", order_body(), format="json").status_code == 201
    resting = order_body(order_type="LIMIT", price="95.00", quantity=5, time_in_force="GTC")
    assert api.post("/api/trades", resting, format="json").status_code == 201


def _run(capsys, *args: str) -> tuple[str, CommandError | None]:
    try:
        call_command("check_ledger", *args)
    except CommandError as error:
        return capsys.readouterr().out, error
    return capsys.readouterr().out, None


@pytest.mark.django_db
def test_an_exact_ledger_passes(client_for, trader, acme, capsys):
    _trade(client_for, trader, acme)

    out, error = _run(capsys)

    assert error is None
    assert out.strip() == "ledger: 1 accounts, 0 differences"


@pytest.mark.django_db
def test_every_drift_is_named_and_fails(client_for, trader, acme, capsys):
    _trade(client_for, trader, acme)
    Account.objects.filter(user=trader).update(cash=D("99000.01"), reserved_cash=D("0"))
    Position.objects.filter(account__user=trader).update(quantity=11, reserved_quantity=2)

    out, error = _run(capsys)

    assert error is not None and error.returncode == 1
    assert str(error) == "ledger: 1 accounts, 4 differences"
    assert out.splitlines() == [
        "  tess@example.com: cash 99000.01, fills say 99000.00",
        "  tess@example.com: reserved cash 0.00, open orders hold 475.00",
        "  tess@example.com ACME: 11 shares, fills say 10",
        "  tess@example.com ACME: 2 shares reserved, open sells hold 0",
    ]


@pytest.mark.django_db
def test_show_bounds_what_is_printed(client_for, trader, acme, capsys):
    _trade(client_for, trader, acme)
    Account.objects.filter(user=trader).update(cash=D("1"), reserved_cash=D("0"))

    out, error = _run(capsys, "--show", "1")

    assert error is not None
    assert out.splitlines() == [
        "  tess@example.com: cash 1.00, fills say 99000.00",
        "  ... and 1 more",
    ]


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_non_zero_for_the_operator(client_for, trader, acme):
    _trade(client_for, trader, acme)

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check_ledger"],
            cwd=ROOT,
            env=child_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )

    clean = run()
    assert (clean.returncode, clean.stdout.strip()) == (0, "ledger: 1 accounts, 0 differences")
    Order.objects.filter(user=trader, status="open").update(reserved_cash=D("0"))
    drifted = run()
    assert drifted.returncode == 1
    assert "tess@example.com: reserved cash 475.00, open orders hold 0.00" in drifted.stdout
    assert "ledger: 1 accounts, 1 differences" in drifted.stderr
