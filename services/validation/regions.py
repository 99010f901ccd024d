"""The official German regional keys, for the business rule "region is a real one".

ARS (Amtlicher Regionalschlüssel) is the 12-digit key of a municipality (Gemeinde); AGS
(Amtlicher Gemeindeschlüssel) the older 8-digit one, ``ARS[0:5] + ARS[9:12]``.

Validation reads the same Destatis code list as routing (an XRepository JSON export,
``{"metadaten": {"version": …}, "daten": [[ARS, name, note], …]}``) from a path in its
own settings; by default the copy in ``services/routing/data``. Services do not import
each other, so this small reader exists twice on purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from contracts import linear_regex

ARS_PATTERN = linear_regex.compile(r"[0-9]{12}")
AGS_PATTERN = linear_regex.compile(r"[0-9]{8}")


class RegionListError(Exception):
    """The regional key list cannot be read."""


@dataclass(frozen=True)
class RegionKeys:
    """One version of the official list: every ARS and the AGS derived from them."""

    version: str
    ars: frozenset[str]
    ags: frozenset[str]

    def knows(self, key: str) -> bool:
        """Whether ``key`` is a 12-digit ARS or an 8-digit AGS in the list."""
        if ARS_PATTERN.fullmatch(key):
            return key in self.ars
        if AGS_PATTERN.fullmatch(key):
            return key in self.ags
        return False

    @classmethod
    def of(cls, version: str, keys: list[str]) -> RegionKeys:
        """Index 12-digit keys; anything else is an error in the list."""
        wrong = [key for key in keys if not ARS_PATTERN.fullmatch(key)]
        if wrong:
            msg = f"not 12-digit ARS: {wrong[:3]}"
            raise RegionListError(msg)
        return cls(version, frozenset(keys), frozenset(k[0:5] + k[9:12] for k in keys))

    @classmethod
    def from_file(cls, path: Path) -> RegionKeys:
        """Read an XRepository JSON export of the ARS code list."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            version = str(document["metadaten"]["version"])
            keys = [str(row[0]) for row in document["daten"]]
        except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
            msg = f"{path.name}: not a readable ARS code list: {error}"
            raise RegionListError(msg) from error
        return cls.of(version, keys)
