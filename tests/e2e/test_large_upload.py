"""A 200 MiB attachment through real HTTP into a separate intake process, in bounded memory.

The intake runs as ``amtsweg service intake`` (its own process, the real broker); the
test generates the attachment on the fly and streams it as multipart, never holding it
whole. Memory is the intake process's ``VmHWM`` (peak resident set, ``/proc/<pid>/status``)
read after a warm-up submission and again after the large one. Starlette spools file
parts to anonymous temporary files in the system temp dir (``TMPDIR``, here a folder of
the test): the test sees the spool file open while the body streams and released after.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from deploy.broker import BrokerHandle
from deploy.net import free_tcp_port
from events.blobs import FileBlobStore
from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import VaultSettings, open_vault
from events.vault.cipher import HEADER, SEGMENT, TAG
from services.intake.auth import token_hash
from tests.support.factories import CHAIN_KEYS_ENV, TEST_CHAIN_KEYS, metadata_for, xdomea_sample
from tests.support.pipeline import PORTAL_TOKENS, auth
from tests.support.streaming import (
    GeneratedContent,
    MiB,
    StreamedMultipart,
    StreamedPart,
    memory_kib,
    open_files_under,
)

LARGE = 200 * MiB
MAX_TOTAL = 256 * MiB
"""The intake's ``AMTSWEG_MAX_TOTAL_BYTES`` here: room for LARGE, a limit to run into."""
PEAK_GROWTH_LIMIT_KIB = 64 * 1024
DATA = xdomea_sample()


@dataclass
class IntakeProcess:
    """``amtsweg service intake`` in a child process."""

    process: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    spool: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def blob_files(self) -> set[str]:
        return {p.name for p in (self.data_dir / "blobs").rglob("*") if p.is_file()}

    def submission_count(self) -> int:
        ledger = Ledger(_ledger_settings(self.data_dir))
        try:
            return len(list(ledger.submission_ids()))
        finally:
            ledger.close()


