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
compare before and after). A measurement, not a test: run it alone on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwe
from joserfc.jwk import RSAKey

from events.vault import local_vault
from services.fitconnect.jwe_decrypt import JweDecryptor, decrypt, decrypted_stream

SUBMISSION = uuid.UUID("00000000-0000-4000-8000-000000000050")
KID = "memory-key"


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
    if mode == "whole":
        compact = vault.read(SUBMISSION, blob).decode("ascii")
        plaintext = whole_decrypt(compact, key_of, limit).plaintext
        part = vault.put(SUBMISSION, plaintext)
        del compact, plaintext
    else:
        decryptor = JweDecryptor(key_of, limit)
        chunks = decrypted_stream(vault.stream(SUBMISSION, blob), decryptor)
        part = asyncio.run(vault.put_stream(SUBMISSION, chunks, limit))
    seconds = time.perf_counter() - started
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    figures = {
        "mode": mode,
        "plaintext_bytes": part.size,
        "rss_before_mib": round(before / 1024, 1),
        "rss_peak_above_before_mib": round((_status("VmHWM") - before) / 1024, 1),
        "python_alloc_peak_mib": round(traced_peak / 2**20, 1),
        "seconds": round(seconds, 2),
    }
    print(json.dumps(figures))


def _status(field: str) -> int:
    """A ``/proc/self/status`` figure in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    msg = f"no {field} in /proc/self/status"
    raise RuntimeError(msg)


def _reset_peak() -> int:
    """Reset the peak resident size (``VmHWM``) to the current one; the current, KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def main(argv: list[str] | None = None) -> None:
    """Prepare once, measure each way in a fresh process, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=50, help="attachment size in MB")
    parser.add_argument("--whole-module", help="a module file whose decrypt() `whole` uses")
    parser.add_argument(
        "--child", nargs=3, metavar=("FOLDER", "MODE", "BLOB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    limit = (args.mb + 1) * 1_000_000
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
