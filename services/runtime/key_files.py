"""Private key files (JSON, mode 0600) written so that another process reads them whole or not.

Every signing key set Amtsweg makes itself (envelope signing keys, FIT-Connect token keys)
is written aside under a temporary name in the same folder, synced, and then linked into
place (a new file: the first writer wins) or renamed over the old one (a rotation).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def write_aside(path: Path, document: dict[str, Any]) -> Path:
    """``document`` complete in a new file (mode 0600) beside ``path``; its name returned."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    written = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.flush()
        os.fsync(file.fileno())
    return written


def create_file(path: Path, document: dict[str, Any]) -> None:
    """``document`` at ``path``; ``FileExistsError`` if there is a file (it stays)."""
    written = write_aside(path, document)
    try:
        os.link(written, path)
    finally:
        written.unlink()


def replace_file(path: Path, document: dict[str, Any]) -> None:
    """``document`` at ``path`` in place of what was there."""
    write_aside(path, document).replace(path)


def read_or_create(path: Path, read: Callable[[Path], T], create: Callable[[Path], T]) -> T:
    """The key file at ``path`` read, or made by ``create`` when there is none yet (a
    development key: if another process makes it meanwhile, theirs is read)."""
    if path.exists():
        return read(path)
    try:
        return create(path)
    except FileExistsError:
        return read(path)


def create_key_set(path: Path, new_key: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A JWK Set of one new key at ``path``; ``FileExistsError`` if there is a file."""
    document = {"keys": [new_key()]}
    create_file(path, document)
    return document


def rotate_key_set(path: Path, new_key: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A new key first in the JWK Set at ``path`` (it signs); the others stay after it."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document["keys"].insert(0, new_key())
    replace_file(path, document)
    return document