def _wait_until_healthy(intake: IntakeProcess, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if intake.process.poll() is not None:
            pytest.fail(f"intake exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{intake.base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"intake not healthy in {timeout} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def intake(
    kafka: BrokerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[IntakeProcess]:
    root = tmp_path_factory.mktemp("large-upload")
    spool = root / "spool"
    spool.mkdir()
    port = free_tcp_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "AMTSWEG_DATA_DIR": str(root / "data"),
        "AMTSWEG_HTTP_PORT": str(port),
        "AMTSWEG_PORTAL_TOKENS": json.dumps({p: token_hash(t) for p, t in PORTAL_TOKENS.items()}),
        "AMTSWEG_MAX_TOTAL_BYTES": str(MAX_TOTAL),
        **CHAIN_KEYS_ENV,
        "TMPDIR": str(spool),
    }
    log = root / "intake.log"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.ops.cli", "service", "intake"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    intake = IntakeProcess(process, port, root / "data", spool)
    try:
        _wait_until_healthy(intake, log)
        yield intake
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _submission(attachment: GeneratedContent, digest: str) -> StreamedMultipart:
    metadata = metadata_for(DATA)
    metadata["contentStructure"]["attachments"] = [
        {
            "attachmentId": "0b6f5a1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b",
            "hash": {"type": "sha512", "content": digest},
            "purpose": "attachment",
            "mimeType": "application/pdf",
            "filename": "bauplaene.pdf",
        }
    ]
    return StreamedMultipart(
        [
            StreamedPart("metadata", json.dumps(metadata).encode(), "application/json"),
            StreamedPart("data", DATA, "application/xml", "antrag.xml"),
            StreamedPart("attachment", attachment, "application/pdf", "bauplaene.pdf"),
        ]
    )


def _headers(body: StreamedMultipart) -> dict[str, str]:
    return auth() | {"Content-Type": body.content_type, "Content-Length": str(len(body))}


async def _settled(intake: IntakeProcess, timeout: float = 15) -> list[str]:
    """The spool files still open after the server had ``timeout`` seconds to let go."""
    deadline = asyncio.get_running_loop().time() + timeout
    while open_files_under(intake.pid, intake.spool):
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.1)
    return open_files_under(intake.pid, intake.spool)


async def _file_sha512(path: Path) -> str:
    def digest() -> str:
        sha = hashlib.sha512()
        with path.open("rb") as handle:
            while chunk := handle.read(MiB):
                sha.update(chunk)
        return sha.hexdigest()

    return await asyncio.to_thread(digest)


async def test_a_200_mib_attachment_streams_through_in_bounded_memory(
    intake: IntakeProcess,
) -> None:
    small = GeneratedContent(MiB + 1)
    large = GeneratedContent(LARGE)
    digest = await large.sha512()
    async with httpx.AsyncClient(base_url=intake.base_url, timeout=300) as client:
        warm_up = _submission(small, await small.sha512())
        answer = await client.post(
            "/v1/submissions", content=warm_up.body(), headers=_headers(warm_up)
        )
        assert answer.status_code == 202, answer.text
        before = memory_kib(intake.pid)

        body = _submission(large, digest)
        spooled: list[str] = []

        async def watched() -> AsyncIterator[bytes]:
            sent = 0
            async for chunk in body.body():
                yield chunk
                sent += len(chunk)
                if not spooled and sent > LARGE // 2:
                    spooled.extend(open_files_under(intake.pid, intake.spool))

        started = time.monotonic()
        answer = await client.post("/v1/submissions", content=watched(), headers=_headers(body))
        seconds = time.monotonic() - started
        after = memory_kib(intake.pid)
        assert answer.status_code == 202, answer.text
        submission_id = answer.json()["submissionId"]
        trail = (await client.get(f"/v1/submissions/{submission_id}/events", headers=auth())).json()

    growth = after["VmHWM"] - before["VmHWM"]
    print(
        f"\n200 MiB attachment: {len(body) / MiB:.1f} MiB body in {seconds:.1f} s "
        f"({len(body) / MiB / seconds:.0f} MiB/s); intake pid {intake.pid} "
        f"VmHWM {before['VmHWM'] / 1024:.1f} -> {after['VmHWM'] / 1024:.1f} MiB "
        f"(peak growth {growth / 1024:.1f} MiB), VmRSS after {after['VmRSS'] / 1024:.1f} MiB"
    )
    assert growth < PEAK_GROWTH_LIMIT_KIB
    assert spooled, "the file part should have been spooled into TMPDIR while streaming"
    assert all(path.endswith("(deleted)") for path in spooled), spooled  # anonymous files
    assert await _settled(intake) == []
    assert list(intake.spool.iterdir()) == []

    (received,) = [e for e in trail["events"] if e["event"] == "Received"]
    (shown,) = received["data"]["attachments"]
    assert (shown["sha512"], shown["size"]) == (digest, LARGE)
    assert "blob" not in shown  # the vault's names are not the portal's business
    ledger = Ledger(_ledger_settings(intake.data_dir))
    try:
        (attachment,) = ledger.get_submission(UUID(submission_id)).attachments
    finally:
        ledger.close()
    blobs = FileBlobStore(intake.data_dir / "blobs")
    segments = -(-LARGE // SEGMENT) or 1
    assert blobs.path(attachment["blob"]).stat().st_size == HEADER + LARGE + segments * TAG
    vault = open_vault(
        VaultSettings(data_dir=intake.data_dir),
        _ledger_settings(intake.data_dir),
        blobs,
        development=False,
    )
    sha = hashlib.sha512()
    async for chunk in vault.stream(UUID(submission_id), attachment["blob"]):
        sha.update(chunk)
    vault.keys.close()
    assert sha.hexdigest() == digest  # sealed at rest, and opens to the upload
    assert list((intake.data_dir / "blobs" / "tmp").iterdir()) == []


async def _raw_request(intake: IntakeProcess, head: dict[str, str]) -> tuple[Any, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", intake.port)
    lines = [
        "POST /v1/submissions HTTP/1.1",
        f"Host: 127.0.0.1:{intake.port}",
        *(f"{k}: {v}" for k, v in (auth() | head).items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, Any]]:
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return int(status_line.split()[1]), json.loads(await reader.readexactly(length))


async def test_a_client_that_aborts_mid_stream_leaves_no_submission_and_no_blob(
    intake: IntakeProcess,
) -> None:
    content = GeneratedContent(64 * MiB + 5)
    body = _submission(content, await content.sha512())
    submissions, blobs = intake.submission_count(), intake.blob_files()
    _, writer = await _raw_request(intake, _headers(body))
    spooling = []
    async for chunk in body.body(stop_after=32 * MiB):
        writer.write(chunk)
        await writer.drain()
    for _ in range(100):  # the server is still reading what was sent
        if spooling := open_files_under(intake.pid, intake.spool):
            break
        await asyncio.sleep(0.05)
    writer.transport.abort()  # the connection drops mid-body

    assert spooling, "the body should have been spooling when the client went away"
    assert await _settled(intake) == []
    assert intake.submission_count() == submissions
    assert intake.blob_files() == blobs
    assert list((intake.data_dir / "blobs" / "tmp").iterdir()) == []
    assert httpx.get(f"{intake.base_url}/healthz").status_code == 200


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    intake: IntakeProcess,
) -> None:
    submissions = intake.submission_count()
    head = {"Content-Type": "multipart/form-data; boundary=x", "Content-Length": str(4 * MAX_TOTAL)}
    reader, writer = await _raw_request(intake, head)  # no byte of the body is sent
    try:
        status, problem = await asyncio.wait_for(_read_response(reader), timeout=10)
    finally:
        writer.close()
    assert status == 413
    assert problem["type"].endswith("/payload-too-large")
    assert intake.submission_count() == submissions


async def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(
    intake: IntakeProcess,
) -> None:
    content = GeneratedContent(MAX_TOTAL + 32 * MiB)
    body = _submission(content, await content.sha512())
    submissions, blobs = intake.submission_count(), intake.blob_files()
    head = {"Content-Type": body.content_type, "Transfer-Encoding": "chunked"}
    reader, writer = await _raw_request(intake, head)
    response = asyncio.create_task(_read_response(reader))
    sent = 0
    try:
        async for chunk in body.body():
            if response.done():
                break
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await asyncio.wait(
                [asyncio.create_task(writer.drain()), response],
                timeout=30,
                return_when=asyncio.FIRST_COMPLETED,
            )
            sent += len(chunk)
        status, problem = await asyncio.wait_for(response, timeout=30)
    finally:
        writer.transport.abort()
    print(
        f"\nchunked body refused with {status} after {sent / MiB:.0f} of {len(body) / MiB:.0f} MiB"
    )
    assert status == 413
    assert problem["type"].endswith("/payload-too-large")
    assert sent < len(body)
    assert await _settled(intake) == []
    assert intake.submission_count() == submissions
    assert intake.blob_files() == blobs


def _ledger_settings(data_dir: Path) -> LedgerSettings:
    """The intake process's ledger, with the chain keys it was started with."""
    keys = {kid: SecretStr(key) for kid, key in TEST_CHAIN_KEYS.items()}
    return LedgerSettings(data_dir=data_dir, ledger_chain_keys=keys)
