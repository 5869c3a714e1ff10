"""The web workers hand the interpreter lock on quickly (trading_demo/wsgi.py says why)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SHOW = "import sys, trading_demo.wsgi; print(sys.getswitchinterval())"


def _switch_interval(**env: str) -> float:
    environment = {key: value for key, value in os.environ.items() if key != "WEB_SWITCH_INTERVAL"}
    done = subprocess.run(  # nosec B603 - our own interpreter, a fixed script
        [sys.executable, "-c", SHOW],
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def test_a_web_worker_switches_threads_every_fifth_of_a_millisecond() -> None:
    assert _switch_interval() == pytest.approx(0.0002)


def test_web_switch_interval_overrides_it() -> None:
    assert _switch_interval(WEB_SWITCH_INTERVAL="0.001") == pytest.approx(0.001)
