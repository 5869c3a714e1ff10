"""Real processes for tests: Daphne web servers (and, in later capabilities, the gRPC services),
each started on a free port with the test database and stopped at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests
from django.db import connection

from trading_demo.supervisor import granian_argv

ROOT = Path(__file__).resolve().parent.parent


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def freeze(pid: int) -> None:
    """SIGSTOP a process and return once every thread of it has stopped: the kernel delivers the
    signal on its own time, and a request sent at once could still be answered."""
    os.kill(pid, signal.SIGSTOP)
    assert wait_for(lambda: _stopped(pid), timeout=10), f"process {pid} did not stop"


def _stopped(pid: int) -> bool:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        states = [(task / "stat").read_text().rpartition(")")[2].split()[0] for task in tasks]
    except OSError:  # no /proc here: give the signal a moment instead
        time.sleep(0.2)
        return True
    return all(state in ("T", "t") for state in states)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The URL of the database the test run is using, for child processes."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings.get("USER") or ""
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings['NAME']}"


def child_env(*, data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child process (Daphne, a worker) on the test run's database."""
    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "1", **extra}
    if data_dir is not None:
        env["DATA_DIR"] = str(data_dir)
    return env


class Daphne:
    def __init__(self, *, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        env = child_env(**(extra_env or {}))
        self.log = open(ROOT / "data" / f"daphne-{self.port}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "trading_demo.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited early; see {self.log.name}")
            try:
                # No redirects: under HTTPS=1 /login/ points at https, which this port is not.
                # A slow first answer on a busy machine is not a failure: wait for it.
                requests.get(self.url + "/login/", timeout=5, allow_redirects=False)
                return
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("daphne did not start in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Granian:
    """The `web` process of `make run`: Granian's WSGI workers on a free port, on the test
    database. start() again (after kill()) serves the same port, as the supervisor would."""

    def __init__(self, *, workers: int = 2, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = child_env(**(extra_env or {}))
        self.log_path = ROOT / "data" / f"granian-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                granian_argv(
                    "trading_demo.wsgi:application",
                    host="127.0.0.1",
                    port=str(self.port),
                    workers=str(self.workers),
                    threads="4",
                ),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"granian exited early; see {self.log_path}")
            try:
                if requests.get(self.url + "/login/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"granian did not start in time; see {self.log_path}")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its workers, mid-request."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None


def browser_session(base_url: str, email: str, password: str) -> requests.Session:
    """Sign in through the login page as a browser would; the session cookie is in the result."""
    session = requests.Session()
    page = session.get(base_url + "/login/", timeout=5)
    page.raise_for_status()
    response = session.post(
        base_url + "/login/",
        data={
            "username": email,
            "password": password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": base_url + "/login/"},
        timeout=5,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise AssertionError(f"login failed with {response.status_code}")
    return session


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())
