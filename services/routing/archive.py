"""Every directory version routing has used, kept addressable for replays.

A routing event records its directory version; to decide again as then, the archive
rebuilds that version's context from the very files it was built from. Layout (under
``AMTSWEG_ROUTING_ARCHIVE``, by default ``<data dir>/directories``)::

    files/<sha256>             the directory, ARS list and postal code list, by content
    versions/<version>.json    {"version", "directory", "regions", "postcodes"}: their hashes

Writes are atomic (temporary file, then rename) and idempotent, so several routing
workers may keep the same version at once. With workers on several machines, point the
setting at shared storage.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from contracts import linear_regex
from services.routing.context import RoutingContext, Sources, build_context

_VERSION_PATTERN = linear_regex.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\+[0-9a-f]{16}")


class UnknownDirectoryVersionError(LookupError):
    """The archive does not hold this directory version."""


class DirectoryArchive:
    """Content-addressed store of the files behind each directory version."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def keep(self, context: RoutingContext, sources: Sources) -> None:
        """Keep the files of ``context`` (built from ``sources``) under its version."""
        hashes = {
            name: self._put(content)
            for name, content in (
                ("directory", sources.directory),
                ("regions", sources.regions),
                ("postcodes", sources.postcodes),
            )
        }
        manifest = {"version": context.version, "directoryName": sources.directory_name, **hashes}
        path = self._manifest(context.version)
        if not path.exists():
            _write(path, json.dumps(manifest, indent=2).encode())

    def versions(self) -> list[str]:
        """The versions kept, sorted."""
        folder = self.folder / "versions"
        return sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []

    def sources(self, version: str) -> Sources:
        """The files of ``version``; ``UnknownDirectoryVersionError`` if not kept."""
        path = self._manifest(version)
        try:
            manifest = json.loads(path.read_bytes())
            return Sources(
                self._get(manifest["directory"]),
                self._get(manifest["regions"]),
                self._get(manifest["postcodes"]),
                manifest.get("directoryName", "directory.json"),
            )
        except (OSError, ValueError, KeyError) as error:
            msg = f"directory version {version} is not in the archive {self.folder}"
            raise UnknownDirectoryVersionError(msg) from error

    def load(self, version: str) -> RoutingContext:
        """Rebuild the context of ``version`` (its content must still yield that version)."""
        context = build_context(self.sources(version))
        if context.version != version:
            msg = f"archived files of {version} now yield {context.version}: archive damaged"
            raise UnknownDirectoryVersionError(msg)
        return context

    def _manifest(self, version: str) -> Path:
        if not _VERSION_PATTERN.fullmatch(version):
            msg = f"{version!r} is not a directory version (<label>+<16 hex digits>)"
            raise UnknownDirectoryVersionError(msg)
        return self.folder / "versions" / f"{version}.json"

    def _put(self, content: bytes) -> str:
        digest = hashlib.sha256(content).hexdigest()
        path = self.folder / "files" / digest
        if not path.exists():
            _write(path, content)
        return digest

    def _get(self, digest: str) -> bytes:
        content = (self.folder / "files" / digest).read_bytes()
        if hashlib.sha256(content).hexdigest() != digest:
            msg = f"archived file {digest} does not match its hash"
            raise ValueError(msg)
        return content


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(content)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
