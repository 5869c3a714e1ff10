"""A real metering service process per test, on a free port with its own data directory."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from metering import client
from metering.proto import metering_pb2_grpc
from tests.servers import ROOT, free_port

START_TIMEOUT = 15.0


class MeteringServer:
    """`python -m metering.server` as a child process; start() again reuses port and data."""

    def __init__(self, data_dir: Path) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[str] | None = None

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def database(self) -> Path:
        return self.data_dir / "metering.sqlite3"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            # Flags win over the environment; DEBUG logs every call to server.log.
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "metering.server",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--data-dir",
                    str(self.data_dir),
                ],
                cwd=ROOT,
                env={**os.environ, "METERING_LOG_LEVEL": "DEBUG"},
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        wait_for_listening(self.process, f"metering listening on {self.target}", self.log_path)

    def stop(self) -> int:
        """SIGTERM, as a supervisor would; returns the exit code."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """SIGKILL: a crash, no chance to clean up."""
        return self._end(signal.SIGKILL)

    def _end(self, sig: signal.Signals) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        process.send_signal(sig)
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            code = process.wait()
        if process.stdout:
            process.stdout.close()
        return code


def wait_for_listening(process: subprocess.Popen[str], line: str, log_path: Path) -> None:
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            output = process.stdout.readline()
            if output.strip() == line:
                return
            if not output and process.poll() is not None:
                raise RuntimeError(f"metering server exited early; see {log_path}")
    process.kill()
    raise RuntimeError(f"metering server did not start in {START_TIMEOUT} s; see {log_path}")


@pytest.fixture
def metering_server(tmp_path: Path) -> Iterator[MeteringServer]:
    server = MeteringServer(tmp_path / "metering")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def metering(settings, metering_server: MeteringServer) -> Iterator[MeteringServer]:
    """The Django side pointed at the test's server, with no channel left from another test."""
    settings.METERING_GRPC_URL = metering_server.target
    client.close_channels()
    yield metering_server
    client.close_channels()


@pytest.fixture
def stub(metering_server: MeteringServer) -> Iterator[metering_pb2_grpc.MeteringStub]:
    """The generated stub on its own channel, for tests of the service itself."""
    with grpc.insecure_channel(metering_server.target) as channel:
        yield metering_pb2_grpc.MeteringStub(channel)
