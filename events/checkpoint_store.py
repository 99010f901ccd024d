"""Where checkpoints are kept: a directory outside the ledger's database, a file each.

``AMTSWEG_CHECKPOINT_DIR`` holds ``checkpoint-<sequence>.json`` files. A file is written
aside, synced, and linked into place under its sequence number, so a reader sees it whole
or not at all, and an existing checkpoint is never overwritten: two writers at once
cannot both write the same sequence (the second gets ``FileExistsError``). Put the
directory on storage that keeps it even from its writer (WORM: S3 Object Lock in
compliance mode, a write-once share, or a separate host): README, "Signed checkpoints".
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from contracts import linear_regex
from events.checkpoint import file_name

_NAME = linear_regex.compile(r"checkpoint-([0-9]{12})\.json")


class CheckpointDirectory:
    """The checkpoint files in one directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def names(self) -> list[str]:
        """Every checkpoint file's name, in sequence order."""
        if not self.path.is_dir():
            return []
        return sorted(entry.name for entry in self.path.iterdir() if _NAME.fullmatch(entry.name))

    def files(self) -> Iterator[tuple[str, bytes]]:
        """(name, bytes) of every checkpoint file, in sequence order."""
        for name in self.names():
            yield name, (self.path / name).read_bytes()

    def latest(self) -> tuple[str, bytes] | None:
        """The newest checkpoint file, or None when there is none."""
        names = self.names()
        if not names:
            return None
        return names[-1], (self.path / names[-1]).read_bytes()

    def write(self, sequence: int, document: bytes) -> Path:
        """Write checkpoint ``sequence``; ``FileExistsError`` if it exists already."""
        self.path.mkdir(parents=True, exist_ok=True)
        target = self.path / file_name(sequence)
        aside = self.path / f".{target.name}.{secrets.token_hex(4)}"
        descriptor = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(document)
                file.flush()
                os.fsync(file.fileno())
            os.link(aside, target)
        finally:
            aside.unlink()
        _sync_directory(self.path)
        return target


def _sync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
