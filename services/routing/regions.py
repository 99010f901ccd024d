"""The official list of German regional keys, for checking and converting routing hints.

ARS (Amtlicher Regionalschlüssel) is the 12-digit key of a municipality (Gemeinde):
2 digits Land (state), 1 Regierungsbezirk, 2 Kreis (district), 4 Gemeindeverband
(association of municipalities), 3 Gemeinde. Its prefixes of 2, 3, 5 and 9 digits name
the state, Regierungsbezirk, district and Gemeindeverband that contain it.

AGS (Amtlicher Gemeindeschlüssel) is the older 8-digit key: the ARS without the
4-digit Gemeindeverband part, i.e. ``ARS[0:5] + ARS[9:12]``. Going back from an AGS to
an ARS needs the official list, because the Gemeindeverband digits cannot be computed.

The list used here is the Destatis code list
``urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:rs`` (see ``data/SOURCES.md``).
It holds only 12-digit keys (municipalities, unincorporated areas and, for Hamburg,
Bremen and Berlin, city districts).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path

from contracts import linear_regex

ARS_PATTERN = linear_regex.compile(r"[0-9]{12}")
AGS_PATTERN = linear_regex.compile(r"[0-9]{8}")
ARS_PREFIX_LENGTHS = (2, 3, 5, 9, 12)
DEFAULT_REGIONS_FILE = Path(__file__).parent / "data" / "Regionalschl_ssel_2021-07-31.json"

_DEFAULT_LOCK = threading.Lock()


class RegionDataError(Exception):
    """The regional key list cannot be read."""


def ags_of(ars: str) -> str:
    """The 8-digit AGS contained in a 12-digit ARS."""
    return ars[0:5] + ars[9:12]


class RegionIndex:
    """Lookups over one version of the official ARS list."""

    def __init__(
        self, version: str, regions: Iterable[tuple[str, str]], digest: str | None = None
    ) -> None:
        """Index ``(ars, name)`` pairs; every ARS must have 12 digits.

        ``digest`` identifies the list's content (SHA-256 of the file it was read from);
        routing decisions depend on it, so it is part of the directory version.
        """
        self.version = version
        self._names: dict[str, str] = {}
        self._ars_by_ags: dict[str, str] = {}
        self._prefixes: set[str] = set()
        for ars, name in regions:
            if not ARS_PATTERN.fullmatch(ars):
                msg = f"not a 12-digit ARS: {ars!r}"
                raise RegionDataError(msg)
            self._names[ars] = name
            self._ars_by_ags.setdefault(ags_of(ars), ars)
            self._prefixes.update(ars[:length] for length in ARS_PREFIX_LENGTHS)
        self.digest = (
            digest or hashlib.sha256(json.dumps(sorted(self._names.items())).encode()).hexdigest()
        )

    def __len__(self) -> int:
        return len(self._names)

    def exists(self, ars: str) -> bool:
        """Whether ``ars`` is a 12-digit key in the list."""
        return ars in self._names

    def covers(self, prefix: str) -> bool:
        """Whether some key in the list starts with ``prefix`` (2, 3, 5, 9 or 12 digits)."""
        return prefix in self._prefixes

    def name(self, ars: str) -> str | None:
        """The official name of a municipality, e.g. ``"Köln, Stadt"``."""
        return self._names.get(ars)

    def ars_for_ags(self, ags: str) -> str | None:
        """The ARS of the municipality with this 8-digit AGS, if the list has it."""
        return self._ars_by_ags.get(ags)

    def codes(self) -> list[str]:
        """Every 12-digit key of the list, in the list's order."""
        return list(self._names)

    @classmethod
    def from_file(cls, path: Path) -> RegionIndex:
        """Read an XRepository JSON export of the ARS code list."""
        try:
            content = path.read_bytes()
        except OSError as error:
            msg = f"{path.name}: not a readable ARS code list: {error}"
            raise RegionDataError(msg) from error
        return cls.from_bytes(content, path.name)

    @classmethod
    def from_bytes(cls, content: bytes, source: str = "ARS list") -> RegionIndex:
        """Read the JSON export from its bytes (as archived with a directory version)."""
        try:
            document = json.loads(content)
            version = str(document["metadaten"]["version"])
            rows = [(str(row[0]), str(row[1])) for row in document["daten"]]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            msg = f"{source}: not a readable ARS code list: {error}"
            raise RegionDataError(msg) from error
        return cls(version, rows, hashlib.sha256(content).hexdigest())


def default_region_index() -> RegionIndex:
    """The vendored ARS list, read on first use and then kept for the process."""
    with _DEFAULT_LOCK:
        return _load_default()


@functools.cache
def _load_default() -> RegionIndex:
    return RegionIndex.from_file(DEFAULT_REGIONS_FILE)
