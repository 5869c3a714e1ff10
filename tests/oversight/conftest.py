"""A real oversight gRPC server per test: `python -m oversight.server` on a free port with its
own data directory, and the Django-side client pointed at it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from oversight import client
from oversight.proto import oversight_pb2_grpc
from tests.servers import ROOT, free_port

START_TIMEOUT_SECONDS = 15


class OversightServer:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.target = f"127.0.0.1:{self.port}"
        self.log_path = data_dir / "oversight.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or restart) on the same port and data directory; return once it listens."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "oversight.server",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if b"oversight listening on" in self.log_path.read_bytes()[offset:]:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"oversight server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """SIGTERM and wait for the graceful stop."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text()


@pytest.fixture
def oversight_server(tmp_path: Path) -> Iterator[OversightServer]:
    server = OversightServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def oversight_shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OversightServer]:
    """One oversight server for the whole run, with the default rules: every order path goes
    through EvaluateRisk. Tests that change its rules, state or life use `oversight_server`."""
    server = OversightServer(tmp_path_factory.mktemp("oversight"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def stub(oversight_server: OversightServer) -> Iterator[oversight_pb2_grpc.OversightStub]:
    """The generated stub on a plain channel: the server tests speak the wire contract."""
    with grpc.insecure_channel(oversight_server.target) as channel:
        yield oversight_pb2_grpc.OversightStub(channel)


@pytest.fixture
def oversight_settings(settings, oversight_server: OversightServer) -> Iterator[OversightServer]:
    """settings.OVERSIGHT_GRPC_URL points at the test server; the client's channels are fresh."""
    settings.OVERSIGHT_GRPC_URL = oversight_server.target
    client.reset_channels()
    yield oversight_server
    client.reset_channels()
