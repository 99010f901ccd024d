"""Files only the receiver's user can read: directories 0700, files 0600, whatever the umask.

Applications hold personal data; the output folder may sit on a shared machine. The
modes are set explicitly (``chmod`` after creating): a creation mode is filtered by the
process's umask, so alone it would depend on how the receiver was started.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


def private_directory(path: Path) -> Path:
    """Make ``path`` (and missing parents) a directory only the user can enter."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    for created in missing:
        created.chmod(DIRECTORY_MODE)
    return path


def write_private(path: Path, content: bytes) -> None:
    """Write a new file only the user can read (refuses to follow a symlink or overwrite)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), FILE_MODE)
        file.write(content)


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it is missing, and make it readable by the user only."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), FILE_MODE))
    path.chmod(FILE_MODE)
    return path
