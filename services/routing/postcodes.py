"""German postal codes (PLZ) and the municipalities they reach.

A postal code is no regional key: one code may span several municipalities (1,390 of
8,170 codes do, 154 of them across district borders) and a large city has many codes.
The list maps each code to the 8-digit AGS of every municipality it reaches, with the
place name (``ort``); :class:`PostcodeIndex` turns those into ARS through the official
key list. A code whose municipalities are not in that list (a merger after the list's
date) yields no candidates, and the keys it names are reported.

Source: ``data/zuordnung_plz_ort.csv`` (see ``data/SOURCES.md``; derived from
OpenStreetMap, © OpenStreetMap contributors, ODbL).
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from contracts import linear_regex
from services.routing.regions import RegionIndex

POSTAL_CODE_PATTERN = linear_regex.compile(r"[0-9]{5}")
DEFAULT_POSTCODES_FILE = Path(__file__).parent / "data" / "zuordnung_plz_ort.csv"
_COLUMNS = ("ags", "ort", "plz")


class PostcodeDataError(Exception):
    """The postal code list cannot be read."""


@dataclass(frozen=True)
class Place:
    """A municipality a postal code reaches: its ARS and names (list's and official)."""

    ars: str
    name: str
    official_name: str


def name_key(name: str) -> str:
    """A place name folded for comparison: ``"Köln, Stadt"`` and ``"koeln"`` agree.

    Case, umlauts (ä → ae …), ß, accents and punctuation are folded; the official list's
    suffix after a comma (``", Stadt"``, ``", Hansestadt"``) is dropped.
    """
    text = name.split(",", maxsplit=1)[0].casefold()
    for umlaut, spelled in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, spelled)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c if c.isalnum() and c.isascii() else " " for c in text)
    return " ".join(text.split())


class PostcodeIndex:
    """Postal code → the places (municipalities) it reaches, by ARS."""

    def __init__(
        self, rows: Iterable[tuple[str, str, str]], regions: RegionIndex, digest: str = ""
    ) -> None:
        """Index ``(plz, ags, ort)`` rows; AGS not in ``regions`` are kept as unknown."""
        places: dict[str, dict[str, Place]] = {}
        unknown: dict[str, set[str]] = {}
        for plz, ags, ort in rows:
            ars = regions.ars_for_ags(ags)
            if ars is None:
                unknown.setdefault(plz, set()).add(ags)
                continue
            official = regions.name(ars) or ort
            places.setdefault(plz, {}).setdefault(ars, Place(ars, ort, official))
        self._places = {plz: tuple(found.values()) for plz, found in places.items()}
        self._unknown = {plz: tuple(sorted(keys)) for plz, keys in unknown.items()}
        self.digest = digest

    def __len__(self) -> int:
        return len(self._places.keys() | self._unknown.keys())

    def places(self, postal_code: str) -> tuple[Place, ...]:
        """The known municipalities the code reaches (none for an unknown code)."""
        return self._places.get(postal_code, ())

    def codes(self) -> list[str]:
        """Every postal code with at least one known municipality, sorted."""
        return sorted(self._places)

    def unknown_keys(self, postal_code: str) -> tuple[str, ...]:
        """AGS the list gives for this code that the regional key list does not know."""
        return self._unknown.get(postal_code, ())

    @classmethod
    def from_file(cls, path: Path, regions: RegionIndex) -> PostcodeIndex:
        """Read the CSV list (header ``osm_id,ags,ort,plz,landkreis,bundesland``)."""
        try:
            content = path.read_bytes()
        except OSError as error:
            msg = f"{path.name}: not a readable postal code list: {error}"
            raise PostcodeDataError(msg) from error
        return cls.from_bytes(content, regions, path.name)

    @classmethod
    def from_bytes(
        cls, content: bytes, regions: RegionIndex, source: str = "postal code list"
    ) -> PostcodeIndex:
        """Read the CSV from its bytes (as archived with a directory version)."""
        try:
            reader = csv.DictReader(io.StringIO(content.decode("utf-8")))
            columns = set(reader.fieldnames or ())
            rows = [(row["plz"], row["ags"], row["ort"]) for row in reader]
        except (UnicodeDecodeError, csv.Error, KeyError) as error:
            msg = f"{source}: not a readable postal code list: {error!r}"
            raise PostcodeDataError(msg) from error
        if not set(_COLUMNS) <= columns:
            msg = f"{source}: a postal code list needs the columns {_COLUMNS}"
            raise PostcodeDataError(msg)
        bad = [plz for plz, ags, _ in rows if not POSTAL_CODE_PATTERN.fullmatch(plz)]
        if bad or any(len(ags) != 8 or not ags.isdigit() for _, ags, _ in rows):
            msg = f"{source}: postal codes must have 5 digits and AGS 8 (e.g. {bad[:3]})"
            raise PostcodeDataError(msg)
        return cls(rows, regions, hashlib.sha256(content).hexdigest())
