"""`make run`'s supervisor: prefixes output, restarts a crashed child, stops all on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
from trading_demo.supervisor import Child, run
crash = [sys.executable, "-c", "print('boom', flush=True); raise SystemExit(3)"]
steady = [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(600)"]
raise SystemExit(run([Child("crashy", crash), Child("steady", steady)]))
"""


def test_supervisor_restarts_crashed_child_and_stops_all(tmp_path):
    log = tmp_path / "out.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", SCRIPT],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and log.read_text().count("crashy    | boom") < 2:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    text = log.read_text()
    assert text.count("crashy    | boom") >= 2, text
    assert "crashy    | exited with code 3; restarting in 1 s" in text
    assert "steady    | up" in text
    assert "supervisor| all stopped" in text
    steady_pids = [
        int(line.split("pid ")[1].split(")")[0])
        for line in text.splitlines()
        if line.startswith("steady") and "started (pid" in line
    ]
    assert len(steady_pids) == 1
    # The long-running child is gone too, not orphaned.
    assert not Path(f"/proc/{steady_pids[0]}").exists()
