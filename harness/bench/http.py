"""A lean HTTP/1.1 client for the bench's load generator: keep-alive, pre-built bodies.

A general client (httpx) spends a millisecond or so of CPU per request; on a machine of
two cores that would be taken from the Amtsweg under test. This one writes a prepared
head and the body's chunks (an attachment's shared prefix is never copied) and reads a
response by its ``Content-Length`` (or chunks). Only what the bench needs: ``POST`` to
plain ``http://``, answers kept in memory.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

IDLE_SECONDS = 2.0
"""Connections idle for longer are closed, not reused (uvicorn closes them after 5 s)."""

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class HttpError(Exception):
    """The server answered something that is not HTTP/1.1 as the bench expects it."""


class HttpPool:
    """At most ``size`` keep-alive connections to one ``http://host:port``."""

    def __init__(self, url: str, size: int) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the bench speaks plain http:// only, not {url!r}")
        self.host = parts.hostname
        self.port = parts.port or 80
        self._prefix = parts.path.rstrip("/")
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[float, _Connection]] = []

    async def post(
        self, path: str, headers: Sequence[tuple[str, str]], body: Sequence[bytes]
    ) -> tuple[int, bytes]:
        """``POST`` ``body`` (its chunks in order); the status and the response body."""
        length = sum(len(chunk) for chunk in body)
        lines = [
            f"POST {self._prefix}{path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {length}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        async with self._slots:
            connection = await self._connection()
            try:
                status, payload, keep = await _exchange(connection, head, body)
            except BaseException:
                connection[1].close()
                raise
            if keep:
                self._idle.append((time.monotonic(), connection))
            else:
                connection[1].close()
            return status, payload

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            since, connection = self._idle.pop()
            if now - since < IDLE_SECONDS and not connection[1].is_closing():
                return connection
            connection[1].close()
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        """Close the idle connections."""
        for _, (_, writer) in self._idle:
            writer.close()
        self._idle.clear()


async def _exchange(
    connection: _Connection, head: bytes, body: Sequence[bytes]
) -> tuple[int, bytes, bool]:
    reader, writer = connection
    writer.write(head)
    writer.writelines(body)
    await writer.drain()
    status_line = await reader.readline()
    fields = status_line.split(None, 2)
    if len(fields) < 2 or not fields[0].startswith(b"HTTP/1."):
        raise HttpError(f"not an HTTP response: {status_line[:60]!r}")
    status = int(fields[1])
    length, chunked, keep = 0, False, fields[0] == b"HTTP/1.1"
    while (line := await reader.readline()) not in (b"\r\n", b"\n"):
        if not line:
            raise HttpError("connection closed in the response head")
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value == b"chunked"
        elif name == b"connection":
            keep = value == b"keep-alive" or (keep and value != b"close")
    payload = await _chunked(reader) if chunked else await reader.readexactly(length)
    return status, payload, keep


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        parts.append(await reader.readexactly(size))
        await reader.readline()
    while (await reader.readline()) not in (b"\r\n", b"\n", b""):
        pass  # trailers
    return b"".join(parts)
