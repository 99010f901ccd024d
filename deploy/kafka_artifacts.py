"""Apache Kafka's own jars, resolved once from Maven Central into a local cache.

The local broker (:mod:`deploy.local_kafka`) runs ``kafka.Kafka`` straight from the
jars that ``deploy/kafka/pom.xml`` names. Maven copies them into
``<cache>/lib``; a marker file written after a successful copy makes every later call
return at once, without running Maven at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import structlog

POM = Path(__file__).resolve().parent / "kafka" / "pom.xml"
"""The Maven project that lists the broker's artifacts (nothing in it is built)."""

CACHE_ENV = "AMTSWEG_KAFKA_CACHE"
"""Environment variable that overrides the cache folder."""

_VERSION_PROPERTY = re.compile(r"<kafka\.version>\s*([^<\s]+)\s*</kafka\.version>")
_MARKER = "resolved.sha256"

_log = structlog.get_logger(__name__)


class KafkaArtifactsError(RuntimeError):
    """Kafka's jars could not be resolved (Maven missing, offline, or failing)."""


def kafka_version(pom: Path = POM) -> str:
    """Return the Kafka version that ``pom`` pins in its ``kafka.version`` property."""
    found = _VERSION_PROPERTY.search(pom.read_text(encoding="utf-8"))
    if found is None:
        msg = f"{pom} defines no <kafka.version> property"
        raise KafkaArtifactsError(msg)
    return found.group(1)


def default_cache_dir(pom: Path = POM) -> Path:
    """Return ``$AMTSWEG_KAFKA_CACHE`` or ``~/.cache/amtsweg/kafka-<version>``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "amtsweg" / f"kafka-{kafka_version(pom)}"


def resolve_artifacts(cache_dir: Path | None = None, pom: Path = POM) -> Path:
    """Make sure Kafka's jars are in ``<cache_dir>/lib`` and return that folder.

    Runs ``mvn dependency:copy-dependencies`` only when the cache is incomplete or was
    filled from a different pom; concurrent callers are serialised with a file lock.
    """
    cache = cache_dir if cache_dir is not None else default_cache_dir(pom)
    lib = cache / "lib"
    fingerprint = hashlib.sha256(pom.read_bytes()).hexdigest()
    if _is_complete(cache, fingerprint):
        return lib
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_complete(cache, fingerprint):
            _copy_with_maven(pom, cache, lib)
            (cache / _MARKER).write_text(fingerprint + "\n", encoding="utf-8")
    return lib


def _is_complete(cache: Path, fingerprint: str) -> bool:
    marker = cache / _MARKER
    if not marker.is_file() or marker.read_text(encoding="utf-8").strip() != fingerprint:
        return False
    return any((cache / "lib").glob("kafka_*.jar"))


def _copy_with_maven(pom: Path, cache: Path, lib: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        msg = (
            "Maven (mvn) is needed once to fetch Apache Kafka's jars for the local broker; "
            "install it, or set KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
        )
        raise KafkaArtifactsError(msg)
    staging = Path(tempfile.mkdtemp(prefix="lib-", dir=cache))
    command = [
        mvn,
        "-B",
        "-q",
        "dependency:copy-dependencies",
        "-f",
        str(pom),
        f"-DoutputDirectory={staging}",
    ]
    _log.info("kafka.artifacts.resolving", pom=str(pom), cache=str(cache))
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not any(staging.glob("kafka_*.jar")):
            output = (done.stdout + done.stderr).strip()[-4000:]
            msg = f"mvn failed to resolve Kafka's jars (exit {done.returncode}):\n{output}"
            raise KafkaArtifactsError(msg)
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _log.info("kafka.artifacts.resolved", lib=str(lib), jars=len(list(lib.glob("*.jar"))))
