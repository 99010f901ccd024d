"""``amtsweg bench fit-connect``: what the FIT-Connect path costs against the native API.

One Amtsweg HTTP app (the one ``amtsweg run`` serves, development settings, SQLite ledger
in a scratch folder) takes the same submissions two ways, alternating one by one so that
both see the same machine state:

- ``native``: ``POST /v1/submissions`` (multipart: metadata, routing hint, data, attachment);
- ``fit-connect``: what a FIT-Connect sender does per submission — ``POST /fit-connect/token``,
  ``POST /fit-connect/v1/submissions`` (announce), ``PUT …/attachments/{id}`` (JWE),
  ``PUT /fit-connect/v1/submissions/{id}`` (metadata and data as JWEs).

Both end when Amtsweg has recorded ``Received`` (from there on the pipeline is the same).
The client's encryption (RSA-OAEP-256 + A256GCM to the destination's key) is done before
the clock starts and printed on its own line. Requests go through httpx's ASGI transport
in this process (no network): latency and CPU include the client's side of httpx for both
paths alike. Benchmarks print figures; they assert nothing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from joserfc import jwe
from joserfc.jwk import RSAKey
from rich.console import Console
from rich.table import Table

from harness.bench.inprocess import PORTAL, http_app, percentile
from harness.bench.payloads import BenchSubmission, Payloads, multipart
from harness.bench.session import machine
from harness.plots import pyplot
from services.fitconnect.destinations import destination_id

console = Console()
AUTHORITY = "jobcenter-koeln"
"""Where :data:`harness.bench.payloads.ROUTING` routes Bürgergeld (the seed directory)."""
LEIKA_URN = "urn:de:fim:leika:leistung:"


@dataclass
class Timings:
    """Timings of one path."""

    name: str
    wall_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """n, p50 and p99 wall ms, submissions per second one after another, CPU ms each."""
        return {
            "n": len(self.wall_ms),
            "p50Ms": statistics.median(self.wall_ms),
            "p99Ms": percentile(self.wall_ms, 0.99),
            "perSecond": 1000 / statistics.fmean(self.wall_ms),
            "cpuMs": statistics.fmean(self.cpu_ms),
        }

    def row(self) -> list[str]:
        figures = self.summary()
        return [
            self.name,
            str(figures["n"]),
            f"{figures['p50Ms']:.2f}",
            f"{figures['p99Ms']:.2f}",
            f"{figures['perSecond']:,.0f}",
            f"{figures['cpuMs']:.2f}",
        ]


class Sender:
    """The two ways of sending one bench submission to the app."""

    def __init__(self, http: httpx.AsyncClient, token: str, public_key: RSAKey) -> None:
        self._http = http
        self._token = token
        self._key = public_key
        self._destination = str(destination_id(AUTHORITY))
        self.steps: dict[str, list[float]] = {}
        """Wall milliseconds of each FIT-Connect request, by step."""

    @contextmanager
    def _step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.steps.setdefault(name, []).append((time.perf_counter() - started) * 1000)

    async def native(self, submission: BenchSubmission) -> None:
        content_type, chunks = multipart(submission)
        answer = await self._http.post(
            "/v1/submissions",
            content=b"".join(chunks),
            headers={
                "Authorization": f"Bearer {self._token}",
                "Content-Type": content_type,
                "Idempotency-Key": submission.key,
            },
        )
        _expect(answer, 202)

    def encrypted(self, submission: BenchSubmission) -> dict[str, str]:
        """The JWEs a FIT-Connect client sends for ``submission``."""
        parts = {"metadata": submission.metadata, "data": submission.data}
        if submission.attachment is not None:
            parts["attachment"] = b"".join(submission.attachment.chunks)
        header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": self._key.kid}
        algorithms = ["RSA-OAEP-256", "A256GCM"]
        return {
            name: jwe.encrypt_compact(header, value, self._key, algorithms=algorithms)
            for name, value in parts.items()
        }

    async def fit_connect(self, submission: BenchSubmission, sealed: dict[str, str]) -> None:
        with self._step("token"):
            auth = await access(self._http, self._token)
        attachment = submission.attachment
        announced = [attachment.attachment_id] if attachment is not None else []
        with self._step("announce"):
            created = await self._http.post(
                "/fit-connect/v1/submissions",
                headers=auth,
                json={
                    "destinationId": self._destination,
                    "announcedAttachments": announced,
                    "serviceType": {"name": "Bürgergeld", "identifier": _leika(submission)},
                },
            )
        _expect(created, 201)
        submission_id = created.json()["submissionId"]
        if attachment is not None:
            with self._step("attachment"):
                uploaded = await self._http.put(
                    f"/fit-connect/v1/submissions/{submission_id}/attachments/{attachment.attachment_id}",
                    headers=auth | {"Content-Type": "application/jose"},
                    content=sealed["attachment"],
                )
            _expect(uploaded, 204)
        with self._step("submit"):
            submitted = await self._http.put(
                f"/fit-connect/v1/submissions/{submission_id}",
                headers=auth,
                json={"encryptedMetadata": sealed["metadata"], "encryptedData": sealed["data"]},
            )
        _expect(submitted, 202)


async def access(http: httpx.AsyncClient, portal_token: str) -> dict[str, str]:
    """The ``Authorization`` header with a fresh access token, as FIT-Connect clients get it."""
    token = await http.post(
        "/fit-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": PORTAL,
            "client_secret": portal_token,
        },
    )
    _expect(token, 200)
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def _leika(submission: BenchSubmission) -> str:
    metadata = json.loads(submission.metadata)
    return str(metadata["publicServiceType"]["identifier"])


def _expect(answer: httpx.Response, status: int) -> None:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code} "
            f"{answer.text[:300]}"
        )


async def _timed(step: Callable[[], Awaitable[None]], into: Timings) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    await step()
    into.cpu_ms.append((time.process_time() - cpu) * 1000)
    into.wall_ms.append((time.perf_counter() - wall) * 1000)


async def _run(payloads: Payloads, count: int, warmup: int, scratch: Path) -> dict[str, Any]:
    async with http_app(scratch) as app:
        http, token = app.http, app.portal_token
        destination = str(destination_id(AUTHORITY))
        auth = await access(http, token)
        path = f"/fit-connect/v1/destinations/{destination}"
        described = await http.get(path, headers=auth)
        _expect(described, 200)
        kid = described.json()["encryptionKid"]
        jwk = await http.get(f"{path}/keys/{kid}", headers=auth)
        _expect(jwk, 200)
        public = {name: jwk.json()[name] for name in ("kty", "n", "e", "kid")}
        # joserfc wants key_ops "encrypt"; FIT-Connect publishes "wrapKey"
        sender = Sender(http, token, RSAKey.import_key(public))
        return await _alternate(sender, payloads, count, warmup)


async def _alternate(sender: Sender, payloads: Payloads, count: int, warmup: int) -> dict[str, Any]:
    native, fit, encrypt = Timings("native POST /v1/submissions"), Timings("FIT-Connect"), []
    for n in range(warmup + count):
        first = payloads.build(f"native-{n}-{secrets.token_hex(4)}")
        second = payloads.build(f"fit-{n}-{secrets.token_hex(4)}")
        started = time.process_time()
        sealed = sender.encrypted(second)
        encrypted_ms = (time.process_time() - started) * 1000
        measured = n >= warmup
        into_native = native if measured else Timings("warm-up")
        into_fit = fit if measured else Timings("warm-up")
        native_step = functools.partial(sender.native, first)
        fit_step = functools.partial(sender.fit_connect, second, sealed)
        order = [(native_step, into_native), (fit_step, into_fit)]
        for step, into in order[:: -1 if n % 2 else 1]:  # alternate which path goes first
            await _timed(step, into)
        if measured:
            encrypt.append(encrypted_ms)
    steps = {name: statistics.median(ms[warmup:]) for name, ms in sender.steps.items()}
    return {"native": native, "fit": fit, "encryptMs": statistics.fmean(encrypt), "steps": steps}


def fit_connect_bench(  # noqa: PLR0917 - typer options
    count: Annotated[int, typer.Option(help="submissions per path")] = 300,
    warmup: Annotated[int, typer.Option(help="unreported submissions per path first")] = 20,
    document_bytes: Annotated[int, typer.Option(help="size of the xdomea document")] = 20_000,
    attachment_bytes: Annotated[int, typer.Option(help="size of the attachment (0: none)")] = 0,
    out: Annotated[Path, typer.Option(help="folder for fit-connect.json and .png")] = Path(
        "var/bench"
    ),
    keep_data: Annotated[bool, typer.Option(help="keep the scratch data dir")] = False,
) -> None:
    """Native intake against the FIT-Connect sending path: same document, one run."""
    payloads = Payloads(document_bytes, attachment_bytes)
    scratch = Path(tempfile.mkdtemp(prefix="amtsweg-bench-fit-connect-"))
    try:
        figures = asyncio.run(_run(payloads, count, warmup, scratch))
    finally:
        if keep_data:
            console.print(f"data dir kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    native, fit = figures["native"], figures["fit"]
    about = machine()
    size = f"{document_bytes / 1000:g} KB document" + (
        f", {attachment_bytes / 1e6:g} MB attachment" if attachment_bytes else ""
    )
    table = Table(title=f"Intake until Received, {size}, in-process ASGI, {about['cpus']} cores")
    for column in ("path", "n", "p50 ms", "p99 ms", "per second", "CPU ms each"):
        table.add_column(column, justify="left" if column == "path" else "right")
    table.add_row(*native.row())
    table.add_row(*fit.row())
    console.print(table)
    ratio = statistics.median(fit.wall_ms) / statistics.median(native.wall_ms)
    cpu_ratio = statistics.fmean(fit.cpu_ms) / statistics.fmean(native.cpu_ms)
    console.print(f"FIT-Connect / native: p50 {ratio:.2f} times, CPU {cpu_ratio:.2f} times")
    steps = ", ".join(f"{name} {ms:.2f}" for name, ms in figures["steps"].items())
    console.print(f"FIT-Connect requests, p50 ms each: {steps}")
    console.print(
        f"client-side encryption per FIT-Connect submission (not in the figures above): "
        f"{figures['encryptMs']:.2f} ms CPU"
    )
    report = {
        "measuredAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": about,
        "documentBytes": document_bytes,
        "attachmentBytes": attachment_bytes,
        "paths": {"native": native.summary(), "fitConnect": fit.summary()},
        "fitConnectStepsP50Ms": figures["steps"],
        "clientEncryptionCpuMs": figures["encryptMs"],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "fit-connect.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    _plot(native, fit, figures["steps"], out / "fit-connect.png", size)
    console.print(f"wrote {out / 'fit-connect.json'} and {out / 'fit-connect.png'}")


def _plot(native: Timings, fit: Timings, steps: dict[str, float], path: Path, size: str) -> None:
    plt = pyplot()
    figure, (latency, parts) = plt.subplots(1, 2, figsize=(11, 4.5))
    latency.boxplot([native.wall_ms, fit.wall_ms], showfliers=False)
    latency.set_xticks([1, 2], ["native", "FIT-Connect"])
    latency.set_ylabel("ms until Received")
    latency.set_title(f"Latency per submission ({size})")
    bottom = 0.0
    for name, ms in steps.items():
        parts.bar(["FIT-Connect"], [ms], bottom=bottom, label=name)
        bottom += ms
    parts.bar(["native"], [statistics.median(native.wall_ms)], label="POST /v1/submissions")
    parts.set_ylabel("p50 ms")
    parts.set_title("Where the time goes (p50 per request)")
    parts.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
