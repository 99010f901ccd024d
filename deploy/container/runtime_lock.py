"""Print the part of ``requirements.lock`` that Amtsweg needs to run, hashes and all.

The lock pins everything: the product's dependencies, the ``dev`` and ``harness`` extras
and the build tools. The image installs only what the product imports, still
hash-checked (``pip install --require-hashes --no-deps``), so that no test runner,
linter or plotting library ships. This script runs in the build stage, in an environment
where the whole lock is installed: it walks ``pyproject.toml``'s ``[project]
dependencies`` through the installed packages' own requirements (with the extras they
ask for, markers evaluated for this interpreter) and prints those packages' entries of
the lock unchanged.

Usage: ``python runtime_lock.py requirements.lock pyproject.toml > runtime.lock``
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def wanted(requirement: Requirement, extra: str) -> bool:
    """Whether ``requirement`` applies here, for ``extra`` ('' for none)."""
    if requirement.marker is None:
        return True
    return requirement.marker.evaluate({"extra": extra})


def closure(roots: Iterable[str]) -> set[str]:
    """Canonical names of ``roots`` and of everything they need, extras included."""
    seen: set[tuple[str, str]] = set()
    pending = [(Requirement(root), "") for root in roots]
    names: set[str] = set()
    while pending:
        requirement, extra = pending.pop()
        if not wanted(requirement, extra):
            continue
        name = canonicalize_name(requirement.name)
        names.add(name)
        for asked in ("", *sorted(requirement.extras)):
            if (name, asked) in seen:
                continue
            seen.add((name, asked))
            try:
                needs = requires(requirement.name) or []
            except PackageNotFoundError:
                sys.exit(f"runtime_lock: {requirement.name} is not installed here")
            pending += [(Requirement(need), asked) for need in needs]
    return names


def entries(lock: str) -> Iterator[tuple[str, str]]:
    """``(canonical name, entry)`` of each pin in the lock: its ``name==version`` line
    (with its marker) and the ``--hash`` lines after it."""
    lines = lock.splitlines()
    for index, line in enumerate(lines):
        if not line or line[0] in " #":
            continue
        block = [line]
        for follow in lines[index + 1 :]:
            if not follow.lstrip().startswith("--hash"):
                break
            block.append(follow)
        pin = Requirement(line.rstrip(" \\"))
        if wanted(pin, ""):
            yield canonicalize_name(pin.name), "\n".join(block).rstrip(" \\")


def runtime_lock(lock: str, pyproject: str) -> str:
    """The lock's entries of what ``pyproject``'s dependencies need."""
    needed = closure(tomllib.loads(pyproject)["project"]["dependencies"])
    return "".join(f"{entry}\n" for name, entry in entries(lock) if name in needed)


def main() -> None:
    """Read the lock and ``pyproject.toml`` named on the command line, print the result."""
    lock, pyproject = (Path(arg).read_text(encoding="utf-8") for arg in sys.argv[1:3])
    sys.stdout.write(runtime_lock(lock, pyproject))


if __name__ == "__main__":
    main()
