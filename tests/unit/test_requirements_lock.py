"""requirements.lock covers pyproject.toml: every requirement is pinned to a version it allows.

`./dev` installs exactly the locked set; a dependency added or raised in pyproject.toml
without `./dev lock` would otherwise go unnoticed until an install on a fresh machine.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _locked() -> dict[str, list[tuple[Version, Marker | None]]]:
    pins: dict[str, list[tuple[Version, Marker | None]]] = defaultdict(list)
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line or line[0] in " #":
            continue
        requirement = Requirement(line.rstrip(" \\"))
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", line
        pins[canonicalize_name(requirement.name)].append(
            (Version(specifier.version), requirement.marker)
        )
    return pins


def _required() -> list[Requirement]:
    extras = PROJECT["project"]["optional-dependencies"]
    listed = [
        *PROJECT["project"]["dependencies"],
        *extras["dev"],
        *extras["harness"],
        *PROJECT["dependency-groups"]["build"],
        *PROJECT["build-system"]["requires"],
    ]
    return [r for r in map(Requirement, listed) if canonicalize_name(r.name) != "amtsweg"]


LOCKED = _locked()


@pytest.mark.parametrize("requirement", _required(), ids=str)
def test_every_requirement_is_locked_to_a_version_it_allows(requirement: Requirement) -> None:
    # The lock is universal: a requirement for other machines (its own marker) is checked
    # against every pin, one for this machine against the pins that apply here.
    pins = [
        version
        for version, marker in LOCKED.get(canonicalize_name(requirement.name), [])
        if requirement.marker is not None or marker is None or marker.evaluate()
    ]
    assert pins, f"{requirement.name} is not in requirements.lock: run ./dev lock"
    assert all(requirement.specifier.contains(v, prereleases=True) for v in pins), (
        f"requirements.lock pins {requirement.name} {pins}, pyproject asks {requirement}: "
        "run ./dev lock"
    )


def test_every_locked_version_carries_its_hashes() -> None:
    """``pip install --require-hashes`` refuses a lock with any pin unhashed."""
    blocks = re.split(r"\n(?=[^ #\n])", (ROOT / "requirements.lock").read_text())
    pins = [block for block in blocks if "==" in block.split("\n", 1)[0]]
    assert len(pins) == sum(len(v) for v in LOCKED.values())
    unhashed = [block.split(" ", 1)[0] for block in pins if "--hash=sha256:" not in block]
    assert unhashed == []
