"""What the gRPC service clients share: one cached channel per target, and the standard
health check. Each client keeps its own deadlines, retries and error mapping."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


class ChannelCache:
    """One channel per target, made on first use (thread-safe)."""

    def __init__(self, options: Sequence[tuple[str, Any]]) -> None:
        self._options = list(options)
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def get(self, target: str) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(target)
            if channel is None:
                channel = grpc.insecure_channel(target, options=self._options)
                self._channels[target] = channel
        return channel

    def close(self) -> None:
        """Close every cached channel; the next call opens a new one."""
        with self._lock:
            channels = list(self._channels.values())
            self._channels.clear()
        for channel in channels:
            channel.close()


async def health_status(target: str, service: str, timeout: float) -> str:
    """The grpc.health.v1 status name of `service` at `target` ("SERVING", ...).

    A fresh grpc.aio channel per check: an aio channel belongs to the event loop it was made
    on, and health checks are rare. Raises grpc.RpcError when the service does not answer.
    """
    async with grpc.aio.insecure_channel(target) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=timeout
        )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))
