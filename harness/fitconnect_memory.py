"""Peak memory of decrypting one FIT-Connect attachment on submit: held whole or streamed.

    python -m harness.fitconnect_memory --mb 50

makes a vault in a temporary folder, seals one attachment JWE (``RSA-OAEP-256``,
``A256GCM``, ``zip: DEF``) of ``--mb`` MB into it as the upload does, and then, each in a
fresh process, decrypts it into a new sealed blob the two ways:

``whole``
    as the submit did before: the sealed JWE read into memory, decrypted and inflated
    whole (:func:`decrypt`), the plaintext sealed from memory (``Vault.put``).
``streamed``
    as it does now: the sealed JWE streamed from the vault through :class:`JweDecryptor`
    into ``Vault.put_stream``.

Each child prints its peak resident memory during the step above what it held before
(``VmHWM``, reset by ``/proc/self/clear_refs``; Linux), and the peak of Python allocations
(``tracemalloc``). ``--whole-module FILE``
measures ``whole`` with another ``decrypt`` (e.g. the previous version's module, to
compare before and after).

    python -m harness.fitconnect_memory --submit --mb 50

measures the whole submit instead, over the FIT-Connect API (announce and upload in one
process, ``PUT /v1/submissions/{id}`` through ASGI in a fresh one that never held the
attachment), with whatever code is imported: to compare with an older commit, run it from
an export of that commit (``git archive <commit> | tar -x -C DIR``, copy this file into
``DIR/harness/``, ``PYTHONPATH=DIR``). Memory is sampled every millisecond (``VmRSS``)
besides ``VmHWM``, which misses what a worker thread's arena gives back by ``madvise``.
A measurement, not a test: run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwe
from joserfc.jwk import RSAKey

from events.ledger import Ledger
from events.settings import LedgerSettings
from events.vault import SealedPart, Vault, local_vault
from services.fitconnect.certificates import InstanceCA, x5c_of
from services.fitconnect.destination_directory import (
    DestinationService,
    SubmissionSchema,
    directory_of,
)
from services.fitconnect.destination_keys import DestinationKeys
from services.fitconnect.destinations import ROUTING_DESTINATION
from services.fitconnect.http import FitConnectPorts, mount_fit_connect
from services.fitconnect.jwe_decrypt import PrivateKeyOf, decrypt
from services.fitconnect.key_table import KeyTable
from services.fitconnect.submission_table import SubmissionTable
from services.fitconnect.submissions_http import SendingPorts
from services.fitconnect.token_keys import TokenKeys, new_token_key
from services.fitconnect.tokens import Tokens
from services.intake.auth import token_hash
from services.intake.http import create_app
from services.intake.settings import IntakeSettings
from services.ops.app.fitconnect_intake import fit_connect_intake
from services.ops.app.fitconnect_wiring import client_credentials

SUBMISSION = uuid.UUID("00000000-0000-4000-8000-000000000050")
KID = "memory-key"
LEIKA = "99900000000102"
SECRET = "portal-secret"  # noqa: S105 - a throwaway portal of this measurement
SCHEMA_URI = "https://schema.fitko.de/fim/s00000122_1.0.0.schema.json"
DATA: dict[str, Any] = {
    "$schema": SCHEMA_URI,
    "antragsteller": {"name": "Erika Mustermann"},
}


def _prepare(folder: Path, megabytes: int) -> dict[str, Any]:
    """The vault in ``folder`` with one sealed attachment JWE; what the children need."""
    private = rsa.generate_private_key(65537, 4096)
    (folder / "key.pem").write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    size = megabytes * 1_000_000
    content = os.urandom(size // 2) + b"Anlage zum Antrag. " * (size // 2 // 19)
    key = RSAKey.import_key(private, parameters={"kid": KID})
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": KID}
    compact = jwe.encrypt_compact(
        header, content, key, algorithms=["RSA-OAEP-256", "A256GCM", "DEF"]
    )
    vault = local_vault(folder / "vault")
    sealed = vault.put(SUBMISSION, compact.encode("ascii"))
    return {"blob": sealed.blob, "jwe_bytes": sealed.size, "plaintext_bytes": len(content)}


def _measure(folder: Path, mode: str, blob: str, limit: int, whole_module: str | None) -> None:
    """One way, in this process; prints its figures as JSON."""
    private = serialization.load_pem_private_key((folder / "key.pem").read_bytes(), None)
    assert isinstance(private, rsa.RSAPrivateKey)

    def key_of(kid: str) -> rsa.RSAPrivateKey | None:
        return private if kid == KID else None

    vault = local_vault(folder / "vault")
    whole_decrypt = decrypt
    if whole_module is not None:
        spec = importlib.util.spec_from_file_location("whole_decrypt", whole_module)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        whole_decrypt = module.decrypt
    before = _reset_peak()
    tracemalloc.start()
    started = time.perf_counter()
    with RssSampler() as sampler:
        part = _decrypted(vault, mode, blob, key_of, limit, whole=whole_decrypt)
    seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {
        "mode": mode,
        "plaintext_bytes": part.size,
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_above_before_mib": round(
            (max(_status("VmHWM"), sampler.peak) - before) / 1024, 1
        ),
        "python_alloc_peak_mib": round(traced_peak / 2**20, 1),
        "seconds": round(seconds, 2),
    }
    print(json.dumps(figures))


def _decrypted(
    vault: Vault, mode: str, blob: str, key_of: PrivateKeyOf, limit: int, *, whole: Any
) -> SealedPart:
    """The attachment decrypted into a new sealed blob, ``whole`` or ``streamed``."""
    if mode == "whole":
        compact = vault.read(SUBMISSION, blob).decode("ascii")
        plaintext = whole(compact, key_of, limit).plaintext
        return vault.put(SUBMISSION, plaintext)
    # here, not at the top: --submit also runs on code from before the streaming
    from services.fitconnect.jwe_decrypt import JweDecryptor, decrypted_stream  # noqa: PLC0415

    decryptor = JweDecryptor(key_of, limit)
    chunks = decrypted_stream(vault.stream(SUBMISSION, blob), decryptor)
    return asyncio.run(vault.put_stream(SUBMISSION, chunks, limit))


def _measure_submit(megabytes: int) -> None:
    """The whole submit over the FIT-Connect API: one process announces and uploads the
    attachment, a fresh one (which never held it) submits, through ASGI, and prints the
    peak resident memory of ``PUT /v1/submissions/{id}`` above what it held before."""
    with tempfile.TemporaryDirectory(prefix="amtsweg-fc-memory-") as temp:
        for phase in ("prepare", "submit"):
            command = [sys.executable, "-m", "harness.fitconnect_memory", "--mb", str(megabytes)]
            command += ["--submit-phase", phase, temp]
            subprocess.run(command, check=True)  # noqa: S603 - this interpreter, this module


async def _submit(folder: Path, megabytes: int, phase: str) -> None:
    settings = IntakeSettings(
        portal_tokens={"portal-a": token_hash(SECRET)},
        max_attachment_bytes=(megabytes + 1) * 1_000_000,
    )
    ledger = Ledger(LedgerSettings(data_dir=folder))
    vault = local_vault(folder / "vault")
    ca = InstanceCA.generate()

    def material(destination: uuid.UUID) -> tuple[rsa.RSAPrivateKey, list[x509.Certificate]]:
        private = rsa.generate_private_key(65537, 4096)
        return private, ca.certify(private.public_key(), destination, days=30)

    keys = DestinationKeys(KeyTable.sqlite(folder / "fc.sqlite3"), vault.keys.kek, material, x5c_of)
    table = SubmissionTable.sqlite(folder / "fc.sqlite3")
    tokens = Tokens(TokenKeys({"keys": [new_token_key()]}), issuer="memory", lifetime_seconds=300)
    schema = SubmissionSchema(SCHEMA_URI, "application/json")
    app = create_app(ledger, vault, settings)
    mount_fit_connect(
        app,
        FitConnectPorts(
            tokens=lambda: tokens,
            credentials=client_credentials(settings.portal_tokens, {}),
            sender_scopes=lambda _portal: ("send:region:DE",),
            destinations=directory_of({}, (DestinationService(LEIKA, (), (schema,)),)),
            keys=lambda: keys,
            sending=SendingPorts(
                table=lambda: table,
                vault=lambda: vault,
                intake=fit_connect_intake(ledger, vault, settings),
                max_part_bytes=settings.max_attachment_bytes,
                max_metadata_bytes=settings.max_metadata_bytes,
                max_attachments=settings.max_attachments,
            ),
        ),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://memory", timeout=600
    ) as http:
        form = {"grant_type": "client_credentials", "client_id": "portal-a"}
        form["client_secret"] = SECRET
        token = (await http.post("/fit-connect/token", data=form)).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        prepared = folder / "submit.json"
        if phase == "prepare":
            prepared.write_text(json.dumps(await _upload(http, auth, megabytes)))
            return
        announced = json.loads(prepared.read_text())
        submission, body = announced["submission"], announced["body"]
        before = _reset_peak()
        started = time.perf_counter()
        with RssSampler() as sampler:
            answer = await http.put(
                f"/fit-connect/v1/submissions/{submission}", headers=auth, json=body
            )
        seconds = time.perf_counter() - started
        peak = max(_status("VmHWM"), sampler.peak)
    assert answer.status_code == 202, answer.text
    print(
        json.dumps(
            {
                "mode": "submit over the API",
                "attachment_bytes": announced["attachment_bytes"],
                "rss_before_mib": round(before / 1024, 1),
                "rss_peak_above_before_mib": round((peak - before) / 1024, 1),
                "seconds": round(seconds, 2),
            }
        )
    )


async def _upload(http: httpx.AsyncClient, auth: dict[str, str], megabytes: int) -> dict[str, Any]:
    """Announce a submission with one attachment of ``megabytes`` MB and upload it; the
    submission id and the submit's body."""
    size = megabytes * 1_000_000
    content = os.urandom(size // 2) + b"Anlage zum Antrag. " * (size // 2 // 19)
    destination = str(ROUTING_DESTINATION)
    base = f"/fit-connect/v1/destinations/{destination}"
    kid = (await http.get(base, headers=auth)).json()["encryptionKid"]
    published = (await http.get(f"{base}/keys/{kid}")).json()
    published.pop("key_ops")  # joserfc checks them as "encrypt"
    jwk = RSAKey.import_key(published)
    attachment = str(uuid.uuid4())
    announce = {
        "destinationId": destination,
        "announcedAttachments": [attachment],
        "serviceType": {"name": "Antrag", "identifier": f"urn:de:fim:leika:leistung:{LEIKA}"},
    }
    created = await http.post("/fit-connect/v1/submissions", headers=auth, json=announce)
    submission = created.json()["submissionId"]
    header = {"alg": "RSA-OAEP-256", "enc": "A256GCM", "zip": "DEF", "kid": kid}
    algorithms = ["RSA-OAEP-256", "A256GCM", "DEF"]

    def encrypted(plaintext: bytes) -> str:
        return jwe.encrypt_compact(header, plaintext, jwk, algorithms=algorithms)

    uploaded = await http.put(
        f"/fit-connect/v1/submissions/{submission}/attachments/{attachment}",
        headers=auth | {"Content-Type": "application/jose"},
        content=encrypted(content).encode(),
    )
    assert uploaded.status_code == 204, uploaded.text
    attachment_sha512, attachment_size = hashlib.sha512(content).hexdigest(), len(content)
    del content
    data = json.dumps(DATA).encode()
    metadata = {
        "$schema": "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": hashlib.sha512(data).hexdigest()},
                "submissionSchema": {
                    "schemaUri": SCHEMA_URI,
                    "mimeType": "application/json",
                },
            },
            "attachments": [
                {
                    "attachmentId": attachment,
                    "hash": {"type": "sha512", "content": attachment_sha512},
                    "mimeType": "application/pdf",
                    "purpose": "attachment",
                }
            ],
        },
    }
    body = {
        "encryptedMetadata": encrypted(json.dumps(metadata).encode()),
        "encryptedData": encrypted(data),
    }
    return {"submission": submission, "body": body, "attachment_bytes": attachment_size}


