"""Small networking helpers shared by the broker launcher and the test fixtures."""

from __future__ import annotations

import socket


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that is free at the moment of asking.

    The port is released again before returning, so another process may still take
    it; callers that start a server on it should report a clear error if binding fails.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port
