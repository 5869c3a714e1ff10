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


class _Health:
    """A real local HTTP server whose /healthz answers `status`, and a listening socket for
    the socket server's port."""

    def __init__(self, status: int) -> None:
        import http.server
        import socket
        import threading

        code = status

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(code if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.ws = socket.create_server(("127.0.0.1", 0))
        self.env = {
            "HOST": "127.0.0.1",
            "PORT": str(self.http.server_address[1]),
            "WS_PORT": str(self.ws.getsockname()[1]),
            "DEMO_PASSWORD": "open-sesame",
        }

    def close(self) -> None:
        self.http.shutdown()
        self.ws.close()


def test_one_ready_line_with_the_url_and_a_demo_login_once_healthy(monkeypatch, capsys):
    from trading_demo.supervisor import Readiness

    server = _Health(200)
    try:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("PUBLIC_URL", raising=False)
        readiness = Readiness()
        readiness.start()
        assert readiness.ready.wait(timeout=20)
    finally:
        server.close()
    out = capsys.readouterr().out
    url = f"http://127.0.0.1:{server.env['PORT']}/"
    assert out.count("ready:") == 1
    assert f"supervisor| ready: open {url} and sign in as trader@example.com / open-sesame" in out


def test_no_ready_line_while_a_part_is_down(monkeypatch, capsys):
    from trading_demo.supervisor import Readiness

    server = _Health(503)
    try:
        for key, value in server.env.items():
            monkeypatch.setenv(key, value)
        readiness = Readiness()
        assert readiness.healthy() is False
    finally:
        server.close()
    assert "ready:" not in capsys.readouterr().out


def test_public_url_follows_host_and_port_unless_set():
    from trading_demo.addresses import local_url

    assert local_url("127.0.0.1", "9000") == "http://127.0.0.1:9000"
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104
    assert local_url("::1", 8000) == "http://[::1]:8000"
    script = "from django.conf import settings; print(settings.PUBLIC_URL)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "trading_demo.settings", "PORT": "9123"}
    env.pop("PUBLIC_URL", None)
    moved = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert moved.stdout.strip() == "http://127.0.0.1:9123"
    env["PUBLIC_URL"] = "https://trading.example.com/"
    chosen = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert chosen.stdout.strip() == "https://trading.example.com"