class RssSampler:
    """The largest ``VmRSS`` seen every millisecond or so while the block runs: memory a
    worker thread's arena gives back by ``madvise`` never shows in ``VmHWM``."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        page_kib = os.sysconf("SC_PAGE_SIZE") // 1024
        with Path("/proc/self/statm").open() as statm:
            while not self._stop.is_set():
                statm.seek(0)
                self.peak = max(self.peak, int(statm.read().split()[1]) * page_kib)
                time.sleep(0.001)


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    msg = f"no {field} in /proc/self/status"
    raise RuntimeError(msg)


def _reset_peak() -> int:
    """Memory freed before given back to the system (glibc keeps it resident otherwise),
    the peak resident size (``VmHWM``) reset to the current one; the current, KiB."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def main(argv: list[str] | None = None) -> None:
    """Prepare once, measure each way in a fresh process, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="attachment size in MB")
    parser.add_argument("--whole-module", help="a module file whose decrypt() `whole` uses")
    parser.add_argument(
        "--submit",
        action="store_true",
        help="measure only the whole submit over the FIT-Connect API (whatever code is imported)",
    )
    parser.add_argument("--submit-phase", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument(
        "--child", nargs=3, metavar=("FOLDER", "MODE", "BLOB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    limit = (args.mb + 1) * 1_000_000
    if args.submit:
        _measure_submit(args.mb)
        return
    if args.submit_phase:
        phase, folder = args.submit_phase
        asyncio.run(_submit(Path(folder), args.mb, phase))
        return
    if args.child:
        folder, mode, blob = args.child
        _measure(Path(folder), mode, blob, limit, args.whole_module)
        return
    with tempfile.TemporaryDirectory(prefix="amtsweg-fc-memory-") as temp:
        folder = Path(temp)
        prepared = _prepare(folder, args.mb)
        print(
            json.dumps(
                {"jwe_bytes": prepared["jwe_bytes"], "plaintext_bytes": prepared["plaintext_bytes"]}
            )
        )
        for mode in ("whole", "streamed"):
            command = [sys.executable, "-m", "harness.fitconnect_memory", "--mb", str(args.mb)]
            if args.whole_module:
                command += ["--whole-module", args.whole_module]
            command += ["--child", str(folder), mode, prepared["blob"]]
            subprocess.run(command, check=True)  # noqa: S603 - this interpreter, this module


if __name__ == "__main__":
    main()
