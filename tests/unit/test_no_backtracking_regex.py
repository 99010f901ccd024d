"""No product module uses Python's backtracking ``re``: every pattern runs on RE2.

``contracts.linear_regex`` is the one way to a regular expression; a module that
imported ``re`` again could bring back a pattern whose time grows faster than its input.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "events", "services", "receiver")
"""Not ``deploy``: it reads only the broker's own artifacts and logs, never submissions."""
BACKTRACKING = {"re", "regex"}


def modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "catalog" not in path.parts
    )


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_scan_sees_the_product() -> None:
    assert len(modules()) > 100
    assert "re2" in imported(ROOT / "contracts" / "linear_regex.py")


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_module_imports_a_backtracking_engine(path: Path) -> None:
    assert not imported(path) & BACKTRACKING
